"""Everything one household stored, as CSV files in one zip with a README of the columns: its
devices, every raw reading, the hourly aggregates, the chat messages, the tariffs, and the alerts
with their settings. Nothing of another household, no password hash and no key (nor the
webhook's signing secret).

The zip is written as it is read (rows are streamed, never all in memory), so years of
minute-by-minute readings fit.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from sqlmodel import Session, col, select

from energy_core.alerts.models import Alert, AlertMute, AlertSettings, DeviceAlertSettings
from energy_core.alerts.store import alert_public, muted_keys
from energy_core.household_scope import for_household
from energy_core.models import (
    ChatMessage,
    Device,
    HourlyAggregate,
    Reading,
    TariffAlternative,
    TariffPlanRow,
    TariffPrice,
    User,
)

STREAM_ROWS = 10_000

# Each file, its columns and what they mean: the README is written from this table, and the
# header of each CSV is its first column.
FILES: dict[str, list[tuple[str, str]]] = {
    "devices.csv": [
        ("device_id", "the id the device sends with its readings"),
        ("name", "its name in the app"),
        ("type", "its kind (fridge, heat_pump, solar, meter, other, ...)"),
        ("location", "room or place"),
        ("is_active", "true while its readings are accepted"),
        ("bidirectional", "true if it may report negative watts (solar, battery export)"),
        ("max_gap_s", "longest time one reading holds its power, in seconds (empty: default)"),
        ("created_at", "when it was registered (UTC, ISO 8601)"),
        ("last_seen_at", "its latest reading (UTC)"),
    ],
    "readings.csv": [
        ("device_id", "the device (devices.csv)"),
        ("timestamp", "the instant of the reading (UTC, ISO 8601)"),
        ("power_w", "power in watts; negative for export or generation"),
    ],
    "hourly_aggregates.csv": [
        ("device_id", "the device (devices.csv)"),
        ("hour_start", "the hour [hour_start, hour_start + 1 h) (UTC, ISO 8601)"),
        ("energy_wh", "net energy in the hour, Wh (consumed minus generated)"),
        ("consumed_wh", "energy of readings of 0 W or more, Wh"),
        ("generated_wh", "energy of negative readings, as a positive number, Wh"),
        ("covered_s", "seconds of the hour that readings cover"),
        ("coverage", "covered_s / 3600"),
        ("avg_w", "average power over the covered time, W"),
        ("min_w", "lowest reading in the hour, W"),
        ("max_w", "highest reading in the hour, W"),
        ("sample_count", "readings taken in the hour"),
    ],
    "chat_messages.csv": [
        ("conversation_id", "the conversation"),
        ("created_at", "when the message was written (UTC, ISO 8601)"),
        ("role", "user (the question) or assistant (the answer)"),
        ("content", "the text"),
        ("engine", "what answered (offline analyst or the model)"),
        ("tool_calls", "JSON: the figures the answer was read from"),
    ],
    "tariffs.csv": [
        ("valid_from", "the local date from which the tariff holds (until the next one)"),
        ("tariff", "JSON: the tariff as docs/tariffs.md describes it"),
    ],
    "tariff_alternatives.csv": [
        ("name", "the name the household gave the alternative tariff"),
        ("tariff", "JSON: the tariff as docs/tariffs.md describes it (compared only)"),
    ],
    "tariff_prices.csv": [
        ("direction", "import or export"),
        ("starts_at", "start of the price (UTC, ISO 8601)"),
        ("ends_at", "end of the price (UTC, ISO 8601)"),
        ("price", "price per kWh in the tariff's currency"),
    ],
    "alerts.csv": [
        ("id", "the alert's number (as on the Alerts page and in the API)"),
        ("kind", "offline, unusual_use, left_on, baseload_rising, budget or cheap_period"),
        ("kind_title", "the kind in words"),
        ("key", "the condition: the kind and its device, billing period or tariff period"),
        ("device_id", "the device (devices.csv); empty for a household alert"),
        ("device_name", "the device's name"),
        ("title", "the alert's title"),
        ("state", "open, acknowledged (or muted) or resolved, when the export was made"),
        ("muted", "true if the condition was muted when the export was made"),
        ("opened_at", "when the alert opened (UTC, ISO 8601)"),
        ("updated_at", "the last evaluation that found the condition (UTC)"),
        ("acknowledged_at", "when it was acknowledged (UTC); empty if not"),
        ("resolved_at", "when the condition cleared (UTC); empty while open"),
        ("explanation", "what the monitor saw, in words"),
        ("evidence", "JSON: the figures quoted (label, value, unit) and the chart's points"),
        ("webhook_delivery", "none, pending, sent or failed"),
        ("webhook_error", "why the webhook delivery last failed or was refused"),
        ("email_delivery", "none, pending, sent or failed"),
    ],
    "alert_settings.csv": [
        ("cheap_period", "true if the cheap-period alert is on"),
        ("webhook_url", "where new alerts are POSTed; empty: no webhook"),
        ("email_alerts", "true if new alerts are e-mailed"),
        ("email_to", "the alert e-mail address; empty: the sign-in address"),
    ],
    "alert_device_settings.csv": [
        ("device_id", "the device (devices.csv); a device not listed has the defaults"),
        ("sensitivity", "low, normal or high (unusual use)"),
        ("unusual_use", "true if unusual-use alerts are on for it"),
        ("offline_minutes", "its offline time in minutes; empty: the default"),
    ],
    "alert_mutes.csv": [
        ("key", "the muted condition (alerts.csv)"),
        ("muted_until", "when the mute ends (UTC); empty: until unmuted"),
    ],
}


@dataclass(frozen=True)
class Exported:
    """Rows written per file."""

    rows: dict[str, int]


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _devices(session: Session, user_id: int) -> list[Device]:
    return list(_of_household(session, Device, user_id, Device.device_id))


def _readings(session: Session, user_id: int, names: dict[int, str]) -> Iterator[list[str]]:
    query = (
        select(Reading.device_pk, Reading.ts, Reading.power_w)
        .where(Reading.user_id == user_id)
        .order_by(Reading.device_pk, Reading.ts)
        .execution_options(yield_per=STREAM_ROWS)
    )
    for device_pk, ts, power_w in session.exec(query):
        yield [names.get(device_pk, str(device_pk)), _iso(ts), _number(power_w)]


def _aggregates(session: Session, user_id: int, names: dict[int, str]) -> Iterator[list[str]]:
    query = (
        select(HourlyAggregate)
        .where(HourlyAggregate.user_id == user_id)
        .order_by(HourlyAggregate.device_pk, HourlyAggregate.hour_start)
        .execution_options(yield_per=STREAM_ROWS)
    )
    for a in session.exec(query):
        yield [
            names.get(a.device_pk, str(a.device_pk)),
            _iso(a.hour_start),
            _number(a.energy_wh),
            _number(a.consumed_wh),
            _number(a.generated_wh),
            _number(a.covered_s),
            _number(a.coverage),
            _number(a.avg_watts),
            _number(a.min_watts),
            _number(a.max_watts),
            str(a.sample_count),
        ]


def _chat(session: Session, user_id: int) -> Iterator[list[str]]:
    query = (
        select(ChatMessage)
        .where(ChatMessage.user_id == user_id)
        .order_by(ChatMessage.conversation_id, col(ChatMessage.id))
        .execution_options(yield_per=STREAM_ROWS)
    )
    for m in session.exec(query):
        yield [
            m.conversation_id,
            _iso(m.created_at),
            m.role,
            m.content,
            m.engine or "",
            m.tool_calls or "",
        ]


def _flag(value: bool) -> str:
    return str(bool(value)).lower()


def _alerts(
    session: Session, user_id: int, devices: list[Device], at: datetime
) -> Iterator[list[str]]:
    by_pk = {d.id: d for d in devices}
    muted = muted_keys(session, user_id, at)
    for alert in _of_household(session, Alert, user_id, Alert.id):
        device = by_pk.get(alert.device_pk)
        public = alert_public(
            alert,
            device.device_id if device else None,
            device.name if device else None,
            muted=alert.key in muted,
        )
        yield [
            str(alert.id),
            alert.kind,
            public["kind_title"],
            alert.key,
            public["device_id"] or "",
            public["device_name"] or "",
            alert.title,
            public["state"],
            _flag(public["muted"]),
            _iso(alert.opened_at),
            _iso(alert.updated_at),
            _iso(alert.acknowledged_at),
            _iso(alert.resolved_at),
            alert.explanation,
            alert.evidence,
            alert.delivery,
            alert.delivery_error or "",
            alert.email_delivery,
        ]


def _alert_settings(session: Session, user_id: int) -> Iterator[list[str]]:
    row = session.get(AlertSettings, user_id)
    if row is not None:
        # Never the webhook's signing secret: it is a key.
        yield [
            _flag(row.cheap_period),
            row.webhook_url or "",
            _flag(row.email_alerts),
            row.email_to or "",
        ]


def _device_alert_settings(
    session: Session, user_id: int, names: dict[int, str]
) -> Iterator[list[str]]:
    rows = _of_household(session, DeviceAlertSettings, user_id, DeviceAlertSettings.device_pk)
    for r in rows:
        yield [
            names.get(r.device_pk, str(r.device_pk)),
            r.sensitivity,
            _flag(r.unusual_use),
            "" if r.offline_minutes is None else str(r.offline_minutes),
        ]


def _write_csv(archive: zipfile.ZipFile, name: str, rows: Iterable[list[str]]) -> int:
    count = 0
    with archive.open(name, "w") as raw, io.TextIOWrapper(raw, "utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([column for column, _ in FILES[name]])
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def readme(user: User, rows: dict[str, int], at: datetime) -> str:
    lines = [
        f"Energy monitor export of {user.email}, made {at.isoformat()}.",
        "",
        "CSV files, UTF-8, comma-separated, one header row. Times are UTC in ISO 8601; numbers",
        "use a dot for decimals; an empty cell means no value.",
        "",
    ]
    for name, columns in FILES.items():
        lines += [f"{name} ({rows.get(name, 0):,} rows)"]
        lines += [f"  {column:<16} {meaning}" for column, meaning in columns]
        lines += [""]
    return "\n".join(lines)


def _device_row(d: Device) -> list[str]:
    return [
        d.device_id,
        d.name,
        d.type,
        d.location,
        str(d.is_active).lower(),
        str(d.bidirectional).lower(),
        "" if d.max_gap_s is None else str(d.max_gap_s),
        _iso(d.created_at),
        _iso(d.last_seen_at),
    ]


def _of_household(session: Session, model: type, user_id: int, *order: Any) -> Iterator:
    """The rows of ``model`` of one household in ``order``, streamed."""
    return session.exec(
        select(model)
        .where(model.user_id == user_id)
        .order_by(*(col(column) for column in order))
        .execution_options(yield_per=STREAM_ROWS)
    )


@for_household
def export_household(session: Session, *, user_id: int, out: BinaryIO, at: datetime) -> Exported:
    """Write the zip of household ``user_id`` to ``out`` (a file or a buffer opened for bytes)."""
    user = session.get(User, user_id)
    if user is None:
        raise LookupError(f"No user {user_id}.")
    devices = _devices(session, user_id)
    names = {d.id: d.device_id for d in devices}
    # Each file's rows, read only while that file is written (a query at a time).
    tables: dict[str, Callable[[], Iterable[list[str]]]] = {
        "devices.csv": lambda: (_device_row(d) for d in devices),
        "readings.csv": lambda: _readings(session, user_id, names),
        "hourly_aggregates.csv": lambda: _aggregates(session, user_id, names),
        "chat_messages.csv": lambda: _chat(session, user_id),
        "tariffs.csv": lambda: (
            [r.valid_from.isoformat(), r.spec]
            for r in _of_household(session, TariffPlanRow, user_id, TariffPlanRow.valid_from)
        ),
        "tariff_alternatives.csv": lambda: (
            [r.name, r.spec]
            for r in _of_household(session, TariffAlternative, user_id, TariffAlternative.name)
        ),
        "tariff_prices.csv": lambda: (
            [p.direction, _iso(p.starts_at), _iso(p.ends_at), repr(p.price)]
            for p in _of_household(
                session, TariffPrice, user_id, TariffPrice.direction, TariffPrice.starts_at
            )
        ),
        "alerts.csv": lambda: _alerts(session, user_id, devices, at),
        "alert_settings.csv": lambda: _alert_settings(session, user_id),
        "alert_device_settings.csv": lambda: _device_alert_settings(session, user_id, names),
        "alert_mutes.csv": lambda: (
            [m.key, _iso(m.muted_until)]
            for m in _of_household(session, AlertMute, user_id, AlertMute.key)
        ),
    }
    rows: dict[str, int] = {}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, table in tables.items():
            rows[name] = _write_csv(archive, name, table())
        archive.writestr("README.txt", readme(user, rows, at))
    return Exported(rows)
