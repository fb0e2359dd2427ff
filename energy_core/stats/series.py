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

from energy_core.errors import CoreError, ErrorKind
from energy_core.stats.figures import Figure
from energy_core.stats.period import buckets
from energy_core.stats.selection import DeviceRef, Selection
from energy_core.stats.sums import (
    Span,
    Sums,
    add_raw_hours,
    add_stored_hours,
    household_flows,
    merged,
)
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
) -> list[Span]:
    """The periods cut into runs of the chosen local hours of the day (and runs of the others,
    which count for no period), contiguous from the first period's start to the last's end."""
    if hours is None:
        return [Span(lo, hi, i) for i, (lo, hi) in enumerate(periods)]
    tz = selection.tz
    spans: list[Span] = []
    for i, (lo, hi) in enumerate(periods):
        cursor = lo
        while cursor < hi:
            following = min(floor_hour(cursor) + HOUR, hi)
            wanted = cursor.astimezone(tz).hour in hours
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
    parts = {d.pk: d.part_in(start, end) for d in taking}
    acc: dict[tuple[int, int], Sums] = defaultdict(Sums)
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
        add_raw_hours(session, selection, spans, taking, acc, nets, metered, prices)
        hourly = add_stored_hours(
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
            a = acc.get((mine[0], pk)) if len(mine) == 1 else merged(acc, mine, pk)
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
        household_flows(selection, spans, household, nets, metered)
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
    spans: Sequence[Span],
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


__all__ = ["MAX_PERIODS", "Series", "TooManyPeriods", "read_series"]
