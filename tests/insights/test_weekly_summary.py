"""The weekly summary of a constructed household (tests/insights/household.py), on SQLite and
PostgreSQL: exact totals, changes against the week before and a year earlier (with "not
comparable" where readings cover less than 90 %), the biggest movers, the always-on change, the
week's alerts, the downloads, and only the household's own figures."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from energy_core.alerts.models import Alert
from energy_core.db import session_scope
from energy_core.insights import WeekError, parse_week, weekly_summary
from energy_core.insights_report import summary_json, summary_markdown, summary_rows
from energy_core.stats import load_household
from tests.insights.household import NOW, W48, seed_week_household


def summary_of(engine, user_id: int, monday: date | None = None):  # noqa: ANN001
    with session_scope(engine, read_only=True) as s:
        return weekly_summary(s, load_household(s, user_id=user_id), now=NOW, monday=monday)


def add_alert(engine, user_id: int, at: datetime, title: str) -> None:  # noqa: ANN001
    with session_scope(engine) as s:
        s.add(
            Alert(
                user_id=user_id,
                kind="baseload_rising",
                key=f"baseload_rising:{at:%Y%m%d}",
                title=title,
                explanation="The always-on load rose.",
                evidence="{}",
                opened_at=at,
                updated_at=at,
                resolved_at=at + timedelta(hours=1),
            )
        )


def r(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def changes(change) -> tuple:  # noqa: ANN001
    return (r(change.value), r(change.baseline), r(change.delta), r(change.ratio), change.reason)


def test_the_last_whole_week_totals_and_changes_are_the_hand_worked_figures(engine):
    user_id = seed_week_household(engine)
    summary = summary_of(engine, user_id)
    assert summary.week == "2026-W48"
    assert (summary.period.start, summary.period.full_end) == (W48, W48 + timedelta(days=7))
    assert summary.last_year.start == datetime(2025, 11, 23, tzinfo=UTC)
    by_metric = {t.metric: t for t in summary.totals}
    # The week before: every device covered, the kettle 6 of 7 days: (3 + 6/7) / 4 = 96 %.
    assert {m: changes(t.previous) for m, t in by_metric.items()} == {
        "consumption_wh": (188160.0, 103680.0, 84480.0, r(84480 / 103680), None),
        "generation_wh": (14000.0, 14000.0, 0.0, 0.0, None),
        "import_wh": (180320.0, 99360.0, 80960.0, r(80960 / 99360), None),
        "export_wh": (6160.0, 9680.0, -3520.0, r(-3520 / 9680), None),
        "cost": (54.096, 29.808, 24.288, r(24.288 / 29.808), None),
    }
    # A year earlier only the fridge read: 1/4 of the devices, so no percent, the difference kept.
    cover = "readings cover only 25% of the baseline"
    assert {m: changes(t.last_year) for m, t in by_metric.items()} == {
        "consumption_wh": (188160.0, 13440.0, 174720.0, None, cover),
        "generation_wh": (14000.0, 0.0, 14000.0, None, cover),
        "import_wh": (180320.0, 13440.0, 166880.0, None, cover),
        "export_wh": (6160.0, 0.0, 6160.0, None, cover),
        "cost": (54.096, 4.032, 50.064, None, cover),
    }
    assert (summary.baseload.baseload_w, summary.baseload_before.baseload_w) == (1120.0, 600.0)
    assert summary.baseload_change_w == 520.0


def test_movers_are_ordered_by_their_change_and_say_when_they_are_not_comparable(engine):
    summary = summary_of(engine, seed_week_household(engine))
    assert [(m.name, m.metric, *changes(m.change)) for m in summary.movers_previous] == [
        ("Heater", "consumption_wh", 168000.0, 84000.0, 84000.0, 1.0, None),
        (
            "Kettle",
            "consumption_wh",
            3360.0,
            2880.0,
            480.0,
            None,
            "readings cover only 86% of the baseline",
        ),
        ("Fridge", "consumption_wh", 16800.0, 16800.0, 0.0, 0.0, None),
        ("Solar", "generation_wh", 14000.0, 14000.0, 0.0, 0.0, None),
    ]
    none = "the baseline has no readings"
    assert [(m.name, m.metric, *changes(m.change)) for m in summary.movers_last_year] == [
        ("Fridge", "consumption_wh", 16800.0, 13440.0, 3360.0, 0.25, None),
        ("Heater", "consumption_wh", 168000.0, None, None, None, none),
        ("Kettle", "consumption_wh", 3360.0, None, None, None, none),
        ("Solar", "generation_wh", 14000.0, None, None, None, none),
    ]


def test_the_weeks_alerts_are_those_it_opened(engine):
    user_id = seed_week_household(engine)
    add_alert(engine, user_id, W48 - timedelta(minutes=1), "Before the week")
    add_alert(engine, user_id, W48 + timedelta(days=2, hours=7), "Always-on load rising")
    add_alert(engine, user_id, W48 + timedelta(days=7), "After the week")
    assert [a["title"] for a in summary_of(engine, user_id).alerts] == ["Always-on load rising"]
    earlier = summary_of(engine, user_id, monday=date(2026, 11, 16))
    assert (earlier.week, [a["title"] for a in earlier.alerts]) == ("2026-W47", ["Before the week"])


def test_another_households_week_shows_none_of_these_figures(engine):
    seed_week_household(engine)
    with session_scope(engine) as s:
        from tests.factories import make_user

        other = make_user(s).id
    summary = summary_of(engine, other)
    assert [t.value for t in summary.totals] == [None] * 5
    assert (summary.movers_previous, summary.alerts, summary.baseload.baseload_w) == ([], [], None)


def test_the_downloads_say_the_same_figures(engine):
    user_id = seed_week_household(engine)
    add_alert(engine, user_id, W48 + timedelta(days=2, hours=7), "Always-on load rising")
    summary = summary_of(engine, user_id)
    assert summary_markdown(summary) == EXPECTED_MARKDOWN
    rows = summary_rows(summary)
    assert rows[0] == {
        "section": "total",
        "item": "Consumption",
        "metric": "consumption_kwh",
        "value": 188.16,
        "baseline": 103.68,
        "change": 81.481,
        "note": "vs previous week",
    }
    assert rows[-2:] == [
        {
            "section": "always-on",
            "item": "baseload",
            "metric": "baseload_w",
            "value": 1120.0,
            "baseline": 600.0,
            "change": 520.0,
            "note": "previous week",
        },
        {
            "section": "alert",
            "item": "Always-on load rising",
            "metric": "baseload_rising",
            "value": None,
            "baseline": None,
            "change": None,
            "note": "2026-11-25T07:00:00+00:00",
        },
    ]
    data = json.loads(json.dumps(summary_json(summary)))
    assert (data["week"], r(data["totals"]["cost"]["previous"]["baseline"])) == ("2026-W48", 29.808)


def test_weeks_are_written_as_iso_weeks():
    assert parse_week("2026-W48") == date(2026, 11, 23)
    assert parse_week("2026-W01") == date(2025, 12, 29)
    for bad in ("2026-48", "2026-W54", "week 48"):
        with pytest.raises(WeekError):
            parse_week(bad)


COVER = "(not comparable: readings cover only 25% of the baseline)"
EXPECTED_MARKDOWN = f"""# Weekly summary 2026-W48

Mon 23 Nov - Sun 29 Nov 2026; compared with the week before (Mon 16 Nov - Sun 22 Nov 2026) and \
the same dates a year earlier (Sun 23 Nov - Sat 29 Nov 2025).

| | this week | vs the week before | vs a year earlier |
| --- | --- | --- | --- |
| Consumption | 188.2 kWh | +81% (+84.48 kWh) | +174.7 kWh {COVER} |
| Generation | 14.00 kWh | +0% (+0.00 kWh) | +14.00 kWh {COVER} |
| Grid import | 180.3 kWh | +81% (+80.96 kWh) | +166.9 kWh {COVER} |
| Grid export | 6.16 kWh | -36% (-3.52 kWh) | +6.16 kWh {COVER} |
| Cost | €54.10 | +81% (+€24.29) | +€50.06 {COVER} |

## Biggest movers vs the week before

- Heater (consumption): 168.0 kWh, +100% (+84.00 kWh)
- Kettle (consumption): 3.36 kWh, +0.48 kWh (not comparable: readings cover only 86% of the \
baseline)
- Fridge (consumption): 16.80 kWh, +0% (+0.00 kWh)
- Solar (generation): 14.00 kWh, +0% (+0.00 kWh)

## Biggest movers vs a year earlier

- Fridge (consumption): 16.80 kWh, +25% (+3.36 kWh)
- Heater (consumption): 168.0 kWh, not comparable: the baseline has no readings
- Kettle (consumption): 3.36 kWh, not comparable: the baseline has no readings
- Solar (generation): 14.00 kWh, not comparable: the baseline has no readings

## Always-on load

1.12 kW, +520 W on the week before

## Alerts

- 2026-11-25 07:00 UTC: Always-on load rising
"""


def test_the_command_prints_the_same_summary(engine, capsys):
    from energy_cli.main import main

    user_id = seed_week_household(engine, email="week@example.com")
    args = ["summary", "--user", "week@example.com", "--now", NOW.isoformat()]
    assert main([*args, "--week", "2026-W48", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(summary_json(summary_of(engine, user_id)), default=str))
    assert main(args) == 0
    assert capsys.readouterr().out == EXPECTED_MARKDOWN.replace(
        "- 2026-11-25 07:00 UTC: Always-on load rising", "No alert opened this week."
    )
    assert main([*args, "--week", "2026-48"]) == 2
    assert "A week is written like 2026-W48" in capsys.readouterr().err
