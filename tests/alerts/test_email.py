"""Alert e-mail, on SQLite and PostgreSQL, against a real local SMTP server (aiosmtpd): one
plain-text message per household with the explanation, the figures and a link to the Alerts
page; a server that refuses is retried with backoff; a server that is down is no crash and is
tried again later; without SMTP settings or with e-mail turned off nothing is queued."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from energy_core.alerts import evaluate_alerts
from energy_core.alerts.email import deliver_email
from energy_core.alerts.models import Alert
from energy_core.alerts.webhook import MAX_ATTEMPTS
from energy_core.clock import pinned_now
from energy_core.db import session_scope
from energy_core.settings import get_settings
from scheduler.main import alert_email_job
from tests.alerts.household import (
    NOW,
    assert_given_up_after,
    assert_retried_with_backoff,
    set_household_alerts,
)
from tests.alerts.test_lifecycle import OFFLINE_TEXT, fridge_household
from tests.scheduler.paused import paused_scheduler


class Sink:
    """SMTP handler keeping each message taken; refuses the first ``refusals`` with 451."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.tries = 0
        self.messages: list[tuple[list[str], email.message.Message]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        self.tries += 1
        if self.tries <= self.refusals:
            return "451 4.3.0 Try again later"
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch) -> Iterator:
    """Start a local SMTP sink and point the settings at it (no STARTTLS: a plain local sink)."""
    controllers: list[Controller] = []

    def start(refusals: int = 0) -> Sink:
        sink = Sink(refusals)
        controller = Controller(sink, hostname="127.0.0.1", port=free_port())
        controller.start()
        controllers.append(controller)
        configure(monkeypatch, controller.port)
        return sink

    yield start
    for controller in controllers:
        controller.stop()
    get_settings.cache_clear()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def configure(monkeypatch, port: int) -> None:  # noqa: ANN001
    monkeypatch.setenv("ENERGY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ENERGY_SMTP_PORT", str(port))
    monkeypatch.setenv("ENERGY_SMTP_STARTTLS", "false")
    monkeypatch.setenv("ENERGY_SMTP_FROM", "alerts@energy.example")
    monkeypatch.setenv("ENERGY_PUBLIC_APP_URL", "https://energy.example/")
    get_settings.cache_clear()


def email_states(engine, user_id: int) -> list[tuple[str, int]]:  # noqa: ANN001
    with session_scope(engine, read_only=True) as s:
        rows = s.query(Alert).filter(Alert.user_id == user_id).order_by(Alert.id).all()
        return [(a.email_delivery, a.email_attempts) for a in rows]


def test_a_new_alert_is_mailed_once_as_plain_text_with_its_figures_and_a_link(engine, smtp):
    sink = smtp()
    user_id = fridge_household(engine, email="home@example.org")
    evaluate_alerts(engine, now=NOW)
    run = deliver_email(engine, now=NOW)
    assert (run.sent, run.retried, run.failed) == (1, 0, 0)
    [(recipients, message)] = sink.messages
    assert recipients == ["home@example.org"]
    assert message["Subject"] == "Energy monitor: 1 new alert (Device offline: 1)"
    assert message["From"] == "alerts@energy.example"
    assert message.get_content_type() == "text/plain"
    assert message.get_payload(decode=True).decode().replace("\r\n", "\n") == EXPECTED_BODY
    assert email_states(engine, user_id) == [("sent", 0)]
    assert deliver_email(engine, now=NOW + timedelta(hours=1)).sent == 0
    assert len(sink.messages) == 1


def test_the_households_own_alert_address_wins_and_e_mail_can_be_turned_off(engine, smtp):
    sink = smtp()
    chosen = fridge_household(engine, email="one@example.org")
    silent = fridge_household(engine, email="two@example.org")
    set_household_alerts(engine, chosen, email_to=" alerts@house.example ")
    set_household_alerts(engine, silent, email_alerts=False)
    evaluate_alerts(engine, now=NOW)
    assert deliver_email(engine, now=NOW).sent == 1
    assert [r for r, _ in sink.messages] == [["alerts@house.example"]]
    assert email_states(engine, silent) == [("none", 0)]


def test_a_refusing_server_is_retried_with_backoff_then_given_up(engine, smtp):
    sink = smtp(refusals=2)
    user_id = fridge_household(engine)
    evaluate_alerts(engine, now=NOW)
    assert_retried_with_backoff(deliver_email, engine)
    assert (sink.tries, len(sink.messages)) == (3, 1)
    assert email_states(engine, user_id) == [("sent", 2)]
    sink.refusals, sink.tries = 100, 0
    other = fridge_household(engine)
    evaluate_alerts(engine, now=NOW)
    assert_given_up_after(deliver_email, engine, MAX_ATTEMPTS)
    assert email_states(engine, other) == [("failed", MAX_ATTEMPTS)]


def test_a_server_that_is_down_is_no_crash_and_is_tried_again_later(engine, smtp, monkeypatch):
    port = free_port()  # nothing listens there yet
    configure(monkeypatch, port)
    user_id = fridge_household(engine)
    evaluate_alerts(engine, now=NOW)
    with pinned_now(NOW):
        alert_email_job()
    assert email_states(engine, user_id) == [("pending", 1)]
    sink = Sink(0)
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with pinned_now(NOW + timedelta(minutes=1)):
            alert_email_job()
    finally:
        controller.stop()
    assert len(sink.messages) == 1
    assert email_states(engine, user_id) == [("sent", 1)]


def test_without_smtp_settings_no_e_mail_is_queued(engine, monkeypatch):
    monkeypatch.delenv("ENERGY_SMTP_HOST", raising=False)
    get_settings.cache_clear()
    user_id = fridge_household(engine)
    evaluate_alerts(engine, now=NOW)
    assert email_states(engine, user_id) == [("none", 0)]
    assert deliver_email(engine, now=NOW).sent == 0


def test_e_mail_is_a_scheduler_job_of_its_own(engine):
    with paused_scheduler() as scheduler:
        job = scheduler.get_job("alert_email")
        assert (job.func, job.trigger.interval) == (alert_email_job, timedelta(minutes=1))


EXPECTED_BODY = f"""Your energy monitor has 1 new alert.

Device offline (1)
==================

Kitchen Fridge is offline

{OFFLINE_TEXT}

  Last seen: 2026-11-30T08:00:00+00:00
  Minutes without a reading: 125 min
  Offline after: 90 min
  Usual reporting interval: 1,800 s
  Opened: 2026-11-30 10:05 UTC

See them on the Alerts page: https://energy.example/alerts
"""
