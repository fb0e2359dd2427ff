"""Reading a ``Selection``: its figures per period, per device and for the devices together.

Whole hours come from the stored aggregates, summed in SQL per span and device; the partial
hours at the ends of the range and the hours still waiting for the scheduler are integrated from
raw readings with the same step-function rule, so figures are current to the last reading.
Grid import and export are taken hour by hour from the household's net (or from the grid meter),
and priced hour by hour by the tariff. Periods follow the user's calendar; an hour belongs to the
period its start falls in.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from energy_core.energy import summarize_step
from energy_core.errors import CoreError, ErrorKind
from energy_core.sql import reads as sql
from energy_core.stats.figures import Figure
from energy_core.stats.money import price_flows
from energy_core.stats.period import buckets
from energy_core.stats.selection import DeviceRef, Selection
from energy_core.types import HOUR, ceil_hour, floor_hour

# A bound on the periods of one read (the period bounds are sent as bound parameters).
MAX_PERIODS = 10_000


class TooManyPeriods(CoreError, ValueError):
    """A series with more periods than one read allows; the message says what to change."""

    kind = ErrorKind.too_large
    code = "too_many_periods"


@dataclass(frozen=True)
class _Span:
    """A piece of the range: [lo, hi) in UTC and the period it counts for (-1: an hour of the
    day the selection leaves out)."""

    lo: datetime
    hi: datetime
    period: int


@dataclass
class Series:
    """The figures of a selection: per period for the devices together (``household``) and per
    device (``by_device``, for the devices taking part in the range), and over the whole range."""

    selection: Selection
    periods: list[tuple[datetime, datetime]]
    household: list[Figure]
    devices: list[DeviceRef]
    by_device: dict[str, list[Figure]]

    @property
    def total(self) -> Figure:
        """The selected devices together over the whole range."""
        return _sum(self.selection, self.household, device_id=None)

    def device_total(self, device_id: str) -> Figure:
        return _sum(self.selection, self.by_device[device_id], device_id=device_id)

    def device_totals(self) -> list[Figure]:
        return [self.device_total(d.device_id) for d in self.devices]

    def rows(self) -> Iterator[Figure]:
        """Every (period, device) figure, period by period, devices in the selection's order."""
        for i in range(len(self.periods)):
            for device in self.devices:
                yield self.by_device[device.device_id][i]


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
) -> list[_Span]:
    """The periods cut into runs of the chosen local hours of the day (and runs of the others,
    which count for no period), contiguous from the first period's start to the last's end."""
    if hours is None:
        return [_Span(lo, hi, i) for i, (lo, hi) in enumerate(periods)]
    tz = selection.tz
    spans: list[_Span] = []
    for i, (lo, hi) in enumerate(periods):
        cursor = lo
        while cursor < hi:
            following = min(floor_hour(cursor) + HOUR, hi)
            wanted = cursor.astimezone(tz).hour in hours
            period = i if wanted else -1
            if spans and spans[-1].period == period and spans[-1].hi == cursor:
                spans[-1] = _Span(spans[-1].lo, following, period)
            else:
                spans.append(_Span(cursor, following, period))
            cursor = following
    return spans


class _Acc:
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
    parts = {d.pk: d.part_in(start, end) for d in taking}
    acc: dict[tuple[int, int], _Acc] = defaultdict(_Acc)
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
        _add_raw_hours(session, selection, spans, taking, acc, nets, metered, prices)
        hourly = _add_stored_hours(
            session, selection, spans, taking, counted, meters, acc, nets, metered, flows, prices
        )

    household = []
    meter_pks = {d.pk for d in meters}
    by_device: dict[str, list[Figure]] = {d.device_id: [] for d in taking}
    spans_of: list[list[int]] = [[] for _ in periods]
    for s, span in enumerate(spans):
        if span.period >= 0:
            spans_of[span.period].append(s)
    lengths = [(span.hi - span.lo).total_seconds() for span in spans]
    durations = [sum(lengths[s] for s in mine) for mine in spans_of]
    part_s = {
        pk: _part_seconds(part, spans, lengths, durations, (start, end))
        for pk, part in parts.items()
    }
    for i, (lo, hi) in enumerate(periods):
        local_lo, local_hi = lo.astimezone(tz), hi.astimezone(tz)
        mine = spans_of[i]
        duration = durations[i]
        consumed = generated = counted_s = grid_s = covered_s = span_s = 0.0
        members = samples = 0
        for device in taking:
            pk = device.pk
            took_s = part_s[pk][i]
            member = 1 if took_s > 0 else 0
            a = acc.get((mine[0], pk)) if len(mine) == 1 else _merged(acc, mine, pk)
            if a is None:
                figure = Figure(
                    local_lo,
                    local_hi,
                    device.device_id,
                    span_s=took_s,
                    duration_s=duration,
                    members=member,
                )
            else:
                meter = pk in meter_pks
                figure = Figure(
                    local_lo,
                    local_hi,
                    device.device_id,
                    a.consumed,
                    a.generated,
                    # The grid meter is neither a consumer nor a generator: what it reads is
                    # grid import and export (docs/metrics.md, "Which devices count").
                    0.0 if meter else a.covered,
                    a.imported,
                    a.exported,
                    a.cost,
                    a.covered,
                    meter,
                    a.covered,
                    took_s,
                    duration,
                    member,
                    a.min_w,
                    a.min_at,
                    a.max_w,
                    a.max_at,
                    a.samples,
                )
                covered_s += a.covered
                samples += a.samples
                if meter:
                    grid_s += a.covered
                else:
                    consumed += a.consumed
                    generated += a.generated
                    counted_s += a.covered
            by_device[device.device_id].append(figure)
            span_s += took_s
            members += member
        together = Figure(
            local_lo,
            local_hi,
            None,
            consumed,
            generated,
            counted_s,
            grid_s=grid_s,
            covered_s=covered_s,
            span_s=span_s,
            duration_s=duration,
            members=members,
            sample_count=samples,
        )
        if len(taking) == 1:
            # One device: its own extremes are the selection's.
            only = by_device[taking[0].device_id][-1]
            together.take_extremes(only.min_w, only.min_at, only.max_w, only.max_at)
        household.append(together)

    if flows and hourly:
        _household_flows(selection, spans, household, nets, metered)
    elif flows:
        # Nothing generated and no grid meter: every hour's net is what the devices drew, so the
        # household's grid flows and cost are the sums of the devices' own.
        for i, together in enumerate(household):
            together.grid_s = together.counted_s
            for device in counted:
                figure = by_device[device.device_id][i]
                together.imported_wh += figure.imported_wh
                together.exported_wh += figure.exported_wh
                together.cost_value += figure.cost_value
    return Series(
        selection=selection,
        periods=periods,
        household=household,
        devices=taking,
        by_device=by_device,
    )


def _part_seconds(
    part: tuple[datetime, datetime],
    spans: Sequence[_Span],
    lengths: Sequence[float],
    durations: list[float],
    whole: tuple[datetime, datetime],
) -> list[float]:
    """The seconds of each period during which a device took part (``part`` of the range)."""
    if part == whole:
        return durations
    out = [0.0] * len(durations)
    first = max(bisect_right([s.hi for s in spans], part[0]), 0)
    for s in range(first, len(spans)):
        span = spans[s]
        if span.lo >= part[1]:
            break
        if span.period < 0:
            continue
        if span.lo >= part[0] and span.hi <= part[1]:
            out[span.period] += lengths[s]
        else:
            overlap = (min(span.hi, part[1]) - max(span.lo, part[0])).total_seconds()
            if overlap > 0:
                out[span.period] += overlap
    return out


def _merged(acc: dict[tuple[int, int], _Acc], spans: Sequence[int], pk: int) -> _Acc | None:
    """One device's sums over several spans of a period (hours of the day chosen)."""
    found = [acc[(s, pk)] for s in spans if (s, pk) in acc]
    if not found:
        return None
    total = _Acc()
    for a in found:
        total.consumed += a.consumed
        total.generated += a.generated
        total.covered += a.covered
        total.imported += a.imported
        total.exported += a.exported
        total.cost += a.cost
        total.samples += a.samples
        if a.min_w is not None and (total.min_w is None or a.min_w < total.min_w):
            total.min_w, total.min_at = a.min_w, a.min_at
        if a.max_w is not None and (total.max_w is None or a.max_w > total.max_w):
            total.max_w, total.max_at = a.max_w, a.max_at
    return total


def _household_flows(
    selection: Selection,
    spans: Sequence[_Span],
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


def _add_stored_hours(
    session: Session,
    selection: Selection,
    spans: Sequence[_Span],
    taking: Sequence[DeviceRef],
    counted: Sequence[DeviceRef],
    meters: Sequence[DeviceRef],
    acc: dict[tuple[int, int], _Acc],
    nets: dict[tuple[int, datetime], float],
    metered: dict[tuple[int, datetime], list[float]],
    flows: bool,
    prices: tuple[float, float] | None,
) -> bool:
    """Sum the stored aggregates of the whole, clean hours of each span, in SQL; with ``flows``,
    also the household's net per hour where something was generated or a grid meter measures
    the flows. True when those hourly nets (``nets``, ``metered``) are complete."""
    full_start = ceil_hour(spans[0].lo)
    full_end = floor_hour(spans[-1].hi)
    generating = any(a.generated > 0 for a in acc.values())
    if full_start >= full_end:
        return flows and bool(meters or generating)
    conn = session.connection()
    wanted = {d.pk for d in taking}
    everyone = selection.whole_household and len(taking) == len(selection.household.devices)
    rows = sql.span_sums(
        conn,
        user_id=selection.user_id,
        device_pks=None if everyone else sorted(wanted),
        bounds=[spans[0].lo, *(s.hi for s in spans)],
        full_start=full_start,
        full_end=full_end,
    )
    meter_pks = {d.pk for d in meters}
    for idx, pk, consumed, generated, covered, min_w, max_w, samples, cancelled in rows:
        if pk not in wanted or spans[idx].period < 0:
            continue
        imported, exported = _own_flows(consumed, generated, cancelled, meter=pk in meter_pks)
        a = acc[(idx, pk)]
        a.consumed += consumed
        a.generated += generated
        a.covered += covered
        a.samples += int(samples)
        a.imported += imported
        a.exported += exported
        if prices is not None:
            a.cost += price_flows(imported, exported, *prices)
        # A stored hour beats the raw readings' extreme: when it was read is not known here
        # (None: locate_extremes finds it), and a raw reading's instant must not stay with it.
        if min_w is not None and (a.min_w is None or min_w < a.min_w):
            a.min_w, a.min_at = min_w, None
        if max_w is not None and (a.max_w is None or max_w > a.max_w):
            a.max_w, a.max_at = max_w, None
    if prices is None:
        _price_stored_hours_by_hour(
            session, selection, taking, meter_pks, acc, spans, full_start, full_end
        )
    generating = generating or any(a.generated > 0 for a in acc.values())
    if not flows or not (meters or generating):
        return False
    counted_pks = None if everyone and not meters else sorted(d.pk for d in counted)
    starts = [s.lo for s in spans]
    for hour, net, meter_import, meter_export, meter_covered in sql.hourly_nets(
        conn,
        user_id=selection.user_id,
        counted_pks=counted_pks,
        meter_pks=sorted(d.pk for d in meters),
        full_start=full_start,
        full_end=full_end,
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
    acc: dict[tuple[int, int], _Acc],
    spans: Sequence[_Span],
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
    ):
        hour = hours[idx]
        s = bisect_right(starts, hour) - 1
        if spans[s].period >= 0 and (s, pk) in acc:
            imported, exported = _own_flows(consumed, generated, cancelled, meter=pk in meter_pks)
            acc[(s, pk)].cost += selection.tariff.cost(imported, exported, hour_start=hour)


def _own_flows(
    consumed_wh: float, generated_wh: float, cancelled_wh: float, *, meter: bool
) -> tuple[float, float]:
    """A device's own grid import and export in one hour: its hourly net (``cancelled_wh`` is
    what it drew and produced within the hour); a grid meter's readings as they are, since they
    are the measured import and export (as in the household's figures)."""
    if meter:
        return consumed_wh, generated_wh
    return consumed_wh - cancelled_wh, generated_wh - cancelled_wh


def _add_raw_hours(
    session: Session,
    selection: Selection,
    spans: Sequence[_Span],
    taking: Sequence[DeviceRef],
    acc: dict[tuple[int, int], _Acc],
    nets: dict[tuple[int, datetime], float],
    metered: dict[tuple[int, datetime], list[float]],
    prices: tuple[float, float] | None,
) -> None:
    """Integrate from raw readings what the aggregates cannot give: the partial hours at both ends
    of the range and the hours still marked dirty."""
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
    if full_start < full_end:
        for pk, hour in sql.dirty_hours_between(
            conn, user_id=selection.user_id, start=full_start, end=full_end
        ):
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
                entry.consumed += summary.consumed_wh
                entry.generated += summary.generated_wh
                entry.covered += summary.covered_s
                entry.samples += summary.sample_count
                net = summary.consumed_wh - summary.generated_wh
                imported, exported = _own_flows(
                    summary.consumed_wh,
                    summary.generated_wh,
                    min(summary.consumed_wh, summary.generated_wh),
                    meter=pk in meters,
                )
                entry.imported += imported
                entry.exported += exported
                hour = floor_hour(cursor)
                entry.cost += (
                    price_flows(imported, exported, *prices)
                    if prices is not None
                    else tariff.cost(imported, exported, hour_start=hour)
                )
                if summary.min_w is not None and (
                    entry.min_w is None or summary.min_w < entry.min_w
                ):
                    entry.min_w, entry.min_at = summary.min_w, summary.min_at
                if summary.max_w is not None and (
                    entry.max_w is None or summary.max_w > entry.max_w
                ):
                    entry.max_w, entry.max_at = summary.max_w, summary.max_at
                if pk in meters:
                    meter = metered[(s, hour)]
                    meter[0] += summary.consumed_wh
                    meter[1] += summary.generated_wh
                    meter[2] += summary.covered_s
                else:
                    nets[(s, hour)] += net
            cursor = piece_end


__all__ = ["MAX_PERIODS", "Series", "TooManyPeriods", "read_series"]
