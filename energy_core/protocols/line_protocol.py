"""InfluxDB line protocol, as Telegraf, emonhub, IoTaWatt, Home Assistant and the InfluxDB client
libraries write it: ``measurement,tag=v field=1,other="s" 1700000000000000000``, with its escapes,
its field types and every timestamp precision.

``parse_lines`` reads a whole body or fails naming the first lines that cannot be read: a request
is stored whole or not at all. ``power_values`` maps the points to inputs (see ``PointMapping``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from energy_core.ingest import MAX_EPOCH_US, MIN_EPOCH_US, IngestRejected, Problem
from energy_core.inputs import InputValue

# Nanoseconds per unit of each precision (v2 names, and v1's n, u, m and h).
PRECISION_NS = {
    "ns": 1,
    "n": 1,
    "us": 1_000,
    "u": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_TRUE = {"t", "T", "true", "True", "TRUE"}
_FALSE = {"f", "F", "false", "False", "FALSE"}

FieldValue = float | int | bool | str


class LineProtocolError(IngestRejected):
    """A line cannot be read; nothing of the request was stored."""

    def __init__(self, message: str, problems: Sequence[Problem], line: int):
        super().__init__(message, problems)
        self.line = line


@dataclass(frozen=True)
class Point:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]
    # Epoch nanoseconds; None: the server's time.
    ts_ns: int | None


def _scan(line: str, i: int, stops: str) -> tuple[str, int]:
    """The text from ``i`` up to the first unescaped character of ``stops``, unescaped (a
    backslash before any other character stays a backslash, as in InfluxDB)."""
    out = []
    n = len(line)
    while i < n:
        c = line[i]
        if c == "\\" and i + 1 < n and (line[i + 1] in stops or line[i + 1] in ",= \\"):
            out.append(line[i + 1])
            i += 2
            continue
        if c in stops:
            break
        out.append(c)
        i += 1
    return "".join(out), i


def _field_value(raw: str) -> FieldValue:
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    if raw.endswith(("i", "u")):
        number = int(raw[:-1])  # ValueError when it is no integer
        if raw.endswith("u") and number < 0:
            raise ValueError("unsigned integer is negative")
        return number
    value = float(raw)
    if not math.isfinite(value) or raw.strip().lower() in {"nan", "inf", "-inf", "+inf"}:
        raise ValueError("not a finite number")
    return value


def parse_line(line: str) -> Point:
    """One line; raises ValueError saying why it cannot be read."""
    measurement, i = _scan(line, 0, ", ")
    if not measurement:
        raise ValueError("missing measurement")
    tags: dict[str, str] = {}
    while i < len(line) and line[i] == ",":
        key, i = _scan(line, i + 1, "=, ")
        if i >= len(line) or line[i] != "=" or not key:
            raise ValueError("missing tag key or value")
        value, i = _scan(line, i + 1, ", ")
        if not value:
            raise ValueError(f"missing tag value of {key!r}")
        tags[key] = value
    if i >= len(line) or line[i] != " ":
        raise ValueError("missing fields")
    while i < len(line) and line[i] == " ":
        i += 1
    fields: dict[str, FieldValue] = {}
    while True:
        key, i = _scan(line, i, "=, ")
        if i >= len(line) or line[i] != "=" or not key:
            raise ValueError("missing fields" if not fields and not key else "invalid field")
        i += 1
        if i < len(line) and line[i] == '"':
            chars, i = [], i + 1
            while i < len(line) and line[i] != '"':
                if line[i] == "\\" and i + 1 < len(line) and line[i + 1] in '"\\':
                    i += 1
                chars.append(line[i])
                i += 1
            if i >= len(line):
                raise ValueError(f"unterminated string value of field {key!r}")
            fields[key] = "".join(chars)
            i += 1
        else:
            raw, i = _scan(line, i, ", ")
            try:
                fields[key] = _field_value(raw)
            except ValueError as exc:
                raise ValueError(f"invalid value {raw[:32]!r} of field {key!r}") from exc
        if i < len(line) and line[i] == ",":
            i += 1
            continue
        break
    rest = line[i:].strip()
    ts_ns = None
    if rest:
        try:
            ts_ns = int(rest)
        except ValueError as exc:
            raise ValueError(f"invalid timestamp {rest[:32]!r}") from exc
    return Point(measurement, tags, fields, ts_ns)


def parse_lines(body: str) -> list[Point]:
    """Every point of a body; blank lines and ``#`` comments are skipped. Raises
    LineProtocolError naming the lines that cannot be read (the first 100)."""
    points, problems = [], []
    for number, line in enumerate(body.split("\n"), start=1):
        line = line.strip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            points.append(parse_line(line.lstrip()))
        except ValueError as exc:
            problems.append(Problem(number, "line", f"unable to parse {line[:80]!r}: {exc}"))
    if problems:
        first = problems[0]
        raise LineProtocolError(
            f"{len(problems)} line(s) cannot be read, nothing was written; line {first.index}: "
            f"{first.message}",
            problems[:100],
            line=first.index or 0,
        )
    return points


# --- points to inputs ---------------------------------------------------------------------------

# Home Assistant writes each entity to a measurement named by its unit.
POWER_UNITS = {"W": 1.0, "kW": 1_000.0, "MW": 1_000_000.0}
KILOWATT_FIELDS = frozenset({"power_kw", "kW", "kw"})


@dataclass(frozen=True)
class PointMapping:
    """Which device and which field of a point are its power, tried in this order:

    1. Home Assistant (``W,domain=sensor,entity_id=fridge value=96``): the device is
       ``domain.entity_id`` (``sensor.fridge``), the field ``value``, in the measurement's unit
       (W, kW, MW); entities in other units are not power and are skipped.
    2. emonhub (``power1,node=emontx1 value=230``): the input ``node:measurement``
       (``emontx1:power1``), the field ``value``; as for every Emoncms input its name says
       whether it is watts (``vrms`` is not).
    3. Anything else (Telegraf, client libraries: ``power,device=plug1 watts=231.5``): the
       device is the first of ``device_tags`` the point has, else the measurement; the power is
       the first of ``power_fields`` it has (``*_kw`` fields in kilowatts), or ``value`` when the
       measurement is a power unit or named power/watts. Points with none are skipped.
    """

    device_tags: Sequence[str] = ("device", "device_id", "sensor", "name")
    power_fields: Sequence[str] = ("watts", "power_w", "power", "W", "w", "power_kw", "kW")


def _number(point: Point, name: str, index: int) -> float:
    value = point.fields[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IngestRejected(
            f"Field {name!r} of {point.measurement!r} holds power and must be a number.",
            [Problem(index, name, "must be a number of watts")],
        )
    return float(value)


def power_values(
    points: Sequence[Point], *, now_ns: int, precision_ns: int, mapping: PointMapping
) -> list[InputValue]:
    """The input values of ``points`` (their timestamps in ``precision_ns`` units)."""
    values: list[InputValue] = []
    problems: list[Problem] = []
    for index, point in enumerate(points):
        ts_ns = now_ns if point.ts_ns is None else point.ts_ns * precision_ns
        ts_us = ts_ns // 1_000
        if not MIN_EPOCH_US <= ts_us <= MAX_EPOCH_US:
            problems.append(
                Problem(index, "timestamp", "is not between 2000 and 2100 in this precision")
            )
            continue
        found = _power_of(point, index, mapping)
        if found is not None:
            input_id, value, is_watts = found
            values.append(InputValue(input_id, ts_us, value, is_watts))
    if problems:
        raise IngestRejected(
            f"{len(problems)} point(s) have timestamps out of range; nothing was written "
            "(is the precision right?).",
            problems[:100],
        )
    return values


def _power_of(
    point: Point, index: int, mapping: PointMapping
) -> tuple[str, float, bool | None] | None:
    tags, fields = point.tags, point.fields
    if "entity_id" in tags:
        scale = POWER_UNITS.get(point.measurement)
        if scale is None or "value" not in fields:
            return None
        domain = tags.get("domain")
        name = f"{domain}.{tags['entity_id']}" if domain else tags["entity_id"]
        return name, _number(point, "value", index) * scale, True
    if "node" in tags and "value" in fields:
        return f"{tags['node']}:{point.measurement}", _number(point, "value", index), None
    device = next((tags[t] for t in mapping.device_tags if t in tags), point.measurement)
    for name in mapping.power_fields:
        if name in fields:
            scale = 1_000.0 if name in KILOWATT_FIELDS else 1.0
            return device, _number(point, name, index) * scale, True
    scale = POWER_UNITS.get(point.measurement)
    if scale is None and point.measurement.lower() in {"power", "watts"}:
        scale = 1.0
    if scale is not None and "value" in fields:
        return device, _number(point, "value", index) * scale, True
    return None
