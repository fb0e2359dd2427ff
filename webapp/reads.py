"""The figures of the pages: cached loaders over the read layer (``energy_core.stats``).

Each loader does the read layer's four steps: it takes the page's parsed input (always the user
id, and a ``Period``), builds one ``Selection``, calls the metrics, and shapes their results into
DataFrames whose columns are the glossary's names (docs/metrics.md). No figure is computed here
or in a page: "no data" is NaN in a frame ("—" on a page, an empty CSV cell), never 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import streamlit as st

from energy_core.power import raw_power
from energy_core.stats import (
    COST_RULE,
    Comparison,
    Figure,
    FigureTable,
    Household,
    Period,
    Selection,
    compare,
    duty_cycle,
    household_now,
    load_household,
    locate_extremes,
    read_series,
    recent_power,
    shares,
    weekday_hour_profile,
)
from webapp import loaders
from webapp.loaders import BASELINE_TTL_S, HISTORY_TTL_S, OVERVIEW_TTL_S, read_session, utc_frame

# --- shaping figures ---------------------------------------------------------------------------

FIGURE_COLUMNS = [
    "consumption_wh",
    "generation_wh",
    "net_wh",
    "import_wh",
    "export_wh",
    "cost",
    "coverage",
    "avg_w",
    "avg_generation_w",
    "min_w",
    "min_at",
    "max_w",
    "max_at",
    "sample_count",
]


# A cell of a series (a device's or the household's period) has no "when" for its extremes:
# when a peak was read is looked for (``locate_extremes``) only for a device's figure over the
# whole selection, so its time is not filled in from the raw readings of some cells (unsummed
# hours, the ends of a range) and left empty in others.
CELL_COLUMNS = [name for name in FIGURE_COLUMNS if name not in ("min_at", "max_at")]


def figure_row(figure: Figure) -> dict:
    """The glossary's metrics of one figure; None (NaN in a frame) where there is no data."""
    return {name: getattr(figure, name) for name in FIGURE_COLUMNS} | {
        "covered_s": figure.covered_time_s,
    }


def cell_row(figure: Figure) -> dict:
    """``figure_row`` of a cell of a series: its extremes without when (see ``CELL_COLUMNS``)."""
    return {name: getattr(figure, name) for name in CELL_COLUMNS} | {
        "covered_s": figure.covered_time_s,
    }


def table_columns(table: FigureTable) -> dict[str, np.ndarray]:
    """``cell_row`` of every cell of a series' table, with its period and device, as columns
    (period by period, devices in order), without making a figure of each cell."""
    columns = table.columns([*CELL_COLUMNS, "covered_time_s"])
    columns["covered_s"] = columns.pop("covered_time_s")
    return columns


def _float(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


def _figures_frame(
    rows: list[dict] | dict[str, np.ndarray], columns: list[str], timezone: str
) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("period_start", "period_end"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(timezone)
    utc_frame(frame, *(c for c in ("min_at", "max_at") if c in frame))
    numeric = [c for c in columns if c.endswith(("_wh", "_w", "cost", "coverage", "_s"))]
    return _float(frame, *numeric)


def cost_rule(household: Household) -> str:
    """The cost rule in words with this household's prices, for the caption under a cost."""
    return f"{COST_RULE} Here: {household.tariff.describe()}."


# --- history -----------------------------------------------------------------------------------

SERIES_COLUMNS = ["period_start", "period_end", "device_id", *CELL_COLUMNS, "covered_s"]
HOUSEHOLD_COLUMNS = ["period_start", "period_end", *CELL_COLUMNS, "covered_s"]
SHARE_COLUMNS = [
    "device_id",
    "consumption_wh",
    "generation_wh",
    "consumption_share",
    "generation_share",
    "cost",
    "coverage",
    "generating",
]
CHANGE_COLUMNS = ["value", "baseline", "delta", "ratio", "comparable", "reason"]
COMPARISON_COLUMNS = [
    "device_id",
    "metric",
    "value",
    *(f"previous_{c}" for c in CHANGE_COLUMNS[1:]),
    *(f"last_year_{c}" for c in CHANGE_COLUMNS[1:]),
]


@dataclass
class HistoryView:
    """Everything History shows for one selection. ``empty`` says why there is nothing to show
    (the frames are then empty)."""

    granularity: str
    cost_rule: str
    empty: str | None = None
    series: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SERIES_COLUMNS))
    household: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=HOUSEHOLD_COLUMNS))
    total: dict = field(default_factory=dict)
    shares: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SHARE_COLUMNS))
    comparison: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=COMPARISON_COLUMNS)
    )
    device_ids: list[str] = field(default_factory=list)
    whole_household: bool = True


def _tuple(values: Iterable[str] | None) -> list[str] | None:
    return list(values) if values else None


def history_selection(
    household: Household,
    period: Period,
    granularity: str,
    device_ids: tuple[str, ...] | None,
    rooms: tuple[str, ...] | None,
) -> Selection:
    return household.select(
        period,
        device_ids=_tuple(device_ids),
        rooms=_tuple(rooms),
        granularity=granularity,  # type: ignore[arg-type]
    )


def _comparison_rows(previous: list[Comparison], last_year: list[Comparison]) -> list[dict]:
    """For the devices together: consumption, generation (where some device generates) and cost;
    for each device, what it does: generation for a generator, consumption otherwise."""
    before = {c.device_id: c for c in last_year}
    generating = any(
        c.current.generated_wh or c.baseline.generated_wh for c in previous if c.device_id
    )
    rows = []
    for comparison in previous:
        if comparison.device_id is None:
            metrics = ["consumption_wh", *(["generation_wh"] if generating else []), "cost"]
        else:
            producing = comparison.current.is_generating or (
                comparison.current.generated_wh == 0 and comparison.baseline.is_generating
            )
            metrics = ["generation_wh" if producing else "consumption_wh"]
        year = before.get(comparison.device_id)
        for metric in metrics:
            now = comparison.change(metric)
            row = {"device_id": comparison.device_id, "metric": metric, "value": now.value}
            for prefix, change in (("previous", now), ("last_year", year and year.change(metric))):
                for name in CHANGE_COLUMNS[1:]:
                    row[f"{prefix}_{name}"] = getattr(change, name) if change else None
            rows.append(row)
    return rows


@st.cache_data(ttl=HISTORY_TTL_S, show_spinner=False)
def load_history(
    user_id: int,
    period: Period,
    granularity: str,
    device_ids: tuple[str, ...] | None = None,
    rooms: tuple[str, ...] | None = None,
) -> HistoryView:
    """The selection's series per device and for the devices together, each device's share, and
    the comparisons with the period before and the same period last year."""
    timezone = period.timezone
    with read_session() as session:
        household = load_household(session, user_id=user_id)
        selection = history_selection(household, period, granularity, device_ids, rooms)
        view = HistoryView(granularity=granularity, cost_rule=cost_rule(household))
        if selection.empty is not None:
            view.empty = selection.empty.message
            return view
        series = read_series(session, selection)
        previous = compare(session, selection, period.previous(), current=series)
        last_year = compare(session, selection, period.same_period_last_year(), current=series)
    view.series = _figures_frame(table_columns(series.table), SERIES_COLUMNS, timezone)
    view.household = _figures_frame(
        [{"period_start": f.start, "period_end": f.end} | cell_row(f) for f in series.household],
        HOUSEHOLD_COLUMNS,
        timezone,
    )
    view.total = figure_row(series.total) | {"has_data": series.total.has_data}
    view.shares = _float(
        pd.DataFrame(
            [
                {
                    "device_id": s.figure.device_id,
                    "consumption_wh": s.figure.consumption_wh,
                    "generation_wh": s.figure.generation_wh,
                    "consumption_share": s.consumption_share,
                    "generation_share": s.generation_share,
                    "cost": s.figure.cost,
                    "coverage": s.figure.coverage,
                    "generating": s.figure.is_generating,
                }
                for s in shares(series)
            ],
            columns=SHARE_COLUMNS,
        ),
        *SHARE_COLUMNS[1:-1],
    )
    view.comparison = pd.DataFrame(
        _comparison_rows(previous, last_year), columns=COMPARISON_COLUMNS
    )
    view.device_ids = [d.device_id for d in series.devices]
    view.whole_household = selection.whole_household
    return view


HEATMAP_COLUMNS = ["weekday", "hour", "avg_w", "consumption_wh", "hours"]


@st.cache_data(ttl=BASELINE_TTL_S, show_spinner=False)
def load_heatmap(
    user_id: int,
    period: Period,
    device_ids: tuple[str, ...] | None = None,
    rooms: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Average power (consumption over covered time) per weekday (0 = Monday) and local hour."""
    with read_session() as session:
        household = load_household(session, user_id=user_id)
        selection = history_selection(household, period, "hour", device_ids, rooms)
        cells = [] if selection.empty else weekday_hour_profile(session, selection)
    return _float(
        pd.DataFrame(
            [(c.weekday, c.hour, c.avg_w, c.consumption_wh, c.hours) for c in cells],
            columns=HEATMAP_COLUMNS,
        ),
        "avg_w",
        "consumption_wh",
    )


# --- one device --------------------------------------------------------------------------------

GAP_COLUMNS = ["gap_start", "gap_end", "duration_s"]


@dataclass
class DeviceView:
    """One device over a period: its figure (``figure``: the glossary's metrics), its duty cycle
    and gaps, and its hours."""

    device_id: str
    generator: bool
    cost_rule: str
    grid_meter: bool
    figure: dict
    duty: dict
    gaps: pd.DataFrame
    hours: pd.DataFrame


@st.cache_data(ttl=HISTORY_TTL_S, show_spinner=False)
def load_device(user_id: int, device_id: str, period: Period, standby_w: float) -> DeviceView:
    """The device's figure over the period (with when its peak and minimum were read), its duty
    cycle (for a generator: its producing time) and gaps, and its local hours."""
    with read_session() as session:
        household = load_household(session, user_id=user_id)
        device = household.require_device(device_id)
        selection = household.select(period, device_ids=[device_id], granularity="hour")
        series = read_series(session, selection, flows=False)
        if device_id in series.by_device:
            figure = locate_extremes(session, selection, series.device_total(device_id))
        else:
            figure = Figure(start=period.start, end=period.end, device_id=device_id)
        duty = duty_cycle(session, selection, device, standby_w=standby_w)
    # The selection holds the one device: its table's rows are the device's hours (none when it
    # took no part in the period).
    hours = _figures_frame(table_columns(series.table), SERIES_COLUMNS, period.timezone)
    gaps = pd.DataFrame([(g.start, g.end, g.duration_s) for g in duty.gaps], columns=GAP_COLUMNS)
    return DeviceView(
        device_id=device_id,
        generator=not device.is_grid_meter and (device.is_generator or figure.is_generating),
        cost_rule=cost_rule(household),
        grid_meter=device.is_grid_meter,
        figure=figure_row(figure) | {"has_data": figure.has_data},
        duty={
            "standby_w": duty.standby_w,
            "duty_cycle": duty.duty_cycle,
            "active_s": duty.active_s,
            "covered_s": duty.covered_s,
            "gap_s": duty.gap_s,
            "gaps": len(duty.gaps),
            "gaps_truncated": duty.gaps_truncated,
            "max_gap_s": device.max_gap_s,
        },
        gaps=utc_frame(gaps, "gap_start", "gap_end"),
        hours=hours,
    )


@st.cache_data(ttl=BASELINE_TTL_S, show_spinner=False)
def load_energy_today(user_id: int, day: datetime) -> dict[str, float]:
    """Each device's consumption plus generation today (``day``: the minute the page asks at),
    largest first: the device that matters today."""
    with read_session() as session:
        household = load_household(session, user_id=user_id)
        status = household_now(session, household, now=day)
    totals = {
        d.device_id: d.today.consumed_wh + d.today.generated_wh
        for d in status.devices
        if d.today.has_data
    }
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


RAW_COLUMNS = ["time", "power_w"]
BUCKET_COLUMNS = ["bucket_start", "bucket_end", "min_w", "mean_w", "max_w", "samples"]


@st.cache_data(ttl=HISTORY_TTL_S, show_spinner=False)
def load_raw_power(user_id: int, device_id: str, start: datetime, end: datetime) -> pd.DataFrame:
    """The device's readings in the window: ``time, power_w`` when there are few enough to show
    them all, otherwise min/mean/max buckets (``bucket_start`` ... ``samples``), times UTC."""
    with read_session() as session:
        device = load_household(session, user_id=user_id).require_device(device_id)
        raw = raw_power(session, user_id=user_id, device=device, start=start, end=end)
    if not raw.downsampled:
        return utc_frame(pd.DataFrame(raw.points, columns=RAW_COLUMNS), "time")
    width = timedelta(seconds=raw.bucket_s)
    frame = pd.DataFrame(
        [(b.start, b.start + width, b.min_w, b.mean_w, b.max_w, b.samples) for b in raw.buckets],
        columns=BUCKET_COLUMNS,
    )
    return utc_frame(frame, "bucket_start", "bucket_end")


# --- live --------------------------------------------------------------------------------------

OVERVIEW_COLUMNS = [
    "device_id",
    "name",
    "type",
    "location",
    "is_active",
    "generator",
    "power_w",
    "reading_at",
    "last_seen_at",
    "online",
    "today_consumption_wh",
    "today_generation_wh",
    "today_cost",
    "today_coverage",
]


@dataclass
class LiveView:
    """The household now: one row per device, the power now and today's figures together."""

    devices: pd.DataFrame
    consumption_w: float
    generation_w: float
    net_w: float
    today: dict
    cost_rule: str

    @property
    def generates(self) -> bool:
        return bool(
            self.devices["generator"].any() or self.generation_w or self.today["generation_wh"]
        )


@st.cache_data(ttl=OVERVIEW_TTL_S, show_spinner=False)
def load_overview(user_id: int) -> LiveView:
    with read_session() as session:
        household = load_household(session, user_id=user_id)
        status = household_now(session, household, now=loaders.now_utc())
    frame = pd.DataFrame(
        [
            (
                d.device_id,
                d.device.name,
                d.device.type,
                d.device.location,
                d.device.is_active,
                d.device.is_generator,
                d.power_w,
                d.reading_at,
                d.last_seen_at,
                d.online,
                d.today.consumption_wh,
                d.today.generation_wh,
                d.today.cost,
                d.today.coverage,
            )
            for d in status.devices
        ],
        columns=OVERVIEW_COLUMNS,
    )
    utc_frame(frame, "reading_at", "last_seen_at")
    return LiveView(
        devices=_float(frame, "power_w", *(c for c in OVERVIEW_COLUMNS if c.startswith("today"))),
        consumption_w=status.consumption_w,
        generation_w=status.generation_w,
        net_w=status.net_w,
        today=figure_row(status.today),
        cost_rule=cost_rule(household),
    )


RECENT_COLUMNS = ["device_id", "bucket_start", "mean_w", "min_w", "max_w", "samples"]


@st.cache_data(ttl=OVERVIEW_TTL_S, show_spinner=False)
def load_recent_power(user_id: int, minutes: int = 60) -> pd.DataFrame:
    """Per device and minute of the last ``minutes``: min, mean and max power (UTC minutes),
    NaN where no reading holds (a gap longer than the device's max gap)."""
    with read_session() as session:
        household = load_household(session, user_id=user_id)
        buckets = recent_power(session, household, now=loaders.now_utc(), minutes=minutes)
    frame = pd.DataFrame(
        [(b.device_id, b.start, b.mean_w, b.min_w, b.max_w, b.samples) for b in buckets],
        columns=RECENT_COLUMNS,
    )
    frame[["mean_w", "min_w", "max_w"]] = frame[["mean_w", "min_w", "max_w"]].astype(float)
    return utc_frame(frame, "bucket_start")


FIGURE_LOADERS = (
    load_history,
    load_heatmap,
    load_device,
    load_energy_today,
    load_raw_power,
    load_overview,
    load_recent_power,
)
