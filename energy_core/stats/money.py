"""Money: the one place a cost is computed (docs/metrics.md, "Cost").

Cost of an interval = grid import x import price - grid export x export price, with the prices
valid in that interval. Prices are a function of the hour, so that time-of-use and
effective-dated tariffs plug in here without any caller changing; today a user has one import
price (``users.price_per_kwh``) and export is not credited (export price 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

COST_RULE = (
    "Cost is what the grid import costs minus what the grid export earns, each hour at the "
    "prices of that hour."
)


@dataclass(frozen=True)
class Tariff:
    """The prices of a household's electricity, per kWh, as a function of the hour."""

    currency: str
    import_price_per_kwh: float
    export_price_per_kwh: float = 0.0

    def prices_at(self, hour_start: datetime) -> tuple[float, float]:
        """(import price, export price) per kWh valid in the hour starting at ``hour_start``."""
        return self.import_price_per_kwh, self.export_price_per_kwh

    def flat_prices(self, start: datetime, end: datetime) -> tuple[float, float] | None:
        """The prices if they are the same in every hour of ``[start, end)``, else None (the
        cost must then be added up hour by hour)."""
        return self.import_price_per_kwh, self.export_price_per_kwh

    def cost(self, import_wh: float, export_wh: float, *, hour_start: datetime) -> float:
        """The cost of one hour's (or part of an hour's) grid flows."""
        import_price, export_price = self.prices_at(hour_start)
        return price_flows(import_wh, export_wh, import_price, export_price)

    def describe(self) -> str:
        """The rule in words, with this tariff's prices, for captions under cost figures."""
        text = f"grid import at {self.import_price_per_kwh:g} {self.currency}/kWh"
        if self.export_price_per_kwh:
            return f"{text} minus grid export at {self.export_price_per_kwh:g} {self.currency}/kWh"
        return f"{text}; export is not credited (no export price is set)"


def price_flows(
    import_wh: float, export_wh: float, import_price: float, export_price: float
) -> float:
    """Import x import price - export x export price, energies in Wh, prices per kWh."""
    return (import_wh * import_price - export_wh * export_price) / 1000.0


__all__ = ["COST_RULE", "Tariff", "price_flows"]
