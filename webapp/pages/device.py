"""Device: one device in depth over a window — energy, power statistics, duty cycle, coverage and
gaps, its hours, and its raw readings (downsampled so that peaks survive)."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import altair as alt
import pandas as pd
import streamlit as st

from energy_core.devicestats import DEFAULT_STANDBY_W
from energy_core.history import cost
from webapp import auth
from webapp.charts import GENERATED_COLOR, USED_COLOR, axis_format, energy_unit, power_unit
from webapp.downloads import csv_download, section
from webapp.loaders import (
    database_guard,
    hour_floor,
    load_device_hours,
    load_device_stats,
    load_devices,
    load_raw_power,
    minute,
    now_utc,
)
from webapp.units import (
    format_duration,
    format_energy,
    format_last_seen,
    format_money,
    format_power,
    format_price,
    format_range,
    format_share,
    format_type,
    format_when,
    markdown_literal,
)

WINDOWS = {"24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days", "custom": "Custom"}
WINDOW_DAYS = {"24h": 1, "7d": 7, "30d": 30}
MAX_CUSTOM_DAYS = 92


def choose_device(devices: pd.DataFrame) -> pd.Series:
    ids = list(devices["device_id"])
    names = dict(zip(devices["device_id"], devices["name"], strict=True))
    wanted = st.query_params.get("device")
    device_id = st.selectbox(
        "Device",
        options=ids,
        index=ids.index(wanted) if wanted in ids else 0,
        format_func=lambda d: f"{names[d]} ({d})",
    )
    st.query_params["device"] = device_id
    return devices.set_index("device_id").loc[device_id]


def choose_window(tz: tzinfo, now: datetime) -> tuple[datetime, datetime]:
    window = st.selectbox(
        "Window",
        options=list(WINDOWS),
        index=1,
        format_func=WINDOWS.get,
        key="device_window",
    )
    if window != "custom":
        return hour_floor(now - timedelta(days=WINDOW_DAYS[window])), now
    today = now.astimezone(tz).date()
    picked = st.date_input(
        "Days",
        value=(today - timedelta(days=2), today),
        max_value=today,
        format="YYYY-MM-DD",
        key="device_days",
    )
    days = picked if isinstance(picked, tuple | list) else (picked,)
    first, last = days[0], days[-1]
    if (last - first).days + 1 > MAX_CUSTOM_DAYS:
        st.warning(f"Showing the last {MAX_CUSTOM_DAYS} days of that range.")
        first = last - timedelta(days=MAX_CUSTOM_DAYS - 1)
    start = datetime.combine(first, time(), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=tz)
    return start, min(end, now)


# --- sections ----------------------------------------------------------------------------------


def header(device: pd.Series, *, now: datetime, tz: tzinfo) -> None:
    st.subheader(markdown_literal(device["name"]), anchor=False)
    facts = [
        device["location"] or "No room",
        format_type(device["type"]),
        f"id `{device.name}`",
        f"max gap {format_duration(device['effective_gap_s'])}",
        f"last seen {format_last_seen(device['last_seen_at'], now=now, tz=tz)}",
    ]
    if device["bidirectional"]:
        facts.append("bidirectional (negative = generation)")
    if not device["is_active"]:
        facts.append("**deactivated**")
    st.caption(" · ".join(markdown_literal(f) if "`" not in f else f for f in facts))


def metrics(stats: pd.Series, user: auth.SignedInUser) -> None:
    duty = stats["duty_cycle"]
    coverage = stats["coverage"]
    rows = [
        [
            (
                "Energy",
                format_energy(stats["energy_wh"]),
                "Over the window, as the hourly figures count it.",
            ),
            ("Average power", format_power(stats["avg_w"]), "Energy over the time readings cover."),
            ("Minimum", format_power(stats["min_w"]), "Lowest reading in the window."),
            ("Maximum", format_power(stats["max_w"]), "Highest reading in the window."),
        ],
        [
            (
                "Duty cycle",
                format_share(duty),
                f"Share of the covered time above {stats['standby_w']:g} W (absolute value, so "
                f"generating counts): {format_duration(stats['active_s'])}.",
            ),
            (
                "Coverage",
                format_share(coverage, digits=1 if coverage < 0.999 else 0),
                "Share of the window that readings hold (each for at most the max gap).",
            ),
            (
                "Gaps",
                f"{int(stats['gaps'])}"
                + (f" · {format_duration(stats['gap_s'])}" if stats["gaps"] else ""),
                "Stretches with no reading holding power: unknown, not zero.",
            ),
            (
                "Cost",
                format_money(cost(stats["energy_wh"], user.price_per_kwh), user.currency),
                f"Energy at {format_price(user.price_per_kwh, user.currency)}.",
            ),
        ],
    ]
    for cells in rows:
        for column, (label, value, help_text) in zip(st.columns(len(cells)), cells, strict=True):
            column.metric(label, value, help=help_text, border=True)


def power_chart(raw: pd.DataFrame, *, start: datetime, end: datetime, tz: tzinfo) -> None:
    unit, divisor = power_unit(raw["power_w"] if "power_w" in raw.columns else raw["max_w"])
    axis = alt.Axis(format=axis_format(divisor))
    domain = [start.astimezone(tz).replace(tzinfo=None), end.astimezone(tz).replace(tzinfo=None)]
    x_axis = alt.Axis(format="%d %b %H:%M", labelOverlap=True, grid=False, tickCount=8)
    if "power_w" in raw.columns:
        data = raw.assign(
            local=raw["time"].dt.tz_convert(tz).dt.tz_localize(None), power=raw["power_w"] / divisor
        )
        chart = (
            alt.Chart(data)
            .mark_line(interpolate="step-after", color=USED_COLOR, strokeWidth=1.2)
            .encode(
                x=alt.X("local:T", title=None, scale=alt.Scale(domain=domain), axis=x_axis),
                y=alt.Y("power:Q", title=f"Power ({unit})", axis=axis),
                tooltip=[
                    alt.Tooltip("local:T", title="Time", format="%d %b %H:%M:%S"),
                    alt.Tooltip("power_w:Q", title="W", format=",.1f"),
                ],
            )
        )
    else:
        data = raw.assign(
            local=raw["bucket_start"].dt.tz_convert(tz).dt.tz_localize(None),
            low=raw["min_w"] / divisor,
            mean=raw["mean_w"] / divisor,
            high=raw["max_w"] / divisor,
        )
        x = alt.X("local:T", title=None, scale=alt.Scale(domain=domain), axis=x_axis)
        band = (
            alt.Chart(data)
            .mark_area(interpolate="step-after", color=USED_COLOR, opacity=0.25)
            .encode(x=x, y=alt.Y("low:Q", title=f"Power ({unit})", axis=axis), y2="high:Q")
        )
        line = (
            alt.Chart(data)
            .mark_line(interpolate="step-after", color=USED_COLOR, strokeWidth=1.2)
            .encode(
                x=x,
                y="mean:Q",
                tooltip=[
                    alt.Tooltip("local:T", title="From", format="%d %b %H:%M"),
                    alt.Tooltip("min_w:Q", title="Min W", format=",.1f"),
                    alt.Tooltip("mean_w:Q", title="Mean W", format=",.1f"),
                    alt.Tooltip("max_w:Q", title="Max W", format=",.1f"),
                    alt.Tooltip("samples:Q", title="Readings"),
                ],
            )
        )
        chart = band + line
    st.altair_chart(chart.properties(height=300), width="stretch")


def hours_chart(hours: pd.DataFrame, *, tz: tzinfo) -> None:
    unit, divisor = energy_unit(hours["energy_wh"])
    data = hours.assign(
        local=hours["period_start"].dt.tz_localize(None),
        energy=hours["energy_wh"] / divisor,
        coverage_pct=hours["coverage"] * 100,
    )
    color = alt.condition("datum.kwh < 0", alt.value(GENERATED_COLOR), alt.value(USED_COLOR))
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "local:T",
                title=None,
                axis=alt.Axis(format="%d %b %H:%M", labelOverlap=True, grid=False),
            ),
            y=alt.Y("energy:Q", title=f"Energy ({unit})", axis=alt.Axis(format=",.1f")),
            color=color,
            opacity=alt.condition("datum.coverage_pct < 99.9", alt.value(0.45), alt.value(1.0)),
            tooltip=[
                alt.Tooltip("local:T", title="Hour", format="%a %d %b %H:%M"),
                alt.Tooltip("energy:Q", title=unit, format=",.3f"),
                alt.Tooltip("avg_w:Q", title="Average W", format=",.0f"),
                alt.Tooltip("min_w:Q", title="Min W", format=",.0f"),
                alt.Tooltip("max_w:Q", title="Max W", format=",.0f"),
                alt.Tooltip("coverage_pct:Q", title="Coverage %", format=".0f"),
            ],
        )
        .properties(height=220)
    )
    st.altair_chart(chart, width="stretch")


# --- page --------------------------------------------------------------------------------------


def main() -> None:
    user = auth.current_user()
    tz = ZoneInfo(user.timezone)
    now = minute(now_utc())
    st.title("Device", anchor=False)
    with database_guard():
        devices = load_devices(user.id)
    if devices.empty:
        st.info("No devices yet. Register one on the Devices page.", icon=":material/sensors_off:")
        st.page_link("pages/devices.py", label="Register a device", icon=":material/add:")
        return

    pick, window_column, threshold_column = st.columns([2.4, 1.4, 1])
    with pick:
        device = choose_device(devices)
    with window_column:
        start, end = choose_window(tz, now)
    standby_w = threshold_column.number_input(
        "Standby threshold (W)",
        min_value=0.0,
        max_value=100_000.0,
        value=DEFAULT_STANDBY_W,
        step=1.0,
        help="Above this (in absolute value) the device counts as running, for the duty cycle.",
        key="device_standby",
    )
    device_id = device.name

    with database_guard():
        summary, gaps = load_device_stats(user.id, device_id, start, end, float(standby_w))
        hours = load_device_hours(user.id, device_id, start, end, user.timezone)
        raw = load_raw_power(user.id, device_id, start, end)
    stats = summary.iloc[0]

    header(device, now=now, tz=tz)
    st.caption(f"{format_range(start, end, tz=tz)} ({user.timezone})")
    if not stats["sample_count"] and not stats["covered_s"]:
        st.info(
            "No data in this window — this device was last seen "
            f"{format_last_seen(device['last_seen_at'], now=now, tz=tz)}.",
            icon=":material/search_off:",
        )
        return
    metrics(stats, user)

    row = section("Power")
    power_chart(raw, start=start, end=end, tz=tz)
    with row:
        csv_download(raw, name=f"{device_id}-readings-{start:%Y%m%d}", key="d_raw")
    if "power_w" in raw.columns:
        st.caption(f"All {len(raw):,} readings of the window, each held until the next one.")
    else:
        width = raw["bucket_end"].iloc[0] - raw["bucket_start"].iloc[0]
        st.caption(
            f"{int(raw['samples'].sum()):,} readings shown as {len(raw):,} buckets of "
            f"{format_duration(width.total_seconds())}: the band spans each bucket's lowest to "
            "highest reading, so short peaks stay visible; the line is the mean."
        )

    row = section("Energy per hour")
    hours_table = hours[
        [
            "period_start",
            "period_end",
            "energy_wh",
            "avg_w",
            "min_w",
            "max_w",
            "coverage",
            "sample_count",
        ]
    ]
    with row:
        csv_download(hours_table, name=f"{device_id}-hours-{start:%Y%m%d}", key="d_hours")
    hours_chart(hours, tz=tz)
    st.caption("Paler bars are hours that readings do not fully cover.")
    with st.expander("Hourly aggregates as a table", icon=":material/table:"):
        st.dataframe(
            pd.DataFrame(
                {
                    "Hour": hours["period_start"].dt.strftime("%a %d %b %H:%M"),
                    "Energy (Wh)": hours["energy_wh"],
                    "Average (W)": hours["avg_w"],
                    "Min (W)": hours["min_w"],
                    "Max (W)": hours["max_w"],
                    "Coverage": hours["coverage"] * 100,
                    "Readings": hours["sample_count"],
                }
            ),
            hide_index=True,
            column_config={
                "Energy (Wh)": st.column_config.NumberColumn(format="%.1f"),
                "Average (W)": st.column_config.NumberColumn(format="%.1f"),
                "Min (W)": st.column_config.NumberColumn(format="%.1f"),
                "Max (W)": st.column_config.NumberColumn(format="%.1f"),
                "Coverage": st.column_config.ProgressColumn(
                    format="%.0f%%", min_value=0.0, max_value=100.0
                ),
            },
        )

    row = section("Gaps")
    if gaps.empty:
        st.success("No gaps: readings cover the whole window.", icon=":material/check_circle:")
        return
    with row:
        csv_download(gaps, name=f"{device_id}-gaps-{start:%Y%m%d}", key="d_gaps")
    st.dataframe(
        pd.DataFrame(
            {
                "From": gaps["gap_start"].map(lambda at: format_when(at, tz=tz, now=now)),
                "To": gaps["gap_end"].map(lambda at: format_when(at, tz=tz, now=now)),
                "Length": gaps["duration_s"].map(format_duration),
            }
        ),
        hide_index=True,
        height=min(36 * (len(gaps) + 1) + 4, 320),
    )
    truncated = bool(stats["gaps_truncated"])
    st.caption(
        f"Readings hold their power for at most {format_duration(device['effective_gap_s'])}"
        "; longer silences are gaps." + (" Only the first gaps are listed." if truncated else "")
    )


main()
