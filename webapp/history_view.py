"""The sections of the History page: the headline, the charts and the tables, each drawn from a
``HistoryView`` (webapp.reads) and returning the frame behind it for its CSV download. Labels
and captions use the glossary's words (docs/metrics.md)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from energy_core.settings import get_settings
from energy_core.stats import GLOSSARY, Period
from webapp.charts import (
    USED_COLOR,
    axis_format,
    device_legend,
    device_scale,
    energy_unit,
    power_tooltip,
    power_unit,
)
from webapp.layout import Figure, figure_row
from webapp.reads import HistoryView
from webapp.units import (
    DASH,
    WEEKDAYS,
    currency_symbol,
    format_change,
    format_energy,
    format_money,
    format_power,
    format_share,
    in_unit,
    missing,
)

PERIOD_LABELS = {"hour": "%a %H:%M", "day": "%a %d %b", "week": "w/c %d %b", "month": "%b %Y"}
GRANULARITY_WORDS = {"hour": "hour", "day": "day", "week": "week", "month": "month"}
METRIC_NAMES = {"consumption_wh": "Consumption", "generation_wh": "Generation", "cost": "Cost"}
FULL = 0.999


def period_labels(frame: pd.DataFrame, granularity: str) -> pd.Series:
    return frame["period_start"].dt.strftime(PERIOD_LABELS[granularity])


def _x(order: list[str]) -> alt.X:
    # Every period of the range on the axis, those without readings too (left blank: no data).
    return alt.X(
        "period:O",
        sort=order,
        scale=alt.Scale(domain=order),
        title=None,
        axis=alt.Axis(labelAngle=-45 if len(order) > 12 else 0, labelOverlap=True),
    )


def change_text(row: pd.Series, prefix: str = "previous") -> str:
    """The change in percent, or why there is none."""
    if missing(row[f"{prefix}_baseline"]) or missing(row["value"]):
        return "no data"
    if not row[f"{prefix}_comparable"]:
        return "not comparable"
    return format_change(row[f"{prefix}_ratio"])


# --- headline ----------------------------------------------------------------------------------


def household_rows(view: HistoryView) -> pd.DataFrame:
    return view.comparison[view.comparison["device_id"].isna()].set_index("metric")


def headline(view: HistoryView, *, currency: str) -> None:
    """Consumption, generation (where some device generates), cost, average power and coverage
    of the devices together; the changes are those of the comparison table below. On a phone
    three a line, so that the first chart starts on the first screen."""
    rows = household_rows(view)
    total = view.total

    def delta(metric: str) -> str | None:
        row = rows.loc[metric]
        comparable = bool(row["previous_comparable"]) and not missing(row["previous_ratio"])
        return format_change(row["previous_ratio"]) if comparable else None

    cells = [
        (
            "Consumption",
            format_energy(rows.loc["consumption_wh", "value"]),
            delta("consumption_wh"),
            "inverse",
            GLOSSARY["consumption_wh"],
        )
    ]
    if "generation_wh" in rows.index:
        cells.append(
            (
                "Generation",
                format_energy(rows.loc["generation_wh", "value"]),
                delta("generation_wh"),
                "normal",
                GLOSSARY["generation_wh"],
            )
        )
    cells += [
        (
            "Cost",
            format_money(rows.loc["cost", "value"], currency),
            delta("cost"),
            "inverse",
            GLOSSARY["cost"],
        ),
        ("Average power", format_power(total["avg_w"]), None, "off", GLOSSARY["avg_w"]),
        (
            "Coverage",
            format_share(total["coverage"], digits=1 if (total["coverage"] or 0) < FULL else 0),
            None,
            "off",
            GLOSSARY["coverage"],
        ),
    ]
    figure_row(
        [
            Figure(label, value, help_text, delta=change, delta_color=color)
            for label, value, change, color, help_text in cells
        ],
        key="history_figures",
        phone_per_line=3,
    )


def headline_note(view: HistoryView, *, previous: Period) -> str:
    """What the headline's changes are against (or why there are none) and the cost rule: said
    under the first chart, which they would push below a phone's first screen."""
    consumption = household_rows(view).loc["consumption_wh"]
    if consumption["previous_comparable"]:
        note = f"The figures' changes are against {previous.describe()}."
    else:
        reason = consumption["previous_reason"] or "the baseline has no readings"
        note = f"The figures are not comparable in percent with {previous.describe()}: {reason}."
        if "cover only" in reason:
            threshold = get_settings().comparable_coverage
            note += f" Both periods must be covered at least {threshold:.0%}."
    return f"{note} {view.cost_rule}"


# --- charts ------------------------------------------------------------------------------------


def energy_chart(view: HistoryView, devices: pd.DataFrame) -> pd.DataFrame:
    """Each device's consumption per period, stacked; generation drawn below zero."""
    series = view.series
    names = dict(zip(devices["device_id"], devices["name"], strict=True))
    consumed = series.assign(kind="consumption", wh=series["consumption_wh"])
    generated = series[series["generation_wh"] > 0]
    generated = generated.assign(kind="generation", wh=-generated["generation_wh"])
    data = pd.concat([consumed, generated], ignore_index=True)
    data = data[data["wh"].notna()]
    per_period = data.groupby("period_start")["wh"]
    unit, divisor = energy_unit(
        [*per_period.apply(lambda e: e.clip(lower=0).sum()), *per_period.apply(lambda e: e.sum())]
    )
    data = data.assign(
        device=data["device_id"].map(names),
        period=period_labels(data, view.granularity),
        energy=data["wh"] / divisor,
        shown=data["wh"].abs() / divisor,
        coverage_pct=data["coverage"] * 100,
    )
    order = list(dict.fromkeys(period_labels(view.household, view.granularity)))
    title = f"Energy ({unit})" if not generated.empty else f"Consumption ({unit})"
    colours = device_scale(devices, data["device_id"])
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=_x(order),
            y=alt.Y("sum(energy):Q", title=title, axis=alt.Axis(format=axis_format(divisor))),
            color=alt.Color("device:N", scale=colours, legend=None),
            order=alt.Order("device:N"),
            tooltip=[
                alt.Tooltip("period:O", title="Period"),
                alt.Tooltip("device:N", title="Device"),
                alt.Tooltip("kind:N", title="Figure"),
                alt.Tooltip("shown:Q", title=unit, format=",.3f"),
                alt.Tooltip("coverage_pct:Q", title="Coverage %", format=".0f"),
            ],
        )
        .properties(height=340)
    )
    st.altair_chart(chart, width="stretch")
    device_legend(colours)
    if not generated.empty:
        st.caption(
            "Consumption of each device stacked above zero, generation below it. "
            + in_unit(GLOSSARY["generation_wh"], unit)
        )
    return series.assign(name=series["device_id"].map(names))[
        [
            "period_start",
            "period_end",
            "device_id",
            "name",
            "consumption_wh",
            "generation_wh",
            "net_wh",
            "cost",
            "avg_w",
            "min_w",
            "max_w",
            "coverage",
            "sample_count",
        ]
    ]


def power_chart(view: HistoryView) -> pd.DataFrame:
    household = view.household
    unit, divisor = power_unit(household["avg_w"])
    data = household.assign(
        period=period_labels(household, view.granularity),
        power=household["avg_w"] / divisor,
        coverage_pct=household["coverage"] * 100,
    )
    line = (
        alt.Chart(data)
        .mark_line(point=True, color=USED_COLOR)
        .encode(
            x=_x(list(data["period"])),
            y=alt.Y(
                "power:Q",
                title=f"Average power ({unit})",
                axis=alt.Axis(format=axis_format(divisor)),
            ),
            tooltip=[
                alt.Tooltip("period:O", title="Period"),
                power_tooltip("power", "Average", unit=unit, divisor=divisor),
                alt.Tooltip("coverage_pct:Q", title="Coverage %", format=".0f"),
            ],
        )
    )
    st.altair_chart(line.properties(height=220), width="stretch")
    st.caption(in_unit(GLOSSARY["avg_w"], unit))
    return household[["period_start", "period_end", "consumption_wh", "avg_w", "coverage"]]


def coverage_chart(view: HistoryView) -> pd.DataFrame:
    household = view.household
    data = household.assign(
        period=period_labels(household, view.granularity),
        coverage_pct=household["coverage"] * 100,
    )
    chart = (
        alt.Chart(data)
        .mark_bar(color="#94a3b8")
        .encode(
            x=_x(list(data["period"])),
            y=alt.Y("coverage_pct:Q", title="Coverage (%)", scale=alt.Scale(domain=[0, 100])),
            tooltip=[
                alt.Tooltip("period:O", title="Period"),
                alt.Tooltip("coverage_pct:Q", title="Coverage %", format=".1f"),
            ],
        )
        .properties(height=140)
    )
    st.altair_chart(chart, width="stretch")
    partial = household[household["coverage"] < FULL]
    lowest = partial.loc[partial["coverage"].idxmin()]
    st.caption(
        f"Readings cover less than 100% of {len(partial)} of {len(household)} periods (lowest "
        f"{format_share(lowest['coverage'])}, from {lowest['period_start']:%d %b %H:%M}). "
        + GLOSSARY["coverage"]
    )
    return household[["period_start", "period_end", "coverage"]]


def shares_chart(view: HistoryView, devices: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """Each device's share of the consumption; generators' generation in the caption."""
    info = devices.set_index("device_id")
    data = view.shares.assign(
        name=view.shares["device_id"].map(info["name"]),
        location=view.shares["device_id"].map(info["location"]),
    )
    used = data[data["consumption_wh"] > 0]
    unit, divisor = energy_unit(used["consumption_wh"])
    shown = used.assign(
        energy=used["consumption_wh"] / divisor,
        share_pct=used["consumption_share"] * 100,
        label=[
            f"{format_energy(e)} · {format_share(s)}"
            for e, s in zip(used["consumption_wh"], used["consumption_share"], strict=True)
        ],
    )
    base = alt.Chart(shown).encode(
        y=alt.Y("name:N", sort=list(shown["name"]), title=None, axis=alt.Axis(labelLimit=220)),
        x=alt.X(
            "energy:Q",
            title=f"Consumption ({unit})",
            # Room at the right end for the labels.
            scale=alt.Scale(domain=[0, float(shown["energy"].max() or 1) * 1.45], nice=False),
            axis=alt.Axis(format=axis_format(divisor)),
        ),
        tooltip=[
            alt.Tooltip("name:N", title="Device"),
            alt.Tooltip("location:N", title="Room"),
            alt.Tooltip("energy:Q", title=unit, format=",.2f"),
            alt.Tooltip("share_pct:Q", title="Share %", format=".1f"),
            alt.Tooltip("cost:Q", title=f"Cost ({currency_symbol(currency)})", format=",.2f"),
        ],
    )
    bars = base.mark_bar(cornerRadiusEnd=3, height={"band": 0.7}).encode(
        color=alt.Color("name:N", scale=device_scale(devices, shown["device_id"]), legend=None)
    )
    labels = base.mark_text(align="left", dx=4, color="#52606d").encode(text="label:N")
    st.altair_chart((bars + labels).properties(height=34 * len(shown) + 50), width="stretch")
    generators = data[data["generating"]]
    notes = ["Each device's share of the consumption of the selected devices"]
    if not generators.empty:
        notes.append(
            "generation: "
            + ", ".join(
                f"{name} {format_energy(wh)}"
                for name, wh in zip(generators["name"], generators["generation_wh"], strict=True)
            )
        )
    st.caption("; ".join(notes) + ".")
    return data[
        [
            "device_id",
            "name",
            "location",
            "consumption_wh",
            "consumption_share",
            "generation_wh",
            "generation_share",
            "cost",
            "coverage",
        ]
    ]


# --- comparison --------------------------------------------------------------------------------


def _value(metric: str, value: float, currency: str) -> str:
    if missing(value):
        return DASH
    return format_money(value, currency) if metric == "cost" else f"{value / 1000:,.2f} kWh"


def _delta(metric: str, value: float, currency: str) -> str:
    if missing(value):
        return DASH
    if metric == "cost":
        value = round(value, 2) + 0.0  # no "-£0.00"
        return ("+" if value > 0 else "") + format_money(value, currency)
    kwh = round(value / 1000, 2) + 0.0
    return f"{kwh:+,.2f} kWh" if kwh else "0.00 kWh"


def comparison_table(
    view: HistoryView, names: dict[str, str], *, currency: str, with_last_year: bool
) -> pd.DataFrame:
    comparison = view.comparison
    together = "Household" if view.whole_household else "Selected devices"
    data = comparison.assign(
        name=comparison["device_id"].map(names).fillna(together),
        figure=comparison["metric"].map(METRIC_NAMES),
    )
    rows = list(data.itertuples(index=False))
    columns = {
        "Device": data["name"],
        "Figure": data["figure"],
        "This period": [_value(r.metric, r.value, currency) for r in rows],
        "Previous": [_value(r.metric, r.previous_baseline, currency) for r in rows],
        "Change": [_delta(r.metric, r.previous_delta, currency) for r in rows],
        "Change %": [change_text(row) for _, row in data.iterrows()],
    }
    if with_last_year:
        columns |= {
            "Last year": [_value(r.metric, r.last_year_baseline, currency) for r in rows],
            "Change vs last year": [_delta(r.metric, r.last_year_delta, currency) for r in rows],
            "Change % vs last year": [change_text(row, "last_year") for _, row in data.iterrows()],
        }
    right = st.column_config.TextColumn(alignment="right")
    st.dataframe(
        pd.DataFrame(columns),
        hide_index=True,
        column_config={name: right for name in columns if name not in ("Device", "Figure")},
    )
    return data[["device_id", "name", *comparison.columns.drop("device_id")]]


# --- when in the week --------------------------------------------------------------------------


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
                # symlog: an EV charging at 7 kW must not wash out a 300 W evening.
                scale=alt.Scale(type="symlog", scheme="tealblues"),
                legend=alt.Legend(orient="right", format=".1f"),
            ),
            tooltip=[
                alt.Tooltip("day:O", title="Day"),
                alt.Tooltip("hour_label:O", title="Hour"),
                power_tooltip("kw", "Average", unit="kW", divisor=1000.0),
                alt.Tooltip("hours:Q", title="Hours with readings"),
            ],
        )
        .properties(height=230)
    )
    st.altair_chart(chart, width="stretch")
    return cells.assign(weekday_name=cells["weekday"].map(lambda d: WEEKDAYS[d]))
