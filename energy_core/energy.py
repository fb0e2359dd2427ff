"""The step-function rule of DESIGN.md section 3 applied to raw readings in Python.

The SQL rollup applies the same rule to whole hours; this integrates the short pieces the
aggregates cannot give (a partial hour, an hour not rolled up yet).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

HOUR = timedelta(hours=1)


@dataclass
class StepSummary:
    energy_wh: float = 0.0
    covered_s: float = 0.0
    min_w: float | None = None
    max_w: float | None = None
    sample_count: int = 0
    # The energy of readings of power >= 0, and of negative readings as a positive number.
    consumed_wh: float = 0.0
    generated_wh: float = 0.0
    # The first reading of the range at min_w and at max_w.
    min_at: datetime | None = None
    max_at: datetime | None = None


def summarize_step(
    readings: Sequence[tuple[datetime, float]],
    *,
    start: datetime,
    end: datetime,
    max_gap_s: float,
) -> StepSummary:
    """Energy, covered time and sample statistics of sorted ``(ts, power_w)`` readings over
    ``[start, end)``. Reading i holds from t_i until min(t_{i+1}, t_i + max_gap).

    ``readings`` must include every reading from ``start - max_gap`` on; earlier ones cannot
    reach ``start``.
    """
    summary = StepSummary()
    gap = timedelta(seconds=max_gap_s)
    first = bisect_left(readings, start - gap, key=lambda r: r[0])
    for i in range(first, len(readings)):
        ts, power_w = readings[i]
        if ts >= end:
            break
        if ts >= start:
            summary.sample_count += 1
            if summary.min_w is None or power_w < summary.min_w:
                summary.min_w, summary.min_at = power_w, ts
            if summary.max_w is None or power_w > summary.max_w:
                summary.max_w, summary.max_at = power_w, ts
        held_until = ts + gap
        if i + 1 < len(readings) and readings[i + 1][0] < held_until:
            held_until = readings[i + 1][0]
        lo, hi = max(ts, start), min(held_until, end)
        if hi > lo:
            seconds = (hi - lo).total_seconds()
            energy_wh = power_w * seconds / 3600.0
            summary.energy_wh += energy_wh
            if power_w >= 0:
                summary.consumed_wh += energy_wh
            else:
                summary.generated_wh -= energy_wh
            summary.covered_s += seconds
    return summary
