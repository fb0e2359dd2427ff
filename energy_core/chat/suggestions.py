"""Suggested questions, made from the user's own devices, rooms and recent data, so every one of
them can be answered (the offline analyst understands each)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from energy_core import clock
from energy_core.chat.render import plain_name
from energy_core.household_scope import for_household
from energy_core.settings import Settings
from energy_core.stats import DeviceRef, load_household, read_series, rolling_period

GENERIC_QUESTIONS = (
    "How much energy did I use yesterday?",
    "Which device uses the most power at night?",
    "Compare this month with last month",
    "What is my always-on load?",
    "How much did I spend last month?",
    "What are my peak hours?",
    "Which devices are offline?",
    "What was my most expensive day last month?",
)
NAME_LIMIT = 40


def _spoken(device: DeviceRef) -> str:
    """How a suggestion names a device: its name when short and plain, else its id."""
    name = plain_name(device.name, max_length=NAME_LIMIT + 1)
    return name if len(name) <= NAME_LIMIT else device.device_id


@for_household
def suggested_questions(
    session: Session,
    *,
    user_id: int,
    now: datetime | None = None,
    limit: int = 6,
    settings: Settings | None = None,
) -> list[str]:
    """Questions worth asking about this household, best first."""
    now = now or clock.now(settings)
    household = load_household(session, user_id=user_id, settings=settings)
    devices = list(household.devices)
    if not devices:
        return ["What devices do I have?", "What can I ask?"]
    consumers = [d for d in devices if not d.is_generator and not d.is_grid_meter]
    week = rolling_period(now.astimezone(household.tz), timedelta(days=7))
    by_id = {d.device_id: d for d in consumers}
    totals = read_series(
        session, household.select(week, devices=consumers), flows=False
    ).device_totals()
    ranked = [
        by_id[f.device_id]
        for f in sorted((f for f in totals if f.covered_s > 0), key=lambda f: -f.consumed_wh)
    ]
    questions: list[str] = []
    if ranked:
        questions.append(f"How much did the {_spoken(ranked[0])} use last week?")
    questions += [
        "Which device uses the most power at night?",
        "Compare this month with last month",
        "What is my always-on load?",
        "What was my most expensive day last month?",
    ]
    generators = [d for d in devices if d.is_generator]
    if generators:
        questions.append(f"How much did the {_spoken(generators[0])} generate this week?")
    if len(ranked) > 1:
        questions.append(f"When does the {_spoken(ranked[1])} use the most power?")
    questions += ["How much did I spend yesterday?", "Which devices are offline?"]
    return list(dict.fromkeys(questions))[:limit]


__all__ = ["GENERIC_QUESTIONS", "suggested_questions"]
