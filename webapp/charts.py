"""What every Altair chart of the app shares: one colour per device (derived from the device, the
same on every page), the colours of consumption and generation, and the axis formats."""

from __future__ import annotations

import zlib

import altair as alt
import pandas as pd

USED_COLOR = "#0f766e"
GENERATED_COLOR = "#d97706"
NEUTRAL_COLOR = "#64748b"
# Distinct, colour-blind-friendlier hues; cycled beyond 20 devices.
DEVICE_COLORS = (
    "#0f766e", "#2563eb", "#d97706", "#7c3aed", "#db2777", "#65a30d", "#0891b2", "#dc2626",
    "#4f46e5", "#ca8a04", "#059669", "#9333ea", "#ea580c", "#0284c7", "#be123c", "#4d7c0f",
    "#6d28d9", "#b45309", "#0e7490", "#64748b",
)  # fmt: skip
TIME_FORMAT = "%H:%M"


def device_colors(devices: pd.DataFrame) -> dict[str, str]:
    """Each device's colour (by ``device_id``), derived from its id: the same on every page,
    whatever a chart filters, and never changed by registering or removing another device. Two
    ids that land on one colour: the device registered first keeps it, the later one takes the
    next free colour (cycling once every colour is taken)."""
    taken: dict[str, str] = {}
    used: set[str] = set()
    ordered = devices.sort_values(["created_at", "device_id"], na_position="last", kind="stable")
    for device_id in ordered["device_id"]:
        first = zlib.crc32(device_id.encode()) % len(DEVICE_COLORS)
        for step in range(len(DEVICE_COLORS)):
            colour = DEVICE_COLORS[(first + step) % len(DEVICE_COLORS)]
            if colour not in used:
                break
        else:
            colour = DEVICE_COLORS[first]
            used.clear()
        used.add(colour)
        taken[device_id] = colour
    return taken


def device_scale(devices: pd.DataFrame) -> alt.Scale:
    """The colour scale of charts that colour by device name (``devices``: the user's devices,
    with ``device_id``, ``name`` and ``created_at``)."""
    colours = device_colors(devices)
    return alt.Scale(domain=list(devices["name"]), range=[colours[d] for d in devices["device_id"]])


def legend(title: str | None = None, *, columns: int = 4) -> alt.Legend:
    return alt.Legend(
        title=title, orient="bottom", direction="horizontal", columns=columns, labelLimit=180
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
