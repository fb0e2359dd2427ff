"""Alerts delivered to a household's webhook (docs/alerts.md, "Webhook"): one POST of JSON per
household with the alerts due, grouped, signed with HMAC-SHA256 of the body under the household's
secret. A failed POST is retried later with exponential backoff, from the database: nothing waits
in the scheduler, and a restart loses no delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from energy_core.alerts.destination import WebhookAddressError, check_webhook_url
from energy_core.alerts.models import Alert, AlertSettings
from energy_core.alerts.store import alert_public, grouped
from energy_core.db import session_scope
from energy_core.models import Device

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Energy-Signature"
MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(minutes=1)
TIMEOUT_S = 5.0
BATCH = 200
# Each channel's columns on an alert: delivery state, attempts, next try.
CHANNELS = {
    "webhook": ("delivery", "delivery_attempts", "next_delivery_at"),
    "email": ("email_delivery", "email_attempts", "next_email_at"),
}


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_after(attempts: int) -> timedelta:
    """1, 2, 4, 8, 16 minutes after the 1st..5th failure."""
    return FIRST_RETRY * (2 ** (attempts - 1))


@dataclass
class DeliveryRun:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def settle(
    ok: bool, attempts: int, now: datetime, run: DeliveryRun
) -> tuple[str, int, datetime | None]:
    """An alert's delivery after one try, counted in ``run``: (state, attempts, next try)."""
    if ok:
        run.sent += 1
        return "sent", attempts, None
    attempts += 1
    if attempts >= MAX_ATTEMPTS:
        run.failed += 1
        return "failed", attempts, None
    run.retried += 1
    return "pending", attempts, now + retry_after(attempts)


def due_by_household(
    session: Session, *, channel: str, now: datetime
) -> dict[int, list[tuple[int, int, dict]]]:
    """The alerts due on ``channel`` (``webhook`` or ``email``) at ``now``, at most BATCH, per
    household: (alert id, attempts so far, public shape)."""
    state, attempts, next_at = CHANNELS[channel]
    rows = session.exec(
        select(Alert, Device.device_id, Device.name)
        .join(Device, col(Device.id) == col(Alert.device_pk), isouter=True)
        .where(getattr(Alert, state) == "pending", col(getattr(Alert, next_at)) <= now)
        .order_by(col(Alert.user_id), col(Alert.id))
        .limit(BATCH)
    ).all()
    by_user: dict[int, list[tuple[int, int, dict]]] = defaultdict(list)
    for alert, device_id, name in rows:
        public = alert_public(alert, device_id, name, muted=False)
        by_user[alert.user_id].append((alert.id, getattr(alert, attempts), public))
    return by_user


def _due(engine: Engine, now: datetime) -> dict[int, tuple[AlertSettings | None, list]]:
    # Due deliveries of every household at once (row-level security: system scope).
    with session_scope(engine, read_only=True, system=True) as session:
        due: dict[int, tuple[AlertSettings | None, list]] = {}
        for user_id, alerts in due_by_household(session, channel="webhook", now=now).items():
            settings = session.get(AlertSettings, user_id)
            if settings is not None:
                session.expunge(settings)
            due[user_id] = (settings, alerts)
    return due


def deliver_pending(
    engine: Engine, *, now: datetime, client: httpx.Client | None = None
) -> DeliveryRun:
    """POST each household's due alerts to its webhook; record sent, retry later or failed."""
    run = DeliveryRun()
    owned = client is None
    client = client or httpx.Client(timeout=TIMEOUT_S, follow_redirects=False)
    try:
        for user_id, (settings, alerts) in _due(engine, now).items():
            ok, error, refused = False, None, False
            if settings is not None and settings.webhook_url and settings.webhook_secret:
                try:
                    # Again at each delivery: the host's addresses may have changed since it
                    # was set.
                    check_webhook_url(settings.webhook_url)
                except WebhookAddressError as exc:
                    error, refused = str(exc), True
                    log.warning("alert webhook of household %d refused: %s", user_id, exc)
                else:
                    ok, error = _post(client, settings, [a for _, _, a in alerts], now)
            with session_scope(engine, household=user_id) as session:
                for alert_id, attempts, _ in alerts:
                    row = session.get(Alert, alert_id)
                    if row is None or row.delivery != "pending":
                        continue
                    if settings is None or not settings.webhook_url:
                        row.delivery, row.next_delivery_at = "none", None
                    elif refused:
                        # Refused, not retried: the address stays refused until it is changed.
                        row.delivery, row.next_delivery_at = "failed", None
                        row.delivery_attempts = attempts + 1
                        run.failed += 1
                    else:
                        row.delivery, row.delivery_attempts, row.next_delivery_at = settle(
                            ok, attempts, now, run
                        )
                    row.delivery_error = None if ok else error
                    session.add(row)
                log.debug("webhook of household %d: %s", user_id, "sent" if ok else "not sent")
    finally:
        if owned:
            client.close()
    return run


def _post(
    client: httpx.Client, settings: AlertSettings, alerts: list[dict], now: datetime
) -> tuple[bool, str | None]:
    """Whether the receiver took the POST, else why not."""
    groups = grouped(alerts)
    body = json.dumps(
        {
            "sent_at": now.isoformat(),
            "summary": ", ".join(f"{title}: {len(items)}" for title, items in groups.items()),
            "alerts": alerts,
        },
        default=str,
    ).encode()
    try:
        response = client.post(
            settings.webhook_url,
            content=body,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(settings.webhook_secret, body),
            },
        )
    except httpx.HTTPError as exc:
        log.warning("alert webhook of household %d failed: %s", settings.user_id, exc)
        return False, f"{type(exc).__name__}: {exc}"[:500]
    if response.is_success:
        return True, None
    log.warning("alert webhook of household %d answered %d", settings.user_id, response.status_code)
    return False, f"the receiver answered HTTP {response.status_code}"


__all__ = [
    "MAX_ATTEMPTS",
    "SIGNATURE_HEADER",
    "DeliveryRun",
    "deliver_pending",
    "due_by_household",
    "retry_after",
    "settle",
    "signature",
]
