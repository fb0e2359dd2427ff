"""History: where the energy went over a period, how it compares, when in the week it is used,
and what it cost. Periods are the user's calendar; the filters live in the page address so a
view can be bookmarked and shared."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from energy_core.settings import get_settings
from energy_core.stats import PRESETS, Period, days_period, instant_period, preset_period
from webapp.device_pages import open_device_page
from webapp.downloads import csv_download, section
from webapp.history_view import (
    FULL,
    comparison_table,
    coverage_chart,
    energy_chart,
    headline,
    headline_note,
    heatmap,
    power_chart,
    shares_chart,
)
from webapp.layout import filter_bar
from webapp.loaders import database_guard, hour_ceil
from webapp.reads import load_heatmap, load_history
from webapp.units import format_last_seen

GRANULARITIES = {"auto": "Auto", "hour": "Hour", "day": "Day", "week": "Week", "month": "Month"}
# Hourly bars beyond this many days are unreadable and slow to compute.
MAX_HOUR_DAYS = 31
# The hour x weekday profile covers at most the last eight weeks of the period (see its
# caption): a typical week, and a bounded cost however long the period.
HEATMAP_DAYS = 56
GLOSSARY_PAGE = "pages/glossary.py"
# The pickers of a word or two keep their width; the rooms and devices take the rest of the line.
RANGE_WIDTH_PX = 160
DAYS_WIDTH_PX = 220
GRANULARITY_WIDTH_PX = 120

# --- the filters, in the page address ----------------------------------------------------------
# ?range=last_7_days&granularity=day&rooms=Kitchen,Garage&devices=fridge-kitchen
# ?range=custom&from=2026-03-01&to=2026-03-14


def _from_address(key: str, name: str, parse) -> None:  # noqa: ANN001 - a parser
    """Seed a widget from the page address the first time the page runs in this session."""
    if key in st.session_state or name not in st.query_params:
        return
    value = parse(st.query_params[name])
    if value is not None:
        st.session_state[key] = value


def _listed(text: str) -> list[str]:
    return [part for part in text.split(",") if part]


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _to_address(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value:
            if st.query_params.get(name) != value:
                st.query_params[name] = value
        elif name in st.query_params:
            del st.query_params[name]


def choose_period(tz: ZoneInfo, now: datetime) -> tuple[Period, dict[str, str | None]]:
    _from_address("history_range", "range", lambda v: v if v in PRESETS else None)
    preset = st.selectbox(
        "Range",
        options=list(PRESETS),
        index=list(PRESETS).index("last_7_days"),
        format_func=PRESETS.get,
        key="history_range",
        width=RANGE_WIDTH_PX,
    )
    if preset != "custom":
        address = {"range": preset, "from": None, "to": None}
        return preset_period(preset, now=now, timezone=str(tz)), address
    today = now.astimezone(tz).date()
    if "history_days" not in st.session_state:
        first = _day(st.query_params.get("from", "")) or today - timedelta(days=13)
        last = _day(st.query_params.get("to", "")) or today
        st.session_state["history_days"] = (min(first, today), min(last, today))
    picked = st.date_input(
        "Days", max_value=today, format="YYYY-MM-DD", key="history_days", width=DAYS_WIDTH_PX
    )
    days = picked if isinstance(picked, tuple | list) else (picked,)
    first = days[0]
    last = days[1] if len(days) > 1 else days[0]
    period = days_period(first, last, timezone=str(tz), now=now)
    return period, {"range": "custom", "from": first.isoformat(), "to": last.isoformat()}


def choose_devices(devices: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Rooms narrow the device picker to their devices (devices already chosen stay listed, so
    that choosing a room never silently drops them)."""
    names = dict(zip(devices["device_id"], devices["name"], strict=True))
    rooms = sorted(r for r in devices["location"].unique() if r)
    _from_address("history_rooms", "rooms", lambda v: [r for r in _listed(v) if r in rooms])
    _from_address("history_devices", "devices", lambda v: [d for d in _listed(v) if d in names])
    chosen_rooms = st.multiselect(
        "Rooms", options=rooms, placeholder="All rooms", key="history_rooms", width="stretch"
    )
    in_rooms = devices[devices["location"].isin(chosen_rooms)] if chosen_rooms else devices
    already = [d for d in st.session_state.get("history_devices", []) if d in names]
    options = list(dict.fromkeys([*in_rooms["device_id"], *already]))
    chosen = st.multiselect(
        "Devices",
        options=options,
        format_func=names.get,
        placeholder="All devices in these rooms" if chosen_rooms else "All devices",
        key="history_devices",
        width="stretch",
    )
    return chosen_rooms, chosen


def choose_granularity(period: Period) -> str:
    """The chosen granularity; the bars' granularity is said beside the chart, so the label of
    "Auto" never names one the chart does not show."""
    _from_address("history_granularity", "granularity", lambda v: v if v in GRANULARITIES else None)
    return st.selectbox(
        "Granularity",
        options=list(GRANULARITIES),
        format_func=GRANULARITIES.get,
        key="history_granularity",
        width=GRANULARITY_WIDTH_PX,
    )


def bars_granularity(period: Period, chosen: str) -> tuple[str, str]:
    """The granularity of the bars and the words that say why."""
    granularity = period.default_granularity() if chosen == "auto" else chosen
    why = "chosen automatically for this period" if chosen == "auto" else "as chosen"
    if granularity == "hour" and period.days > MAX_HOUR_DAYS:
        granularity = "day"
        why = f"hours are shown for periods up to {MAX_HOUR_DAYS} days"
    return granularity, why


# --- page --------------------------------------------------------------------------------------


def nothing_to_show(message: str, devices: pd.DataFrame, chosen, rooms, *, now, tz) -> None:  # noqa: ANN001
    shown = devices
    if chosen:
        shown = shown[shown["device_id"].isin(chosen)]
    if rooms:
        shown = shown[shown["location"].isin(rooms)]
    seen = shown["last_seen_at"].dropna()
    if not shown.empty and not seen.empty and "never" not in message:
        message = (
            f"{message.rstrip('.')} — the selected devices were last seen "
            f"{format_last_seen(seen.max(), now=now, tz=tz)}."
        )
    st.info(message, icon=":material/search_off:")


def main() -> None:
    page = open_device_page(
        "History",
        no_devices_message="No devices yet, so no history. Register one on the Devices page "
        "and send it some readings.",
    )
    if page is None:
        return
    user, tz, now, devices = page.user, page.tz, page.now, page.devices
    names = dict(zip(devices["device_id"], devices["name"], strict=True))

    # One line of filters on a desktop, two on a phone (they were four lines there, one filter
    # each, and pushed every figure below the fold).
    with filter_bar("history_filters"):
        period, address = choose_period(tz, now)
        chosen_granularity = choose_granularity(period)
        rooms, chosen = choose_devices(devices)
    _to_address(
        address
        | {
            "granularity": None if chosen_granularity == "auto" else chosen_granularity,
            "rooms": ",".join(rooms) or None,
            "devices": ",".join(chosen) or None,
        }
    )
    granularity, why = bars_granularity(period, chosen_granularity)
    device_ids, room_ids = tuple(chosen) or None, tuple(rooms) or None
    previous, last_year = period.previous(), period.same_period_last_year()

    with database_guard():
        view = load_history(user.id, period, granularity, device_ids, room_ids)
    described = period.describe()
    # What the periods compared are is said under the headline and the comparison table.
    st.caption(
        f"{described[:1].upper()}{described[1:]} · {user.timezone} · one bar per {granularity} "
        f"({why})"
    )
    if view.empty is not None or not view.total.get("has_data"):
        nothing_to_show(
            view.empty or "The selected devices have no readings in this period.",
            devices,
            chosen,
            rooms,
            now=now,
            tz=tz,
        )
        return

    headline(view, currency=user.currency)
    row = section("Energy by device")
    behind = energy_chart(view, devices)
    with row:
        csv_download(
            behind, name=f"energy-by-device-{period.start:%Y%m%d}-{granularity}", key="h_e"
        )
    # What the figures' changes are against and how cost is counted come after the first chart,
    # which they pushed below a phone's first screen; the glossary link goes with them.
    st.caption(headline_note(view, previous=previous))
    st.page_link(GLOSSARY_PAGE, label="What these figures mean", icon=":material/menu_book:")

    left, right = st.columns(2, gap="large")
    with left:
        row = section("Average power")
        behind = power_chart(view)
        with row:
            csv_download(
                behind, name=f"average-power-{period.start:%Y%m%d}-{granularity}", key="h_p"
            )
        if (view.household["coverage"] < FULL).any():
            row = section("Data coverage")
            behind = coverage_chart(view)
            with row:
                csv_download(
                    behind, name=f"coverage-{period.start:%Y%m%d}-{granularity}", key="h_c"
                )
    with right:
        row = section("Share by device")
        behind = shares_chart(view, devices, currency=user.currency)
        with row:
            csv_download(behind, name=f"shares-{period.start:%Y%m%d}", key="h_s")

    same = previous == last_year
    with_last_year = not same and view.comparison["last_year_baseline"].notna().any()
    row = section(
        "Compared with the previous period" + (" and last year" if with_last_year else "")
    )
    behind = comparison_table(view, names, currency=user.currency, with_last_year=with_last_year)
    with row:
        csv_download(behind, name=f"comparison-{period.start:%Y%m%d}", key="h_x")
    threshold = get_settings().comparable_coverage
    notes = [
        f"A change in percent is shown only where both periods are covered at least "
        f'{threshold:.0%} (ENERGY_COMPARABLE_COVERAGE); otherwise it says "not comparable" '
        "and the CSV says why"
    ]
    if with_last_year:
        notes.append(f"last year is {last_year.describe()}")
    elif not same:
        notes.append(f"there are no readings for {last_year.describe()}")
    st.caption("; ".join(notes) + ".")

    row = section("When in the week")
    heat_start = hour_ceil(max(period.start, period.end - timedelta(days=HEATMAP_DAYS)))
    if heat_start >= period.end:
        heat_start = period.start
    heat = instant_period(heat_start, period.end, timezone=user.timezone)
    with database_guard():
        cells = load_heatmap(user.id, heat, device_ids, room_ids)
    behind = heatmap(cells)
    with row:
        csv_download(behind, name=f"hour-by-weekday-{heat.start:%Y%m%d}", key="h_h")
    st.caption(
        "Average power (consumption over the time readings cover) per local hour and weekday, "
        + heat.describe()
        + (f" (the last {HEATMAP_DAYS} days of the period)." if heat.start > period.start else ".")
    )


main()
