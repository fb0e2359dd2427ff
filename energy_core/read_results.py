"""What the read API's library calls return: pages of items, readings, and the glossary's figures
of an hour, a device, the household and now (docs/metrics.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from energy_core.records import record_of
from energy_core.stats import Figure

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class ReadingOut:
    device_id: str
    ts: datetime
    power_w: float


@dataclass(frozen=True)
class Energy:
    """The glossary's energy, grid and money figures of one row (docs/metrics.md); None where
    there is no data."""

    consumption_wh: float | None
    generation_wh: float | None
    net_wh: float | None
    import_wh: float | None
    export_wh: float | None
    cost: float | None
    coverage: float | None

    @property
    def energy_wh(self) -> float | None:
        """Alias of ``net_wh``, kept for one release."""
        return self.net_wh

    @classmethod
    def of(cls, figure: Figure) -> Energy:
        # Each field is the figure's metric of the same name.
        return record_of(cls, figure)


@dataclass(frozen=True)
class HourlyStat:
    device_id: str
    hour_start: datetime
    energy: Energy
    avg_watts: float | None
    min_watts: float | None
    max_watts: float | None
    sample_count: int


@dataclass(frozen=True)
class DeviceStats:
    device_id: str
    name: str
    start: datetime
    end: datetime
    energy: Energy
    currency: str
    avg_watts: float | None
    avg_generation_watts: float | None
    min_watts: float | None
    min_at: datetime | None
    max_watts: float | None
    max_at: datetime | None
    sample_count: int
    first_reading_at: datetime | None
    last_reading_at: datetime | None
    latest_power_w: float | None
    latest_reading_at: datetime | None
    last_seen_at: datetime | None


@dataclass(frozen=True)
class DeviceEnergy:
    device_id: str
    name: str
    location: str
    energy: Energy


@dataclass(frozen=True)
class Summary:
    start: datetime
    end: datetime
    energy: Energy
    self_consumption_wh: float | None
    self_sufficiency: float | None
    grid_metered: bool
    currency: str
    cost_rule: str
    device_count: int
    devices: list[DeviceEnergy]


@dataclass(frozen=True)
class RealtimeDevice:
    device_id: str
    name: str
    location: str
    power_w: float | None
    reading_at: datetime | None
    last_seen_at: datetime | None
    online: bool
    today: Energy


@dataclass(frozen=True)
class Realtime:
    at: datetime
    total_power_w: float
    consumption_w: float
    generation_w: float
    online: int
    devices: list[RealtimeDevice]
