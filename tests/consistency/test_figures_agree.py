"""One figure, one value: for a matrix of selections (yesterday, the last 7 days, this month on
its 2nd day, two days across the clock change; the whole household, one device, one room, a
generator alone), the read API, the chat tools and the read layer give the same consumption,
generation, net, import, export, cost, coverage and peak, and each equals the oracle's figure
from the raw readings. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from energy_core.chat.tools import ToolContext, run_tool
from energy_core.db import session_scope
from energy_core.stats import (
    compare,
    days_period,
    hours_of,
    load_household,
    preset_period,
    read_series,
    rolling_period,
)
from tests.consistency.conftest import LONDON, NOW, Seeded
from tests.consistency.sources import (
    Target,
    api_hourly,
    api_hourly_items,
    api_row,
    api_stats,
    api_summary,
    chat,
    hourly_window,
    members_of,
    oracle_figures,
    read_layer,
    select,
)
from tests.consistency.sources import z as sources_z
from tests.oracle import Oracle

PERIODS = {
    "yesterday": (
        lambda: preset_period("yesterday", now=NOW, timezone=LONDON),
        {"period": "yesterday"},
    ),
    "last 7 days": (
        lambda: preset_period("last_7_days", now=NOW, timezone=LONDON),
        {"period": "last 7 days"},
    ),
    "this month, 2nd day": (
        lambda: preset_period("this_month", now=NOW, timezone=LONDON),
        {"period": "this month"},
    ),
    "across the clock change": (
        lambda: days_period(date(2026, 3, 28), date(2026, 3, 29), timezone=LONDON),
        {"start": "2026-03-28", "end": "2026-03-30"},
    ),
}
TARGETS = [
    Target("household"),
    Target("device", "heat-pump"),
    Target("room", "Kitchen"),
    Target("device", "solar"),
    Target("device", "grid"),
    Target("device", "old-heater"),
    Target("device", "spare-plug"),
]
# More periods, for the household and the generator: today so far, a rolling 24 hours that
# starts mid-hour, and last week (Monday to Sunday, across the clock change).
MORE_PERIODS = {
    "today": (
        lambda: preset_period("today", now=NOW, timezone=LONDON),
        {"period": "today"},
    ),
    "the last 24 hours": (
        lambda: rolling_period(NOW, timedelta(hours=24)),
        {"period": "the last 24 hours"},
    ),
    "last week": (
        lambda: preset_period("last_week", now=NOW, timezone=LONDON),
        {"period": "last week"},
    ),
}
CASES = [
    pytest.param(period, target, id=f"{period}-{target}".replace(" ", "_"))
    for period in PERIODS
    for target in TARGETS
] + [
    pytest.param(period, target, id=f"{period}-{target}".replace(" ", "_"))
    for period in MORE_PERIODS
    for target in TARGETS[:1] + TARGETS[3:4]
]
PERIODS_TOO = PERIODS | MORE_PERIODS

# The chat rounds what it tells a model: Wh and W to 3 decimals, cost and coverage to 4.
EXACT = {"rel": 1e-9, "abs": 1e-6}
ROUNDED_TO_4 = {"cost", "coverage"}


def _tolerance(source: str, figure: str) -> dict:
    if source.startswith("chat"):
        return {"rel": 0, "abs": 6e-5 if figure in ROUNDED_TO_4 else 6e-4}
    return EXACT


def _differences(expected: dict, sources: dict[str, dict]) -> list[str]:
    wrong = []
    for source, figures in sources.items():
        for name, value in figures.items():
            figure = name.split()[-1]
            if figure not in expected:
                continue
            want = expected[figure]
            if want is None or value is None:
                same = want is None and value is None
            elif isinstance(want, datetime):
                same = value == want
            else:
                same = value == pytest.approx(want, **_tolerance(source, figure))
            if not same:
                wrong.append(f"{source}: {name} = {value!r}, the readings say {want!r}")
    return wrong


@pytest.mark.parametrize(("period_name", "target"), CASES)
def test_every_source_gives_the_figure_of_the_readings(
    seeded: Seeded, client: TestClient, oracle: Oracle, period_name: str, target: Target
):
    make_period, chat_when = PERIODS_TOO[period_name]
    period = make_period()
    devices = members_of(oracle, target)
    expected = oracle_figures(
        oracle, period.start, period.end, devices, peak_hours=target.kind != "device"
    )
    if target.name != "solar":
        expected.pop("peak_generation", None)
        expected.pop("peak_generation_at", None)
    rooms = {target.name: devices} if target.kind == "room" else {}
    sources = {
        "read layer": read_layer(seeded.user_id, period, target),
        "chat": chat(seeded.user_id, seeded.now, chat_when, target),
        "API summary": api_summary(client, seeded.read_key, period, target, rooms),
    }
    if target.kind == "device":
        sources["API stats"] = api_stats(client, seeded.read_key, period, target.name)
    wrong = _differences(expected, sources)

    # The hourly aggregates answer whole UTC hours, a row per device: the rows of the counted
    # devices (not the grid meter's own), summed, are the hours' figures.
    lo, hi = hourly_window(period)
    counted = [d for d in devices if not oracle.is_meter(d)]
    in_hours = oracle_figures(oracle, lo, hi, counted, peak_hours=False)
    hourly = api_hourly(client, seeded.read_key, period, counted)
    wrong += _differences(in_hours, {"API hourly summed": hourly})
    assert not wrong, f"{period_name}, {target}:\n" + "\n".join(wrong)


PARTS_OF_THE_DAY = [
    pytest.param("yesterday", "night", Target("household"), id="yesterday-night-household"),
    pytest.param("last 7 days", "evening", Target("room", "Kitchen"), id="week-evenings-kitchen"),
    pytest.param(
        "across the clock change", "night", Target("device", "solar"), id="change-nights-solar"
    ),
    pytest.param(
        "this month, 2nd day", "morning", Target("device", "grid"), id="month-mornings-grid"
    ),
]


@pytest.mark.parametrize(("period_name", "time_of_day", "target"), PARTS_OF_THE_DAY)
def test_parts_of_the_day_agree_with_the_readings_of_those_hours(
    seeded: Seeded, oracle: Oracle, period_name: str, time_of_day: str, target: Target
):
    """ "At night" and the like: the chat and the read layer count the same local hours (the
    night of the clock change has no 01:00), and the readings of those hours say the same."""
    make_period, chat_when = PERIODS[period_name]
    period = make_period().with_time_of_day(time_of_day)
    devices = members_of(oracle, target)
    expected = oracle_figures(
        oracle,
        period.start,
        period.end,
        devices,
        peak_hours=target.kind != "device",
        hours=hours_of(time_of_day),
    )
    if target.name != "solar":
        expected.pop("peak_generation", None)
    sources = {
        "read layer": read_layer(seeded.user_id, period, target),
        "chat": chat(seeded.user_id, seeded.now, {**chat_when, "time_of_day": time_of_day}, target),
    }
    wrong = _differences(expected, sources)
    assert not wrong, f"{period_name} {time_of_day}, {target}:\n" + "\n".join(wrong)


def test_the_matrix_has_data_behind_every_figure(seeded: Seeded, oracle: Oracle):
    """The selections are not vacuous: each has consumption, the generator generates, the grid
    meter and the device that joined later take part, and coverage is not trivially 1."""
    for make_period, _ in PERIODS.values():
        period = make_period()
        sums = oracle.household(period.start, period.end, list(oracle.devices))
        assert sums.consumed > 0 and sums.generated > 0
        assert 0.5 < sums.coverage < 1.0
    month = PERIODS["this month, 2nd day"][0]()
    assert oracle.household(month.start, month.end, ["grid"]).covered > 0
    assert oracle.household(month.start, month.end, ["freezer"]).covered > 0


@pytest.mark.parametrize("period_name", list(PERIODS))
def test_each_device_row_is_that_device_alone(
    seeded: Seeded, client: TestClient, oracle: Oracle, period_name: str
):
    """The summary's rows and the chat's coverage table: one per device that took part (a device
    that never sent a reading, or had not started yet, has none), each equal to the device alone."""
    period = PERIODS[period_name][0]()
    summary = client.get(
        "/api/v1/telemetry/summary",
        params={"start": sources_z(period.start), "end": sources_z(period.end)},
        headers={"Authorization": f"Bearer {seeded.read_key}"},
    ).json()
    with session_scope(read_only=True) as s:
        ctx = ToolContext.load(s, user_id=seeded.user_id, now=seeded.now)
        table = run_tool(ctx, "data_coverage", PERIODS[period_name][1]).result["per_device"]
    taking_part = {
        d for d in oracle.devices if oracle.household(period.start, period.end, [d]).span > 0
    }
    assert {row["device_id"] for row in summary["devices"]} == taking_part
    assert summary["device_count"] == len(taking_part)
    wrong = []
    for row in summary["devices"]:
        expected = oracle_figures(
            oracle, period.start, period.end, [row["device_id"]], peak_hours=False
        )
        expected.pop("peak"), expected.pop("peak_generation")
        wrong += _differences(expected, {f"API summary row {row['device_id']}": api_row(row)})
    for row in table:
        sums = oracle.household(period.start, period.end, [row["device_id"]])
        want = sums.coverage
        same = (
            row["coverage"] is None
            if want is None
            else row["coverage"] == pytest.approx(want, abs=6e-5)
        )
        if not same:
            wrong.append(f"chat data_coverage {row['device_id']}: {row['coverage']} vs {want}")
        if row["readings"] != sums.samples:
            wrong.append(f"chat data_coverage {row['device_id']}: {row['readings']} readings")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("period_name", list(PERIODS))
@pytest.mark.parametrize("target", [Target("household"), Target("device", "freezer")], ids=str)
def test_comparisons_with_the_period_before_agree(
    seeded: Seeded, oracle: Oracle, period_name: str, target: Target
):
    """Against the period before: both sides' consumption, and whether a change in percent may
    be shown (both periods covered at least 90 % by the devices taking part in either), the
    same in the chat and the read layer as the readings say."""
    make_period, chat_when = PERIODS[period_name]
    current = make_period()
    baseline = current.previous()
    devices = members_of(oracle, target)
    members = [
        d
        for d in devices
        if oracle.household(current.start, current.end, [d]).span > 0
        or oracle.household(baseline.start, baseline.end, [d]).span > 0
    ]
    sides = [oracle.household(p.start, p.end, devices) for p in (current, baseline)]
    shares = [
        s.covered / (len(members) * (p.end - p.start).total_seconds()) if members else 0.0
        for s, p in zip(sides, (current, baseline), strict=True)
    ]
    comparable = all(s.covered > 0 for s in sides) and min(shares) >= 0.9
    want = [s.consumed if s.covered else None for s in sides]

    with session_scope(read_only=True) as s:
        ctx = ToolContext.load(s, user_id=seeded.user_id, now=seeded.now)
        words = {f"first_{k}": v for k, v in chat_when.items()}
        if target.kind == "device":
            words["devices"] = [target.name]
        told = run_tool(ctx, "compare_periods", words)
        assert told.error is None, told.error
        together = compare(s, select(s, seeded.user_id, current, target), baseline)[0]
    change = together.change("consumption_wh")
    assert (change.comparable, told.result["comparable"]) == (comparable, comparable), shares
    for got in (
        (change.value, change.baseline),
        (
            told.result["first"]["consumption_wh"],
            told.result["second"]["consumption_wh"],
        ),
    ):
        for value, expected in zip(got, want, strict=True):
            assert (value is None) == (expected is None)
            if expected is not None:
                assert value == pytest.approx(expected, abs=6e-4)
    if comparable and want[1]:
        ratio = (want[0] - want[1]) / want[1]
        assert change.ratio == pytest.approx(ratio, rel=1e-9)
        assert told.result["change_pct"] == pytest.approx(ratio * 100, abs=6e-3)
    else:
        assert told.result["change_pct"] is None and told.result["not_comparable_because"]


@pytest.mark.parametrize("period_name", ["yesterday", "last 7 days"])
def test_every_chat_answer_states_the_same_coverage(seeded: Seeded, oracle: Oracle, period_name):
    """The coverage a chat answer's evidence states is the glossary's, whichever tool answered."""
    make_period, chat_when = PERIODS[period_name]
    period = make_period()
    want = oracle.household(period.start, period.end).coverage
    with session_scope(read_only=True) as s:
        ctx = ToolContext.load(s, user_id=seeded.user_id, now=seeded.now)
        stated = {
            name: run_tool(ctx, name, chat_when).evidence["coverage"]
            for name in (
                "energy_usage",
                "cost",
                "power_stats",
                "data_coverage",
                "hourly_profile",
                "top_devices",
            )
        }
    assert stated == pytest.approx(dict.fromkeys(stated, want), abs=6e-5)


@pytest.mark.parametrize("period_name", ["yesterday", "this month, 2nd day"])
@pytest.mark.parametrize("group_by", ["device", "room"])
def test_the_ranking_adds_up_to_the_consumption_of_the_household(
    seeded: Seeded, oracle: Oracle, period_name: str, group_by: str
):
    """ "Which device used the most": each row's consumption and share of the household's
    consumption, and the total the shares are of, are the readings' (the solar inverter's
    standby draw is consumption too, though a generator is not ranked)."""
    make_period, chat_when = PERIODS[period_name]
    period = make_period()
    total = oracle.household(period.start, period.end).consumed
    with session_scope(read_only=True) as s:
        ctx = ToolContext.load(s, user_id=seeded.user_id, now=seeded.now)
        ranked = run_tool(ctx, "top_devices", {**chat_when, "group_by": group_by, "limit": 20})
    assert ranked.error is None, ranked.error
    assert ranked.result["total_wh"] == pytest.approx(total, abs=6e-4)
    for row in ranked.result["ranking"]:
        members = row["devices"] if group_by == "room" else [row["device_id"]]
        consumed = oracle.household(period.start, period.end, members).consumed
        assert row["consumption_wh"] == pytest.approx(consumed, abs=6e-4), row
        assert row["share"] == pytest.approx(consumed / total, abs=6e-5), row


@pytest.mark.parametrize("period_name", ["yesterday", "across the clock change"])
def test_each_hour_of_the_hourly_listing_is_that_device_hour(
    seeded: Seeded, client: TestClient, oracle: Oracle, period_name: str
):
    """Every item of /aggregates/hourly is its device alone over its UTC hour (coverage over the
    part of the hour the device took part in: the freezer joins, the old heater leaves, the grid
    meter starts mid-range), and every device-hour with readings is listed."""
    period = PERIODS[period_name][0]()
    items = api_hourly_items(client, seeded.read_key, period)
    lo, hi = hourly_window(period)
    listed = {(i["device_id"], datetime.fromisoformat(i["hour_start"])) for i in items}
    wrong = []
    hour = lo
    while hour < hi:
        for device_id in oracle.devices:
            sums = oracle.household(hour, hour + timedelta(hours=1), [device_id])
            if (sums.covered > 0 or sums.samples > 0) != ((device_id, hour) in listed):
                wrong.append(f"{device_id} {hour:%d %H:%M}: listed {(device_id, hour) in listed}")
        hour += timedelta(hours=1)
    for item in items:
        start = datetime.fromisoformat(item["hour_start"])
        expected = oracle_figures(
            oracle, start, start + timedelta(hours=1), [item["device_id"]], peak_hours=False
        )
        found = {**api_row(item), "average": item["avg_watts"], "peak": item["max_watts"]}
        wrong += _differences(expected, {f"{item['device_id']} {start:%d %H:%M}": found})
    assert not wrong, "\n".join(wrong[:20])


@pytest.mark.parametrize("target", [Target("household"), Target("device", "solar")], ids=str)
def test_a_half_hour_timezone_gives_the_readings_of_the_range_and_bars_that_add_up(
    seeded: Seeded, target: Target
):
    """Days in Asia/Kolkata (UTC+5:30) start in the middle of UTC hours: the range as a whole
    is exact, and its daily and hourly bars add up to it (each stored hour counts in the period
    its start falls in, docs/metrics.md "Periods")."""
    kolkata = "Asia/Kolkata"
    period = days_period(date(2026, 3, 29), date(2026, 3, 31), timezone=kolkata)
    ids = None if target.kind == "household" else [target.name]
    with session_scope(read_only=True) as s:
        oracle = Oracle(s, seeded.user_id)
        household = load_household(s, user_id=seeded.user_id)
        series = {
            granularity: read_series(
                s,
                household.select(period, device_ids=ids, granularity=granularity, timezone=kolkata),
            )
            for granularity in ("total", "day", "hour")
        }
    devices = members_of(oracle, target)
    want = oracle_figures(oracle, period.start, period.end, devices, peak_hours=False)
    total = series["total"].total
    found = {
        "consumption": total.consumption_wh,
        "generation": total.generation_wh,
        "import": total.import_wh,
        "export": total.export_wh,
        "cost": total.cost,
        "coverage": total.coverage,
    }
    wrong = _differences(want, {"the range": found})
    for granularity in ("day", "hour"):
        bars = series[granularity].household
        assert bars[0].start == period.start and bars[-1].end == period.end
        for name in ("consumed_wh", "generated_wh", "imported_wh", "exported_wh", "covered_s"):
            added = sum(getattr(f, name) for f in bars)
            if added != pytest.approx(getattr(total, name), rel=1e-9, abs=1e-6):
                wrong.append(f"{granularity} bars: {name} adds up to {added}")
    assert not wrong, "\n".join(wrong)
