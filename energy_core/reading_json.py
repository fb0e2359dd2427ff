"""The JSON device contract (DESIGN.md section 4): a body of readings decoded, its field names
(short ones included) and timestamps read, and parsed into columns, quickly for a well-formed
batch and reading by reading to explain one that breaks a rule."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

import orjson

from energy_core.readings_in import (
    BAD_DEVICE_ID,
    EPOCH_OUT_OF_RANGE,
    MAX_EPOCH_S,
    MAX_EPOCH_US,
    MAX_PROBLEMS,
    MIN_EPOCH_S,
    MIN_EPOCH_US,
    NOT_A_TIMESTAMP,
    TIMESTAMP_EXAMPLE,
    US_PER_S,
    IngestRejected,
    InvalidBody,
    Problem,
    ReadingColumns,
    ReadingIn,
    rejection,
)
from energy_core.types import EPOCH, from_epoch_us, to_epoch_us

# Integers beyond 2**53 are not exact as floats; they are no plausible watts either, and the slow
# path decides what to say about them.
_EXACT_INT = 2**53
_MICRO = timedelta(microseconds=1)
_MISSING = object()


READING_FIELDS = frozenset({"device_id", "timestamp", "energy_watts", "power_w"})


# The short names a hand-written template tends to use (Home Assistant's rest_command, Node-RED),
# accepted on POST /api/v1/readings as the telemetry fields they stand for.
SHORT_FIELD_NAMES = {"device": "device_id", "watts": "energy_watts", "ts": "timestamp"}


def from_short_names(payload: object) -> object:
    """The telemetry form of a reading, or a list of them, written with ``SHORT_FIELD_NAMES``.

    A short name is renamed only when its telemetry name is absent, so a reading that gives both
    keeps the short one and is refused for it, as any unknown field is. A list becomes a batch.
    """

    def rename(item: object) -> object:
        if not isinstance(item, dict):
            return item
        return {
            SHORT_FIELD_NAMES[k]
            if k in SHORT_FIELD_NAMES and SHORT_FIELD_NAMES[k] not in item
            else k: v
            for k, v in item.items()
        }

    if isinstance(payload, list):
        return {"readings": [rename(item) for item in payload]}
    return rename(payload)


def field_name(name: object) -> str:
    """A client-chosen key, safe to echo in an error: bounded, valid UTF-8."""
    text = str(name)[:64]
    return text.encode("utf-8", "replace").decode("utf-8")


def decode_json_body(body: bytes) -> object:
    """The JSON value of a request body; raises InvalidBody when it is not UTF-8 JSON.

    orjson does the work. The JSON-like literals it refuses (NaN, Infinity, 1e400) are decoded
    again by the standard library so that the reading holding them is named in the error
    instead of the whole body being called invalid.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        reason = str(exc)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidBody(
            f"The body is not valid UTF-8 (byte {exc.start}); send JSON encoded as UTF-8."
        ) from exc
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise InvalidBody("The body is nested too deeply to be a reading or a batch.") from exc
    except ValueError as exc:  # JSONDecodeError, or an integer of thousands of digits
        raise InvalidBody(f"The body is not valid JSON: {reason}.") from exc


def timestamp_us(value: object) -> int | str:
    """Epoch microseconds (UTC) of a timestamp as devices send it, or why it is not one.

    ISO 8601 with an offset or ``Z``, or epoch seconds as a number (fractions are rounded to the
    microsecond: that is the instant stored and compared for duplicates).
    """
    kind = type(value)  # not isinstance: a JSON true is no epoch
    if kind is int or kind is float:
        if not MIN_EPOCH_S <= value <= MAX_EPOCH_S:  # NaN fails this too
            return EPOCH_OUT_OF_RANGE
        return value * US_PER_S if kind is int else round(value * US_PER_S)
    if kind is not str:
        return NOT_A_TIMESTAMP
    # datetime.fromisoformat skips some control characters (a NUL before the offset); a
    # timestamp with one is not what the device meant to send.
    if len(value) > 64 or not value.isprintable():
        return f"is not an ISO 8601 timestamp ({TIMESTAMP_EXAMPLE})"
    try:
        ts = datetime.fromisoformat(value.strip())
        if ts.tzinfo is None:
            return f"needs a UTC offset or Z ({TIMESTAMP_EXAMPLE})"
        us = (ts - EPOCH) // _MICRO
    except (ValueError, OverflowError):
        return f"is not an ISO 8601 timestamp ({TIMESTAMP_EXAMPLE})"
    if not MIN_EPOCH_US <= us <= MAX_EPOCH_US:
        return "must be between 2000 and 2100"
    return us


def parse_timestamp(value: object) -> datetime | str:
    """An aware UTC datetime from ISO 8601 with an offset, or epoch seconds; else why not."""
    us = timestamp_us(value)
    return us if isinstance(us, str) else from_epoch_us(us)


def device_id_problem(value: object) -> str | None:
    if (
        type(value) is not str
        or not 1 <= len(value) <= 128
        or not value.isprintable()  # no control characters, no lone surrogates
        or not value.strip()
    ):
        return BAD_DEVICE_ID
    return None


def _power_problem(value: object) -> str | None:
    if type(value) is not int and type(value) is not float:
        return "must be a number of watts"
    try:
        if not math.isfinite(float(value)):
            return "must be a finite number"
    except OverflowError:
        return "must be a finite number"
    return None


def parse_reading(obj: object, index: int | None, problems: list[Problem]) -> ReadingIn | None:
    """One reading object, or None after appending what is wrong with it to ``problems``."""
    if not isinstance(obj, dict):
        problems.append(Problem(index, "reading", "must be a JSON object"))
        return None
    count = len(problems)
    extra = sorted(field_name(k) for k in set(obj) - READING_FIELDS)
    for name in extra[:5]:
        problems.append(Problem(index, name, "is not a reading field"))
    device_id = obj.get("device_id")
    if device_id is not None and (why := device_id_problem(device_id)):
        problems.append(Problem(index, "device_id", why))
    if "timestamp" not in obj:
        problems.append(Problem(index, "timestamp", "is required"))
        ts = None
    else:
        ts = timestamp_us(obj["timestamp"])
        if isinstance(ts, str):
            problems.append(Problem(index, "timestamp", ts))
    if "energy_watts" in obj and "power_w" in obj:
        problems.append(Problem(index, "energy_watts", "give energy_watts or power_w, not both"))
    name = "energy_watts" if "energy_watts" in obj or "power_w" not in obj else "power_w"
    power = obj.get(name)
    if name not in obj:
        problems.append(Problem(index, "energy_watts", "is required"))
    elif why := _power_problem(power):
        problems.append(Problem(index, name, why))
    if len(problems) > count:
        return None
    return ReadingIn(device_id=device_id, ts=from_epoch_us(ts), power_w=float(power))


def _fast_columns(items: list) -> ReadingColumns | None:
    """Columns of well-formed readings, or None as soon as one item needs a closer look.

    Accepts exactly what ``parse_reading`` accepts (a property test holds the two together),
    with type checks on exact types and each distinct timestamp string parsed once.
    """
    device_ids: list[str | None] = []
    stamps: list[int] = []
    powers: list[float] = []
    parsed: dict[str, int] = {}
    good_ids: set[str] = set()
    fields = READING_FIELDS
    for item in items:
        if type(item) is not dict or not item.keys() <= fields:
            return None
        power = item.get("energy_watts", _MISSING)
        if power is _MISSING:
            power = item.get("power_w", _MISSING)
        elif "power_w" in item:
            return None
        kind = type(power)
        if kind is int:
            if not -_EXACT_INT <= power <= _EXACT_INT:
                return None
            power = float(power)
        elif kind is not float or power - power != 0.0:  # NaN and ±inf give NaN here
            return None
        raw = item.get("timestamp", _MISSING)
        if type(raw) is str:
            stamp = parsed.get(raw)
            if stamp is None:
                stamp = timestamp_us(raw)
                if type(stamp) is str:
                    return None
                parsed[raw] = stamp
        else:
            stamp = timestamp_us(raw)  # numbers; anything else (or missing) is a problem
            if type(stamp) is str:
                return None
        device_id = item.get("device_id")
        if device_id is not None and device_id not in good_ids:
            if device_id_problem(device_id):
                return None
            good_ids.add(device_id)
        device_ids.append(device_id)
        stamps.append(stamp)
        powers.append(power)
    return ReadingColumns(device_ids, stamps, powers)


def _slow_columns(items: list, *, single: bool) -> ReadingColumns:
    problems: list[Problem] = []
    readings = [
        parse_reading(item, None if single else i, problems) for i, item in enumerate(items)
    ]
    if problems:
        if single:
            raise IngestRejected(
                "The reading is invalid; nothing was stored.", problems[:MAX_PROBLEMS]
            )
        raise rejection(problems, "batch")
    return ReadingColumns(
        [r.device_id for r in readings],
        [to_epoch_us(r.ts) for r in readings],
        [r.power_w for r in readings],
    )


def parse_readings_columns(payload: object, *, batch: bool, max_readings: int) -> ReadingColumns:
    """Columns from a decoded JSON body (one reading, or ``{"readings": [...]}``); raises
    IngestRejected listing every problem (first 100) when any reading is invalid."""
    if not batch:
        columns = _fast_columns([payload])
        return columns if columns is not None else _slow_columns([payload], single=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("readings"), list):
        raise IngestRejected(
            'A batch is a JSON object {"readings": [...]}.',
            [Problem(None, "readings", "must be a list of readings")],
        )
    extra = sorted(field_name(k) for k in set(payload) - {"readings"})
    if extra:
        raise IngestRejected(
            "Unknown fields in the batch.",
            [Problem(None, n, "is not a batch field") for n in extra[:5]],
        )
    items = payload["readings"]
    if not items:
        raise IngestRejected(
            "The batch holds no readings.", [Problem(None, "readings", "is empty")]
        )
    if len(items) > max_readings:
        raise IngestRejected(
            f"The batch holds {len(items)} readings; at most {max_readings} are accepted "
            "per request.",
            [Problem(None, "readings", f"more than {max_readings} readings")],
        )
    columns = _fast_columns(items)
    return columns if columns is not None else _slow_columns(items, single=False)


def parse_readings_payload(payload: object, *, batch: bool, max_readings: int) -> list[ReadingIn]:
    """``parse_readings_columns`` as reading objects."""
    return parse_readings_columns(payload, batch=batch, max_readings=max_readings).readings()
