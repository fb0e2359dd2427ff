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

from energy_core.alerts import evaluate_alerts, household_settings, set_household_alert_settings
from energy_core.alerts.webhook import MAX_ATTEMPTS, SIGNATURE_HEADER, deliver_pending, signature
from energy_core.clock import pinned_now
from energy_core.db import session_scope
from energy_core.settings import get_settings
from energy_core.sql.locks import scheduler_file_lock
from scheduler.main import alert_delivery_job, alerts_job
from tests.alerts.household import NOW, alerts, assert_given_up_after, assert_retried_with_backoff
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
def receiver() -> Iterator[Receiver]:
    made: list[Receiver] = []

    def make(failures: int = 0) -> Receiver:
        made.append(Receiver(failures))
        return made[-1]

    yield make
    for r in made:
        r.close()


def hooked_household(engine, url: str) -> tuple[int, str]:
    user_id = fridge_household(engine)
    with session_scope(engine) as s:
        secret = set_household_alert_settings(s, user_id=user_id, webhook_url=url).webhook_secret
    return user_id, secret


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
