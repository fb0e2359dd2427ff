"""Recording power readings: the one write path behind the HTTP API, the simulator and the seed.

Checks every reading against the rules of DESIGN.md sections 3 and 4, stores the new ones, marks the
hours they can change as dirty and moves each device's last-seen time, all in the caller's
transaction: a batch is stored whole or not at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from energy_core import dialect
from energy_core.models import Device, DeviceCreate, User
from energy_core.settings import Settings, get_settings
from energy_core.types import utcnow

HOUR = timedelta(hours=1)
# Epoch seconds outside this range are certainly a unit mistake (ms/us) or garbage.
MIN_EPOCH_S = 946_684_800  # 2000-01-01
MAX_EPOCH_S = 4_102_444_800  # 2100-01-01


@dataclass(frozen=True)
class ReadingIn:
    """A reading as parsed from a request: the device string is resolved against the user here."""

    device_id: str | None
    ts: datetime
    power_w: float


@dataclass(frozen=True)
class Problem:
    index: int | None
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "message": self.message}


class IngestRejected(ValueError):
    """The batch breaks a rule; nothing of it was stored."""

    status = 422
    code = "validation_error"

    def __init__(self, message: str, problems: Sequence[Problem] = ()):
        super().__init__(message)
        self.problems = list(problems)


class UnknownDevice(IngestRejected):
    status = 404
    code = "unknown_device"


class DeviceNotAllowed(IngestRejected):
    status = 403
    code = "device_not_allowed"


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    devices: list[str] = field(default_factory=list)


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


def _resolve_devices(
    session: Session,
    *,
    user_id: int,
    device_pk_scope: int | None,
    readings: Sequence[ReadingIn],
) -> dict[str | None, Device]:
    """Map each device string of the batch to the user's device, or reject the batch."""
    wanted = {r.device_id for r in readings}
    scoped: Device | None = None
    if device_pk_scope is not None:
        scoped = session.get(Device, device_pk_scope)
        if scoped is None or scoped.user_id != user_id:
            raise DeviceNotAllowed("This key's device no longer exists.")
    elif None in wanted:
        missing = [i for i, r in enumerate(readings) if r.device_id is None][:100]
        raise IngestRejected(
            "device_id is required with a household key.",
            [Problem(i, "device_id", "is required with a household key") for i in missing],
        )
    names = {w for w in wanted if w is not None}
    found = (
        {
            d.device_id: d
            for d in session.exec(
                select(Device).where(Device.user_id == user_id, Device.device_id.in_(names))
            )
        }
        if names
        else {}
    )
    if scoped is not None:
        others = sorted(n for n in names if n != scoped.device_id)
        if others:
            raise DeviceNotAllowed(
                f"This key may only write device {scoped.device_id!r}, not {others[0]!r}.",
                [Problem(None, "device_id", f"{n!r} is not this key's device") for n in others],
            )
        return {None: scoped, scoped.device_id: scoped}
    unknown = sorted(n for n in names if n not in found)
    if unknown:
        user = session.get(User, user_id)
        if user is None or not user.auto_register_devices:
            raise UnknownDevice(
                f"Unknown device {unknown[0]!r}: register it first"
                + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
                + ".",
                [Problem(None, "device_id", f"unknown device {n!r}") for n in unknown[:100]],
            )
        for name in unknown:
            device = Device(**DeviceCreate(device_id=name, name=name).model_dump(), user_id=user_id)
            session.add(device)
            found[name] = device
        session.flush()
    return found


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
    """Validate and store ``readings`` for one user; raise IngestRejected and store nothing if any
    reading breaks a rule. ``device_pk_scope`` limits the batch to one device (a device key).
    ``enforce_window=False`` is for trusted bulk loads (demo history, imports) of older data.
    """
    settings = settings or get_settings()
    now = now or utcnow()
    if not readings:
        raise IngestRejected("The batch holds no readings.", [Problem(None, "readings", "empty")])
    devices = _resolve_devices(
        session, user_id=user_id, device_pk_scope=device_pk_scope, readings=readings
    )

    problems: list[Problem] = []
    rows: list[tuple[int, int, datetime, float]] = []
    for i, r in enumerate(readings):
        device = devices[r.device_id]
        if not device.is_active:
            problems.append(Problem(i, "device_id", f"device {device.device_id!r} is deactivated"))
        why = check_power(r.power_w, bidirectional=device.bidirectional, settings=settings)
        if why:
            problems.append(Problem(i, "energy_watts", why))
        why = (
            check_timestamp(r.ts, now=now, settings=settings)
            if enforce_window
            else (None if r.ts.tzinfo else "needs a UTC offset or Z")
        )
        if why:
            problems.append(Problem(i, "timestamp", why))
        if not problems:
            rows.append((user_id, device.id, r.ts.astimezone(UTC), float(r.power_w)))
    if problems:
        raise IngestRejected(
            f"{len(problems)} problem(s) in the readings; nothing was stored.", problems[:100]
        )

    conn = session.connection()
    accepted = dialect.insert_readings(conn, rows)

    gaps = {d.id: d.max_gap_s or settings.max_gap_s for d in devices.values()}
    dirty = {
        (user_id, device_pk, hour)
        for _, device_pk, ts, _ in rows
        for hour in hours_touched(ts, gaps[device_pk])
    }
    dialect.mark_hours_dirty(conn, list(dirty))

    newest: dict[int, datetime] = {}
    for _, device_pk, ts, _ in rows:
        if device_pk not in newest or ts > newest[device_pk]:
            newest[device_pk] = ts
    for device_pk, ts in sorted(newest.items()):
        session.exec(
            update(Device)
            .where(Device.id == device_pk)
            .where((Device.last_seen_at.is_(None)) | (Device.last_seen_at < ts))
            .values(last_seen_at=ts)
        )
    return IngestResult(
        accepted=accepted,
        duplicates=len(rows) - accepted,
        devices=sorted({devices[r.device_id].device_id for r in readings}),
    )


# --- the JSON device contract (DESIGN.md section 4) ---------------------------------------------

READING_FIELDS = {"device_id", "timestamp", "energy_watts", "power_w"}


def parse_timestamp(value: object) -> datetime | str:
    """An aware UTC datetime from ISO 8601 with an offset, or epoch seconds; else why not."""
    if isinstance(value, bool):
        return "must be an ISO 8601 string with an offset, or epoch seconds"
    if isinstance(value, int | float):
        if not math.isfinite(value) or not MIN_EPOCH_S <= value <= MAX_EPOCH_S:
            return "epoch seconds must be between 2000-01-01 and 2100-01-01 (seconds, not ms)"
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 64:
            return "is not an ISO 8601 timestamp"
        try:
            ts = datetime.fromisoformat(text)
        except ValueError:
            return "is not an ISO 8601 timestamp"
        if ts.tzinfo is None:
            return "needs a UTC offset or Z (e.g. 2026-05-01T12:00:00Z)"
        if not 2000 <= ts.year < 2100:
            return "must be between 2000 and 2100"
        return ts.astimezone(UTC)
    return "must be an ISO 8601 string with an offset, or epoch seconds"


def parse_reading(obj: object, index: int | None, problems: list[Problem]) -> ReadingIn | None:
    if not isinstance(obj, dict):
        problems.append(Problem(index, "reading", "must be a JSON object"))
        return None
    count = len(problems)
    extra = sorted(set(obj) - READING_FIELDS)
    for name in extra[:5]:
        problems.append(Problem(index, str(name)[:64], "is not a reading field"))
    device_id = obj.get("device_id")
    if device_id is not None and (
        not isinstance(device_id, str) or not 1 <= len(device_id) <= 128 or not device_id.strip()
    ):
        problems.append(
            Problem(index, "device_id", "must be a non-empty string of ≤ 128 characters")
        )
    if "timestamp" not in obj:
        problems.append(Problem(index, "timestamp", "is required"))
        ts = None
    else:
        ts = parse_timestamp(obj["timestamp"])
        if isinstance(ts, str):
            problems.append(Problem(index, "timestamp", ts))
    if "energy_watts" in obj and "power_w" in obj:
        problems.append(Problem(index, "energy_watts", "give energy_watts or power_w, not both"))
    field_name = "energy_watts" if "energy_watts" in obj or "power_w" not in obj else "power_w"
    power = obj.get(field_name)
    if field_name not in obj:
        problems.append(Problem(index, "energy_watts", "is required"))
    elif isinstance(power, bool) or not isinstance(power, int | float):
        problems.append(Problem(index, field_name, "must be a number of watts"))
    elif not math.isfinite(power):
        problems.append(Problem(index, field_name, "must be a finite number"))
    if len(problems) > count:
        return None
    return ReadingIn(device_id=device_id, ts=ts, power_w=float(power))


def parse_readings_payload(payload: object, *, batch: bool, max_readings: int) -> list[ReadingIn]:
    """Readings from a decoded JSON body (one reading, or ``{"readings": [...]}``); raises
    IngestRejected listing every problem (first 100) when any reading is invalid."""
    problems: list[Problem] = []
    if not batch:
        reading = parse_reading(payload, None, problems)
        if problems:
            raise IngestRejected("The reading is invalid; nothing was stored.", problems[:100])
        return [reading]
    if not isinstance(payload, dict) or not isinstance(payload.get("readings"), list):
        raise IngestRejected(
            'A batch is a JSON object {"readings": [...]}.',
            [Problem(None, "readings", "must be a list of readings")],
        )
    extra = sorted(set(payload) - {"readings"})
    if extra:
        raise IngestRejected(
            "Unknown fields in the batch.",
            [Problem(None, str(n)[:64], "is not a batch field") for n in extra[:5]],
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
    readings = [parse_reading(item, i, problems) for i, item in enumerate(items)]
    if problems:
        raise IngestRejected(
            f"{len(problems)} problem(s) in the batch; nothing was stored.", problems[:100]
        )
    return readings
