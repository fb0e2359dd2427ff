"""The Emoncms input API as emonhub, IoTaWatt, EmonESP and Home Assistant speak it: ``input/post``
(``fulljson``, ``json``, ``csv``, ``data``) and ``input/bulk`` (four time modes, zlib bodies), read
into input values named ``node:input``. What Emoncms itself accepts, it accepts; where Emoncms
would silently store a 0 (a value that is no number) the request is refused instead."""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from energy_core.ingest import (
    US_PER_S,
    IngestRejected,
    InvalidBody,
    Problem,
    timestamp_us,
)
from energy_core.inputs import InputValue

# Emoncms keeps letters, digits, "_", "-", "." and whitespace of node and input names.
_NAME_JUNK = re.compile(r"[^\w\s\-.]", re.UNICODE)
# ... and of the legacy json/csv/data forms also the ":" and "," that separate them.
_LEGACY_JUNK = re.compile(r"[^\w\s\-.:,]", re.UNICODE)
# A hub's clock within this many seconds of ours is taken as right and its times are stored as
# sent; a clock further off is corrected by the difference in whole steps of this size. Either way
# a batch the hub sends again lands on the same instants and counts as duplicates (Emoncms shifts
# it by the second or two between the two sends, and stores it twice).
CLOCK_TOLERANCE_S = 60


class EmoncmsFormatError(IngestRejected):
    """The request is Emoncms input API in form but not in content; nothing was stored."""


def clean_name(raw: object) -> str:
    return _NAME_JUNK.sub("", str(raw)).strip()


def _number(raw: object) -> float | None:
    """A value as Emoncms reads it: a number, or a string holding one; None for anything else."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            return None
    else:
        return None
    return value if math.isfinite(value) else None


def _seconds(raw: str, field: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise EmoncmsFormatError(
            f"{field} must be epoch seconds.", [Problem(None, field, "must be epoch seconds")]
        )
    return value


def _us(seconds: float, field: str) -> int:
    us = timestamp_us(seconds)
    if isinstance(us, str):
        raise EmoncmsFormatError(f"{field}: {us}.", [Problem(None, field, us)])
    return int(us)


# --- input/post ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostRequest:
    values: list[InputValue]
    # fulljson is answered {"success": true}, the other forms "ok".
    full_json: bool


def parse_post(params: Mapping[str, str], *, node_segment: str | None, now_s: float) -> PostRequest:
    """``input/post`` from its parameters (query and form merged); ``node_segment`` is the node
    given as a path segment (``input/post/emontx``)."""
    node = clean_name(params.get("node", node_segment if node_segment is not None else "0"))
    if not node:
        raise EmoncmsFormatError(
            "node must hold letters or digits.", [Problem(None, "node", "is empty")]
        )
    time_s = _seconds(params["time"], "time") if params.get("time") else now_s
    if "fulljson" in params:
        pairs, time_s = _full_json(params["fulljson"], time_s)
        full = True
    else:
        which = next((k for k in ("json", "csv", "data") if k in params), None)
        if which is None:
            raise EmoncmsFormatError(
                "Send the values in fulljson=, json=, csv= or data=.",
                [Problem(None, "fulljson", "is required (or json, csv or data)")],
            )
        pairs = _legacy(params[which], which)
        full = False
    ts_us = _us(time_s, "time")
    return PostRequest([InputValue(f"{node}:{name}", ts_us, v) for name, v in pairs], full)


def _full_json(text: str, time_s: float) -> tuple[list[tuple[str, float]], float]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidBody(f"fulljson is not valid JSON: {exc}.") from exc
    if not isinstance(data, dict):
        raise EmoncmsFormatError(
            "fulljson must be a JSON object of input names and values.",
            [Problem(None, "fulljson", "must be a JSON object")],
        )
    pairs, problems = [], []
    for key, raw in data.items():
        if key == "time":
            if isinstance(raw, str) and _number(raw) is None:
                us = timestamp_us(raw)
                if isinstance(us, str):
                    problems.append(Problem(None, "time", us))
                    continue
                time_s = us / US_PER_S
            elif (seconds := _number(raw)) is not None:
                time_s = seconds
            else:
                problems.append(Problem(None, "time", "must be epoch seconds or ISO 8601"))
            continue
        name = clean_name(key)
        value = _number(raw)
        if not name:
            problems.append(Problem(None, str(key)[:64], "input name has no letters or digits"))
        elif value is None:
            problems.append(Problem(None, name[:64], "must be a number"))
        else:
            pairs.append((name, value))
    if problems:
        raise EmoncmsFormatError(
            f"{len(problems)} problem(s) in fulljson; nothing was stored.", problems[:100]
        )
    return pairs, time_s


def _legacy(text: str, field: str) -> list[tuple[str, float]]:
    """The lenient forms: ``{power1:100,power2:200}`` (quotes and braces ignored) or ``100,200``
    (positional inputs 1, 2, ...), mixed as Emoncms allows."""
    pairs, problems, position = [], [], 0
    for part in _LEGACY_JUNK.sub("", text).split(","):
        if not part.strip():
            position += 1  # an empty csv value skips its input, as in bulk rows
            continue
        key, sep, raw = part.partition(":")
        if sep:
            name, value = key.strip(), _number(raw)
            if not name:
                problems.append(
                    Problem(None, field, f"{part.strip()!r}: the input name is missing")
                )
                continue
        else:
            position += 1
            name, value = str(position), _number(key)
        if value is None:
            problems.append(Problem(None, field, f"{part.strip()[:64]!r}: the value is no number"))
        else:
            pairs.append((name, value))
    if problems or not pairs:
        raise EmoncmsFormatError(
            f"{field} holds no values as name:value or comma-separated numbers.",
            problems[:100] or [Problem(None, field, "holds no values")],
        )
    return pairs


# --- input/bulk ---------------------------------------------------------------------------------


def decompress(body: bytes, *, limit: int, wbits: int = zlib.MAX_WBITS) -> bytes:
    """A zlib stream (``cb=1``; ``c=1`` after hex decoding; gzip with ``wbits=31``), refused
    beyond ``limit`` bytes."""
    inflater = zlib.decompressobj(wbits)
    try:
        data = inflater.decompress(body, limit)
    except zlib.error as exc:
        raise InvalidBody(f"The body is not compressed as it says: {exc}.") from exc
    if inflater.unconsumed_tail:
        raise InvalidBody(f"The data is larger than {limit} bytes once decompressed.")
    return data


def unhex(text: str) -> bytes:
    try:
        return bytes.fromhex(text.strip())
    except ValueError as exc:
        raise InvalidBody("With c=1, data must be hex-encoded zlib data.") from exc


def parse_bulk(data: bytes | str, params: Mapping[str, str], *, now_s: float) -> list[InputValue]:
    """``input/bulk`` rows ``[t, node, v1, v2, ...]`` or ``[t, node, {"name": v}, ...]``, their
    times read by the mode the parameters choose (Emoncms's order): ``sentat`` (rows carry the
    hub's clock, corrected by its difference from ours, see ``CLOCK_TOLERANCE_S``), ``offset``
    and ``time`` (rows carry seconds relative to now minus offset, or to time) or, without any,
    legacy (relative to the last row, which is now)."""
    try:
        rows = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidBody(f"data is not valid JSON: {exc}.") from exc
    if not isinstance(rows, list) or not rows or not all(isinstance(r, list) for r in rows):
        raise EmoncmsFormatError(
            "data must be a non-empty JSON list of rows [time, node, values...].",
            [Problem(None, "data", "must be a list of rows")],
        )
    problems: list[Problem] = []
    times = []
    for i, row in enumerate(rows):
        t = _number(row[0]) if row else None
        if len(row) < 3 or t is None:
            problems.append(Problem(i, "data", "a row is [time, node, value, ...]"))
        times.append(t)
    if problems:
        raise EmoncmsFormatError("Format error in data; nothing was stored.", problems[:100])
    if "sentat" in params:
        skew = now_s - _seconds(params["sentat"], "sentat")
        steps = round(skew / CLOCK_TOLERANCE_S) if abs(skew) > CLOCK_TOLERANCE_S else 0
        reference = float(steps * CLOCK_TOLERANCE_S)
    elif "offset" in params:
        reference = now_s - _seconds(params["offset"], "offset")
    elif "time" in params:
        reference = _seconds(params["time"], "time")
    else:
        reference = now_s - times[-1]
    values: list[InputValue] = []
    for i, (row, t) in enumerate(zip(rows, times, strict=True)):
        ts_us = timestamp_us(reference + t)
        if isinstance(ts_us, str):
            problems.append(Problem(i, "time", ts_us))
            continue
        node = row[1]
        if isinstance(node, dict | list) or not clean_name(node):
            problems.append(Problem(i, "node", "must be a name or a number"))
            continue
        node = clean_name(node)
        position = 1
        for item in row[2:]:
            if isinstance(item, dict):
                for key, raw in item.items():
                    _add(values, problems, i, node, clean_name(key), raw, int(ts_us))
                continue
            if item is not None and item != "":
                _add(values, problems, i, node, str(position), item, int(ts_us))
            position += 1
    if problems:
        raise EmoncmsFormatError("Format error in data; nothing was stored.", problems[:100])
    return values


def _add(
    values: list[InputValue],
    problems: list[Problem],
    index: int,
    node: str,
    name: str,
    raw: object,
    ts_us: int,
) -> None:
    value = _number(raw)
    if not name:
        problems.append(Problem(index, "data", "an input name has no letters or digits"))
    elif value is None:
        problems.append(Problem(index, f"{node}:{name}"[:64], "must be a number"))
    else:
        values.append(InputValue(f"{node}:{name}", ts_us, value))
