"""A bill as it would have been without some devices (docs/metrics.md, "Bill without a device"):
the bill less what their consumption cost, hour by hour.

In an hour in which the household imported at least the devices' consumption, leaving them out
saves that energy at the import price. In an hour of solar surplus (import below their
consumption), the part not imported was the household's own generation: without the devices it
would have been exported, so that part saves only the export price. With hour-by-hour netting
this is exact; it cannot know whether another device would have run instead, nor tiers that a
lower import would have reached later (a tiered tariff is priced at the prices that held).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from energy_core.stats.period import days_period, local_midnight
from energy_core.stats.series import read_series

if TYPE_CHECKING:
    from datetime import datetime

    from sqlmodel import Session

    from energy_core.stats.bills import Bill
    from energy_core.stats.selection import DeviceRef, Household


@dataclass(frozen=True)
class BillWithout:
    bill: Bill  # the bill as it was
    consumption_wh: float  # the devices' consumption over the bill's days so far
    saving: float  # the energy cost their consumption added (before tax)
    tax_saving: float
    surplus_wh: float  # their consumption covered by the household's own generation
    tiered: bool  # the tariff has import tiers: the saving is at the prices that held

    @property
    def total(self) -> float:
        return self.bill.total - self.saving - self.tax_saving

    def as_dict(self) -> dict:
        return {
            "consumption_wh": round(self.consumption_wh, 3),
            "saving": round(self.saving, 6),
            "tax_saving": round(self.tax_saving, 6),
            "total_saving": round(self.saving + self.tax_saving, 6),
            "total": round(self.total, 6),
            "energy": round(self.bill.energy - self.saving, 6),
            "surplus_wh": round(self.surplus_wh, 3),
            "tiered": self.tiered,
        }


def bill_without(
    session: Session,
    household: Household,
    bill: Bill,
    devices: tuple[DeviceRef, ...],
    *,
    now: datetime,
) -> BillWithout:
    """``bill`` less the cost of ``devices``' consumption, hour by hour (module docstring)."""
    tz, tariff = household.tz, household.tariff
    period = days_period(bill.first_day, bill.last_day, timezone=household.timezone, now=now)
    whole = read_series(session, household.select(period, granularity="hour"))
    part = read_series(
        session, household.select(period, devices=devices, granularity="hour"), flows=False
    )
    saving = tax_saving = used = surplus = 0.0
    for house, own in zip(whole.household, part.household, strict=True):
        device_wh = own.consumed_wh
        if device_wh <= 0:
            continue
        import_price, export_price = tariff.prices_at(house.start)
        imported = min(device_wh, max(0.0, house.import_wh or 0.0))
        hour_saving = (imported * import_price + (device_wh - imported) * export_price) / 1000
        plan = tariff.plan_at(local_midnight(house.start.astimezone(tz).date(), tz))
        saving += hour_saving
        tax_saving += hour_saving * (plan.tax_percent if plan else 0.0) / 100.0
        used += device_wh
        surplus += device_wh - imported
    return BillWithout(
        bill=bill,
        consumption_wh=used,
        saving=saving,
        tax_saving=tax_saving,
        surplus_wh=surplus,
        tiered=bool(tariff.plans) and tariff.has_tiers,
    )


__all__ = ["BillWithout", "bill_without"]
