"""One device in depth over a range: energy and power statistics from the aggregates
(``energy_series``), duty cycle, coverage and gaps from its raw readings (``energy_core.power``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from energy_core.accounts import NotFoundError
from energy_core.aggregates import DeviceRef, EnergyPoint, energy_series, resolve_devices
from energy_core.power import Gap, Holding, holding

# Below this a device is taken to be idle when computing its duty cycle; the page lets the user
# pick another threshold.
DEFAULT_STANDBY_W = 5.0


def require_device_ref(session: Session, *, user_id: int, device_id: str) -> DeviceRef:
    """The user's device with its effective max_gap; another user's device id is not found."""
    found = resolve_devices(session, user_id=user_id, device_ids=[device_id])
    if not found:
        raise NotFoundError(f"No device {device_id!r}.")
    return found[0]


@dataclass(frozen=True)
class DeviceStats:
    device: DeviceRef
    start: datetime
    end: datetime
    energy_wh: float
    avg_w: float | None
    min_w: float | None
    max_w: float | None
    sample_count: int
    coverage: float
    standby_w: float
    duty_cycle: float | None
    active_s: float
    covered_s: float
    gaps: list[Gap]
    gaps_truncated: bool

    @property
    def gap_s(self) -> float:
        return sum(gap.duration_s for gap in self.gaps)


def device_stats(
    session: Session,
    *,
    user_id: int,
    device_id: str,
    start: datetime,
    end: datetime,
    standby_w: float = DEFAULT_STANDBY_W,
) -> DeviceStats:
    """Energy, average/min/max power and coverage over ``[start, end)`` as ``energy_series``
    counts them; duty cycle and gaps from the readings themselves."""
    device = require_device_ref(session, user_id=user_id, device_id=device_id)
    (total,) = energy_series(
        session,
        user_id=user_id,
        start=start,
        end=end,
        granularity="total",
        device_ids=[device_id],
    )
    held: Holding = holding(
        session, user_id=user_id, device=device, start=start, end=end, standby_w=standby_w
    )
    return DeviceStats(
        device=device,
        start=start,
        end=end,
        energy_wh=total.energy_wh,
        avg_w=total.avg_w,
        min_w=total.min_w,
        max_w=total.max_w,
        sample_count=total.sample_count,
        coverage=total.coverage,
        standby_w=standby_w,
        duty_cycle=held.duty_cycle,
        active_s=held.active_s,
        covered_s=held.covered_s,
        gaps=held.gaps,
        gaps_truncated=held.gaps_truncated,
    )


def device_hours(
    session: Session, *, user_id: int, device_id: str, start: datetime, end: datetime
) -> list[EnergyPoint]:
    """The device's hours over ``[start, end)`` (local hours of the user), one point each."""
    require_device_ref(session, user_id=user_id, device_id=device_id)
    return energy_series(
        session,
        user_id=user_id,
        start=start,
        end=end,
        granularity="hour",
        device_ids=[device_id],
    )
