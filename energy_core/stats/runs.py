"""Runs and thresholds (docs/metrics.md): the stretches of time in which the power of a selection
was above (or below) a level, from the raw readings.

The selection's power is the sum of its devices' step functions (DESIGN.md section 3: a reading
holds until the next one, for at most the device's max gap). A generator counts as generating
power only when the selection is nothing but generators ("when did the solar make more than
1 kW"); otherwise the consumers' power is summed and generators are left out, as in consumption.
Time that no reading of the selection holds is a gap: neither above nor below.

A run of an appliance (one wash, one charge) is a stretch above its standby level; dips shorter
than ``join_s`` (a washing machine's pause between heating and spinning) join the stretches on
either side into one run, whose energy counts the dip too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING

from energy_core.power import held_spans
from energy_core.types import Stretch, from_epoch_us, to_epoch_us

if TYPE_CHECKING:
    from sqlmodel import Session

    from energy_core.stats.selection import DeviceRef, Selection

HOUR_US = 3_600_000_000
MAX_RUNS = 2_000  # a threshold at the noise level would otherwise list every reading


@dataclass(frozen=True)
class Run(Stretch):
    """One stretch above (or below) the level: its energy, highest power and cost at the import
    price of its hours (generation is not deducted: this is what the run drew)."""

    energy_wh: float
    peak_w: float
    cost: float
    # It rose past the level from a reading on the other side: a switch-on. A run that begins
    # with the range, the device's first reading or after a gap was already on, or not seen.
    rose: bool = True


@dataclass(frozen=True)
class Runs:
    threshold_w: float
    below: bool
    generation: bool  # the selection is generators only: their generated power is compared
    covered_s: float  # time held by a reading of at least one device of the selection
    above_s: float  # time beyond the level (above, or below when ``below``)
    runs: list[Run]
    truncated: bool  # more than MAX_RUNS runs: only the first are listed (the totals are whole)

    @property
    def energy_wh(self) -> float:
        return sum(r.energy_wh for r in self.runs)


def power_of(devices: tuple[DeviceRef, ...]) -> tuple[dict[str, float], bool]:
    """The sign to apply to each device's readings, and whether that is generation."""
    generators = [d for d in devices if d.is_generator]
    if devices and len(generators) == len(devices):
        return {d.device_id: -1.0 for d in devices}, True
    return {d.device_id: 1.0 for d in devices if not d.is_generator}, False


def _segments(spans: dict[str, list[tuple[int, int, float]]], sign: dict[str, float]):  # noqa: ANN202
    """(from, to, total watts) of each stretch in which the same readings hold, time order."""
    for lo, hi, power_w, _ in held_segments(spans, sign):
        yield lo, hi, power_w


def selection_spans(session: Session, selection: Selection):  # noqa: ANN201
    """(sign of each counted device, whether that is generation, each counted device's held
    spans over the selection's range): what the selection's power is added up from."""
    sign, generation = power_of(selection.devices)
    chosen = tuple(d for d in selection.devices if d.device_id in sign)
    spans = held_spans(
        session, user_id=selection.user_id, devices=chosen, start=selection.start, end=selection.end
    )
    return sign, generation, spans


def held_segments(spans: dict[str, list[tuple[int, int, float]]], sign: dict[str, float]):  # noqa: ANN201
    """(from, to, total watts, how many devices hold) of each stretch in which the same readings
    hold, in time order; ``sign`` chooses the devices and turns generation positive."""
    events: list[tuple[int, int, str, float]] = []
    for device_id, rows in spans.items():
        factor = sign.get(device_id)
        if factor is None:
            continue
        for lo, hi, power_w in rows:
            # Generation is positive here; a consumer's stray negative reading is no consumption.
            events.append((lo, 1, device_id, max(0.0, factor * power_w)))
            events.append((hi, 0, device_id, 0.0))
    events.sort(key=lambda e: (e[0], e[1]))
    holding: dict[str, float] = {}
    previous = None
    for at, starts, device_id, power_w in events:
        if previous is not None and at > previous and holding:
            yield previous, at, sum(holding.values()), len(holding)
        if starts:
            holding[device_id] = power_w
        else:
            holding.pop(device_id, None)
        previous = at


def consumption_during(
    session: Session, selection: Selection, stretches: list[Stretch]
) -> tuple[float, float]:
    """(energy Wh, covered seconds) of the selection's consumers within ``stretches`` (time
    order, not overlapping): what the whole household used while one device ran, say."""
    sign, _, spans = selection_spans(session, selection)
    bounds = [(to_epoch_us(s.start), to_epoch_us(s.end)) for s in stretches]
    energy_wh = covered_us = 0.0
    index = 0
    for lo, hi, power_w in _segments(spans, sign):
        while index < len(bounds) and bounds[index][1] <= lo:
            index += 1
        at = index
        while at < len(bounds) and bounds[at][0] < hi:
            overlap = min(hi, bounds[at][1]) - max(lo, bounds[at][0])
            if overlap > 0:
                energy_wh += power_w * overlap / 3.6e9
                covered_us += overlap
            at += 1
    return energy_wh, covered_us / 1e6


def _hour_energy(lo: int, hi: int, power_w: float, into: dict[int, float]) -> None:
    while lo < hi:
        hour = lo - lo % HOUR_US
        cut = min(hi, hour + HOUR_US)
        into[hour] = into.get(hour, 0.0) + power_w * (cut - lo) / 3.6e9
        lo = cut


def runs_beyond(
    session: Session,
    selection: Selection,
    *,
    threshold_w: float,
    below: bool = False,
    join_s: float = 0.0,
) -> Runs:
    """The runs of the selection's power above ``threshold_w`` (below it with ``below``) over
    the selection's range, with the covered time and the time beyond the level."""
    sign, generation, spans = selection_spans(session, selection)
    tariff = selection.tariff
    join_us = int(join_s * 1_000_000)
    covered_us = beyond_us = 0
    runs: list[Run] = []
    truncated = False
    # The run being built: [start, last end beyond the level, peak, energy per hour], and the
    # energy of a dip since then, added when the run goes on.
    current: list | None = None
    dip: dict[int, float] = {}
    # Where the last stretch on the near side of the level ended (a run starting there rose).
    near_until: int | None = None

    def close() -> None:
        nonlocal truncated
        if current is None:
            return
        if len(runs) >= MAX_RUNS:
            truncated = True
            return
        start_us, end_us, peak_w, hours, rose = current
        cost = sum(
            wh / 1000 * tariff.prices_at(from_epoch_us(hour).astimezone(UTC))[0]
            for hour, wh in hours.items()
        )
        runs.append(
            Run(
                start=from_epoch_us(start_us),
                end=from_epoch_us(end_us),
                energy_wh=sum(hours.values()),
                peak_w=peak_w,
                cost=cost,
                rose=rose,
            )
        )

    for lo, hi, power_w in _segments(spans, sign):
        covered_us += hi - lo
        beyond = power_w < threshold_w if below else power_w > threshold_w
        if beyond:
            beyond_us += hi - lo
            if current is not None and lo - current[1] > join_us:
                close()
                current = None
            if current is None:
                current = [lo, hi, power_w, {}, near_until == lo]
            else:
                for hour, wh in dip.items():
                    current[3][hour] = current[3].get(hour, 0.0) + wh
                current[1], current[2] = hi, max(current[2], power_w)
            dip = {}
            _hour_energy(lo, hi, power_w, current[3])
        else:
            near_until = hi
            if current is not None:
                if lo - current[1] > join_us:
                    close()
                    current, dip = None, {}
                else:
                    _hour_energy(lo, hi, power_w, dip)
    close()
    return Runs(
        threshold_w=float(threshold_w),
        below=below,
        generation=generation,
        covered_s=covered_us / 1e6,
        above_s=beyond_us / 1e6,
        runs=runs,
        truncated=truncated,
    )


__all__ = [
    "MAX_RUNS",
    "Run",
    "Runs",
    "held_segments",
    "power_of",
    "runs_beyond",
    "selection_spans",
]
