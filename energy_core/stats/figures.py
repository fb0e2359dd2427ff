"""The one result type for figures, and the glossary's words for each metric.

A ``Figure`` holds what was measured for some devices over some stretch of time (energy split by
direction, the grid flows, covered time, the time the devices took part, extreme readings,
samples); every metric a person reads is a property of it, defined here once. docs/metrics.md
says the same in words; the ``GLOSSARY`` below is what captions and API field descriptions
quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

GLOSSARY: dict[str, str] = {
    "consumption_wh": "Consumption: energy drawn by the selected devices (readings of 0 W or "
    "more), in Wh. The grid meter is not counted again.",
    "generation_wh": "Generation: energy produced by the selected devices (negative readings of "
    "solar inverters, batteries discharging), as a positive number, in Wh.",
    "net_wh": "Net: consumption minus generation, in Wh.",
    "energy_wh": "Net energy (consumption minus generation) in Wh; an alias of net_wh kept for "
    "one release.",
    "import_wh": "Grid import: energy bought from the grid, hour by hour: the grid meter's "
    "reading in the hours it covers, else each hour's net of the selected devices when "
    "positive, in Wh.",
    "export_wh": "Grid export: energy sent to the grid, hour by hour: the grid meter's reading "
    "in the hours it covers, else each hour's net of the selected devices when negative, in Wh.",
    "self_consumption_wh": "Self-consumption: generation used in the house, i.e. generation "
    "minus grid export, in Wh.",
    "self_sufficiency": "Self-sufficiency: the share of consumption not bought from the grid, "
    "1 - grid import / consumption (0..1).",
    "cost": "Cost: grid import at the import price minus grid export at the export price, hour "
    "by hour at the prices of that hour in local time under the tariff valid then (export is "
    "not credited while no export price is set); the standing charge per day and tax are not "
    "in it: they are added where the bill of a period is shown.",
    "coverage": "Coverage: the share of the time the selected devices took part (from their "
    "first reading on) that their readings hold (0..1); gaps are unknown, not zero.",
    "avg_w": "Average power: consumption divided by the time the readings cover, in W.",
    "avg_generation_w": "Average generation: generation divided by the time the readings cover, "
    "in W.",
    "max_w": "Peak power: the highest single reading, in W.",
    "min_w": "Minimum: the lowest single reading, in W (negative while generating).",
    "max_at": "When the peak power was read (the first such reading).",
    "min_at": "When the minimum was read (the first such reading).",
    "sample_count": "Readings: how many readings fall in the range.",
    "baseload_w": "Baseload (always-on): a low percentile (10th by default) of the hourly "
    "average consumption over recent whole days, well-covered hours only, in W.",
    "duty_cycle": "Duty cycle: the share of the covered time the device ran above the standby "
    "threshold (absolute value, so generating counts as running).",
    "last_seen_at": "Last seen: the instant of the device's latest reading (in lists, up to a "
    "minute behind until the next aggregation run).",
    "online": "Online: the latest reading still holds (it is younger than the device's max gap).",
}


class Extremes:
    """The lowest and highest reading kept so far (``min_w``/``min_at``, ``max_w``/``max_at``),
    for the classes that sum figures: a new extreme wins, and of equal ones the one read first."""

    __slots__ = ()

    def take_extremes(
        self,
        min_w: float | None,
        min_at: datetime | None,
        max_w: float | None,
        max_at: datetime | None,
    ) -> None:
        if min_w is not None and (
            self.min_w is None
            or min_w < self.min_w
            or (min_w == self.min_w and _earlier(min_at, self.min_at))
        ):
            self.min_w, self.min_at = min_w, min_at
        if max_w is not None and (
            self.max_w is None
            or max_w > self.max_w
            or (max_w == self.max_w and _earlier(max_at, self.max_at))
        ):
            self.max_w, self.max_at = max_w, max_at


def _earlier(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and (b is None or a < b)


@dataclass(slots=True)
class Figure(Extremes):
    """What was measured for one device (``device_id``) or several together (None) over
    ``[start, end)``.

    Accumulators, all in Wh / seconds: ``consumed_wh`` and ``generated_wh`` of the counted devices
    (every device but grid meters), with ``counted_s`` the time their readings cover;
    ``imported_wh``/``exported_wh`` and ``cost`` of the grid flows, with ``grid_s`` the time the
    readings behind them cover; ``covered_s`` and ``span_s`` of every device taking part (span:
    the time each took part, summed); ``duration_s`` the length of the stretch itself (only its
    chosen hours of the day, if any). The metrics are the properties; each is None without data.
    """

    start: datetime
    end: datetime
    device_id: str | None = None
    consumed_wh: float = 0.0
    generated_wh: float = 0.0
    counted_s: float = 0.0
    imported_wh: float = 0.0
    exported_wh: float = 0.0
    cost_value: float = 0.0
    grid_s: float = 0.0
    grid_metered: bool = False
    covered_s: float = 0.0
    span_s: float = 0.0
    duration_s: float = 0.0
    members: int = 0
    min_w: float | None = None
    min_at: datetime | None = None
    max_w: float | None = None
    max_at: datetime | None = None
    sample_count: int = 0

    # --- energy ---

    @property
    def has_data(self) -> bool:
        return self.covered_s > 0

    @property
    def consumption_wh(self) -> float | None:
        return self.consumed_wh if self.counted_s > 0 else None

    @property
    def generation_wh(self) -> float | None:
        return self.generated_wh if self.counted_s > 0 else None

    @property
    def net_wh(self) -> float | None:
        return self.consumed_wh - self.generated_wh if self.counted_s > 0 else None

    @property
    def energy_wh(self) -> float | None:
        """Alias of ``net_wh`` (the read API's old field)."""
        return self.net_wh

    # --- the grid ---

    @property
    def import_wh(self) -> float | None:
        return self.imported_wh if self.grid_s > 0 else None

    @property
    def export_wh(self) -> float | None:
        return self.exported_wh if self.grid_s > 0 else None

    @property
    def cost(self) -> float | None:
        return self.cost_value if self.grid_s > 0 else None

    @property
    def self_consumption_wh(self) -> float | None:
        """Generation minus export, within [0, generation] (a grid meter may measure export of
        generation that no selected device reports)."""
        if self.generation_wh is None or self.export_wh is None:
            return None
        return min(max(self.generated_wh - self.exported_wh, 0.0), self.generated_wh)

    @property
    def self_sufficiency(self) -> float | None:
        """1 - import / consumption within [0, 1]; None without consumption."""
        if not self.consumption_wh or self.import_wh is None:
            return None
        return min(max(1.0 - self.imported_wh / self.consumed_wh, 0.0), 1.0)

    # --- time ---

    @property
    def coverage(self) -> float | None:
        """Covered share of the time the devices took part; None when none took part."""
        return min(self.covered_s / self.span_s, 1.0) if self.span_s > 0 else None

    @property
    def covered_time_s(self) -> float:
        """The time the readings of the selection cover, as one device's time: the stretch's
        length times its coverage (for one device taking part throughout, its covered time)."""
        coverage = self.coverage
        if coverage is None:
            return 0.0
        if self.members <= 1:
            return self.covered_s
        return self.duration_s * coverage

    @property
    def avg_w(self) -> float | None:
        """Average power: consumption over the covered time."""
        time_s = self.covered_time_s
        return self.consumed_wh * 3600.0 / time_s if time_s and self.counted_s else None

    @property
    def avg_generation_w(self) -> float | None:
        time_s = self.covered_time_s
        return self.generated_wh * 3600.0 / time_s if time_s and self.counted_s else None

    @property
    def avg_net_w(self) -> float | None:
        time_s = self.covered_time_s
        if not time_s or not self.counted_s:
            return None
        return (self.consumed_wh - self.generated_wh) * 3600.0 / time_s

    @property
    def is_generating(self) -> bool:
        """More generated than consumed: a generator's figure reads as generation."""
        return self.generated_wh > self.consumed_wh

    def add(self, other: Figure) -> None:
        """Add ``other`` (another stretch or another device) into this figure."""
        self.consumed_wh += other.consumed_wh
        self.generated_wh += other.generated_wh
        self.counted_s += other.counted_s
        self.imported_wh += other.imported_wh
        self.exported_wh += other.exported_wh
        self.cost_value += other.cost_value
        self.grid_s += other.grid_s
        self.grid_metered = self.grid_metered or other.grid_metered
        self.covered_s += other.covered_s
        self.span_s += other.span_s
        self.sample_count += other.sample_count
        self.take_extremes(other.min_w, other.min_at, other.max_w, other.max_at)


__all__ = ["GLOSSARY", "Extremes", "Figure"]
