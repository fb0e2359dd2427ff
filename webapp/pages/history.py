"""History: where the energy went over a range, how it compares, when in the week it is used,
and what it cost. Ranges and periods are in the user's timezone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import altair as alt
import pandas as pd
import streamlit as st

from energy_core.history import (
    PRESETS,
    Range,
    cost,
    custom_range,
    default_granularity,
    flows,
    preset_range,
    previous_range,
    same_range_last_year,
)
from webapp import auth
from webapp.charts import (
    USED_COLOR,
    axis_format,
    device_scale,
    energy_unit,
    legend,
    power_unit,
)
from webapp.downloads import csv_download, section
from webapp.loaders import (
    database_guard,
    hour_ceil,
    household_of,
    load_comparison,
    load_devices,
    load_heatmap,
    load_history,
    minute,
    now_utc,
    totals_of,
)
from webapp.units import (
    WEEKDAYS,
    format_change,
    format_energy,
    format_last_seen,
    format_money,
    format_power,
    format_price,
    format_range,
    format_share,
)

GRANULARITIES = {"auto": "Auto", "hour": "Hour", "day": "Day", "week": "Week", "month": "Month"}
# Hourly bars beyond this many days are unreadable and slow to compute.
MAX_HOUR_DAYS = 31
# The hour x weekday profile covers at most the last eight weeks of the range (see its caption):
# a typical week, and a bounded cost however long the range.
HEATMAP_DAYS = 56
PERIOD_LABELS = {"hour": "%a %H:%M", "day": "%a %d %b", "week": "w/c %d %b", "month": "%b %Y"}
FULL = 0.999


def choose_range(tz: ZoneInfo, now: datetime) -> tuple[str, Range]:
    preset = st.selectbox(
        "Range",
        options=list(PRESETS),
        index=list(PRESETS).index("last_7_days"),
        format_func=PRESETS.get,
        key="history_range",
    )
    if preset != "custom":
        return preset, preset_range(preset, now=now, timezone=str(tz))
    today = now.astimezone(tz).date()
    picked = st.date_input(
        "Days",
        value=(today - timedelta(days=13), today),
        max_value=today,
        format="YYYY-MM-DD",
        key="history_days",
    )
    days = picked if isinstance(picked, tuple | list) else (picked,)
    first = days[0]
    last = days[1] if len(days) > 1 else days[0]
    return preset, custom_range(first, last, timezone=str(tz))


def period_labels(series: pd.DataFrame, granularity: str) -> pd.Series:
    return series["period_start"].dt.strftime(PERIOD_LABELS[granularity])


# --- sections ----------------------------------------------------------------------------------


def headline(household: pd.DataFrame, comparison: pd.DataFrame, user: auth.SignedInUser) -> None:
    devices = comparison[comparison["device_id"].notna()]
    now_flows = flows(devices["energy_wh"])
    before = flows(devices["previous_wh"])
    has_baseline = comparison.iloc[0]["previous_coverage"] > 0
    covered = household["covered_s"].sum()
    avg_w = household["energy_wh"].sum() * 3600 / covered if covered else None
    coverage = covered / household["span_s"].sum() if household["span_s"].sum() else 0.0

    def change(value: float, baseline: float) -> str | None:
        if not has_baseline or not baseline:
            return None
        return format_change((value - baseline) / baseline)

    cells = [
        (
            "Energy used",
            format_energy(now_flows.used_wh),
            change(now_flows.used_wh, before.used_wh),
            "inverse",
            "Energy of the selected devices that draw power; the change is against the previous "
            "period.",
        )
    ]
    if now_flows.generated_wh or before.generated_wh:
        cells.append(
            (
                "Generated",
                format_energy(now_flows.generated_wh),
                change(now_flows.generated_wh, before.generated_wh),
                "normal",
                "Energy of the selected generators (solar, battery discharge); the change is "
                "against the previous period.",
            )
        )
    cells += [
        (
            "Cost",
            format_money(cost(now_flows.net_wh, user.price_per_kwh), user.currency),
            None,
            "off",
            f"Used minus generated at {format_price(user.price_per_kwh, user.currency)}.",
        ),
        (
            "Average power",
            format_power(avg_w),
            None,
            "off",
            "Net energy over the time readings cover.",
        ),
        (
            "Coverage",
            format_share(coverage, digits=1 if coverage < FULL else 0),
            None,
            "off",
            "Share of the range the readings cover (average over devices). Gaps are unknown, "
            "not zero, so figures of a range with gaps are lower bounds.",
        ),
    ]
    for column, (label, value, delta, color, help_text) in zip(
        st.columns(len(cells)), cells, strict=True
    ):
        column.metric(label, value, delta=delta, delta_color=color, help=help_text, border=True)


def energy_chart(
    series: pd.DataFrame, names: dict[str, str], all_names: list[str], granularity: str
) -> pd.DataFrame:
    per_period = series.groupby("period_start")["energy_wh"]
    unit, divisor = energy_unit(
        [
            *per_period.apply(lambda e: e.clip(lower=0).sum()),
            *per_period.apply(lambda e: e.clip(upper=0).sum()),
        ]
    )
    data = series.assign(
        device=series["device_id"].map(names),
        period=period_labels(series, granularity),
        energy=series["energy_wh"] / divisor,
        coverage_pct=series["coverage"] * 100,
    )
    order = list(dict.fromkeys(data["period"]))
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "period:O",
                sort=order,
                title=None,
                axis=alt.Axis(labelAngle=-45 if len(order) > 12 else 0, labelOverlap=True),
            ),
            y=alt.Y(
                "sum(energy):Q",
                title=f"Energy ({unit})",
                axis=alt.Axis(format=axis_format(divisor)),
            ),
            color=alt.Color("device:N", scale=device_scale(all_names), legend=legend()),
            order=alt.Order("device:N"),
            tooltip=[
                alt.Tooltip("period:O", title="Period"),
                alt.Tooltip("device:N", title="Device"),
                alt.Tooltip("energy:Q", title=unit, format=",.3f"),
                alt.Tooltip("avg_w:Q", title="Average W", format=",.0f"),
                alt.Tooltip("coverage_pct:Q", title="Coverage %", format=".0f"),
            ],
        )
        .properties(height=340)
    )
    st.altair_chart(chart, width="stretch")
    return series.assign(name=series["device_id"].map(names))[
        [
            "period_start",
            "period_end",
            "device_id",
            "name",
            "energy_wh",
            "avg_w",
            "min_w",
            "max_w",
            "coverage",
        ]
    ]


def power_chart(household: pd.DataFrame, granularity: str) -> pd.DataFrame:
    avg_w = household["energy_wh"] * 3600 / household["covered_s"].where(household["covered_s"] > 0)
    unit, divisor = power_unit(avg_w)
    data = household.assign(
        period=period_labels(household, granularity),
        avg_w=avg_w,
        power=avg_w / divisor,
        coverage_pct=household["coverage"] * 100,
    )
    order = list(data["period"])
    base = alt.Chart(data).encode(
        x=alt.X(
            "period:O",
            sort=order,
            title=None,
            axis=alt.Axis(labelAngle=-45 if len(order) > 12 else 0, labelOverlap=True),
        )
    )
    line = base.mark_line(point=True, color=USED_COLOR).encode(
        y=alt.Y(
            "power:Q", title=f"Average power ({unit})", axis=alt.Axis(format=axis_format(divisor))
        ),
        tooltip=[
            alt.Tooltip("period:O", title="Period"),
            alt.Tooltip("avg_w:Q", title="Average W", format=",.0f"),
            alt.Tooltip("coverage_pct:Q", title="Coverage %", format=".0f"),
        ],
    )
    st.altair_chart(line.properties(height=220), width="stretch")
    return data[["period_start", "period_end", "energy_wh", "covered_s", "avg_w", "coverage"]]


def coverage_chart(household: pd.DataFrame, granularity: str) -> pd.DataFrame:
    data = household.assign(
        period=period_labels(household, granularity), coverage_pct=household["coverage"] * 100
    )
    chart = (
        alt.Chart(data)
        .mark_bar(color="#94a3b8")
        .encode(
            x=alt.X(
                "period:O",
                sort=list(data["period"]),
                title=None,
                axis=alt.Axis(labelAngle=-45 if len(data) > 12 else 0, labelOverlap=True),
            ),
            y=alt.Y(
                "coverage_pct:Q",
                title="Coverage (%)",
                scale=alt.Scale(domain=[0, 100]),
            ),
            tooltip=[
                alt.Tooltip("period:O", title="Period"),
                alt.Tooltip("coverage_pct:Q", title="Coverage %", format=".1f"),
            ],
        )
        .properties(height=140)
    )
    st.altair_chart(chart, width="stretch")
    return data[["period_start", "period_end", "coverage"]]


def shares(
    totals: pd.DataFrame,
    devices: pd.DataFrame,
    all_names: list[str],
    user: auth.SignedInUser,
) -> pd.DataFrame:
    """Each device's share of the energy used (generators: of the energy generated); the chart
    shows the users of energy, the CSV all devices."""
    info = devices.set_index("device_id")
    data = totals.assign(
        name=totals["device_id"].map(info["name"]),
        location=totals["device_id"].map(info["location"]),
        cost=totals["energy_wh"].map(lambda wh: cost(wh, user.price_per_kwh)),
    )
    used = data[data["energy_wh"] > 0]
    unit, divisor = energy_unit(used["energy_wh"])
    shown = used.assign(
        energy=used["energy_wh"] / divisor,
        share_pct=used["share"] * 100,
        label=[
            f"{format_energy(e)} · {format_share(s)}"
            for e, s in zip(used["energy_wh"], used["share"], strict=True)
        ],
    )
    base = alt.Chart(shown).encode(
        y=alt.Y("name:N", sort=list(shown["name"]), title=None, axis=alt.Axis(labelLimit=220)),
        x=alt.X(
            "energy:Q",
            title=f"Energy used ({unit})",
            # Room at the right end for the labels.
            scale=alt.Scale(domain=[0, float(shown["energy"].max()) * 1.45], nice=False),
            axis=alt.Axis(format=axis_format(divisor)),
        ),
        tooltip=[
            alt.Tooltip("name:N", title="Device"),
            alt.Tooltip("location:N", title="Room"),
            alt.Tooltip("energy:Q", title=unit, format=",.2f"),
            alt.Tooltip("share_pct:Q", title="Share %", format=".1f"),
            alt.Tooltip("cost:Q", title=f"Cost ({user.currency})", format=",.2f"),
        ],
    )
    bars = base.mark_bar(cornerRadiusEnd=3, height={"band": 0.7}).encode(
        color=alt.Color("name:N", scale=device_scale(all_names), legend=None)
    )
    labels = base.mark_text(align="left", dx=4, color="#52606d").encode(text="label:N")
    st.altair_chart((bars + labels).properties(height=34 * len(shown) + 50), width="stretch")
    generators = data[data["energy_wh"] < 0]
    notes = [f"cost at {format_price(user.price_per_kwh, user.currency)}"]
    if not generators.empty:
        notes.append(
            "generated: "
            + ", ".join(
                f"{name} {format_energy(-energy)}"
                for name, energy in zip(generators["name"], generators["energy_wh"], strict=True)
            )
        )
    st.caption("Share of the energy used; " + "; ".join(notes) + ".")
    return data[["device_id", "name", "location", "energy_wh", "share", "cost", "coverage"]]


def comparison_table(
    comparison: pd.DataFrame,
    names: dict[str, str],
    *,
    with_last_year: bool,
) -> pd.DataFrame:
    data = comparison.assign(
        name=comparison["device_id"].map(names).fillna("Household (selected devices)")
    )

    def kwh(values: pd.Series, coverage: pd.Series) -> list[str]:
        # A baseline without readings has no figure: "—", never a misleading 0.
        return [
            "—" if pd.isna(v) or c <= 0 else f"{v / 1000:,.2f}"
            for v, c in zip(values, coverage, strict=True)
        ]

    columns = {
        "Device": data["name"],
        "This period (kWh)": kwh(data["energy_wh"], pd.Series([1.0] * len(data))),
        "Previous (kWh)": kwh(data["previous_wh"], data["previous_coverage"]),
        "Change (kWh)": [
            "—" if pd.isna(d) else f"{d / 1000:+,.2f}" for d in data["previous_delta_wh"]
        ],
        "Change": data["previous_change"].map(format_change),
    }
    if with_last_year:
        columns |= {
            "Last year (kWh)": kwh(data["last_year_wh"], data["last_year_coverage"]),
            "Change vs last year (kWh)": [
                "—" if pd.isna(d) else f"{d / 1000:+,.2f}" for d in data["last_year_delta_wh"]
            ],
            "Change vs last year": data["last_year_change"].map(format_change),
        }
    right = st.column_config.TextColumn(alignment="right")
    st.dataframe(
        pd.DataFrame(columns),
        hide_index=True,
        column_config={name: right for name in columns if name != "Device"},
    )
    return data[["device_id", "name", *comparison.columns.drop("device_id")]]


def heatmap(cells: pd.DataFrame) -> pd.DataFrame:
    data = cells.assign(
        day=cells["weekday"].map(lambda d: WEEKDAYS[d]),
        hour_label=cells["hour"].map(lambda h: f"{h:02d}:00"),
        kw=cells["avg_w"] / 1000,
    )
    chart = (
        alt.Chart(data)
        .mark_rect(cornerRadius=2)
        .encode(
            x=alt.X(
                "hour_label:O",
                title="Hour of day",
                sort=[f"{h:02d}:00" for h in range(24)],
                axis=alt.Axis(labelAngle=0, labelExpr="substring(datum.label, 0, 2)"),
            ),
            y=alt.Y("day:O", title=None, sort=list(WEEKDAYS)),
            color=alt.Color(
                "kw:Q",
                title="Average kW",
                # Net export (negative) gets its own hue, centred on zero.
                # symlog: an EV charging at 7 kW must not wash out a 300 W evening.
                scale=alt.Scale(type="symlog", scheme="blueorange", domainMid=0, reverse=True)
                if (data["kw"] < 0).any()
                else alt.Scale(type="symlog", scheme="tealblues"),
                legend=alt.Legend(orient="right", format=".1f"),
            ),
            tooltip=[
                alt.Tooltip("day:O", title="Day"),
                alt.Tooltip("hour_label:O", title="Hour"),
                alt.Tooltip("avg_w:Q", title="Average W", format=",.0f"),
                alt.Tooltip("hours:Q", title="Hours in range"),
            ],
        )
        .properties(height=230)
    )
    st.altair_chart(chart, width="stretch")
    return cells[["weekday", "hour", "avg_w", "energy_wh", "covered_s", "hours"]].assign(
        weekday_name=cells["weekday"].map(lambda d: WEEKDAYS[d])
    )


# --- page --------------------------------------------------------------------------------------


def main() -> None:
    user = auth.current_user()
    tz = ZoneInfo(user.timezone)
    now = minute(now_utc())
    st.title("History", anchor=False)

    with database_guard():
        devices = load_devices(user.id)
    if devices.empty:
        st.info(
            "No devices yet, so no history. Register one on the Devices page and send it "
            "some readings.",
            icon=":material/sensors_off:",
        )
        st.page_link("pages/devices.py", label="Register a device", icon=":material/add:")
        return
    names = dict(zip(devices["device_id"], devices["name"], strict=True))
    all_names = list(devices["name"])

    range_column, granularity_column, device_column, room_column = st.columns([1.3, 1, 2, 1.5])
    with range_column:
        preset, period = choose_range(tz, now)
    auto = default_granularity(period)
    granularity = granularity_column.selectbox(
        "Granularity",
        options=list(GRANULARITIES),
        format_func=lambda g: (
            f"Auto ({GRANULARITIES[auto].lower()})" if g == "auto" else (GRANULARITIES[g])
        ),
        key="history_granularity",
    )
    chosen = device_column.multiselect(
        "Devices",
        options=list(devices["device_id"]),
        format_func=names.get,
        placeholder="All devices",
        key="history_devices",
    )
    rooms = sorted(r for r in devices["location"].unique() if r)
    chosen_rooms = room_column.multiselect(
        "Rooms", options=rooms, placeholder="All rooms", key="history_rooms"
    )
    granularity = auto if granularity == "auto" else granularity
    if granularity == "hour" and period.days > MAX_HOUR_DAYS:
        st.warning(
            f"Hourly bars are shown for ranges up to {MAX_HOUR_DAYS} days; showing days instead.",
            icon=":material/info:",
        )
        granularity = "day"
    device_ids = tuple(chosen) or None
    locations = tuple(chosen_rooms) or None
    start, end = period.start, min(period.end, now.astimezone(tz))
    current = Range(start, end, period.shift_days, period.shift_months)
    previous, last_year = previous_range(current), same_range_last_year(current)
    timezone = user.timezone

    with database_guard():
        series = load_history(user.id, start, end, granularity, timezone, device_ids, locations)
        comparison = load_comparison(
            user.id,
            (start, end),
            (previous.start, previous.end),
            (last_year.start, last_year.end),
            timezone,
            device_ids,
            locations,
        )
        heat_start = hour_ceil(max(start, end - timedelta(days=HEATMAP_DAYS))).astimezone(tz)
        cells = load_heatmap(user.id, heat_start, end, timezone, device_ids, locations)

    st.caption(
        f"{format_range(start, end, tz=tz)} · {timezone} · compared with "
        f"{format_range(previous.start, previous.end, tz=tz)}"
        + (
            ""
            if (previous.start, previous.end) == (last_year.start, last_year.end)
            else f" and {format_range(last_year.start, last_year.end, tz=tz)}"
        )
    )
    if series.empty or not series["sample_count"].sum() and not series["covered_s"].sum():
        # The devices the filters select (an empty series names none of them).
        shown = devices
        if device_ids:
            shown = shown[shown["device_id"].isin(device_ids)]
        if locations:
            shown = shown[shown["location"].isin(locations)]
        seen = shown["last_seen_at"].dropna()
        where = (
            f"the selected devices were last seen {format_last_seen(seen.max(), now=now, tz=tz)}"
            if not seen.empty
            else "the selected devices have never sent a reading"
        )
        st.info(f"No data in this range — {where}.", icon=":material/search_off:")
        return

    household = household_of(series, timezone)
    headline(household, comparison, user)

    row = section("Energy by device")
    behind = energy_chart(series, names, all_names, granularity)
    with row:
        csv_download(behind, name=f"energy-by-device-{start:%Y%m%d}-{granularity}", key="h_e")

    left, right = st.columns(2, gap="large")
    with left:
        row = section("Average power")
        behind = power_chart(household, granularity)
        with row:
            csv_download(behind, name=f"average-power-{start:%Y%m%d}-{granularity}", key="h_p")
        if (household["coverage"] < FULL).any():
            partial = household[household["coverage"] < FULL]
            lowest = partial.loc[partial["coverage"].idxmin()]
            row = section("Data coverage")
            behind = coverage_chart(household, granularity)
            with row:
                csv_download(behind, name=f"coverage-{start:%Y%m%d}-{granularity}", key="h_c")
            st.caption(
                f"Readings cover less than 100% of {len(partial)} of {len(household)} periods "
                f"(lowest {format_share(lowest['coverage'])}, from "
                f"{lowest['period_start']:%d %b %H:%M}). Time without readings is unknown, not "
                "zero: energy there is missing from the figures."
            )
    with right:
        row = section("Share by device")
        behind = shares(totals_of(series), devices, all_names, user)
        with row:
            csv_download(behind, name=f"shares-{start:%Y%m%d}", key="h_s")

    household_row = comparison.iloc[0]
    same = (previous.start, previous.end) == (last_year.start, last_year.end)
    with_last_year = not same and household_row["last_year_coverage"] > 0
    row = section(
        "Compared with the previous period" + (" and last year" if with_last_year else "")
    )
    behind = comparison_table(comparison, names, with_last_year=with_last_year)
    with row:
        csv_download(behind, name=f"comparison-{start:%Y%m%d}", key="h_x")
    notes = ["Changes are left out where a baseline has no readings"]
    if not same and not with_last_year:
        notes.append(
            f"there are no readings for the same period last year "
            f"({format_range(last_year.start, last_year.end, tz=tz)})"
        )
    st.caption(
        "; ".join(notes) + ". Each range's coverage is in the CSV: compare with care where it "
        "differs."
    )

    row = section("When in the week")
    behind = heatmap(cells)
    with row:
        csv_download(behind, name=f"hour-by-weekday-{heat_start:%Y%m%d}", key="h_h")
    st.caption(
        "Average household power per local hour and weekday, "
        + format_range(heat_start, end, tz=tz)
        + (f" (the last {HEATMAP_DAYS} days of the range)." if heat_start > start else ".")
    )


main()
