"""An alert's figures as people read them, the same on the Alerts page and in the e-mail: power
as every page shows it, money and prices with the currency's symbol. The stored evidence (and
the webhook's and the read API's JSON) keeps plain numbers and units ("W", "GBP", "GBP/kWh")."""

from __future__ import annotations

from energy_core.units import format_money, format_power, format_price


def _currency(unit: str) -> bool:
    return len(unit) == 3 and unit.isalpha() and unit.isupper()


def figure_text(figure: dict) -> str:
    """ "542 W", "1.23 kW", "£23.50", "£0.09/kWh", "90 min", "1,800 s"; "no data" without a
    value."""
    value, unit = figure["value"], figure.get("unit") or ""
    if value is None:
        return "no data"
    if isinstance(value, str):
        return f"{value} {unit}".strip()
    if unit == "W":
        # As the explanation above it says it ("542 W"), not to the stored 3 decimals.
        return format_power(value)
    if _currency(unit):
        return format_money(value, unit)
    if unit.endswith("/kWh") and _currency(unit.removesuffix("/kWh")):
        return format_price(value, unit.removesuffix("/kWh"))
    shown = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{shown} {unit}".strip()
