"""Device: one device in depth over a window — energy, power statistics, duty cycle, coverage and
gaps, its hours, and its raw readings (downsampled so that peaks survive)."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo

import altair as alt
import pandas as pd
import streamlit as st

from energy_core.stats import (
    DEFAULT_STANDBY_W,
    GLOSSARY,
    Period,
    instant_period,
    last_days_period,
)
from webapp.charts import (
    GENERATED_COLOR,
    USED_COLOR,
    axis_format,
    energy_unit,
    power_tooltip,
    power_unit,
)
from webapp.device_pages import open_device_page
from webapp.downloads import csv_download, section
from webapp.layout import Figure, figure_row
from webapp.loaders import database_guard, hour_floor
from webapp.reads import DeviceView, load_device, load_energy_today, load_raw_power
from webapp.units import (
    DASH,
    format_duration,
    format_energy,
    format_last_seen,
    format_money,
    format_power,
    format_range,
    format_share,
    format_type,
    format_when,
    markdown_literal,
    missing,
)

WINDOWS = {"24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days", "custom": "Custom"}
WINDOW_DAYS = {"24h": 1, "7d": 7, "30d": 30}
MAX_CUSTOM_DAYS = 92


def choose_device(devices: pd.DataFrame, *, user_id: int, now: datetime) -> pd.Series:
    """The device of the page address; else the one last viewed in this session; else the one
    with the most energy (consumption plus generation) today."""
    ids = list(devices["device_id"])
    names = dict(zip(devices["device_id"], devices["name"], strict=True))
    wanted = st.query_params.get("device")
    if wanted not in ids:
        wanted = st.session_state.get("device_last_viewed")
    if wanted not in ids:
        with database_guard():
            today = load_energy_today(user_id, now)
        wanted = next((d for d in today if d in ids), ids[0])
    device_id = st.selectbox(
        "Device",
        options=ids,
        index=ids.index(wanted),
        format_func=lambda d: f"{names[d]} ({d})",
    )
    st.query_params["device"] = device_id
    st.session_state["device_last_viewed"] = device_id
    return devices.set_index("device_id").loc[device_id]


def choose_window(tz: tzinfo, now: datetime) -> Period:
    window = st.selectbox(
        "Window",
        options=list(WINDOWS),
        index=1,
        format_func=WINDOWS.get,
        key="device_window",
    )
    timezone = str(tz)
    if window == "24h":
        start = hour_floor(now - timedelta(days=WINDOW_DAYS[window]))
        return instant_period(start, now, timezone=timezone, label=WINDOWS[window].lower())
    if window != "custom":  # today and the whole days before it, as History and the chat mean it
        return last_days_period(
            WINDOW_DAYS[window], now=now, timezone=timezone, label=WINDOWS[window].lower()
        )
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
    return instant_period(start, min(end, now), timezone=timezone)


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
        facts.append("bidirectional (may generate)")
    if not device["is_active"]:
        facts.append("**deactivated**")
    st.caption(" · ".join(markdown_literal(f) if "`" not in f else f for f in facts))


def _at(at: datetime | None, *, tz: tzinfo, now: datetime) -> str | None:
    if missing(at):
        return None
    today = at.astimezone(tz).date() == now.astimezone(tz).date()
    return f"at {'today ' if today else ''}{format_when(at, tz=tz, now=now)}"


def metrics(view: DeviceView, *, currency: str, tz: tzinfo, now: datetime) -> None:
    """A generator shows what it generated, its peak generation and when, and its producing
    time; the grid meter its grid import, export and net import; any other device its
    consumption, peak power and when, minimum and duty cycle."""
    figure, duty = view.figure, view.duty
    coverage = figure["coverage"]
    running = f"above {duty['standby_w']:g} W (absolute value): {format_duration(duty['active_s'])}"
    # The grid meter and a consumer show these two alike.
    peak_power = (
        "Peak power",
        format_power(figure["max_w"]),
        _at(figure["max_at"], tz=tz, now=now),
        GLOSSARY["max_w"],
    )
    duty_cycle = (
        "Duty cycle",
        format_share(duty["duty_cycle"]),
        None,
        GLOSSARY["duty_cycle"] + f" Here: {running}.",
    )
    if view.generator:
        peak = None if missing(figure["min_w"]) else max(-figure["min_w"], 0.0)
        first = [
            ("Generation", format_energy(figure["generation_wh"]), None, GLOSSARY["generation_wh"]),
            (
                "Average generation",
                format_power(figure["avg_generation_w"]),
                None,
                GLOSSARY["avg_generation_w"],
            ),
            (
                "Peak generation",
                format_power(peak),
                _at(figure["min_at"], tz=tz, now=now) if peak else None,
                "The most negative reading, shown as a positive peak.",
            ),
            (
                "Producing time",
                format_duration(duty["active_s"]) if duty["covered_s"] else DASH,
                None
                if missing(duty["duty_cycle"])
                else f"{format_share(duty['duty_cycle'])} of the covered time",
                GLOSSARY["duty_cycle"] + f" Here: {running}.",
            ),
        ]
        own = (
            "Own consumption",
            format_energy(figure["consumption_wh"]),
            None,
            "What the device drew itself (standby at night). " + GLOSSARY["consumption_wh"],
        )
    elif view.grid_meter:
        imported, exported = figure["import_wh"], figure["export_wh"]
        net = None if missing(imported) or missing(exported) else imported - exported
        first = [
            ("Grid import", format_energy(imported), None, GLOSSARY["import_wh"]),
            ("Grid export", format_energy(exported), None, GLOSSARY["export_wh"]),
            (
                "Net import",
                format_energy(net),
                None,
                "Grid import minus grid export, in Wh (negative: more sent than bought).",
            ),
            peak_power,
        ]
        own = duty_cycle
    else:
        first = [
            (
                "Consumption",
                format_energy(figure["consumption_wh"]),
                None,
                GLOSSARY["consumption_wh"],
            ),
            ("Average power", format_power(figure["avg_w"]), None, GLOSSARY["avg_w"]),
            peak_power,
            (
                "Minimum",
                format_power(figure["min_w"]),
                _at(figure["min_at"], tz=tz, now=now),
                GLOSSARY["min_w"],
            ),
        ]
        own = duty_cycle
    second = [
        own,
        (
            "Coverage",
            format_share(coverage, digits=1 if (coverage or 0) < 0.999 else 0),
            None,
            GLOSSARY["coverage"],
        ),
        (
            "Gaps",
            f"{int(duty['gaps'])}"
            + (f" · {format_duration(duty['gap_s'])}" if duty["gaps"] else ""),
            None,
            "Stretches with no reading holding power: unknown, not zero.",
        ),
        ("Cost", format_money(figure["cost"], currency), None, GLOSSARY["cost"]),
    ]
    for n, cells in enumerate((first, second)):
        figure_row(
            [Figure(label, value, help_text, note=when) for label, value, when, help_text in cells],
            key=f"device_figures_{n}",
        )
    st.caption(view.cost_rule)


def power_chart(raw: pd.DataFrame, *, period: Period, tz: tzinfo, generator: bool) -> None:
    """The readings (or min/mean/max buckets), held until the next one; a generator's output is
    drawn upwards (generation as a positive number, as the glossary counts it)."""
    sign = -1.0 if generator else 1.0
    columns = ("power_w",) if "power_w" in raw.columns else ("min_w", "mean_w", "max_w")
    shown = raw.assign(**{c: raw[c] * sign for c in columns})
    if generator and "min_w" in shown:
        shown = shown.assign(min_w=shown["max_w"], max_w=shown["min_w"])
    unit, divisor = power_unit(shown[columns[-1]])
    title = f"{'Generation' if generator else 'Power'} ({unit})"
    axis = alt.Axis(format=axis_format(divisor))
    domain = [
        period.start.astimezone(tz).replace(tzinfo=None),
        period.end.astimezone(tz).replace(tzinfo=None),
    ]
    x_axis = alt.Axis(format="%d %b %H:%M", labelOverlap=True, grid=False, tickCount=8)
    color = GENERATED_COLOR if generator else USED_COLOR
    x = alt.X("local:T", title=None, scale=alt.Scale(domain=domain), axis=x_axis)
    if "power_w" in shown.columns:
        data = shown.assign(
            local=shown["time"].dt.tz_convert(tz).dt.tz_localize(None),
            power=shown["power_w"] / divisor,
        )
        chart = (
            alt.Chart(data)
            .mark_line(interpolate="step-after", color=color, strokeWidth=1.2)
            .encode(
                x=x,
                y=alt.Y("power:Q", title=title, axis=axis),
                tooltip=[
                    alt.Tooltip("local:T", title="Time", format="%d %b %H:%M:%S"),
                    power_tooltip("power", "Power", unit=unit, divisor=divisor, watt_format=",.1f"),
                ],
            )
        )
    else:
        data = shown.assign(
            local=shown["bucket_start"].dt.tz_convert(tz).dt.tz_localize(None),
            low=shown["min_w"] / divisor,
            mean=shown["mean_w"] / divisor,
            high=shown["max_w"] / divisor,
        )
        band = (
            alt.Chart(data)
            .mark_area(interpolate="step-after", color=color, opacity=0.25)
            .encode(x=x, y=alt.Y("low:Q", title=title, axis=axis), y2="high:Q")
        )
        line = (
            alt.Chart(data)
            .mark_line(interpolate="step-after", color=color, strokeWidth=1.2)
            .encode(
                x=x,
                y="mean:Q",
                tooltip=[
                    alt.Tooltip("local:T", title="From", format="%d %b %H:%M"),
                    *(
                        power_tooltip(field, title, unit=unit, divisor=divisor, watt_format=",.1f")
                        for field, title in (
                            ("low", "Lowest"),
                            ("mean", "Mean"),
                            ("high", "Highest"),
                        )
                    ),
                    alt.Tooltip("samples:Q", title="Readings"),
                ],
            )
        )
        chart = band + line
    st.altair_chart(chart.properties(height=300), width="stretch")


def hour_metric(view: DeviceView) -> tuple[str, str, str]:
    """What the hours show: (energy column, average power column, label)."""
    if view.grid_meter:
        return "import_wh", "avg_w", "Grid import"
    if view.generator:
        return "generation_wh", "avg_generation_w", "Generation"
    return "consumption_wh", "avg_w", "Consumption"


def hours_chart(hours: pd.DataFrame, *, view: DeviceView) -> None:
    metric, average, label = hour_metric(view)
    generator = view.generator
    unit, divisor = energy_unit(hours[metric])
    # An hour's average power, in the unit its energy is drawn in: 1.2 kWh in an hour, 1.2 kW.
    power_shown, power_divisor = power_unit(hours[average])
    data = hours.assign(
        local=hours["period_start"].dt.tz_localize(None),
        energy=hours[metric] / divisor,
        average=hours[average] / power_divisor,
        coverage_pct=hours["coverage"] * 100,
    )
    chart = (
        alt.Chart(data)
        .mark_bar(color=GENERATED_COLOR if generator else USED_COLOR)
        .encode(
            x=alt.X(
                "local:T",
                title=None,
                axis=alt.Axis(format="%d %b %H:%M", labelOverlap=True, grid=False),
            ),
            y=alt.Y(
                "energy:Q",
                title=f"{label} ({unit})",
                axis=alt.Axis(format=axis_format(divisor)),
            ),
            opacity=alt.condition("datum.coverage_pct < 99.9", alt.value(0.45), alt.value(1.0)),
            tooltip=[
                alt.Tooltip("local:T", title="Hour", format="%a %d %b %H:%M"),
                alt.Tooltip("energy:Q", title=unit, format=",.3f"),
                *(
                    []
                    if view.grid_meter
                    else [
                        power_tooltip("average", "Average", unit=power_shown, divisor=power_divisor)
                    ]
                ),
                alt.Tooltip("coverage_pct:Q", title="Coverage %", format=".0f"),
            ],
        )
        .properties(height=220)
    )
    st.altair_chart(chart, width="stretch")


HOUR_COLUMNS = [
    "period_start",
    "period_end",
    "consumption_wh",
    "generation_wh",
    "import_wh",
    "export_wh",
    "cost",
    "avg_w",
    "avg_generation_w",
    "min_w",
    "max_w",
    "coverage",
    "sample_count",
]


def hours_table(hours: pd.DataFrame, *, view: DeviceView) -> None:
    energy, average, label = hour_metric(view)
    second = ("Grid export (Wh)", hours["export_wh"]) if view.grid_meter else None
    second = second or ("Average (W)", hours[average])
    st.dataframe(
        pd.DataFrame(
            {
                "Hour": hours["period_start"].dt.strftime("%a %d %b %H:%M"),
                f"{label} (Wh)": hours[energy],
                second[0]: second[1],
                "Lowest reading (W)": hours["min_w"],
                "Highest reading (W)": hours["max_w"],
                "Coverage": hours["coverage"] * 100,
                "Readings": hours["sample_count"],
            }
        ),
        hide_index=True,
        column_config={
            f"{label} (Wh)": st.column_config.NumberColumn(format="%.1f"),
            second[0]: st.column_config.NumberColumn(format="%.1f"),
            "Lowest reading (W)": st.column_config.NumberColumn(format="%.1f"),
            "Highest reading (W)": st.column_config.NumberColumn(format="%.1f"),
            "Coverage": st.column_config.ProgressColumn(
                format="%.0f%%", min_value=0.0, max_value=100.0
            ),
        },
    )


def gaps_section(view: DeviceView, device: pd.Series, *, tz: tzinfo, now: datetime) -> None:
    gaps = view.gaps
    row = section("Gaps")
    if gaps.empty:
        st.success("No gaps: readings cover the whole window.", icon=":material/check_circle:")
        return
    with row:
        csv_download(
            gaps, name=f"{view.device_id}-gaps-{gaps['gap_start'].iloc[0]:%Y%m%d}", key="d_gaps"
        )
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
    st.caption(
        f"Readings hold their power for at most {format_duration(device['effective_gap_s'])}"
        "; longer silences are gaps."
        + (" Only the first gaps are listed." if view.duty["gaps_truncated"] else "")
    )


# --- page --------------------------------------------------------------------------------------


def main() -> None:
    page = open_device_page(
        "Device", no_devices_message="No devices yet. Register one on the Devices page."
    )
    if page is None:
        return
    user, tz, now, devices = page.user, page.tz, page.now, page.devices

    pick, window_column, threshold_column = st.columns([2.4, 1.4, 1])
    with pick:
        device = choose_device(devices, user_id=user.id, now=now)
    with window_column:
        period = choose_window(tz, now)
    standby_w = threshold_column.number_input(
        "Standby threshold (W)",
        min_value=0.0,
        max_value=100_000.0,
        value=DEFAULT_STANDBY_W,
        step=1.0,
        help="Above this (in absolute value) the device counts as running (a generator: as "
        "producing), for the duty cycle.",
        key="device_standby",
    )
    device_id = device.name

    with database_guard():
        view = load_device(user.id, device_id, period, float(standby_w))
        raw = load_raw_power(user.id, device_id, period.start, period.end)

    header(device, now=now, tz=tz)
    st.caption(f"{format_range(period.start, period.end, tz=tz)} ({user.timezone})")
    if not view.figure["has_data"]:
        st.info(
            "No data in this window — this device was last seen "
            f"{format_last_seen(device['last_seen_at'], now=now, tz=tz)}.",
            icon=":material/search_off:",
        )
        return
    metrics(view, currency=user.currency, tz=tz, now=now)
    st.page_link("pages/glossary.py", label="What these figures mean", icon=":material/menu_book:")

    row = section("Output" if view.generator else "Power")
    power_chart(raw, period=period, tz=tz, generator=view.generator)
    with row:
        csv_download(raw, name=f"{device_id}-readings-{period.start:%Y%m%d}", key="d_raw")
    if "power_w" in raw.columns:
        note = f"All {len(raw):,} readings of the window, each held until the next one."
    else:
        width = raw["bucket_end"].iloc[0] - raw["bucket_start"].iloc[0]
        note = (
            f"{int(raw['samples'].sum()):,} readings shown as {len(raw):,} buckets of "
            f"{format_duration(width.total_seconds())}: the band spans each bucket's lowest to "
            "highest reading, so short peaks stay visible; the line is the mean."
        )
    if view.generator:
        note += " Generation is drawn upwards; the CSV holds the readings as sent (negative)."
    st.caption(note)

    row = section(f"{hour_metric(view)[2]} per hour")
    with row:
        csv_download(
            view.hours[HOUR_COLUMNS], name=f"{device_id}-hours-{period.start:%Y%m%d}", key="d_hours"
        )
    hours_chart(view.hours, view=view)
    st.caption("Paler bars are hours that readings do not fully cover.")
    with st.expander("Hours as a table", icon=":material/table:"):
        hours_table(view.hours, view=view)

    gaps_section(view, device, tz=tz, now=now)


main()
