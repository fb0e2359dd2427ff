"""Money, prices and power as people read them, the same on every page, in every alert and
e-mail, in the CLI and in chat answers: "£12.30" (a code only for a currency without a symbol,
"12.30 SEK"), "£0.28/kWh", "542 W", "1.23 kW". Display only; the figures themselves come from
the read layer, and JSON (the read API, webhooks) keeps plain numbers and currency codes."""

from __future__ import annotations

import math

CURRENCY_SYMBOLS = {
    "EUR": "€",
    "GBP": "£",
    "USD": "$",
    "JPY": "¥",
    "INR": "₹",
    "CHF": "CHF ",
    "AUD": "A$",
    "CAD": "C$",
    "NZD": "NZ$",
}
DASH = "—"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def currency_symbol(currency: str) -> str:
    """ "£" for GBP, "CHF" for CHF, the code itself for a currency without a symbol ("SEK"): the
    unit in a column or tooltip title, "Cost today (£)"."""
    return CURRENCY_SYMBOLS.get(currency.upper(), currency).strip()


def format_money(amount: float | None, currency: str) -> str:
    """ "£12.30", "-£0.40", "¥1,234", "12.30 SEK"; "—" for no data."""
    if _missing(amount):
        return DASH
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    sign = "-" if amount < 0 else ""
    digits = 0 if currency.upper() == "JPY" else 2
    value = f"{abs(amount):,.{digits}f}"
    return f"{sign}{symbol}{value}" if symbol else f"{sign}{value} {currency}"


def format_price(price_per_kwh: float, currency: str) -> str:
    """ "£0.28/kWh", "£0.185/kWh", "0.95 SEK/kWh": at least two decimals, at most three."""
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    value = f"{price_per_kwh:,.3f}".rstrip("0").rstrip(".") if price_per_kwh else "0"
    if len(value.partition(".")[2]) == 1:
        value += "0"
    return f"{symbol}{value}/kWh" if symbol else f"{value} {currency}/kWh"


def format_power(power_w: float | None) -> str:
    """ "542 W", "4.5 W", "1.23 kW"; "—" for no data."""
    if _missing(power_w):
        return DASH
    if abs(power_w) >= 1000:
        return f"{power_w / 1000:,.2f} kW"
    if 0 < abs(power_w) < 10:
        return f"{power_w:,.1f} W"
    return f"{power_w:,.0f} W"
