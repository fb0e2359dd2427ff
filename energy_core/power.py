"""Raw power readings read back for charts and device statistics, each one named query in SQL:
time buckets with min/mean/max (downsampling that keeps peaks), the time a device held power above
a standby threshold (duty cycle), and the gaps in its readings.

Holding follows DESIGN.md section 3: reading i holds its power from t_i until the next reading, for
at most the device's max_gap; time held by no reading is a gap. Instants are compared as integer
microseconds since the epoch, as the rollup does, so both backends give the same answers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Float, bindparam, column, text
from sqlmodel import Session

from energy_core.household_scope import for_household
from energy_core.sql.reads import reading_ts_us_sql
from energy_core.types import Stretch, UTCDateTime, from_epoch_us, to_epoch_us

if TYPE_CHECKING:
    # Only a type here: the read layer's metrics import this module.
    from energy_core.stats.selection import DeviceRef

# Bucket widths a reader can take in at a glance; the smallest that fits the point budget is used.
NICE_BUCKETS_S: tuple[int, ...] = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
)  # fmt: skip
MAX_POINTS = 2_000
MAX_GAPS = 5_000


def _ts_us(session: Session) -> str:
    return reading_ts_us_sql(session.connection())


def _check_range(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    if end <= start:
        raise ValueError("the end of the range must be after its start")


# --- buckets -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PowerBucket:
    """Readings of one device with ``start <= t < start + bucket``: their min, mean and max."""

    device_id: str
    start: datetime
    min_w: float
    mean_w: float
    max_w: float
    samples: int


def bucket_width_s(start: datetime, end: datetime, *, max_buckets: int) -> int:
    """The smallest nice width (seconds) that splits ``[start, end)`` into at most
    ``max_buckets`` epoch-aligned buckets (alignment can add one at each end)."""
    span_s = (end - start).total_seconds()
    for width in NICE_BUCKETS_S:
        if math.ceil(span_s / width) + 1 <= max_buckets:
            return width
    days = math.ceil(span_s / 86_400 / max(max_buckets - 1, 1))
    return 86_400 * max(days, 1)


@for_household
def power_buckets(
    session: Session,
    *,
    user_id: int,
    devices: Sequence[DeviceRef],
    start: datetime,
    end: datetime,
    bucket_s: int,
) -> list[PowerBucket]:
    """Per device and epoch-aligned bucket of ``bucket_s`` seconds, the min, mean and max of the
    readings in ``[start, end)``: one index range scan per device, grouped in SQL."""
    _check_range(start, end)
    if not devices:
        return []
    by_pk = {d.pk: d.device_id for d in devices}
    statement = text(
        f"""
SELECT device_pk, t_us / :bucket_us AS bucket, MIN(power_w), AVG(power_w), MAX(power_w), COUNT(*)
FROM (
    SELECT device_pk, {_ts_us(session)} AS t_us, power_w
    FROM readings
    WHERE user_id = :user_id AND device_pk IN ({", ".join(str(int(pk)) for pk in by_pk)})
      AND ts >= :start AND ts < :end
) q
GROUP BY device_pk, bucket
ORDER BY device_pk, bucket
"""
    ).bindparams(
        bindparam("start", type_=UTCDateTime()),
        bindparam("end", type_=UTCDateTime()),
    )
    bucket_us = int(bucket_s) * 1_000_000
    rows = session.execute(
        statement, {"user_id": user_id, "start": start, "end": end, "bucket_us": bucket_us}
    )
    return [
        PowerBucket(
            device_id=by_pk[device_pk],
            start=from_epoch_us(int(bucket) * bucket_us),
            min_w=float(min_w),
            mean_w=float(mean_w),
            max_w=float(max_w),
            samples=int(samples),
        )
        for device_pk, bucket, min_w, mean_w, max_w, samples in rows
    ]


@dataclass(frozen=True)
class HeldBucket:
    """What the readings of one device hold in ``[start, start + bucket)``: the time-weighted mean
    power over the held part, the min and max power held in it and the readings that fall in it.
    ``held_s == 0`` (no reading holds any of it) is a gap: its powers are None, not zero."""

    device_id: str
    start: datetime
    held_s: float
    mean_w: float | None
    min_w: float | None
    max_w: float | None
    samples: int


def _readings_of(
    session: Session, *, user_id: int, devices: Sequence[DeviceRef], start: datetime, end: datetime
) -> dict[int, list[tuple[int, float]]]:
    """Each device's readings (epoch microseconds, watts) in time order, from the longest max gap
    before ``start`` (a reading there may hold into the range) to ``end``: one query."""
    scan_from = start - timedelta(seconds=max(d.max_gap_s for d in devices))
    pks = ", ".join(str(int(d.pk)) for d in devices)
    rows = session.execute(
        text(
            f"""
SELECT device_pk, {_ts_us(session)} AS t_us, power_w
FROM readings
WHERE user_id = :user_id AND device_pk IN ({pks})
  AND ts >= :scan_from AND ts < :end
ORDER BY device_pk, ts
"""
        ).bindparams(
            bindparam("scan_from", type_=UTCDateTime()),
            bindparam("end", type_=UTCDateTime()),
        ),
        {"user_id": user_id, "scan_from": scan_from, "end": end},
    ).all()
    readings: dict[int, list[tuple[int, float]]] = {}
    for device_pk, t_us, power_w in rows:
        readings.setdefault(device_pk, []).append((int(t_us), float(power_w)))
    return readings


def _holds(
    points: Sequence[tuple[int, float]], *, gap_us: int, start_us: int, end_us: int
) -> Iterator[tuple[int, int, float]]:
    """(from, to, watts) of what each of one device's time-ordered readings holds, cut to
    ``[start_us, end_us)``: reading i holds until the next reading or its max gap, whichever is
    first. Readings that hold nothing of the range are left out."""
    for i, (t_us, power_w) in enumerate(points):
        held_end = t_us + gap_us
        if i + 1 < len(points):
            held_end = min(held_end, points[i + 1][0])
        lo, hi = max(t_us, start_us), min(held_end, end_us)
        if hi > lo:
            yield lo, hi, power_w


@for_household
def held_spans(
    session: Session,
    *,
    user_id: int,
    devices: Sequence[DeviceRef],
    start: datetime,
    end: datetime,
) -> dict[str, list[tuple[int, int, float]]]:
    """Each device's step function over ``[start, end)`` as (from, to, watts) spans in epoch
    microseconds, cut to the range: reading i holds until the next reading or its max gap,
    whichever is first; the time between spans is a gap (unknown, not zero)."""
    _check_range(start, end)
    if not devices:
        return {}
    by_pk = {d.pk: d for d in devices}
    readings = _readings_of(session, user_id=user_id, devices=devices, start=start, end=end)
    start_us, end_us = to_epoch_us(start), to_epoch_us(end)
    out: dict[str, list[tuple[int, int, float]]] = {}
    for device_pk, points in readings.items():
        gap_us = by_pk[device_pk].max_gap_s * 1_000_000
        spans = list(_holds(points, gap_us=gap_us, start_us=start_us, end_us=end_us))
        if spans:
            out[by_pk[device_pk].device_id] = spans
    return out


@for_household
def held_buckets(
    session: Session,
    *,
    user_id: int,
    devices: Sequence[DeviceRef],
    start: datetime,
    end: datetime,
    bucket_s: int,
) -> list[HeldBucket]:
    """Every epoch-aligned bucket of ``[start, end)`` of each device that holds power in it:
    reading i holds from t_i until the next reading or t_i + max_gap, whichever is first, so a
    device reporting within its max gap is continuous and a longer silence is a gap. Devices that
    hold nothing in the range are left out. One query reads the readings; holds are cut into
    buckets in Python."""
    _check_range(start, end)
    if not devices:
        return []
    by_pk = {d.pk: d for d in devices}
    readings = _readings_of(session, user_id=user_id, devices=devices, start=start, end=end)
    start_us, end_us = to_epoch_us(start), to_epoch_us(end)
    bucket_us = int(bucket_s) * 1_000_000
    first, last = start_us // bucket_us, (end_us - 1) // bucket_us
    out: list[HeldBucket] = []
    for device_pk, points in readings.items():
        gap_us = by_pk[device_pk].max_gap_s * 1_000_000
        n = last - first + 1
        held, energy, samples = [0] * n, [0.0] * n, [0] * n
        low: list[float | None] = [None] * n
        high: list[float | None] = [None] * n
        for t_us, _ in points:
            if start_us <= t_us:
                samples[t_us // bucket_us - first] += 1
        for lo, hi, power_w in _holds(points, gap_us=gap_us, start_us=start_us, end_us=end_us):
            while lo < hi:
                k = lo // bucket_us - first
                cut = min(hi, (lo // bucket_us + 1) * bucket_us)
                held[k] += cut - lo
                energy[k] += power_w * (cut - lo)
                low[k] = power_w if low[k] is None else min(low[k], power_w)
                high[k] = power_w if high[k] is None else max(high[k], power_w)
                lo = cut
        if not any(held):
            continue
        device_id = by_pk[device_pk].device_id
        out.extend(
            HeldBucket(
                device_id=device_id,
                start=from_epoch_us((first + k) * bucket_us),
                held_s=held[k] / 1e6,
                mean_w=energy[k] / held[k] if held[k] else None,
                min_w=low[k],
                max_w=high[k],
                samples=samples[k],
            )
            for k in range(n)
        )
    return out


@dataclass(frozen=True)
class RawPower:
    """The readings of one device in a window: as they are when there are at most ``max_points``
    of them, otherwise as min/mean/max buckets (two points each: the peaks survive)."""

    device_id: str
    start: datetime
    end: datetime
    points: list[tuple[datetime, float]] = field(default_factory=list)
    buckets: list[PowerBucket] = field(default_factory=list)
    bucket_s: int | None = None

    @property
    def downsampled(self) -> bool:
        return self.bucket_s is not None

    @property
    def readings(self) -> int:
        return sum(b.samples for b in self.buckets) if self.downsampled else len(self.points)


@for_household
def raw_power(
    session: Session,
    *,
    user_id: int,
    device: DeviceRef,
    start: datetime,
    end: datetime,
    max_points: int = MAX_POINTS,
) -> RawPower:
    _check_range(start, end)
    # Ask for one row more than fits: if it comes back, the window needs buckets.
    rows = session.execute(
        text(
            "SELECT ts, power_w FROM readings WHERE user_id = :user_id AND device_pk = :device_pk "
            "AND ts >= :start AND ts < :end ORDER BY ts LIMIT :limit"
        )
        .bindparams(
            bindparam("start", type_=UTCDateTime()),
            bindparam("end", type_=UTCDateTime()),
        )
        .columns(column("ts", UTCDateTime()), column("power_w", Float())),
        {
            "user_id": user_id,
            "device_pk": device.pk,
            "start": start,
            "end": end,
            "limit": max_points + 1,
        },
    ).all()
    if len(rows) <= max_points:
        points = [(ts, float(power_w)) for ts, power_w in rows]
        return RawPower(device_id=device.device_id, start=start, end=end, points=points)
    width = bucket_width_s(start, end, max_buckets=max_points // 2)
    buckets = power_buckets(
        session, user_id=user_id, devices=[device], start=start, end=end, bucket_s=width
    )
    return RawPower(
        device_id=device.device_id, start=start, end=end, buckets=buckets, bucket_s=width
    )


# --- holding: duty cycle and gaps --------------------------------------------------------------


@dataclass(frozen=True)
class Gap(Stretch):
    """Time in the range that no reading holds: unknown, not zero."""


@dataclass(frozen=True)
class Holding(Stretch):
    """How readings of one device cover ``[start, end)``."""

    standby_w: float
    covered_s: float
    active_s: float
    gaps: list[Gap]
    gaps_truncated: bool = False

    @property
    def coverage(self) -> float:
        return self.covered_s / self.duration_s if self.duration_s else 0.0

    @property
    def duty_cycle(self) -> float | None:
        """Share of the covered time with |power| above the standby threshold; None uncovered."""
        return self.active_s / self.covered_s if self.covered_s else None

    @property
    def gap_s(self) -> float:
        return self.duration_s - self.covered_s


@for_household
def holding(
    session: Session,
    *,
    user_id: int,
    device: DeviceRef,
    start: datetime,
    end: datetime,
    standby_w: float,
    max_gaps: int = MAX_GAPS,
) -> Holding:
    """Covered time, time above ``standby_w`` (absolute value: generation counts as running) and
    the gaps of one device over ``[start, end)``, from its raw readings in one SQL statement."""
    _check_range(start, end)
    gap_us = int(device.max_gap_s) * 1_000_000
    start_us, end_us = to_epoch_us(start), to_epoch_us(end)
    held = f"""
WITH r AS (
    SELECT t_us, power_w, LEAD(t_us) OVER (ORDER BY t_us) AS next_us
    FROM (
        SELECT {_ts_us(session)} AS t_us, power_w
        FROM readings
        WHERE user_id = :user_id AND device_pk = :device_pk AND ts >= :scan_from AND ts < :end
    ) q
),
x AS (
    SELECT t_us, power_w, next_us,
           CASE WHEN next_us IS NOT NULL AND next_us < t_us + :gap_us THEN next_us
                ELSE t_us + :gap_us END AS held_end
    FROM r
),
h AS (
    SELECT power_w, next_us, held_end,
           CASE WHEN t_us > :start_us THEN t_us ELSE :start_us END AS lo,
           CASE WHEN held_end < :end_us THEN held_end ELSE :end_us END AS hi
    FROM x
)
SELECT 0 AS kind,
       SUM(CASE WHEN hi > lo THEN hi - lo ELSE 0 END),
       SUM(CASE WHEN hi > lo AND ABS(power_w) > :standby_w THEN hi - lo ELSE 0 END),
       MIN(CASE WHEN hi > lo THEN lo END)
FROM h
UNION ALL
SELECT 1, held_end, next_us, NULL
FROM (
    SELECT held_end, next_us FROM h
    WHERE held_end < :end_us AND (next_us IS NULL OR next_us > held_end) AND hi > lo
    ORDER BY held_end
    LIMIT :max_gaps
) g
"""
    statement = text(held).bindparams(
        bindparam("scan_from", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime())
    )
    rows = session.execute(
        statement,
        {
            "user_id": user_id,
            "device_pk": device.pk,
            "scan_from": start - timedelta(seconds=device.max_gap_s),
            "end": end,
            "gap_us": gap_us,
            "start_us": start_us,
            "end_us": end_us,
            "standby_w": float(standby_w),
            "max_gaps": max_gaps + 1,
        },
    ).all()
    covered_us = active_us = 0
    first_lo = None
    gaps: list[Gap] = []
    boundaries = []
    for kind, a, b, c in rows:
        if kind == 0:
            covered_us, active_us = int(a or 0), int(b or 0)
            first_lo = int(c) if c is not None else None
        else:
            boundaries.append((int(a), int(b) if b is not None else None))
    truncated = len(boundaries) > max_gaps
    if first_lo is None:
        gaps.append(Gap(start, end))
    else:
        if first_lo > start_us:
            gaps.append(Gap(start, from_epoch_us(first_lo)))
        for held_end, next_us in boundaries[:max_gaps]:
            gap_end = min(next_us if next_us is not None else end_us, end_us)
            if gap_end > held_end:
                gaps.append(Gap(from_epoch_us(max(held_end, start_us)), from_epoch_us(gap_end)))
    return Holding(
        start=start,
        end=end,
        standby_w=standby_w,
        covered_s=covered_us / 1e6,
        active_s=active_us / 1e6,
        gaps=gaps,
        gaps_truncated=truncated,
    )
