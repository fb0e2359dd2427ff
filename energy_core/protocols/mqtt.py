"""What Shelly, Tasmota and Home Assistant publish over MQTT, read into input values: pure
functions from a topic and a payload (the MQTT bridge does the connecting).

- Shelly Gen2+ (``<id>/status/switch:0``, ``pm1:0``: ``apower``; Pro 3EM ``<id>/status/em:0``:
  ``total_act_power``): the input ``<id>:switch:0``, at the time the message arrived.
- Tasmota (``tele/<topic>/SENSOR``: ``ENERGY.Power``, one value or one per channel): the input
  ``<topic>`` (``<topic>:2`` for a second channel), at its ``Time``, which has no offset: it is the
  device's local time (``MqttMapping.timezone``).
- Home Assistant ``mqtt_statestream`` (``<base>/<domain>/<object>/state``: the state as text):
  the input ``<domain>.<object>``, at arrival; whether it is watts is decided by its name as for
  every input, so a temperature stays out of energy figures.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from energy_core.ingest import US_PER_S
from energy_core.inputs import InputValue

SHELLY_POWER = {"switch": "apower", "pm1": "apower", "em": "total_act_power", "em1": "act_power"}


@dataclass(frozen=True)
class MqttMapping:
    timezone: str = "UTC"  # of Tasmota's Time
    statestream_base: str = "homeassistant"
    # Input id (as above) -> the device id to store it under.
    devices: Mapping[str, str] = field(default_factory=dict)

    def topics(self) -> list[str]:
        """The subscriptions that carry what this module reads."""
        return ["+/status/+", "tele/+/SENSOR", f"{self.statestream_base}/+/+/state"]


def _number(raw: object) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def values_from_message(
    topic: str, payload: bytes, *, received_us: int, mapping: MqttMapping
) -> list[InputValue]:
    """The power values a message carries (none for topics and payloads that carry none)."""
    parts = topic.split("/")
    found: list[tuple[str, int, float, bool | None]] = []
    if len(parts) == 3 and parts[1] == "status":
        found = _shelly(parts[0], parts[2], payload, received_us)
    elif len(parts) == 3 and parts[0] == "tele" and parts[2] == "SENSOR":
        found = _tasmota(parts[1], payload, received_us, mapping.timezone)
    elif (
        len(parts) == 4
        and parts[0] == mapping.statestream_base
        and parts[3] == "state"
        and (value := _number(payload.decode("utf-8", "replace").strip())) is not None
    ):
        found = [(f"{parts[1]}.{parts[2]}", received_us, value, None)]
    return [
        InputValue(mapping.devices.get(name, name), ts, value, watts)
        for name, ts, value, watts in found
    ]


def _json(payload: bytes) -> dict | None:
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _shelly(device: str, component: str, payload: bytes, received_us: int) -> list:
    kind = component.partition(":")[0]
    field_name = SHELLY_POWER.get(kind)
    data = _json(payload) if field_name else None
    if data is None or (value := _number(data.get(field_name))) is None:
        return []
    return [(f"{device}:{component}", received_us, value, True)]


def _tasmota(device: str, payload: bytes, received_us: int, timezone: str) -> list:
    data = _json(payload)
    energy = data.get("ENERGY") if data else None
    if not isinstance(energy, dict) or "Power" not in energy:
        return []
    ts_us = received_us
    if isinstance(data.get("Time"), str):
        try:
            local = datetime.fromisoformat(data["Time"])
        except ValueError:
            local = None
        if local is not None:
            if local.tzinfo is None:
                local = local.replace(tzinfo=ZoneInfo(timezone))
            ts_us = round(local.timestamp() * US_PER_S)
    power = energy["Power"]
    channels = power if isinstance(power, list) else [power]
    out = []
    for i, raw in enumerate(channels, start=1):
        value = _number(raw)
        if value is not None:
            name = device if len(channels) == 1 else f"{device}:{i}"
            out.append((name, ts_us, value, True))
    return out
