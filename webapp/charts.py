"""What every Altair chart of the app shares: one colour per device (derived from the device, the
same on every page), the colours of consumption and generation, and the axis formats."""

from __future__ import annotations

import html
import zlib
from collections.abc import Iterable

import altair as alt
import pandas as pd
import streamlit as st

USED_COLOR = "#0f766e"
GENERATED_COLOR = "#d97706"
NEUTRAL_COLOR = "#64748b"
# Ten clearly distinct hues (Tableau 10) that a device's id picks from, then ten darker ones that
# only devices beyond the tenth get.
DEVICE_COLORS = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
    "#2f4b7c", "#b35806", "#9e1b32", "#2a7f7a", "#2e6b30", "#a68a00", "#6a3d7c", "#c2185b",
    "#5d4037", "#616161",
)  # fmt: skip
FIRST_CHOICES = 10
TIME_FORMAT = "%H:%M"


def device_colors(devices: pd.DataFrame) -> dict[str, str]:
    """Each device's colour (by ``device_id``), derived from its id: the same on every page,
    whatever a chart filters, and never changed by registering another device. Two
    ids that land on one colour: the device registered first keeps it, the later one takes the
    next free colour (a new round once every colour is taken)."""
    taken: dict[str, str] = {}
    used: set[str] = set()
    ordered = devices.sort_values(["created_at", "device_id"], na_position="last", kind="stable")
    for device_id in ordered["device_id"]:
        first = zlib.crc32(device_id.encode()) % FIRST_CHOICES
        # The next free of the first ten, then the next free of all twenty.
        order = [(first + step) % FIRST_CHOICES for step in range(FIRST_CHOICES)]
        order += range(FIRST_CHOICES, len(DEVICE_COLORS))
        free = [DEVICE_COLORS[i] for i in order if DEVICE_COLORS[i] not in used]
        if not free:  # every colour is taken: start another round
            used.clear()
            free = [DEVICE_COLORS[first]]
        colour = free[0]
        used.add(colour)
        taken[device_id] = colour
    return taken


def device_scale(devices: pd.DataFrame, shown: Iterable[str] | None = None) -> alt.Scale:
    """The colour scale of charts that colour by device name (``devices``: the user's devices,
    with ``device_id``, ``name`` and ``created_at``); ``shown``: the ids the chart draws, so
    that its legend lists only those, each in its own colour."""
    colours = device_colors(devices)
    wanted = set(devices["device_id"] if shown is None else shown)
    chosen = devices[devices["device_id"].isin(wanted)]
    return alt.Scale(domain=list(chosen["name"]), range=[colours[d] for d in chosen["device_id"]])


def device_legend(scale: alt.Scale) -> None:
    """The devices of a chart coloured by ``scale`` (see ``device_scale``), under the chart, as
    names that wrap to the width of the screen. Vega's own legend lays its entries out in a fixed
    number of columns, whatever the width: on a phone it was cut off at the right edge. Draw the
    chart with ``legend=None``."""
    entries = "".join(
        '<span role="listitem" style="display:inline-flex;align-items:center;gap:0.4rem">'
        f'<span aria-hidden="true" style="width:0.7rem;height:0.7rem;border-radius:50%;'
        f'background:{colour};flex:none"></span>{html.escape(name)}</span>'
        for name, colour in zip(scale.domain, scale.range, strict=True)
    )
    st.html(
        '<div role="list" aria-label="Devices in the chart" style="display:flex;flex-wrap:wrap;'
        "column-gap:1.1rem;row-gap:0.2rem;font-size:0.85rem;color:#4b5563;"
        f'padding-left:3.5rem">{entries}</div>'
    )


def energy_unit(values_wh) -> tuple[str, float]:  # noqa: ANN001 - numbers
    """The unit that keeps a chart's energy axis readable, and the divisor from Wh."""
    largest = max((abs(v) for v in values_wh if v == v), default=0.0)
    if largest >= 1_000_000:
        return "MWh", 1_000_000.0
    if largest >= 1000:
        return "kWh", 1000.0
    return "Wh", 1.0


def power_unit(values_w) -> tuple[str, float]:  # noqa: ANN001 - numbers
    """The unit that keeps a chart's power axis readable, and the divisor from W."""
    largest = max((abs(v) for v in values_w if v == v), default=0.0)
    return ("kW", 1000.0) if largest >= 1000 else ("W", 1.0)


def axis_format(divisor: float) -> str:
    # "~" drops trailing zeros: 50, 2.5, 0.25.
    return ",.2~f" if divisor > 1 else ",~f"


def power_tooltip(
    field: str, title: str, *, unit: str, divisor: float, watt_format: str = ",.0f"
) -> alt.Tooltip:
    """The tooltip of a power ``field`` already divided for an axis in ``unit`` (W or kW): it
    names the axis's unit and shows the axis's decimals, so "1.23" on hover reads as the axis
    does, not as "1,234" watts beside an axis in kW."""
    return alt.Tooltip(
        f"{field}:Q", title=f"{title} {unit}", format=",.2f" if divisor > 1 else watt_format
    )
