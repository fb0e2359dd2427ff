"""Scheduler failover with real processes: two `python -m scheduler` run side by side, the one
doing the work is killed with SIGKILL in the middle of a catch-up, and the standby finishes it
within the bound, with no hour computed twice and none skipped.

The lock is taken per run (PostgreSQL: an advisory transaction lock; SQLite: a file lock), so the
standby needs no election: its next run, one interval after the kill, gets the lock that the
dead process's connection (or file descriptor) gave back when the kernel closed it.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from energy_core.db import session_scope
from energy_core.models import HourlyAggregate
from energy_core.rollup import dirty_backlog
from tests.factories import add_readings, make_device, make_user

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e  # starts real scheduler processes

TAKEOVER_BOUND_S = 40.0  # the issue allows 2 minutes; takeover itself is one 1 s interval


class Scheduler:
    """One scheduler process whose log lines arrive on a queue as they are written."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scheduler"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def drain(self) -> list[str]:
        new = []
        while True:
            try:
                new.append(self.lines.get_nowait())
            except queue.Empty:
                self.log.extend(new)
                return new

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def snapshot(engine) -> dict[tuple[int, object], object]:
    with session_scope(engine, read_only=True) as s:
        rows = s.exec(select(HourlyAggregate)).all()
    return {(r.device_pk, r.hour_start): r.computed_at for r in rows}


def test_standby_scheduler_takes_over_when_the_active_one_is_killed(engine):
    from tests.core.test_rollup import T0, assert_matches_reference

    # Ten days of five-minute readings for two devices: 480 (device, hour) pairs, one hour per batch
    # (both devices), so the catch-up lasts long enough to be killed in the middle of it.
    points = [(T0 + timedelta(minutes=5 * i), float(100 + i % 500)) for i in range(10 * 288)]
    with session_scope(engine) as s:
        user = make_user(s)
        devices = [make_device(s, user=user) for _ in range(2)]
        for device in devices:
            add_readings(s, user=user, device=device, points=points)
    with session_scope(engine, read_only=True) as s:
        backlog = dirty_backlog(s)
    env = {
        **os.environ,
        "ENERGY_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "ENERGY_ROLLUP_INTERVAL_S": "1",
        "ENERGY_ROLLUP_BATCH_HOURS": "1",
        "ENERGY_ROLLUP_WORKERS": "1",
        "ENERGY_RETENTION_DAYS": "0",
        "ENERGY_BACKUP_DIR": "",
        "ENERGY_LOG_LEVEL": "INFO",
    }
    schedulers = [Scheduler("a", env), Scheduler("b", env)]
    try:
        # Wait until one works (catch-up progress) and the other has skipped at least once.
        active = standby = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (active is None or standby is None):
            for sched in schedulers:
                for line in sched.drain():
                    if "rollup catch-up:" in line and " done" in line:
                        active = sched
                    if "rollup skipped: another scheduler holds the lock" in line:
                        standby = sched
            time.sleep(0.05)
        assert active is not None and standby is not None and active is not standby, (
            schedulers[0].log,
            schedulers[1].log,
        )

        active.proc.send_signal(signal.SIGKILL)
        active.proc.wait(timeout=10)
        killed_at = time.monotonic()
        # What the killed scheduler committed before it died; its batch in flight rolled back.
        done_by_active = snapshot(engine)
        with session_scope(engine, read_only=True) as s:
            left = dirty_backlog(s)
        assert 0 < left < backlog, "the kill must land in the middle of the catch-up"
        assert done_by_active

        # The standby takes over on its next run and works off the rest.
        took_over_after = None
        while time.monotonic() - killed_at < TAKEOVER_BOUND_S:
            with session_scope(engine, read_only=True) as s:
                now_left = dirty_backlog(s)
            if took_over_after is None and now_left < left:
                took_over_after = time.monotonic() - killed_at
            if now_left == 0:
                break
            time.sleep(0.2)
        finished_after = time.monotonic() - killed_at
        standby.drain()
        assert now_left == 0, (now_left, standby.log[-20:])
        assert took_over_after is not None and took_over_after < 5.0
        assert standby.proc.poll() is None, "the standby keeps running"
        assert finished_after < TAKEOVER_BOUND_S

        final = snapshot(engine)
        # No hour computed twice: every row the killed scheduler wrote is untouched...
        for key, computed_at in done_by_active.items():
            assert final[key] == computed_at, key
        # ...and none skipped: every hour of every device is there with the right figures.
        for device in devices:
            canonical = [((t - T0).total_seconds(), p) for t, p in points]
            assert_matches_reference(engine, device.id, canonical, 600)
    finally:
        for sched in schedulers:
            sched.stop()
