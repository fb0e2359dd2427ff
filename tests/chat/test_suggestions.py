"""Suggested questions come from the user's own devices and data, and can all be answered."""

from __future__ import annotations

from datetime import timedelta

from energy_core.chat import suggested_questions
from energy_core.chat.offline import OfflineAnalyst
from energy_core.chat.tools import ToolContext
from energy_core.db import session_scope
from energy_core.demo import DEMO_DEVICES
from tests.chat.conftest import NOW, chat_settings
from tests.factories import make_user
from tests.oracle import Oracle

NAMES = {d.device_id: d.name for d in DEMO_DEVICES}


def test_suggestions_name_the_households_biggest_user_and_each_one_is_understood(seeded):
    engine, user_id = seeded
    with session_scope(engine, read_only=True) as session:
        questions = suggested_questions(session, user_id=user_id, now=NOW, settings=chat_settings())
        oracle = Oracle(session, user_id)
        biggest = max(
            (d.device_id for d in DEMO_DEVICES if not d.bidirectional),
            key=lambda d: oracle.device(d, NOW - timedelta(days=7), NOW).consumed,
        )
        ctx = ToolContext.load(session, user_id=user_id, now=NOW, settings=chat_settings())
        answers = {q: OfflineAnalyst().answer(ctx, q) for q in questions}

    assert len(questions) == 6
    assert questions[0] == f"How much did the {NAMES[biggest]} use last week?"
    for question, answer in answers.items():
        assert answer.understood, question
        assert answer.tool_calls and all(c.ok for c in answer.tool_calls), question


def test_a_user_without_devices_is_asked_to_start_with_the_basics(engine):
    with session_scope(engine) as session:
        user = make_user(session)
        assert suggested_questions(session, user_id=user.id, settings=chat_settings()) == [
            "What devices do I have?",
            "What can I ask?",
        ]
