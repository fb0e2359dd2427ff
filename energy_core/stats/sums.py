"""Where a series' sums come from: the stored hourly aggregates of whole, clean hours (summed in
SQL per span and device), the raw readings of the partial hours at the ends of the range and of
the hours still waiting for the scheduler (integrated with the step-function rule), and the
household's grid import, export and cost hour by hour."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlmodel import Session

from energy_core.energy import summarize_step
from energy_core.sql import reads as sql
from energy_core.sql.nets import hourly_nets
from energy_core.stats.days import stored_span_sums
from energy_core.stats.figures import Extremes, Figure
from energy_core.stats.money import price_flows
from energy_core.stats.selection import DeviceRef, Selection
from energy_core.types import HOUR, ceil_hour, floor_hour


@dataclass(frozen=True)
class Span:
    """A piece of the range: [lo, hi) in UTC and the period it counts for (-1: an hour of the
    day the selection leaves out)."""

    lo: datetime
    hi: datetime
    period: int


class Sums(Extremes):
    """Running sums of one device in one span."""

    __slots__ = (
        "consumed",
        "generated",
        "covered",
        "min_w",
        "min_at",
        "max_w",
        "max_at",
        "samples",
        "imported",
        "exported",
        "cost",
    )

    def __init__(self) -> None:
        self.consumed = self.generated = self.covered = 0.0
        self.imported = self.exported = self.cost = 0.0
        self.min_w = self.max_w = None
        self.min_at = self.max_at = None
        self.samples = 0

    def add(
        self,
        consumed: float,
        generated: float,
        covered: float,
        samples: int,
        imported: float,
        exported: float,
    ) -> None:
        self.consumed += consumed
        self.generated += generated
        self.covered += covered
        self.samples += samples
        self.imported += imported
        self.exported += exported


class Cells:
    """The sums of every (device, span) of a series at once: one array per sum, devices by rows
    (in the order of ``pks``) and spans by columns. Stored hours arrive here in bulk from SQL; the
    raw pieces (``Sums`` per (span, device_pk), a handful) are merged in afterwards, in the order
    the sums were always taken: the raw pieces first, then the stored hours.

    Rows are C-contiguous, so a sum over devices (``np.add.reduce(..., axis=0)``) adds them one
    after the other, as a loop over devices would: the same floating-point result."""

    def __init__(self, pks: Sequence[int], spans: int) -> None:
        self.pks = list(pks)
        self.row = {pk: j for j, pk in enumerate(self.pks)}
        shape = (len(self.pks), spans)
        self.consumed = np.zeros(shape)
        self.generated = np.zeros(shape)
        self.covered = np.zeros(shape)
        self.imported = np.zeros(shape)
        self.exported = np.zeros(shape)
        self.cost = np.zeros(shape)
        self.samples = np.zeros(shape, dtype=np.int64)
        self.min_w = np.full(shape, np.nan)
        self.max_w = np.full(shape, np.nan)
        # Whether anything was summed for the cell (a grid meter's figure says it is metered).
        self.present = np.zeros(shape, dtype=bool)
        # When the extremes were read, where a raw reading gives it: (row, column) -> instant.
        self.min_at: dict[tuple[int, int], datetime] = {}
        self.max_at: dict[tuple[int, int], datetime] = {}

    def put_stored(
        self,
        rows: np.ndarray,
        spans: Sequence[Span],
        meter_pks: set[int],
        prices: tuple[float, float] | None,
    ) -> None:
        """The rows of ``span_sums`` (at most one per cell), with each device's own flows and,
        at flat ``prices``, their cost."""
        if not len(rows):
            return
        row_of = self.row
        # Each row's device row here (-1: not a device of the series) and span.
        j = np.array([row_of.get(pk, -1) for pk in rows[:, 1].astype(np.int64).tolist()])
        s = rows[:, 0].astype(np.intp)
        periods = np.array([span.period for span in spans], dtype=np.intp)
        kept = (j >= 0) & (periods[s] >= 0)
        if not kept.any():
            return
        values, j, s = rows[kept], j[kept].astype(np.intp), s[kept]
        consumed, generated, covered = values[:, 2], values[:, 3], values[:, 4]
        cancelled = values[:, 8]
        meter = np.isin(j, [row_of[pk] for pk in meter_pks if pk in row_of])
        imported = np.where(meter, consumed, consumed - cancelled)
        exported = np.where(meter, generated, generated - cancelled)
        self.consumed[j, s] = consumed
        self.generated[j, s] = generated
        self.covered[j, s] = covered
        self.samples[j, s] = values[:, 7].astype(np.int64)
        self.imported[j, s] = imported
        self.exported[j, s] = exported
        if prices is not None:
            self.cost[j, s] = (imported * prices[0] - exported * prices[1]) / 1000.0
        self.min_w[j, s] = values[:, 5]
        self.max_w[j, s] = values[:, 6]
        self.present[j, s] = True

    def merge_raw(self, acc: dict[tuple[int, int], Sums]) -> None:
        """Add the raw pieces in front of the stored hours of the same cell (a stored extreme
        wins only when it is strictly beyond the raw one: when it was read is not known)."""
        for (s, pk), a in acc.items():
            j = self.row.get(pk)
            if j is None:
                continue
            cell = (j, s)
            self.consumed[cell] = a.consumed + self.consumed[cell]
            self.generated[cell] = a.generated + self.generated[cell]
            self.covered[cell] = a.covered + self.covered[cell]
            self.imported[cell] = a.imported + self.imported[cell]
            self.exported[cell] = a.exported + self.exported[cell]
            self.cost[cell] = a.cost + self.cost[cell]
            self.samples[cell] += a.samples
            self.present[cell] = True
            stored_min, stored_max = self.min_w[cell], self.max_w[cell]
            if a.min_w is not None and not stored_min < a.min_w:
                self.min_w[cell], self.min_at[cell] = a.min_w, a.min_at
            if a.max_w is not None and not stored_max > a.max_w:
                self.max_w[cell], self.max_at[cell] = a.max_w, a.max_at

    def by_period(self, spans: Sequence[Span], periods: int) -> Cells:
        """The same sums per period: spans are periods one to one unless hours of the day are
        chosen, when a period's spans are summed in order (the first strict extreme wins)."""
        if len(spans) == periods and all(span.period == i for i, span in enumerate(spans)):
            return self
        out = Cells(self.pks, periods)
        source = np.full(out.min_w.shape, -1, dtype=np.intp)
        source_max = np.full(out.max_w.shape, -1, dtype=np.intp)
        for s, span in enumerate(spans):
            p = span.period
            if p < 0:
                continue
            for name in ("consumed", "generated", "covered", "imported", "exported", "cost"):
                column = getattr(out, name)
                column[:, p] = column[:, p] + getattr(self, name)[:, s]
            out.samples[:, p] += self.samples[:, s]
            out.present[:, p] |= self.present[:, s]
            lower = ~(out.min_w[:, p] <= self.min_w[:, s]) & ~np.isnan(self.min_w[:, s])
            out.min_w[lower, p] = self.min_w[lower, s]
            source[lower, p] = s
            higher = ~(out.max_w[:, p] >= self.max_w[:, s]) & ~np.isnan(self.max_w[:, s])
            out.max_w[higher, p] = self.max_w[higher, s]
            source_max[higher, p] = s
        for (j, s), at in self.min_at.items():
            p = spans[s].period
            if p >= 0 and source[j, p] == s:
                out.min_at[(j, p)] = at
        for (j, s), at in self.max_at.items():
            p = spans[s].period
            if p >= 0 and source_max[j, p] == s:
                out.max_at[(j, p)] = at
        return out


def household_flows(
    selection: Selection,
    spans: Sequence[Span],
    household: list[Figure],
    nets: dict[tuple[int, datetime], float],
    metered: dict[tuple[int, datetime], list[float]],
) -> None:
    """Grid import, export and cost of each period, hour by hour: in the hours the grid meter's
    readings cover, its readings; in the others, the net of the counted devices."""
    tariff = selection.tariff
    for figure in household:
        figure.grid_s = figure.counted_s
    for key in nets.keys() | metered.keys():
        s, hour = key
        period = spans[s].period
        if period < 0:
            continue
        figure = household[period]
        meter = metered.get(key)
        if meter is not None and meter[2] > 0:
            imported, exported = meter[0], meter[1]
            figure.grid_metered = True
            figure.grid_s += meter[2]
        else:
            net = nets.get(key, 0.0)
            imported, exported = max(net, 0.0), max(-net, 0.0)
        figure.imported_wh += imported
        figure.exported_wh += exported
        figure.cost_value += tariff.cost(imported, exported, hour_start=hour)


def add_stored_hours(
    session: Session,
    selection: Selection,
    spans: Sequence[Span],
    taking: Sequence[DeviceRef],
    counted: Sequence[DeviceRef],
    meters: Sequence[DeviceRef],
    acc: dict[tuple[int, int], Sums],
    cells: Cells,
    nets: dict[tuple[int, datetime], float],
    metered: dict[tuple[int, datetime], list[float]],
    flows: bool,
    prices: tuple[float, float] | None,
    dirty: Sequence[tuple[int, datetime]] = (),
) -> bool:
    """Sum the stored aggregates of the whole, clean hours of each span, in SQL, into ``cells``
    with the raw pieces ``acc`` in front of them; with ``flows``, also the household's net per
    hour where something was generated or a grid meter measures the flows. True when those
    hourly nets (``nets``, ``metered``) are complete. ``dirty``: the (device_pk, hour) of the
    range marked dirty, as ``add_raw_hours`` found them. Whole local days are summed from their
    daily rows where those can stand in for their hours (``stats.days``)."""
    full_start = ceil_hour(spans[0].lo)
    full_end = floor_hour(spans[-1].hi)
    generating = any(a.generated > 0 for a in acc.values())
    if full_start >= full_end:
        cells.merge_raw(acc)
        return flows and bool(meters or generating)
    conn = session.connection()
    wanted = {d.pk for d in taking}
    everyone = selection.whole_household and len(taking) == len(selection.household.devices)
    rows = stored_span_sums(
        conn,
        selection=selection,
        spans=spans,
        device_pks=None if everyone else sorted(wanted),
        full_start=full_start,
        full_end=full_end,
        dirty=dirty,
    )
    meter_pks = {d.pk for d in meters}
    cells.put_stored(rows, spans, meter_pks, prices)
    cells.merge_raw(acc)
    if prices is None:
        _price_stored_hours_by_hour(
            session, selection, taking, meter_pks, cells, spans, full_start, full_end
        )
    generating = generating or bool((cells.generated > 0).any())
    if not flows or not (meters or generating):
        return False
    counted_pks = None if everyone and not meters else sorted(d.pk for d in counted)
    starts = [s.lo for s in spans]
    for hour, net, meter_import, meter_export, meter_covered in hourly_nets(
        conn,
        user_id=selection.user_id,
        counted_pks=counted_pks,
        meter_pks=sorted(d.pk for d in meters),
        full_start=full_start,
        full_end=full_end,
        dirty=bool(dirty),
    ):
        s = bisect_right(starts, hour) - 1
        nets[(s, hour)] += net
        if meter_covered:
            meter = metered[(s, hour)]
            meter[0] += meter_import
            meter[1] += meter_export
            meter[2] += meter_covered
    return True


def _price_stored_hours_by_hour(
    session: Session,
    selection: Selection,
    taking: Sequence[DeviceRef],
    meter_pks: set[int],
    cells: Cells,
    spans: Sequence[Span],
    full_start: datetime,
    full_end: datetime,
) -> None:
    """Each device's cost of the stored hours, hour by hour, for prices that change within the
    range (time of use): the flows of every hour priced at that hour's prices."""
    hours = []
    cursor = full_start
    while cursor <= full_end:
        hours.append(cursor)
        cursor += HOUR
    starts = [s.lo for s in spans]
    for idx, pk, consumed, generated, *_, cancelled in sql.span_sums(
        session.connection(),
        user_id=selection.user_id,
        device_pks=sorted(d.pk for d in taking),
        bounds=hours,
        full_start=full_start,
        full_end=full_end,
    ).tolist():
        hour = hours[int(idx)]
        s = bisect_right(starts, hour) - 1
        j = cells.row.get(int(pk))
        if spans[s].period >= 0 and j is not None and cells.present[j, s]:
            imported, exported = _own_flows(
                consumed, generated, cancelled, meter=int(pk) in meter_pks
            )
            cells.cost[j, s] += selection.tariff.cost(imported, exported, hour_start=hour)


def _own_flows(
    consumed_wh: float, generated_wh: float, cancelled_wh: float, *, meter: bool
) -> tuple[float, float]:
    """A device's own grid import and export in one hour: its hourly net (``cancelled_wh`` is
    what it drew and produced within the hour); a grid meter's readings as they are, since they
    are the measured import and export (as in the household's figures)."""
    if meter:
        return consumed_wh, generated_wh
    return consumed_wh - cancelled_wh, generated_wh - cancelled_wh


def add_raw_hours(
    session: Session,
    selection: Selection,
    spans: Sequence[Span],
    taking: Sequence[DeviceRef],
    acc: dict[tuple[int, int], Sums],
    nets: dict[tuple[int, datetime], float],
    metered: dict[tuple[int, datetime], list[float]],
    prices: tuple[float, float] | None,
) -> list[tuple[int, datetime]]:
    """Integrate from raw readings what the aggregates cannot give: the partial hours at both ends
    of the range and the hours still marked dirty. Returns the (device_pk, hour) of the range
    marked dirty, of any device (the stored hours are then read without them)."""
    start, end = spans[0].lo, spans[-1].hi
    full_start, full_end = ceil_hour(start), floor_hour(end)
    edges: list[tuple[datetime, datetime]] = []
    if full_start >= full_end:
        edges.append((start, end))
    else:
        if start < full_start:
            edges.append((start, full_start))
        if full_end < end:
            edges.append((full_end, end))
    ranges: dict[int, list[tuple[datetime, datetime]]] = {d.pk: list(edges) for d in taking}
    conn = session.connection()
    dirty: list[tuple[int, datetime]] = []
    if full_start < full_end:
        for pk, hour in sql.dirty_hours_between(
            conn, user_id=selection.user_id, start=full_start, end=full_end
        ):
            dirty.append((pk, hour))
            if pk in ranges:
                ranges[pk].append((hour, hour + HOUR))
    gaps = {d.pk: d.max_gap_s for d in taking}
    meters = {d.pk for d in taking if d.is_grid_meter}
    windows = [(pk, a, b) for pk, device_ranges in ranges.items() for a, b in device_ranges]
    found = sql.readings_of_windows(conn, user_id=selection.user_id, windows=windows, gaps=gaps)
    starts = [s.lo for s in spans]
    tariff = selection.tariff
    for i, readings in found.items():
        pk, a, b = windows[i]
        # A raw range lies inside one hour; split it where a span boundary cuts that hour.
        cursor = a
        while cursor < b:
            s = bisect_right(starts, cursor) - 1
            piece_end = min(b, spans[s].hi)
            if spans[s].period >= 0:
                summary = summarize_step(readings, start=cursor, end=piece_end, max_gap_s=gaps[pk])
                entry = acc[(s, pk)]
                net = summary.consumed_wh - summary.generated_wh
                imported, exported = _own_flows(
                    summary.consumed_wh,
                    summary.generated_wh,
                    min(summary.consumed_wh, summary.generated_wh),
                    meter=pk in meters,
                )
                entry.add(
                    summary.consumed_wh,
                    summary.generated_wh,
                    summary.covered_s,
                    summary.sample_count,
                    imported,
                    exported,
                )
                hour = floor_hour(cursor)
                entry.cost += (
                    price_flows(imported, exported, *prices)
                    if prices is not None
                    else tariff.cost(imported, exported, hour_start=hour)
                )
                entry.take_extremes(summary.min_w, summary.min_at, summary.max_w, summary.max_at)
                if pk in meters:
                    meter = metered[(s, hour)]
                    meter[0] += summary.consumed_wh
                    meter[1] += summary.generated_wh
                    meter[2] += summary.covered_s
                else:
                    nets[(s, hour)] += net
            cursor = piece_end
    return dirty
