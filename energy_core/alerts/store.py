"""Alerts as stored: one open alert per household and condition, a cooldown before the same
condition opens again, resolution when it clears; acknowledging, muting, the settings; and the
public shape the page, the CLI and the read API show."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, select

from energy_core.alerts.destination import WebhookAddressError, check_webhook_url
from energy_core.alerts.models import (
    Alert,
    AlertMute,
    AlertSettings,
    AlertSettingsUpdate,
    DeviceAlertSettings,
    DeviceAlertSettingsUpdate,
)
from energy_core.alerts.rules import COOLDOWN, KIND_TITLES, SENSITIVITY, Finding
from energy_core.errors import CoreError, NotFoundError
from energy_core.household_scope import for_household
from energy_core.models import Device
from energy_core.settings import get_settings

STATES = ("open", "recent", "all")
RECENT = timedelta(days=7)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MUTE_CHOICES = {"1d": timedelta(days=1), "7d": timedelta(days=7), "forever": None}


class AlertSettingsError(CoreError, ValueError):
    code = "invalid_alert_settings"


@for_household
def household_settings(session: Session, *, user_id: int) -> AlertSettings:
    """The household's alert settings (the defaults until first saved)."""
    return session.get(AlertSettings, user_id) or AlertSettings(user_id=user_id)


def muted_keys(session: Session, user_id: int, now: datetime) -> set[str]:
    """The household's conditions muted at ``now``."""
    rows = session.exec(
        select(AlertMute.key).where(
            AlertMute.user_id == user_id,
            or_(col(AlertMute.muted_until).is_(None), col(AlertMute.muted_until) > now),
        )
    ).all()
    return set(rows)


@for_household
def apply_findings(
    session: Session,
    *,
    user_id: int,
    findings: Sequence[Finding],
    kinds: Iterable[str],
    now: datetime,
    settings: AlertSettings,
) -> tuple[list[int], list[int]]:
    """Open an alert per finding whose condition has none open (unless muted or within its
    kind's cooldown after the last one resolved), refresh the open ones' explanation and
    evidence, and resolve the open alerts of ``kinds`` whose condition no longer holds.
    Returns the ids opened and resolved."""
    kinds = set(kinds)
    open_alerts = {
        a.key: a
        for a in session.exec(
            select(Alert).where(Alert.user_id == user_id, col(Alert.resolved_at).is_(None))
        ).all()
    }
    muted = muted_keys(session, user_id, now)
    by_email = bool(get_settings().smtp_host) and settings.email_alerts
    opened: list[Alert] = []
    seen = set()
    for finding in findings:
        seen.add(finding.key)
        evidence = json.dumps(finding.evidence(), default=str)
        current = open_alerts.get(finding.key)
        if current is not None:
            current.title, current.explanation = finding.title, finding.explanation
            current.evidence, current.updated_at = evidence, now
            session.add(current)
            continue
        if finding.key in muted or _cooling_down(session, user_id, finding, now):
            continue
        alert = Alert(
            user_id=user_id,
            device_pk=finding.device.pk if finding.device else None,
            kind=finding.kind,
            key=finding.key,
            title=finding.title[:200],
            explanation=finding.explanation,
            evidence=evidence,
            opened_at=now,
            updated_at=now,
            delivery="pending" if settings.webhook_url else "none",
            next_delivery_at=now if settings.webhook_url else None,
            email_delivery="pending" if by_email else "none",
            next_email_at=now if by_email else None,
        )
        session.add(alert)
        opened.append(alert)
    resolved = []
    for key, alert in open_alerts.items():
        if alert.kind in kinds and key not in seen:
            alert.resolved_at = now
            session.add(alert)
            resolved.append(alert.id)
    session.flush()
    return [a.id for a in opened], resolved


def _cooling_down(session: Session, user_id: int, finding: Finding, now: datetime) -> bool:
    cooldown = COOLDOWN.get(finding.kind, timedelta(0))
    if not cooldown:
        return False
    last = session.exec(
        select(Alert.resolved_at)
        .where(
            Alert.user_id == user_id,
            Alert.key == finding.key,
            col(Alert.resolved_at) > now - cooldown,
        )
        .limit(1)
    ).first()
    return last is not None


# --- reading -----------------------------------------------------------------------------------


@for_household
def list_alerts(
    session: Session, *, user_id: int, state: str = "recent", now: datetime, limit: int = 200
) -> list[dict]:
    """The household's alerts, newest first: ``open`` (not resolved), ``recent`` (open, or opened
    in the last 7 days) or ``all``; each in its public shape (``alert_public``)."""
    if state not in STATES:
        raise AlertSettingsError(f"state must be one of {', '.join(STATES)}, not {state!r}.")
    query = (
        select(Alert, Device.device_id, Device.name)
        .join(Device, col(Device.id) == col(Alert.device_pk), isouter=True)
        .where(Alert.user_id == user_id)
    )
    if state == "open":
        query = query.where(col(Alert.resolved_at).is_(None))
    elif state == "recent":
        query = query.where(
            or_(col(Alert.resolved_at).is_(None), col(Alert.opened_at) >= now - RECENT)
        )
    rows = session.exec(
        query.order_by(col(Alert.opened_at).desc(), col(Alert.id).desc()).limit(limit)
    )
    muted = muted_keys(session, user_id, now)
    return [alert_public(a, device_id, name, muted=a.key in muted) for a, device_id, name in rows]


def alert_public(
    alert: Alert, device_id: str | None, device_name: str | None, *, muted: bool
) -> dict:
    if alert.resolved_at is not None:
        state = "resolved"
    elif alert.acknowledged_at is not None or muted:
        state = "acknowledged"
    else:
        state = "open"
    return {
        "id": alert.id,
        "kind": alert.kind,
        "kind_title": KIND_TITLES.get(alert.kind, alert.kind),
        "key": alert.key,
        "state": state,
        "muted": muted,
        "device_id": device_id,
        "device_name": device_name,
        "title": alert.title,
        "explanation": alert.explanation,
        "evidence": json.loads(alert.evidence),
        "opened_at": alert.opened_at.isoformat(),
        "updated_at": alert.updated_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
    }


def grouped(alerts: Sequence[dict]) -> dict[str, list[dict]]:
    """Alerts grouped by kind, kinds in the order of their newest alert."""
    groups: dict[str, list[dict]] = {}
    for alert in alerts:
        groups.setdefault(alert["kind_title"], []).append(alert)
    return groups


@for_household
def open_count(session: Session, *, user_id: int, now: datetime) -> int:
    """Open alerts neither acknowledged nor muted (the sidebar's badge)."""
    return sum(
        1
        for a in list_alerts(session, user_id=user_id, state="open", now=now)
        if a["state"] == "open"
    )


# --- acting on alerts --------------------------------------------------------------------------


def _own_alert(session: Session, user_id: int, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None or alert.user_id != user_id:
        raise NotFoundError(f"No alert {alert_id}.")
    return alert


@for_household
def acknowledge(session: Session, *, user_id: int, alert_id: int, now: datetime) -> Alert:
    """Seen: the alert stays until its condition clears, but is no longer new."""
    alert = _own_alert(session, user_id, alert_id)
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now
        session.add(alert)
    return alert


@for_household
def mute(
    session: Session, *, user_id: int, alert_id: int, now: datetime, duration: str = "7d"
) -> AlertMute:
    """No new alert for this alert's condition for ``duration`` (``1d``, ``7d`` or
    ``forever``); the alert itself is acknowledged and resolves when its condition clears."""
    if duration not in MUTE_CHOICES:
        raise AlertSettingsError(f"mute for one of {', '.join(MUTE_CHOICES)}, not {duration!r}.")
    alert = acknowledge(session, user_id=user_id, alert_id=alert_id, now=now)
    length = MUTE_CHOICES[duration]
    row = session.get(AlertMute, (user_id, alert.key)) or AlertMute(user_id=user_id, key=alert.key)
    row.muted_until = None if length is None else now + length
    session.add(row)
    return row


@for_household
def unmute(session: Session, *, user_id: int, key: str) -> bool:
    row = session.get(AlertMute, (user_id, key))
    if row is None:
        return False
    session.delete(row)
    return True


# --- settings ----------------------------------------------------------------------------------


@for_household
def device_alert_settings(session: Session, *, user_id: int) -> list[dict]:
    """Every device of the household with its alert settings (defaults where none are saved)."""
    rows = session.exec(
        select(Device, DeviceAlertSettings)
        .join(
            DeviceAlertSettings,
            (col(DeviceAlertSettings.device_pk) == col(Device.id))
            & (col(DeviceAlertSettings.user_id) == col(Device.user_id)),
            isouter=True,
        )
        .where(Device.user_id == user_id)
        .order_by(col(Device.name), col(Device.device_id))
    ).all()
    return [
        {
            "device_id": device.device_id,
            "name": device.name,
            "sensitivity": own.sensitivity if own else "normal",
            "unusual_use": own.unusual_use if own else True,
            "offline_minutes": own.offline_minutes if own else None,
        }
        for device, own in rows
    ]


@for_household
def set_device_alert_settings(
    session: Session,
    *,
    user_id: int,
    device_id: str,
    changes: DeviceAlertSettingsUpdate,
) -> DeviceAlertSettings:
    """Apply the fields set in ``changes`` to one device's alert settings; the rest stay."""
    sensitivity, offline_minutes = changes.sensitivity, changes.offline_minutes
    device = session.exec(
        select(Device).where(Device.user_id == user_id, Device.device_id == device_id)
    ).first()
    if device is None:
        raise NotFoundError(f"No device {device_id!r}.")
    if sensitivity is not None and sensitivity not in SENSITIVITY:
        raise AlertSettingsError(
            f"sensitivity must be one of {', '.join(SENSITIVITY)}, not {sensitivity!r}."
        )
    if offline_minutes is not None and not 1 <= offline_minutes <= 10_080:
        raise AlertSettingsError("offline minutes must be between 1 and 10080 (a week).")
    row = session.get(DeviceAlertSettings, (user_id, device.id)) or DeviceAlertSettings(
        user_id=user_id, device_pk=device.id
    )
    for name, value in changes.model_dump(exclude_unset=True).items():
        if value is not None or name == "offline_minutes":
            setattr(row, name, value)
    session.add(row)
    return row


@for_household
def set_household_alert_settings(
    session: Session,
    *,
    user_id: int,
    changes: AlertSettingsUpdate,
) -> AlertSettings:
    """Apply the fields set in ``changes``: opt in or out of the cheap-period alert; set or remove
    the webhook (a new URL gets a new signing secret); turn alert e-mail on or off and choose its
    address."""
    fields = changes.model_dump(exclude_unset=True)
    row = household_settings(session, user_id=user_id)
    if changes.email_alerts is not None:
        row.email_alerts = changes.email_alerts
    if changes.email_to is not None:
        address = changes.email_to.strip()
        if address and (len(address) > 254 or not EMAIL.fullmatch(address)):
            raise AlertSettingsError("The alert e-mail address must look like name@example.com.")
        row.email_to = address or None
    if changes.cheap_period is not None:
        row.cheap_period = changes.cheap_period
    if changes.webhook_url is not None:
        try:
            url = check_webhook_url(changes.webhook_url)
        except WebhookAddressError as exc:
            raise AlertSettingsError(str(exc), exc.details) from None
        if url != row.webhook_url:
            row.webhook_url = url
            row.webhook_secret = secrets.token_hex(32)
    elif "webhook_url" in fields:
        row.webhook_url = row.webhook_secret = None
    session.add(row)
    return row
