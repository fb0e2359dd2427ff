"""Alerts from the scheduler, on SQLite and PostgreSQL: the job's schedule, one evaluation at a
time (the lock), and webhook delivery to a local HTTP receiver: signed JSON grouped per household,
retried with backoff after failures, never sent twice."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text
from sqlmodel import select

from energy_core.alerts import (
    evaluate_alerts,
    household_settings,
)
from energy_core.alerts.models import Alert, AlertSettings
from energy_core.alerts.store import AlertSettingsError
from energy_core.alerts.webhook import MAX_ATTEMPTS, SIGNATURE_HEADER, deliver_pending, signature
from energy_core.clock import pinned_now
from energy_core.db import session_scope
from energy_core.settings import get_settings
from energy_core.sql.locks import scheduler_file_lock
from scheduler.main import alert_delivery_job, alerts_job
from tests.alerts.household import (
    NOW,
    alerts,
    assert_given_up_after,
    assert_retried_with_backoff,
    set_household_alerts,
)
from tests.alerts.test_lifecycle import fridge_household
from tests.scheduler.paused import paused_scheduler


def test_the_alerts_job_runs_every_five_minutes_by_default_and_never_piles_up(engine, monkeypatch):
    with paused_scheduler() as scheduler:
        job = scheduler.get_job("alerts")
        assert (job.func, job.coalesce, job.max_instances) == (alerts_job, True, 1)
        assert job.trigger.interval == timedelta(minutes=5)
        assert scheduler.get_job("alert_delivery").func is alert_delivery_job
    monkeypatch.setenv("ENERGY_ALERT_INTERVAL_S", "60")
    get_settings.cache_clear()
    with paused_scheduler() as scheduler:
        assert scheduler.get_job("alerts").trigger.interval == timedelta(minutes=1)


def test_the_job_evaluates_every_household_at_the_clocks_now(engine):
    first, second = fridge_household(engine), fridge_household(engine)
    with pinned_now(NOW):
        alerts_job()
    assert [a["kind"] for a in alerts(engine, first)] == ["offline"]
    assert [a["kind"] for a in alerts(engine, second)] == ["offline"]


def test_a_second_scheduler_skips_while_the_first_evaluates(engine):
    user_id = fridge_household(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as holder:
            holder.begin()
            assert holder.execute(text("SELECT pg_try_advisory_xact_lock(7424003)")).scalar()
            run = evaluate_alerts(engine, now=NOW)
            holder.rollback()
    else:
        with scheduler_file_lock(str(engine.url), job="alerts") as got:
            assert got
            run = evaluate_alerts(engine, now=NOW)
    assert run.skipped is True
    assert alerts(engine, user_id) == []
    assert evaluate_alerts(engine, now=NOW).opened == 1


def allow_private_webhooks(monkeypatch, allow: bool = True) -> None:
    monkeypatch.setenv("ENERGY_ALERT_WEBHOOK_ALLOW_PRIVATE", "true" if allow else "false")
    get_settings.cache_clear()


class Receiver:
    """A local webhook receiver that fails the first ``failures`` POSTs with 503."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                failing = len(receiver.received) <= receiver.failures
                self.send_response(503 if failing else 204)
                self.end_headers()

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch) -> Iterator[Receiver]:
    # The receivers listen on 127.0.0.1, which webhooks reach only when the operator allows it.
    allow_private_webhooks(monkeypatch)
    made: list[Receiver] = []

    def make(failures: int = 0) -> Receiver:
        made.append(Receiver(failures))
        return made[-1]

    yield make
    for r in made:
        r.close()


def hooked_household(engine, url: str) -> tuple[int, str]:
    user_id = fridge_household(engine)
    return user_id, set_household_alerts(engine, user_id, webhook_url=url)["webhook_secret"]


def test_new_alerts_are_posted_signed_and_grouped_once(engine, receiver):
    hook = receiver()
    user_id, secret = hooked_household(engine, hook.url)
    evaluate_alerts(engine, now=NOW)
    run = deliver_pending(engine, now=NOW)
    assert (run.sent, run.retried, run.failed) == (1, 0, 0)
    [(headers, body)] = hook.received
    assert headers[SIGNATURE_HEADER] == signature(secret, body)
    payload = json.loads(body)
    assert payload["summary"] == "Device offline: 1"
    [alert] = payload["alerts"]
    assert alert == alerts(engine, user_id)[0]
    assert deliver_pending(engine, now=NOW + timedelta(hours=1)).sent == 0
    assert len(hook.received) == 1


def test_a_failing_receiver_is_retried_with_backoff_then_given_up(engine, receiver):
    hook = receiver(failures=2)
    hooked_household(engine, hook.url)
    evaluate_alerts(engine, now=NOW)
    assert_retried_with_backoff(deliver_pending, engine)
    assert len(hook.received) == 3
    # A receiver that never answers: given up after MAX_ATTEMPTS tries.
    dead = receiver(failures=100)
    user_id, _ = hooked_household(engine, dead.url)
    evaluate_alerts(engine, now=NOW)
    assert_given_up_after(deliver_pending, engine, MAX_ATTEMPTS)
    assert len(dead.received) == MAX_ATTEMPTS
    with session_scope(engine, read_only=True) as s:
        assert household_settings(s, user_id=user_id).webhook_url == dead.url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",
        "http://localhost:8000/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hook",
        "https://192.168.1.20/hook",
        "http://172.16.0.1/hook",
        "http://[::1]:8080/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
        "http://100.64.0.1/hook",
    ],
)
def test_a_webhook_on_the_servers_own_network_is_refused_when_set(engine, monkeypatch, url):
    allow_private_webhooks(monkeypatch, allow=False)
    user_id = fridge_household(engine)
    with pytest.raises(AlertSettingsError, match="ENERGY_ALERT_WEBHOOK_ALLOW_PRIVATE") as refused:
        set_household_alerts(engine, user_id, webhook_url=url)
    assert refused.value.code == "invalid_alert_settings"
    assert refused.value.details[0]["field"] == "webhook_url"
    with session_scope(engine, read_only=True) as s:
        assert household_settings(s, user_id=user_id).webhook_url is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://93.184.216.34/hook", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("https://user:secret@93.184.216.34/hook", "user name or password"),
        ("http:///hook", "with a host"),
    ],
)
def test_a_webhook_of_another_scheme_or_with_credentials_is_refused(engine, url, why):
    user_id = fridge_household(engine)
    with pytest.raises(AlertSettingsError, match=why):
        set_household_alerts(engine, user_id, webhook_url=url)


def test_a_public_address_is_accepted_and_the_operator_may_allow_private_ones(engine, monkeypatch):
    allow_private_webhooks(monkeypatch, allow=False)
    user_id = fridge_household(engine)
    set_household_alerts(engine, user_id, webhook_url=" https://93.184.216.34/h ")
    with session_scope(engine, read_only=True) as s:
        assert household_settings(s, user_id=user_id).webhook_url == "https://93.184.216.34/h"
    allow_private_webhooks(monkeypatch)
    set_household_alerts(engine, user_id, webhook_url="http://localhost:9/h")
    with session_scope(engine, read_only=True) as s:
        assert household_settings(s, user_id=user_id).webhook_url == "http://localhost:9/h"


def test_a_change_keeps_the_webhook_unless_it_sets_no_address(engine, monkeypatch):
    allow_private_webhooks(monkeypatch, allow=False)
    user_id = fridge_household(engine)
    url = "https://93.184.216.34/h"
    set_household_alerts(engine, user_id, webhook_url=url)
    kept = set_household_alerts(engine, user_id, cheap_period=True)
    assert (kept["webhook_url"], kept["cheap_period"]) == (url, True)
    assert kept["webhook_secret"] is not None
    removed = set_household_alerts(engine, user_id, webhook_url=None)
    assert (removed["webhook_url"], removed["webhook_secret"], removed["cheap_period"]) == (
        None,
        None,
        True,
    )


def delivery_of(engine, user_id: int) -> list[tuple[str, int, str | None]]:
    with session_scope(engine, read_only=True) as s:
        rows = s.exec(select(Alert).where(Alert.user_id == user_id)).all()
        return [(a.delivery, a.delivery_attempts, a.delivery_error) for a in rows]


def test_a_webhook_that_now_reaches_the_servers_network_is_refused_at_delivery(
    engine, receiver, monkeypatch
):
    hook = receiver()
    user_id, _ = hooked_household(engine, hook.url)  # allowed when it was set
    evaluate_alerts(engine, now=NOW)
    allow_private_webhooks(monkeypatch, allow=False)
    run = deliver_pending(engine, now=NOW)
    assert (run.sent, run.retried, run.failed) == (0, 0, 1)
    assert hook.received == []
    [(state, attempts, error)] = delivery_of(engine, user_id)
    assert (state, attempts) == ("failed", 1)
    assert "127.0.0.1" in error and "ENERGY_ALERT_WEBHOOK_ALLOW_PRIVATE" in error
    # Refused for good, not retried later.
    assert deliver_pending(engine, now=NOW + timedelta(hours=1)).failed == 0
    assert hook.received == []


def test_a_stored_metadata_or_localhost_webhook_is_refused_at_delivery(engine, monkeypatch):
    # As if the host's addresses changed after the URL was set: the stored URL is checked again.
    allow_private_webhooks(monkeypatch, allow=False)
    users = {url: fridge_household(engine) for url in METADATA_AND_LOCAL}
    with session_scope(engine, system=True) as s:
        for url, user_id in users.items():
            s.add(AlertSettings(user_id=user_id, webhook_url=url, webhook_secret="s" * 64))
    evaluate_alerts(engine, now=NOW)
    run = deliver_pending(engine, now=NOW)
    assert (run.sent, run.retried, run.failed) == (0, 0, len(users))
    for url, user_id in users.items():
        [(state, _, error)] = delivery_of(engine, user_id)
        assert state == "failed"
        assert "private, loopback, link-local or reserved" in error, url


METADATA_AND_LOCAL = ["http://169.254.169.254/latest/meta-data/", "http://localhost:6379/"]
