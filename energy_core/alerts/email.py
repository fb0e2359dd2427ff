"""Alerts delivered by e-mail through any SMTP server (docs/alerts.md, "E-mail"): one plain-text
message per household with the alerts due, grouped like the webhook's, each with its explanation
and figures, and a link to the Alerts page. A message the server does not take is retried later
with the webhook's backoff, from each alert's own e-mail state in the database: nothing waits in
the scheduler, and a restart loses no delivery.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import Engine

from energy_core.alerts.figures import figure_text
from energy_core.alerts.models import Alert, AlertSettings
from energy_core.alerts.store import grouped
from energy_core.alerts.webhook import DeliveryRun, due_by_household, settle
from energy_core.db import session_scope
from energy_core.models import User
from energy_core.settings import Settings, get_settings

log = logging.getLogger(__name__)


@dataclass
class Outbox:
    """One household's due alerts and where they go (None: nowhere, so not sent)."""

    user_id: int
    recipient: str | None
    alerts: list[tuple[int, int, dict]]


def email_configured(settings: Settings | None = None) -> bool:
    return bool((settings or get_settings()).smtp_host)


def recipient_of(alert_settings: AlertSettings | None, user_email: str) -> str | None:
    """The household's alert e-mail address: its own choice, else its sign-in address; None when
    it turned e-mail off."""
    if alert_settings is not None and not alert_settings.email_alerts:
        return None
    if alert_settings is not None and alert_settings.email_to:
        return alert_settings.email_to
    return user_email


def _due(engine: Engine, now: datetime) -> list[Outbox]:
    # Due e-mails of every household at once (row-level security: system scope).
    with session_scope(engine, read_only=True, system=True) as session:
        boxes = []
        for user_id, alerts in due_by_household(session, channel="email", now=now).items():
            user = session.get(User, user_id)
            own = session.get(AlertSettings, user_id)
            boxes.append(Outbox(user_id, recipient_of(own, user.email) if user else None, alerts))
    return boxes


def deliver_email(
    engine: Engine, *, now: datetime, settings: Settings | None = None
) -> DeliveryRun:
    """Send each household's due alerts in one e-mail; record sent, retry later or failed.
    Without an SMTP server or a recipient the alerts are marked ``none`` (nothing to send)."""
    settings = settings or get_settings()
    run = DeliveryRun()
    for box in _due(engine, now):
        sendable = email_configured(settings) and box.recipient is not None
        ok = sendable and _send(settings, box, now)
        with session_scope(engine, household=box.user_id) as session:
            for alert_id, attempts, _ in box.alerts:
                row = session.get(Alert, alert_id)
                if row is None or row.email_delivery != "pending":
                    continue
                if not sendable:
                    row.email_delivery, row.next_email_at = "none", None
                else:
                    row.email_delivery, row.email_attempts, row.next_email_at = settle(
                        ok, attempts, now, run
                    )
                session.add(row)
    return run


def message_of(settings: Settings, box: Outbox, now: datetime) -> EmailMessage:
    """The plain-text e-mail of a household's alerts."""
    alerts = [a for _, _, a in box.alerts]
    groups = grouped(alerts)
    count = f"{len(alerts)} new alert" + ("s" if len(alerts) != 1 else "")
    message = EmailMessage()
    message["Subject"] = f"Energy monitor: {count} ({_summary(groups)})"
    message["From"] = settings.smtp_from
    message["To"] = box.recipient
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    lines = [f"Your energy monitor has {count}.", ""]
    for kind_title, items in groups.items():
        heading = f"{kind_title} ({len(items)})"
        lines += [heading, "=" * len(heading)]
        for alert in items:
            lines += ["", alert["title"], "", alert["explanation"], ""]
            lines += [f"  {line}" for line in figure_lines(alert["evidence"])]
            opened = datetime.fromisoformat(alert["opened_at"]).astimezone(UTC)
            lines.append(f"  Opened: {opened:%Y-%m-%d %H:%M} UTC")
        lines.append("")
    if settings.public_app_url:
        lines.append(f"See them on the Alerts page: {settings.public_app_url.rstrip('/')}/alerts")
    else:
        lines.append("See them on the Alerts page of your energy monitor.")
    message.set_content("\n".join(lines) + "\n")
    return message


def figure_lines(evidence: dict) -> list[str]:
    """An alert's figures as ``label: value`` lines, written as the Alerts page writes them."""
    return [f"{f['label']}: {figure_text(f)}" for f in evidence.get("figures") or []]


def _summary(groups: dict[str, list[dict]]) -> str:
    return ", ".join(f"{title}: {len(items)}" for title, items in groups.items())


def _send(settings: Settings, box: Outbox, now: datetime) -> bool:
    message = message_of(settings, box, now)
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                secret = settings.smtp_password
                smtp.login(settings.smtp_user, secret.get_secret_value() if secret else "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("alert e-mail of household %d failed: %s", box.user_id, exc)
        return False
    return True


__all__ = [
    "Outbox",
    "deliver_email",
    "email_configured",
    "figure_lines",
    "message_of",
    "recipient_of",
]
