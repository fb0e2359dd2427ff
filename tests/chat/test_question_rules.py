"""What may be asked, the same rule for the page, the CLI and the API: a question of 1-2,000
characters without control characters (PostgreSQL cannot even store NUL)."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from energy_cli import main as cli
from energy_core.chat.service import MAX_QUESTION_CHARS, question_problem
from energy_core.db import session_scope
from energy_core.models import ChatMessage
from tests.factories import make_user


@pytest.mark.parametrize(
    "question",
    ["How much did I use yesterday?", "Line one\nline two\twith a tab", "x" * MAX_QUESTION_CHARS],
)
def test_ordinary_questions_may_be_asked(question):
    assert question_problem(question) is None


@pytest.mark.parametrize(
    ("question", "says"),
    [
        ("", "Ask a question"),
        ("x" * (MAX_QUESTION_CHARS + 1), "limited to 2,000 characters"),
        ("fridge\x00", "control characters"),
        ("\x1b[2J fridge", "control characters"),
        ("fridge\x7f", "control characters"),
    ],
)
def test_empty_too_long_or_control_characters_are_refused(question, says):
    assert says in question_problem(question)


def test_the_cli_refuses_a_nul_in_a_question_and_stores_nothing(engine, capsys):
    with session_scope(engine) as session:
        make_user(session, email="rules@example.com")

    assert cli.main(["ask", "--user", "rules@example.com", "How much\x00?"]) == 2

    assert "control characters" in capsys.readouterr().err
    with session_scope(engine, read_only=True) as session:
        assert session.exec(select(func.count()).select_from(ChatMessage)).one() == 0
