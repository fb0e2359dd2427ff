"""Reading a ``Selection``: its figures per period, per device and for the devices together.

Whole hours come from the stored aggregates, summed in SQL per span and device; the partial
hours at the ends of the range and the hours still waiting for the scheduler are integrated from
raw readings with the same step-function rule, so figures are current to the last reading.
Grid import and export are taken hour by hour from the household's net (or from the grid meter),
and priced hour by hour by the tariff. Periods follow the user's calendar; an hour belongs to the
period its start falls in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlmodel import Session

from energy_core.errors import CoreError, ErrorKind
from energy_core.stats.figures import Figure
from energy_core.stats.period import buckets
from energy_core.stats.selection import DeviceRef, Selection
from energy_core.stats.sums import (
    Cells,
    Span,
    Sums,
    add_raw_hours,
    add_stored_hours,
    household_flows,
)
from energy_core.stats.table import DeviceFigures, FigureTable, figure_table
from energy_core.types import HOUR, floor_hour

# A bound on the periods of one read (the period bounds are sent as bound parameters).
MAX_PERIODS = 10_000


class TooManyPeriods(CoreError, ValueError):
    """A series with more periods than one read allows; the message says what to change."""

    kind = ErrorKind.too_large
    code = "too_many_periods"


@dataclass
class Series:
    """The figures of a selection: per period for the devices together (``household``) and per
    device (``by_device``, for the devices taking part in the range), and over the whole range."""

    selection: Selection
    periods: list[tuple[datetime, datetime]]
    household: list[Figure]
    devices: list[DeviceRef]
    by_device: DeviceFigures

    @property
    def table(self) -> FigureTable:
        """Every (device, period) figure as columns, without making a ``Figure`` of each: for
        callers that show a table (``FigureTable.columns``)."""
        return self.by_device.table

    @property
    def total(self) -> Figure:
        """The selected devices together over the whole range."""
        return _sum(self.selection, self.household, device_id=None)

    def device_total(self, device_id: str) -> Figure:
        """The device over the whole range: its figures per period added up, taken from the
        columns (``table.over_periods``) without making a figure of each period."""
        return self.by_device.total(device_id, self.selection.start, self.selection.end)

    def device_totals(self) -> list[Figure]:
        """Each device over the whole range, in the selection's order."""
        return self.by_device.totals(self.selection.start, self.selection.end)

    def rows(self) -> Iterator[Figure]:
        """Every (period, device) figure, period by period, devices in the selection's order."""
        self.by_device.make_all()
        lists = [self.by_device[device.device_id] for device in self.devices]
        for i in range(len(self.periods)):
            for figures in lists:
                yield figures[i]


def _sum(selection: Selection, figures: Sequence[Figure], *, device_id: str | None) -> Figure:
    total = Figure(
        start=selection.start,
        end=selection.end,
        device_id=device_id,
        members=max((f.members for f in figures), default=0),
    )
    for figure in figures:
        total.add(figure)
        total.duration_s += figure.duration_s
    return total


def _spans(
    periods: Sequence[tuple[datetime, datetime]], hours: frozenset[int] | None, selection: Selection
) -> list[Span]:
    """The periods cut into runs of the chosen local hours of the day and days of the week (and
    runs of the others, which count for no period), contiguous from the first period's start to
    the last's end."""
    weekdays = selection.weekdays
    if hours is None and weekdays is None:
        return [Span(lo, hi, i) for i, (lo, hi) in enumerate(periods)]
    hours = frozenset(range(24)) if hours is None else hours
    weekdays = frozenset(range(7)) if weekdays is None else weekdays
    tz = selection.tz
    spans: list[Span] = []
    for i, (lo, hi) in enumerate(periods):
        cursor = lo
        while cursor < hi:
            following = min(floor_hour(cursor) + HOUR, hi)
            local = cursor.astimezone(tz)
            wanted = local.hour in hours and local.weekday() in weekdays
            period = i if wanted else -1
            if spans and spans[-1].period == period and spans[-1].hi == cursor:
                spans[-1] = Span(spans[-1].lo, following, period)
            else:
                spans.append(Span(cursor, following, period))
            cursor = following
    return spans


def read_series(session: Session, selection: Selection, *, flows: bool = True) -> Series:
    """The figures of ``selection`` per period of its granularity (one period for "total").

    ``flows`` False leaves out the household's grid import, export and cost (one query less);
    each device's own flows and cost are always there.
    """
    tz = selection.tz
    start, end = selection.start.astimezone(UTC), selection.end.astimezone(UTC)
    periods = buckets(start, end, selection.granularity, tz)
    if len(periods) > MAX_PERIODS:
        raise TooManyPeriods(
            f"{len(periods)} {selection.granularity} periods is too many for one read; "
            "choose a coarser granularity or a shorter range."
        )
    spans = _spans(periods, selection.hours, selection)
    taking = list(selection.taking_part)
    acc: dict[tuple[int, int], Sums] = defaultdict(Sums)
    cells = Cells([d.pk for d in taking], len(spans))
    # Household net per (span, UTC hour) of the counted devices, and the grid meters' flows.
    nets: dict[tuple[int, datetime], float] = defaultdict(float)
    metered: dict[tuple[int, datetime], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    counted = [d for d in taking if not d.is_grid_meter]
    meters = [d for d in taking if d.is_grid_meter]
    prices = selection.tariff.flat_prices(start, end)
    if prices is None:
        selection.tariff.load_prices(start, end)
        if selection.tariff.has_tiers:
            from energy_core.stats.tiers import price_tiers  # it reads hourly series itself

            price_tiers(session, selection.household, start, end)
    hourly = False
    if taking and spans:
        dirty = add_raw_hours(session, selection, spans, taking, acc, nets, metered, prices)
        hourly = add_stored_hours(
            session,
            selection,
            spans,
            taking,
            counted,
            meters,
            acc,
            cells,
            nets,
            metered,
            flows,
            prices,
            dirty=dirty,
        )
    elif taking:
        cells.merge_raw(acc)

    sums = cells.by_period(spans, len(periods))
    durations, took = _durations(spans, len(periods), [d.part_in(start, end) for d in taking])
    bounds = [(lo.astimezone(tz), hi.astimezone(tz)) for lo, hi in periods]
    los = [lo for lo, _ in bounds]
    his = [hi for _, hi in bounds]
    duration_list = durations.tolist()
    is_meter = np.array([d.is_grid_meter for d in taking], dtype=bool).reshape(-1, 1)
    counted_s = np.where(is_meter, 0.0, sums.covered)
    members = took > 0
    table = figure_table(
        taking,
        los,
        his,
        # Figure's fields after start, end and device_id, in their order: one row per device.
        [
            sums.consumed,
            sums.generated,
            counted_s,
            sums.imported,
            sums.exported,
            sums.cost,
            sums.covered,  # grid_s
            sums.present & is_meter,  # grid_metered
            sums.covered,  # covered_s
            took,  # span_s
            None,  # duration_s: the period's, the same for every device
            members.astype(np.int64),
            sums.min_w,
            sums.min_at,
            sums.max_w,
            sums.max_at,
            sums.samples,
        ],
        duration_list,
    )
    by_device = DeviceFigures(table)

    # The devices together: each sum adds the devices one after the other (rows, in order).
    counted_rows = ~is_meter
    together = {
        "consumed": _over_devices(np.where(counted_rows, sums.consumed, 0.0)),
        "generated": _over_devices(np.where(counted_rows, sums.generated, 0.0)),
        "counted_s": _over_devices(counted_s),
        "grid_s": _over_devices(np.where(is_meter, sums.covered, 0.0)),
        "covered_s": _over_devices(sums.covered),
        "span_s": _over_devices(took),
        "members": members.sum(axis=0).tolist() if taking else [0] * len(periods),
        "samples": sums.samples.sum(axis=0).tolist() if taking else [0] * len(periods),
    }
    household = [
        Figure(
            los[i],
            his[i],
            None,
            together["consumed"][i],
            together["generated"][i],
            together["counted_s"][i],
            grid_s=together["grid_s"][i],
            covered_s=together["covered_s"][i],
            span_s=together["span_s"][i],
            duration_s=duration_list[i],
            members=together["members"][i],
            sample_count=together["samples"][i],
        )
        for i in range(len(periods))
    ]
    if len(taking) == 1:
        # One device: its own extremes are the selection's.
        for together_i, only in zip(household, by_device[taking[0].device_id], strict=True):
            together_i.take_extremes(only.min_w, only.min_at, only.max_w, only.max_at)

    if flows and hourly:
        household_flows(selection, spans, household, nets, metered)
    elif flows:
        # Nothing generated and no grid meter: every hour's net is what the devices drew, so the
        # household's grid flows and cost are the sums of the devices' own.
        imported = _over_devices(np.where(counted_rows, sums.imported, 0.0))
        exported = _over_devices(np.where(counted_rows, sums.exported, 0.0))
        cost = _over_devices(np.where(counted_rows, sums.cost, 0.0))
        for i, figure in enumerate(household):
            figure.grid_s = figure.counted_s
            figure.imported_wh += imported[i]
            figure.exported_wh += exported[i]
            figure.cost_value += cost[i]
    return Series(
        selection=selection,
        periods=periods,
        household=household,
        devices=taking,
        by_device=by_device,
    )


def _over_devices(values: np.ndarray) -> list[float]:
    """The sum over devices (rows) per period, the devices added in order."""
    if not len(values):
        return [0.0] * values.shape[1]
    return np.add.reduce(values, axis=0).tolist()


def _us(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _durations(
    spans: Sequence[Span], periods: int, parts: Sequence[tuple[datetime, datetime] | None]
) -> tuple[np.ndarray, np.ndarray]:
    """The seconds of each period (its chosen hours only), and of each period during which each
    device took part (``parts``: its part of the range), one row per device. Seconds are
    differences of whole microseconds divided once, as ``timedelta.total_seconds`` gives them."""
    span_lo = np.array([_us(s.lo) for s in spans], dtype=np.int64)
    span_hi = np.array([_us(s.hi) for s in spans], dtype=np.int64)
    lengths = (span_hi - span_lo) / 1e6
    index = np.array([s.period for s in spans], dtype=np.intp)
    chosen = index >= 0
    durations = np.zeros(periods)
    np.add.at(durations, index[chosen], lengths[chosen])
    part_lo = np.array([_us(p[0]) if p else 0 for p in parts], dtype=np.int64).reshape(-1, 1)
    part_hi = np.array([_us(p[1]) if p else 0 for p in parts], dtype=np.int64).reshape(-1, 1)
    inside = (span_lo >= part_lo) & (span_hi <= part_hi)
    overlap = (np.minimum(span_hi, part_hi) - np.maximum(span_lo, part_lo)) / 1e6
    seconds = np.where(inside, lengths, np.where(overlap > 0, overlap, 0.0))
    if len(spans) == periods and chosen.all() and (index == np.arange(periods)).all():
        return durations, seconds
    took = np.zeros((len(parts), periods))
    for s in np.flatnonzero(chosen):
        took[:, index[s]] = took[:, index[s]] + seconds[:, s]
    return durations, took


__all__ = ["MAX_PERIODS", "Series", "TooManyPeriods", "read_series"]
