"""Writers of readings never wait for each other on PostgreSQL, and nothing is lost for it: the
rollup claims its marks only after the writers that found them have committed, a last-seen time a
writer skipped is set by the rollup, and deleting a device waits for the writers in flight.

PostgreSQL only: SQLite lets one transaction write at a time, so none of this can race there."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlmodel import select

from energy_core.accounts import delete_device
from energy_core.db import libpq_url, session_scope
from energy_core.integrity import find_orphans
from energy_core.models import Device, HourlyAggregate, Reading
from energy_core.rollup import dirty_backlog, rollup_batch, rollup_dirty_hours
from energy_core.sql import locks
from tests.factories import add_readings, seed_device

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)


class Background(threading.Thread):
    """``target()`` in a thread, with its exception re-raised by ``result``."""

    def __init__(self, target):  # noqa: ANN001
        super().__init__(daemon=True)
        self.target_fn, self.error, self.value = target, None, None

    def run(self) -> None:
        try:
            self.value = self.target_fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.error = exc

    def result(self, timeout: float = 30):  # noqa: ANN201
        self.join(timeout)
        assert not self.is_alive(), "still waiting"
        if self.error is not None:
            raise self.error
        return self.value


# Sessions of the test's database waiting for a lock that another holds. Each poll is a statement
# of its own (autocommit): pg_stat_activity is read once per transaction.
WAITING_FOR_A_LOCK = """
SELECT count(*) FROM pg_locks
WHERE NOT granted
  AND pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())
"""


def wait_until_waiting(thread: Background, database_url: str, *, timeout_s: float = 30) -> None:
    """Return as soon as ``thread``'s transaction waits for a lock on the server; fail if the
    thread ends first (it did not wait) or is still not waiting after ``timeout_s``. The test's
    database is its own and only ``thread`` runs a statement meanwhile, so the waiting session
    is ``thread``'s."""
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(libpq_url(database_url), autocommit=True) as watcher:
        while not watcher.execute(WAITING_FOR_A_LOCK).fetchone()[0]:
            if not thread.is_alive():
                thread.result()  # re-raises what it raised
                pytest.fail("it finished without waiting for a lock")
            if time.monotonic() > deadline:
                pytest.fail(f"still not waiting for a lock after {timeout_s} s")
            time.sleep(0.005)


def open_writer(engine, *, user, device, points):  # noqa: ANN001, ANN201
    """A writer's transaction that has stored ``points`` and not committed yet."""
    scope = session_scope(engine)
    session = scope.__enter__()
    add_readings(session, user=user, device=device, points=points, now=NOW)
    return scope


def test_a_reading_committed_while_the_rollup_starts_is_aggregated(engine, database_url):
    user, device = seed_device(engine, [(T0, 100.0)], now=NOW)
    # A second reading of the same hour: its writer finds the hour's mark already there and
    # leaves it as it is; it is still in flight when the rollup starts.
    writer = open_writer(
        engine, user=user, device=device, points=[(T0 + timedelta(minutes=5), 300.0)]
    )
    rollup = Background(lambda: rollup_dirty_hours(engine))
    rollup.start()
    # The rollup must wait for the writer before it claims the marks.
    wait_until_waiting(rollup, database_url)
    writer.__exit__(None, None, None)  # commit
    assert rollup.result().hours == 1

    with session_scope(engine, read_only=True) as s:
        row = s.exec(select(HourlyAggregate).where(HourlyAggregate.device_pk == device.id)).one()
        assert row.sample_count == 2
        assert row.energy_wh == pytest.approx(100.0 * 5 / 60 + 300.0 * 10 / 60)
        assert dirty_backlog(s) == 0


def test_a_writer_that_comes_during_the_rollup_leaves_its_hour_marked(engine, database_url):
    user, device = seed_device(engine, [(T0, 100.0)], now=NOW)
    # The rollup has claimed the mark and not committed; a writer of the same hour comes now.
    with session_scope(engine) as rollup_session:
        assert rollup_batch(rollup_session, limit=100).hours == 1
        late = Background(
            lambda: add_readings_committed(engine, user, device, [(T0 + timedelta(minutes=1), 5.0)])
        )
        late.start()
        # The writer meets the rollup's claim of its hour's mark and waits for the rollup.
        wait_until_waiting(late, database_url)
    late.result()
    with session_scope(engine, read_only=True) as s:
        assert dirty_backlog(s) >= 1  # marked again: the next run recomputes it
    rollup_dirty_hours(engine)
    with session_scope(engine, read_only=True) as s:
        row = s.exec(select(HourlyAggregate).where(HourlyAggregate.device_pk == device.id)).one()
        assert row.sample_count == 2


def add_readings_committed(engine, user, device, points) -> None:  # noqa: ANN001
    with session_scope(engine) as s:
        add_readings(s, user=user, device=device, points=points, now=NOW)


@pytest.mark.parametrize("first_commits", [True, False], ids=["commits", "rolls-back"])
def test_a_batch_overlapping_a_writer_in_flight_waits_for_it_and_stores_each_reading_once(
    engine, database_url, first_commits
):
    """The later batch's plain insert meets the first writer's uncommitted reading and waits for
    it, as ON CONFLICT would. If the first commits, the batch goes back to its savepoint and skips
    that reading; if it rolls back, the batch stores it."""
    user, device = seed_device(engine)
    writer = open_writer(
        engine,
        user=user,
        device=device,
        points=[(T0, 1.0), (T0 + timedelta(minutes=1), 2.0)],
    )

    def overlapping():  # noqa: ANN202
        with session_scope(engine) as s:
            return add_readings(
                s,
                user=user,
                device=device,
                points=[(T0 + timedelta(minutes=m), 10.0 + m) for m in (1, 2)],
                now=NOW,
            )

    batch = Background(overlapping)
    batch.start()
    # The batch must wait for the writer of the same reading.
    wait_until_waiting(batch, database_url)
    if first_commits:
        writer.__exit__(None, None, None)
    else:
        abandoned = RuntimeError("the first writer gives up")
        writer.__exit__(RuntimeError, abandoned, None)
    result = batch.result()
    with session_scope(engine, read_only=True) as s:
        stored = s.exec(select(Reading.ts, Reading.power_w).order_by(Reading.ts)).all()
        last_seen = s.get(Device, device.id).last_seen_at
    if first_commits:
        assert (result.accepted, result.duplicates) == (1, 1)
        assert stored == [
            (T0, 1.0),
            (T0 + timedelta(minutes=1), 2.0),
            (T0 + timedelta(minutes=2), 12.0),
        ]
    else:
        assert (result.accepted, result.duplicates) == (2, 0)
        assert stored == [(T0 + timedelta(minutes=1), 11.0), (T0 + timedelta(minutes=2), 12.0)]
    assert last_seen == T0 + timedelta(minutes=2)


def test_a_last_seen_time_skipped_by_a_writer_is_set_by_the_rollup(engine, database_url):
    user, device = seed_device(engine)
    with psycopg.connect(libpq_url(database_url)) as other:
        # Another writer moving the device's last-seen time holds its row.
        other.execute("SELECT 1 FROM devices WHERE id = %s FOR NO KEY UPDATE", (device.id,))
        write = Background(lambda: add_readings_committed(engine, user, device, [(T0, 50.0)]))
        write.start()
        write.result(timeout=10)  # did not wait for the other writer
        other.rollback()
    with session_scope(engine, read_only=True) as s:
        assert s.get(Device, device.id).last_seen_at is None
        assert len(s.exec(select(Reading)).all()) == 1
    rollup_dirty_hours(engine)
    with session_scope(engine, read_only=True) as s:
        assert s.get(Device, device.id).last_seen_at == T0


def test_deleting_a_device_waits_for_its_writers_in_flight(engine, database_url):
    user, device = seed_device(engine)
    writer = open_writer(engine, user=user, device=device, points=[(T0, 10.0)])

    def delete() -> int:
        with session_scope(engine) as s:
            return delete_device(s, user_id=user.id, device_id=device.device_id).readings

    deletion = Background(delete)
    deletion.start()
    wait_until_waiting(deletion, database_url)  # the deletion must wait for the writer
    writer.__exit__(None, None, None)
    assert deletion.result() == 1  # it deleted what the writer stored
    with session_scope(engine, read_only=True) as s:
        assert find_orphans(s).ok


def test_a_rollup_that_waits_too_long_for_the_writers_claims_nothing_and_lets_them_go(
    engine, monkeypatch
):
    monkeypatch.setattr(locks, "HOLD_BACK_WAIT", "300ms")
    user, device = seed_device(engine, [(T0, 100.0)], now=NOW)
    # A long import holds its writer's lock for as long as it runs.
    writer = open_writer(
        engine, user=user, device=device, points=[(T0 + timedelta(minutes=1), 1.0)]
    )
    try:
        run = rollup_dirty_hours(engine)
        assert run.hours == 0
        with session_scope(engine, read_only=True) as s:
            assert dirty_backlog(s) == 1  # still marked, for the next run
        # Other writers are not held back once the rollup gave up.
        later = Background(
            lambda: add_readings_committed(engine, user, device, [(T0 + timedelta(minutes=2), 2.0)])
        )
        later.start()
        later.result(timeout=10)
    finally:
        writer.__exit__(None, None, None)
    assert rollup_dirty_hours(engine).hours == 1
    with session_scope(engine, read_only=True) as s:
        row = s.exec(select(HourlyAggregate).where(HourlyAggregate.device_pk == device.id)).one()
        assert row.sample_count == 3
