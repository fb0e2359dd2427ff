"""Expected figures of the golden set, computed apart from the chat and the read layer: straight
from the raw readings (tests/oracle.py), over ranges written out by hand, with the definitions
of docs/metrics.md (and, for the typical day and the projection, the definitions the tools
document) in plain Python. Cached: many questions ask about the same figures."""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from energy_core.demo import DEMO_DEVICES
from energy_core.stats.period import buckets
from tests.oracle import Oracle as RawOracle

LONDON = ZoneInfo("Europe/London")
CONSUMERS = tuple(d.device_id for d in DEMO_DEVICES if not d.bidirectional)


def _key(devices) -> tuple[str, ...] | None:  # noqa: ANN001
    return None if devices is None else tuple(devices)


class Oracle:
    def __init__(self, raw: RawOracle):
        self.raw = raw
        self.tz = raw.tz

    @cache  # noqa: B019 - one oracle per test session
    def sums(self, start, end, devices=None, hours=None):  # noqa: ANN001, ANN201
        return self.raw.household(
            start, end, None if devices is None else list(devices), hours=hours and set(hours)
        )

    def energy(self, start, end, devices=None, hours=None) -> float | None:  # noqa: ANN001
        return self.sums(start, end, _key(devices), hours and tuple(sorted(hours))).consumption

    def cost(self, start, end, devices=None) -> float:  # noqa: ANN001
        return self.raw.cost(self.sums(start, end, _key(devices)))

    def generation(self, start, end) -> float:  # noqa: ANN001
        return self.sums(start, end).generated

    def export(self, start, end) -> float:  # noqa: ANN001
        return self.sums(start, end).exported

    def imported(self, start, end) -> float:  # noqa: ANN001
        return self.sums(start, end).imported

    def self_consumption(self, start, end) -> float:  # noqa: ANN001
        s = self.sums(start, end)
        return min(max(s.generated - s.exported, 0.0), s.generated)

    def coverage(self, start, end, devices=None) -> float | None:  # noqa: ANN001
        return self.sums(start, end, _key(devices)).coverage

    def per_device(self, start, end, hours=None) -> dict[str, float]:  # noqa: ANN001
        return {d: self.energy(start, end, (d,), hours) for d in CONSUMERS}

    @cache  # noqa: B019
    def series(self, start, end, granularity, cost=False):  # noqa: ANN001, ANN201
        return [
            (at, self.raw.cost(sums) if cost else sums.consumed)
            for at, sums in self.raw.series(start, end, granularity)
            if sums.covered
        ]

    def peak(self, start, end, device) -> tuple[float, str]:  # noqa: ANN001
        """The highest reading in [start, end) and when it was first read (local ISO)."""
        rows = [(ts, w) for ts, w in self.raw.readings[device] if start <= ts < end]
        top = max(w for _, w in rows)
        at = min(ts for ts, w in rows if w == top)
        return top, at.astimezone(self.tz).isoformat(timespec="seconds")

    def generation_peak(self, start, end, device) -> tuple[float, str]:  # noqa: ANN001
        """A generator's most negative reading in [start, end) as a positive output, and when
        it was first read (local ISO)."""
        rows = [(ts, w) for ts, w in self.raw.readings[device] if start <= ts < end]
        low = min(w for _, w in rows)
        at = min(ts for ts, w in rows if w == low)
        return -low, at.astimezone(self.tz).isoformat(timespec="seconds")

    def lowest(self, start, end, device) -> float:  # noqa: ANN001
        return min(w for ts, w in self.raw.readings[device] if start <= ts < end)

    def average_power(self, start, end, device) -> float:  # noqa: ANN001
        sums = self.raw.device(device, start, end)
        return sums.consumed * 3600 / sums.covered

    def power_at(self, device: str, moment: datetime) -> float | None:
        """The power a device's readings hold at ``moment`` (None: a gap), by looking up the
        reading at or before it (the read layer sweeps instead)."""
        rows = self.raw.readings[device]
        i = bisect_right(rows, moment, key=lambda r: r[0]) - 1
        if i < 0:
            return None
        ts, power_w = rows[i]
        held = ts + timedelta(seconds=self.raw.gap[device])
        if i + 1 < len(rows):
            held = min(held, rows[i + 1][0])
        return power_w if moment < held else None

    def _cuts(self, start: datetime, end: datetime, devices) -> set[datetime]:  # noqa: ANN001
        """The instants in [start, end] at which some device's held power may change."""
        cuts = {start, end}
        for device in devices:
            gap = timedelta(seconds=self.raw.gap[device])
            for ts, _ in self.raw.readings[device]:
                for moment in (ts, ts + gap):
                    if start < moment < end:
                        cuts.add(moment)
        return cuts

    @cache  # noqa: B019
    def runs(self, start, end, devices, threshold_w, below=False, join_s=0.0):  # noqa: ANN001, ANN201
        """[(start, end, energy Wh)] of the stretches in which the devices' power together
        (generators alone: their generation) is beyond ``threshold_w``, shorter dips joined."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        generation = all(self.raw.devices[d].bidirectional for d in devices)
        ordered = sorted(self._cuts(start, end, devices))
        runs: list[list] = []
        dip = 0.0
        for lo, hi in zip(ordered, ordered[1:], strict=False):
            mid = lo + (hi - lo) / 2
            held = [self.power_at(d, mid) for d in devices]
            if all(p is None for p in held):
                continue
            total = sum(max(0.0, -p if generation else p) for p in held if p is not None)
            wh = total * (hi - lo).total_seconds() / 3600
            beyond = total < threshold_w if below else total > threshold_w
            if beyond:
                if runs and (lo - runs[-1][1]).total_seconds() <= join_s:
                    runs[-1][1], runs[-1][2] = hi, runs[-1][2] + dip + wh
                else:
                    runs.append([lo, hi, wh])
                dip = 0.0
            elif runs:
                dip += wh
        return [(lo.astimezone(self.tz), hi.astimezone(self.tz), wh) for lo, hi, wh in runs]

    @cache  # noqa: B019
    def together(self, start, end, devices, hours=None):  # noqa: ANN001, ANN201
        """((highest W, local ISO of when it first held), (lowest W, when)) of the consumers'
        power added up at one instant, over the instants at which every device that has begun
        reporting holds a reading (in ``hours`` of the day only, when given)."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        cuts = self._cuts(start, end, devices)
        if hours:
            moment = start.replace(minute=0, second=0, microsecond=0)
            while moment < end:
                if moment > start:
                    cuts.add(moment)
                moment += timedelta(hours=1)
        top = low = None
        ordered = sorted(cuts)
        for lo, hi in zip(ordered, ordered[1:], strict=False):
            if hours and lo.astimezone(self.tz).hour not in hours:
                continue
            mid = lo + (hi - lo) / 2
            begun = [d for d in devices if self.raw.readings[d][0][0] <= mid]
            held = [self.power_at(d, mid) for d in begun]
            if not held or any(p is None for p in held):
                continue
            total = sum(max(0.0, p) for p in held)
            if top is None or total > top[0]:
                top = (total, lo)
            if low is None or total < low[0]:
                low = (total, lo)
        return tuple(
            (w, at.astimezone(self.tz).isoformat(timespec="seconds")) for w, at in (top, low)
        )

    def gaps(self, device: str, start, end) -> list[tuple[str, str]]:  # noqa: ANN001
        """(start, end) local ISO of each stretch in [start, end) that no reading of ``device``
        holds, from its first reading on."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        rows = self.raw.readings[device]
        gap = timedelta(seconds=self.raw.gap[device])
        found = []
        for (ts, _), (following, _) in zip(rows, rows[1:], strict=False):
            lo, hi = max(ts + gap, start), min(following, end)
            if hi > lo:
                found.append((lo, hi))
        return [
            (
                lo.astimezone(self.tz).isoformat(timespec="seconds"),
                hi.astimezone(self.tz).isoformat(timespec="seconds"),
            )
            for lo, hi in found
        ]

    def latest_power(self, device_id: str) -> float:
        return self.raw.latest_power(device_id)

    @cache  # noqa: B019
    def hourly(self, start, end, devices=None):  # noqa: ANN001, ANN201
        return self.raw.hourly_averages(start, end, None if devices is None else list(devices))

    def hour_means(self, start, end, devices=None, *, min_coverage=0.5, days=None):  # noqa: ANN001, ANN201
        by_hour: dict[int, list[float]] = defaultdict(list)
        for at, avg, coverage in self.hourly(start, end, _key(devices)):
            if coverage is None or coverage < min_coverage:
                continue
            if days is not None and at.weekday() not in days:
                continue
            by_hour[at.hour].append(avg)
        return {h: statistics.fmean(v) for h, v in by_hour.items()}

    def typical_by_hour(self, start, end, device) -> dict[int, float]:  # noqa: ANN001
        """Mean average power per local hour of one device, hours covered at least half."""
        out: dict[int, list[float]] = defaultdict(list)
        for lo, sums in self.raw.series(start, end, "hour", [device]):
            if sums.coverage is None or sums.coverage < 0.5 or not sums.covered:
                continue
            out[lo.astimezone(self.tz).hour].append(sums.consumed * 3600 / sums.covered)
        return {h: statistics.fmean(v) for h, v in out.items()}

    @cache  # noqa: B019
    def explain(self, start, end) -> list[tuple[str, float, float]]:  # noqa: ANN001
        """(device, actual Wh, typical Wh) of each consumer over [start, end), the typical from
        the 28 days before, most above typical first."""
        base = (start.replace(tzinfo=None) - timedelta(days=28)).replace(tzinfo=start.tzinfo)
        rows = []
        for device in CONSUMERS:
            typical = self.typical_by_hour(base, start, device)
            actual = expected = 0.0
            for lo, sums in self.raw.series(start, end, "hour", [device]):
                hour = lo.astimezone(self.tz).hour
                if not sums.covered or hour not in typical:
                    continue
                actual += sums.consumed
                lo_utc = lo.astimezone(UTC)
                hi_utc = min(lo_utc + timedelta(hours=1), end.astimezone(UTC))
                expected += typical[hour] * (hi_utc - lo_utc).total_seconds() / 3600
            rows.append((device, actual, expected))
        return sorted(rows, key=lambda r: r[1] - r[2], reverse=True)

    @cache  # noqa: B019
    def projection(self, now: datetime) -> tuple[float, float]:
        """(cost so far this month, projected cost of the month): each remaining hour at the
        mean import of the same weekday and hour over the 28 whole days before today, hours
        covered at least half, scaled to the whole hour."""
        local = now.astimezone(self.tz)
        month = datetime(local.year, local.month, 1, tzinfo=self.tz)
        following = datetime(
            local.year + (local.month == 12), local.month % 12 + 1, 1, tzinfo=self.tz
        )
        today = datetime(local.year, local.month, local.day, tzinfo=self.tz)
        basis = (today.replace(tzinfo=None) - timedelta(days=28)).replace(tzinfo=self.tz)
        so_far = self.raw.cost(self.raw.household(month, now))
        by_slot: dict[tuple[int, int], list[float]] = defaultdict(list)
        for lo, hi in buckets(basis, today, "hour", self.tz):
            sums = self.raw.household(lo, hi)
            if sums.coverage is None or sums.coverage < 0.5:
                continue
            at = lo.astimezone(self.tz)
            by_slot[(at.weekday(), at.hour)].append(sums.imported / sums.coverage)
        rest = 0.0
        for lo, hi in buckets(now, following, "hour", self.tz):
            at = lo.astimezone(self.tz)
            share = (hi - lo).total_seconds() / 3600
            rest += statistics.fmean(by_slot[(at.weekday(), at.hour)]) * share
        return so_far, so_far + rest * self.raw.price / 1000
