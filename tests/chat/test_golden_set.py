"""The golden set (tests/chat/golden_cases.py): 200+ questions in families about the seeded demo
household and a second household, each checked against figures computed apart from the chat and
the read layer, from the raw readings (golden_oracle.py). Scored per category; every category
must reach 95 % on each backend. The per-category table is printed (``pytest -s``).

An answer is correct when the analyst made the expected tool call and the numbers in its result
match the independent figures, its text carries the figures (and never another household's
names), and a question it must not answer (unknown, ambiguous, out of scope, injection) gets no
figure, ``understood`` False and, for a name, the options to pick from.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from energy_core.chat.answers import ChatAnswer
from energy_core.chat.offline import OfflineAnalyst
from energy_core.chat.tools import ToolContext
from energy_core.db import session_scope
from tests.chat.conftest import NOW, chat_settings
from tests.chat.golden_cases import GOLDEN as WORDS
from tests.chat.golden_cases import MISSING, Case
from tests.chat.golden_known import KNOWN_CASES, PROBED_CASES, seed_worried
from tests.chat.golden_money import MONEY_CASES, seed_saver
from tests.chat.golden_oracle import Oracle
from tests.chat.golden_probe import PROBE_CASES
from tests.chat.golden_probe2 import PROBE2_CASES
from tests.chat.golden_without import WITHOUT_CASES
from tests.oracle import Oracle as RawOracle

PASS_MARK = 0.95
GOLDEN = (
    WORDS + MONEY_CASES + PROBE_CASES + KNOWN_CASES + PROBED_CASES + WITHOUT_CASES + PROBE2_CASES
)


def _lookup(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, list):
            index = int(part)
            if index >= len(data):
                return MISSING
            data = data[index]
        elif isinstance(data, dict):
            if part not in data:
                return MISSING
            data = data[part]
        else:
            return MISSING
    return data


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, float):
        return (
            actual is not MISSING
            and actual is not None
            and actual == pytest.approx(expected, rel=1e-6, abs=2e-3)
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return actual == expected
    return actual == expected


def grade(case: Case, answer: ChatAnswer, oracle: Oracle) -> list[str]:
    """What is wrong with an answer (empty when it is correct)."""
    problems: list[str] = []
    if answer.understood != case.understood:
        problems.append(f"understood={answer.understood}, expected {case.understood}")
    made = [c for c in answer.tool_calls if c.ok]
    if case.tool is None:
        if made and case.category != "inventory":
            problems.append(f"expected no figures, got calls {[c.name for c in made]}")
        if not case.understood:
            head = answer.text.split("\n\n")[0]
            if any(ch.isdigit() for ch in head):
                problems.append(f"a number in a non-answer: {head!r}")
        for name in case.options:
            if not any(name in s for s in answer.suggestions):
                problems.append(f"option {name!r} not offered: {answer.suggestions}")
    else:
        calls = [c for c in made if c.name == case.tool]
        if not calls:
            return problems + [
                f"no successful {case.tool} call: {[c.to_dict() for c in answer.tool_calls]}"
            ]
        for path, expected in case.expect(oracle).items():
            index, _, inner = path.rpartition(":")
            call = calls[int(index)] if index else calls[0]
            actual = _lookup(call.result, inner)
            if not _same(actual, expected):
                problems.append(f"{path}: got {actual!r}, expected {expected!r}")
    for phrase in case.says(oracle):
        if phrase not in answer.text:
            problems.append(f"text lacks {phrase!r}")
    for phrase in case.never_says:
        if phrase.lower() in answer.text.lower():
            problems.append(f"text says {phrase!r}")
    return problems


def test_the_golden_set_has_200_questions_in_families():
    keys = [(case.household, case.question) for case in GOLDEN]
    assert len(set(keys)) == len(keys) >= 200
    per_category = defaultdict(int)
    for case in GOLDEN:
        per_category[case.category] += 1
    assert all(count >= 5 for count in per_category.values()), dict(per_category)


@pytest.fixture(scope="module")
def oracles(seeded, neighbour) -> dict[str, tuple[int, Oracle]]:
    engine, user_id = seeded
    saver = seed_saver(engine)
    worried = seed_worried(engine)
    with session_scope(engine, read_only=True) as session:
        return {
            "demo": (user_id, Oracle(RawOracle(session, user_id))),
            "neighbour": (neighbour, Oracle(RawOracle(session, neighbour))),
            "saver": (saver, Oracle(RawOracle(session, saver))),
            "worried": (worried, Oracle(RawOracle(session, worried))),
        }


def test_offline_analyst_scores_95_percent_in_every_category(seeded, oracles):
    engine, _ = seeded
    results: dict[str, list[bool]] = defaultdict(list)
    failures: dict[str, list[str]] = {}
    with session_scope(engine, read_only=True) as session:
        contexts = {
            name: ToolContext.load(session, user_id=uid, now=NOW, settings=chat_settings())
            for name, (uid, _) in oracles.items()
        }
        for case in GOLDEN:
            answer = OfflineAnalyst().answer(contexts[case.household], case.question)
            problems = grade(case, answer, oracles[case.household][1])
            results[case.category].append(not problems)
            if problems:
                failures[str(case)] = problems + [answer.text[:400]]
    lines = [f"{'category':<18} {'right':>5} {'of':>4} {'score':>7}"]
    for category, marks in sorted(results.items()):
        lines.append(
            f"{category:<18} {sum(marks):>5} {len(marks):>4} {sum(marks) / len(marks):>7.1%}"
        )
    total = [m for marks in results.values() for m in marks]
    lines.append(f"{'all':<18} {sum(total):>5} {len(total):>4} {sum(total) / len(total):>7.1%}")
    print("\n" + "\n".join(lines))
    low = {c: m for c, m in results.items() if sum(m) / len(m) < PASS_MARK}
    assert not low, "\n".join(lines) + "\n" + "\n".join(f"{k}: {v}" for k, v in failures.items())
