"""Recording power readings: the one write path behind the HTTP API, the simulator and the seed.

Checks every reading against the rules of DESIGN.md sections 3 and 4, stores the new ones, marks the
hours they can change as dirty and moves each device's last-seen time, all in the caller's
transaction: a batch is stored whole or not at all.

Readings travel as three parallel columns (device string, epoch microseconds, watts) so that a
batch of thousands is validated with a few passes over plain lists and handed to the database in
bulk; the per-reading path below is only taken to explain a batch that breaks a rule.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from energy_core.errors import CoreError, ErrorKind
from energy_core.models import Device, DeviceCreate, User
from energy_core.settings import Settings, get_settings
from energy_core.sql.ingest import SingleReading, find_devices, insert_readings
from energy_core.sql.locks import lock_for_writing
from energy_core.types import EPOCH, from_epoch_us, to_epoch_us, utcnow

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
US_PER_S = 1_000_000
HOUR_US = 3_600 * US_PER_S
# Epoch seconds outside this range are certainly a unit mistake (ms/us) or garbage.
MIN_EPOCH_S = 946_684_800  # 2000-01-01
MAX_EPOCH_S = 4_102_444_800  # 2100-01-01
MIN_EPOCH_US = MIN_EPOCH_S * US_PER_S
MAX_EPOCH_US = MAX_EPOCH_S * US_PER_S
# Problems listed in one rejection; the rest are summed up in the message.
MAX_PROBLEMS = 100
# Integers beyond 2**53 are not exact as floats; they are no plausible watts either, and the slow
# path decides what to say about them.
_EXACT_INT = 2**53
_MICRO = timedelta(microseconds=1)
_MISSING = object()

TIMESTAMP_EXAMPLE = "e.g. 2026-05-01T12:00:00Z"
NOT_A_TIMESTAMP = "must be an ISO 8601 string with an offset, or epoch seconds"
EPOCH_OUT_OF_RANGE = "epoch seconds must be between 2000-01-01 and 2100-01-01 (seconds, not ms)"
BAD_DEVICE_ID = "must be a non-empty string of at most 128 printable characters"


@dataclass(frozen=True)
class ReadingIn:
    """A reading as parsed from a request: the device string is resolved against the user here."""

    device_id: str | None
    ts: datetime
    power_w: float


@dataclass
class ReadingColumns:
    """Readings as parallel columns: device strings (None: the key's device), UTC instants in
    epoch microseconds, watts. The shape bulk validation and bulk inserts work on."""

    device_ids: list[str | None]
    ts_us: list[int]
    power_w: list[float]

    def __len__(self) -> int:
        return len(self.ts_us)

    def readings(self) -> list[ReadingIn]:
        return [
            ReadingIn(d, from_epoch_us(t), p)
            for d, t, p in zip(self.device_ids, self.ts_us, self.power_w, strict=True)
        ]


@dataclass(frozen=True)
class Problem:
    index: int | None
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "message": self.message}


class IngestRejected(CoreError, ValueError):
    """The batch breaks a rule; nothing of it was stored."""

    kind = ErrorKind.invalid
    code = "validation_error"

    def __init__(self, message: str, problems: Sequence[Problem] = ()):
        super().__init__(message)
        self.problems = list(problems)

    @property
    def details(self) -> list[dict]:
        return [p.as_dict() for p in self.problems]


class InvalidBody(IngestRejected):
    """The body is not JSON at all (or not UTF-8)."""

    kind = ErrorKind.malformed
    code = "invalid_json"


class UnknownDevice(IngestRejected):
    kind = ErrorKind.not_found
    code = "unknown_device"


class DeviceNotAllowed(IngestRejected):
    kind = ErrorKind.forbidden
    code = "device_not_allowed"


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    devices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _DeviceInfo:
    pk: int
    device_id: str
    is_active: bool
    bidirectional: bool
    max_gap_s: int | None


def floor_hour(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def hours_touched(ts: datetime, max_gap_s: int) -> list[datetime]:
    """The hours whose statistics a reading at ``ts`` can change: those [ts, ts + max_gap] meets."""
    first = floor_hour(ts)
    last = floor_hour(ts + timedelta(seconds=max_gap_s))
    hours = [first]
    while hours[-1] < last:
        hours.append(hours[-1] + HOUR)
    return hours


def check_power(value: float, *, bidirectional: bool, settings: Settings) -> str | None:
    """Why ``value`` is not an acceptable power reading, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number of watts"
    if not math.isfinite(value):
        return "must be a finite number"
    if abs(value) > settings.max_power_w:
        return f"must be within ±{settings.max_power_w:g} W"
    if value < 0 and not bidirectional:
        return "negative watts are only accepted for devices marked bidirectional"
    return None


def check_timestamp(ts: datetime, *, now: datetime, settings: Settings) -> str | None:
    if ts.tzinfo is None:
        return "needs a UTC offset or Z"
    if ts > now + timedelta(seconds=settings.future_skew_s):
        return f"is more than {settings.future_skew_s} s in the future"
    if ts < now - timedelta(days=settings.lateness_days):
        return f"is older than the {settings.lateness_days}-day lateness window"
    return None


def _accepted_window_us(now: datetime, settings: Settings) -> tuple[int, int]:
    """The instants (epoch µs) a live reading may carry: the lateness window up to the skew."""
    now_us = to_epoch_us(now)
    return (
        now_us - settings.lateness_days * 86_400 * US_PER_S,
        now_us + settings.future_skew_s * US_PER_S,
    )


def _rejection(problems: list[Problem], what: str) -> IngestRejected:
    shown = problems[:MAX_PROBLEMS]
    more = f" (the first {MAX_PROBLEMS} are listed)" if len(problems) > MAX_PROBLEMS else ""
    return IngestRejected(
        f"{len(problems)} problem(s) in the {what}{more}; nothing was stored.", shown
    )


# --- storing -----------------------------------------------------------------------------------


def _device_infos(session: Session, query) -> list[_DeviceInfo]:  # noqa: ANN001 - a select
    return [_DeviceInfo(*row) for row in session.connection().execute(query)]


def _device_columns():  # noqa: ANN202
    return select(
        Device.id, Device.device_id, Device.is_active, Device.bidirectional, Device.max_gap_s
    )


def _register_devices(
    session: Session, *, user_id: int, names: list[str], bidirectional: bool = False
) -> None:
    """Create the user's devices ``names``; one created meanwhile by another request is kept."""
    for name in names:
        data = DeviceCreate(device_id=name, name=name, bidirectional=bidirectional)
        try:
            with session.begin_nested():
                session.add(Device(**data.model_dump(), user_id=user_id))
        except IntegrityError:
            # A concurrent batch registered it first (unique per user): use that one.
            log.debug("device %r was registered concurrently", name)
    log.info("auto-registered %d device(s) for user %d", len(names), user_id)


def _resolve_devices(
    session: Session,
    *,
    user_id: int,
    device_pk_scope: int | None,
    columns: ReadingColumns,
    register: bool | None,
    register_bidirectional: bool,
) -> dict[str | None, _DeviceInfo]:
    """Map each device string of the batch to the user's device, or reject the batch."""
    wanted = set(columns.device_ids)
    if device_pk_scope is not None:
        found = _device_infos(
            session,
            _device_columns().where(Device.id == device_pk_scope, Device.user_id == user_id),
        )
        if not found:
            raise DeviceNotAllowed("This key's device no longer exists.")
        scoped = found[0]
        others = sorted(n for n in wanted if n is not None and n != scoped.device_id)
        if others:
            raise DeviceNotAllowed(
                f"This key may only write device {scoped.device_id!r}, not {others[0]!r}.",
                [
                    Problem(None, "device_id", f"{n!r} is not this key's device")
                    for n in others[:MAX_PROBLEMS]
                ],
            )
        return {None: scoped, scoped.device_id: scoped}
    if None in wanted:
        missing = [i for i, d in enumerate(columns.device_ids) if d is None]
        raise IngestRejected(
            "device_id is required with a household key.",
            [
                Problem(i, "device_id", "is required with a household key")
                for i in missing[:MAX_PROBLEMS]
            ],
        )

    def lookup(names: list[str]) -> list[_DeviceInfo]:
        rows = find_devices(session.connection(), user_id=user_id, device_ids=names)
        return [_DeviceInfo(*row) for row in rows]

    names = sorted(wanted)
    found = {d.device_id: d for d in lookup(names)}
    unknown = [n for n in names if n not in found]
    if unknown:
        if register is None:
            user = session.get(User, user_id)
            register = user is not None and user.auto_register_devices
        if not register:
            raise UnknownDevice(
                f"Unknown device {unknown[0]!r}: register it first"
                + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
                + ".",
                [Problem(None, "device_id", f"unknown device {n!r}") for n in unknown[:100]],
            )
        _register_devices(
            session, user_id=user_id, names=unknown, bidirectional=register_bidirectional
        )
        found.update((d.device_id, d) for d in lookup(unknown))
    return found


def _validate(
    columns: ReadingColumns,
    devices: list[_DeviceInfo],
    *,
    distinct: Sequence[_DeviceInfo],
    now: datetime,
    settings: Settings,
    enforce_window: bool,
) -> list[Problem]:
    """Every rule that needs the devices or the clock, checked a column at a time; the per-reading
    loops only run for a batch that breaks a rule, to say which readings and why."""
    powers, stamps = columns.power_w, columns.ts_us
    limit = settings.max_power_w
    problems: list[Problem] = []
    if not all(d.is_active for d in distinct):
        problems += [
            Problem(i, "device_id", f"device {d.device_id!r} is deactivated")
            for i, d in enumerate(devices)
            if not d.is_active
        ]
    # NaN fails every comparison, so it is caught by the range check as well.
    out_of_range = [i for i, p in enumerate(powers) if not -limit <= p <= limit]
    if out_of_range or min(powers) < 0:
        problems += [
            Problem(i, "energy_watts", why)
            for i, (p, d) in enumerate(zip(powers, devices, strict=True))
            if (why := check_power(p, bidirectional=d.bidirectional, settings=settings))
        ]
    if enforce_window:
        earliest, latest = _accepted_window_us(now, settings)
        if min(stamps) < earliest or max(stamps) > latest:
            problems += [
                Problem(i, "timestamp", why)
                for i, t in enumerate(stamps)
                if (why := check_timestamp(from_epoch_us(t), now=now, settings=settings))
            ]
    rank = {"device_id": 0, "energy_watts": 1, "timestamp": 2}
    problems.sort(key=lambda p: (p.index, rank.get(p.field, 3)))
    return problems


def _dirty_hours(
    device_pks: Sequence[int], ts_us: Sequence[int], gap_us: dict[int, int]
) -> set[tuple[int, int]]:
    """(device_pk, hour start µs) of every hour the readings can change: [t, t + max_gap]."""
    hours: set[tuple[int, int]] = set()
    for pk, t in zip(device_pks, ts_us, strict=True):
        first = t - t % HOUR_US
        end = t + gap_us[pk]
        last = end - end % HOUR_US
        hours.add((pk, first))
        while last > first:
            hours.add((pk, last))
            last -= HOUR_US
    return hours


def record_reading_columns(
    session: Session,
    *,
    user_id: int,
    columns: ReadingColumns,
    device_pk_scope: int | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
    enforce_window: bool = True,
    register: bool | None = None,
    register_bidirectional: bool = False,
) -> IngestResult:
    """Validate and store ``columns`` for one user; raise IngestRejected and store nothing if any
    reading breaks a rule. ``device_pk_scope`` limits the batch to one device (a device key).
    ``enforce_window=False`` is for trusted bulk loads (demo history, imports) of older data.
    Unknown devices are registered when ``register`` says so (None: the user's setting), as
    bidirectional devices with ``register_bidirectional``.

    The same (device, instant) twice, in the database or within the batch, is stored once with its
    first value and counted as a duplicate.
    """
    settings = settings or get_settings()
    now = now or utcnow()
    n = len(columns)
    if not n:
        raise IngestRejected("The batch holds no readings.", [Problem(None, "readings", "empty")])
    # Before the devices are looked up: deleting one waits for this transaction from here on.
    lock_for_writing(session.connection(), user_id=user_id)
    by_name = _resolve_devices(
        session,
        user_id=user_id,
        device_pk_scope=device_pk_scope,
        columns=columns,
        register=register,
        register_bidirectional=register_bidirectional,
    )
    devices = [by_name[d] for d in columns.device_ids]
    problems = _validate(
        columns,
        devices,
        distinct=list(by_name.values()),
        now=now,
        settings=settings,
        enforce_window=enforce_window,
    )
    if problems:
        raise _rejection(problems, "readings")

    pks = [d.pk for d in devices]
    stamps, powers = columns.ts_us, columns.power_w
    # First value wins within the batch: walking backwards, earlier readings overwrite later ones.
    pairs = zip(reversed(pks), reversed(stamps), strict=True)
    unique = dict(zip(pairs, reversed(powers), strict=True))
    if len(unique) != n:
        pks = [k[0] for k in unique]
        stamps = [k[1] for k in unique]
        powers = list(unique.values())

    # Marking the hours of readings that turn out to be duplicates too is harmless (a recompute
    # gives the same figures) and cheaper than asking the database which rows were new; a batch
    # with nothing new marks nothing and moves no last-seen time.
    default_gap = settings.max_gap_s
    gap_us = {d.pk: (d.max_gap_s or default_gap) * US_PER_S for d in by_name.values()}
    accepted = insert_readings(
        session.connection(),
        user_id=user_id,
        device_pks=pks,
        ts_us=stamps,
        power_w=powers,
        dirty_hours=_dirty_hours(pks, stamps, gap_us),
        last_seen=_newest(pks, stamps),
    )
    return IngestResult(
        accepted=accepted,
        duplicates=n - accepted,
        devices=sorted({d.device_id for d in by_name.values()}),
    )


def single_reading(
    columns: ReadingColumns,
    *,
    user_id: int,
    device_pk_scope: int | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> SingleReading | None:
    """The reading of a one-reading request, for ``store_single_readings``, when it passes
    every rule that needs no device; None when ``record_reading_columns`` must store or explain
    it (a rule broken, or no device_id with a household key)."""
    settings = settings or get_settings()
    (device_id,), (stamp,), (power,) = columns.device_ids, columns.ts_us, columns.power_w
    if device_id is None and device_pk_scope is None:
        return None
    earliest, latest = _accepted_window_us(now or utcnow(), settings)
    limit = settings.max_power_w
    if not (earliest <= stamp <= latest and -limit <= power <= limit):  # NaN fails too
        return None
    return SingleReading(user_id, device_id, device_pk_scope, stamp, power)


def _newest(device_pks: Sequence[int], ts_us: Sequence[int]) -> dict[int, int]:
    newest: dict[int, int] = {}
    for pk, t in zip(device_pks, ts_us, strict=True):
        if t > newest.get(pk, -1):
            newest[pk] = t
    return newest


def columns_from_readings(readings: Sequence[ReadingIn]) -> ReadingColumns:
    """Columns of ``readings``; raises IngestRejected for values no column can hold (a power that
    is no number, a naive timestamp)."""
    problems: list[Problem] = []
    device_ids, stamps, powers = [], [], []
    for i, r in enumerate(readings):
        power = r.power_w
        if isinstance(power, bool) or not isinstance(power, int | float):
            problems.append(Problem(i, "energy_watts", "must be a number of watts"))
            power = 0.0
        if r.ts.tzinfo is None:
            problems.append(Problem(i, "timestamp", "needs a UTC offset or Z"))
            stamp = 0
        else:
            stamp = to_epoch_us(r.ts)
        device_ids.append(r.device_id)
        stamps.append(stamp)
        try:
            powers.append(float(power))
        except OverflowError:
            problems.append(Problem(i, "energy_watts", "must be a finite number"))
            powers.append(math.inf)
    if problems:
        raise _rejection(problems, "readings")
    return ReadingColumns(device_ids, stamps, powers)


def record_readings(
    session: Session,
    *,
    user_id: int,
    readings: Sequence[ReadingIn],
    device_pk_scope: int | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
    enforce_window: bool = True,
) -> IngestResult:
    """``record_reading_columns`` for readings as objects (the simulator, the demo seed)."""
    if not readings:
        raise IngestRejected("The batch holds no readings.", [Problem(None, "readings", "empty")])
    return record_reading_columns(
        session,
        user_id=user_id,
        columns=columns_from_readings(readings),
        device_pk_scope=device_pk_scope,
        now=now,
        settings=settings,
        enforce_window=enforce_window,
    )


# --- the JSON device contract (DESIGN.md section 4) ---------------------------------------------

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
        raise _rejection(problems, "batch")
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


__all__ = [
    "DeviceNotAllowed",
    "IngestRejected",
    "IngestResult",
    "InvalidBody",
    "Problem",
    "ReadingColumns",
    "ReadingIn",
    "UnknownDevice",
    "check_power",
    "check_timestamp",
    "columns_from_readings",
    "decode_json_body",
    "from_short_names",
    "parse_reading",
    "parse_readings_columns",
    "parse_readings_payload",
    "parse_timestamp",
    "record_reading_columns",
    "record_readings",
    "single_reading",
    "timestamp_us",
]
