"""Single readings that arrive together: on PostgreSQL they share one statement, and each request
must still get exactly the answer and the effects it would get on its own (stored once, the same
dirty hours and last-seen time as a batch, refusals explained the usual way)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from datetime import timedelta

import httpx
import psycopg
import pytest
from sqlmodel import select
from starlette.requests import Request

from energy_core.db import libpq_url, session_scope
from energy_core.household_scope import SCOPE_SETTING, SYSTEM
from energy_core.ingest import HOUR_US, US_PER_S
from energy_core.models import Device, DirtyHour, Reading
from energy_core.rollup import rollup_dirty_hours
from energy_core.sql.ingest import SingleReading, store_single_readings
from energy_core.types import from_epoch_us, to_epoch_us, utcnow
from ingest_api.deps import bearer
from ingest_api.routers.telemetry_ingest import bearer_credentials
from ingest_api.singles import CONNECTION_OPTIONS, SingleReadingWriter
from tests.api.support import LiveServer, assert_error, auth, reading_count

GAP_S = 600


def devices_by_id(engine, user_id: int) -> dict[str, Device]:
    with session_scope(engine, read_only=True) as s:
        return {d.device_id: d for d in s.exec(select(Device).where(Device.user_id == user_id))}


def set_device(engine, pk: int, **fields) -> None:
    with session_scope(engine) as s:
        device = s.get(Device, pk)
        for name, value in fields.items():
            setattr(device, name, value)
        s.add(device)


def dirty_marks(engine) -> set[tuple[int, int]]:
    with session_scope(engine, read_only=True) as s:
        return {(d.device_pk, to_epoch_us(d.hour_start)) for d in s.exec(select(DirtyHour))}


def expected_marks(device_pk: int, ts_us: int, gap_s: int) -> set[tuple[int, int]]:
    """The hours [t, t + max_gap] meets, counted out by hand."""
    first = ts_us - ts_us % HOUR_US
    end = ts_us + gap_s * US_PER_S
    return {(device_pk, h) for h in range(first, end - end % HOUR_US + 1, HOUR_US)}


def stored(engine) -> dict[tuple[int, int], float]:
    with session_scope(engine, read_only=True) as s:
        return {(r.device_pk, to_epoch_us(r.ts)): r.power_w for r in s.exec(select(Reading))}


def write_group(database_url: str, readings: list[SingleReading]):
    async def run():
        async with await psycopg.AsyncConnection.connect(
            libpq_url(database_url), autocommit=True, **CONNECTION_OPTIONS
        ) as conn:
            return await store_single_readings(conn, readings, default_gap_s=GAP_S)

    return asyncio.run(run())


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_group_answers_each_reading_as_if_it_came_alone(engine, database_url, household):
    mine = devices_by_id(engine, household.user_id)
    fridge, solar, heater = mine["fridge"].id, mine["solar"].id, mine["heater"].id
    set_device(engine, heater, max_gap_s=3_600)
    theirs = devices_by_id(engine, household.other_user_id)["theirs"].id
    now = to_epoch_us(utcnow()) - 3_600 * US_PER_S
    t = now - now % HOUR_US + 3_000 * US_PER_S  # 50 minutes into an hour: marks reach the next
    old = t - 7_200 * US_PER_S
    user, other = household.user_id, household.other_user_id
    with psycopg.connect(libpq_url(database_url), autocommit=True, **CONNECTION_OPTIONS) as conn:
        conn.execute(
            "INSERT INTO readings (user_id, device_pk, ts, power_w) VALUES (%s, %s, %s, 5)",
            (user, fridge, from_epoch_us(old)),
        )

    R = SingleReading
    outcomes = write_group(
        database_url,
        [
            R(user, "fridge", None, t, 80.0),  # 0 new
            R(user, "fridge", None, t, 99.0),  # 1 same instant later in the group: duplicate
            R(user, "fridge", None, old, 7.0),  # 2 already stored: duplicate
            R(user, "nope", None, t, 1.0),  # 3 unknown device
            R(user, "theirs", None, t, 1.0),  # 4 another user's device id
            R(other, "theirs", None, t, 3.0),  # 5 that user's own reading: new
            R(user, "heater", None, t, -4.0),  # 6 negative, not bidirectional
            R(user, "solar", None, t, -1500.0),  # 7 negative, bidirectional: new
            R(user, None, fridge, t + US_PER_S, 81.0),  # 8 device key, no device_id: new
            R(user, "heater", fridge, t, 2.0),  # 9 device key naming another device
            R(user, None, theirs, t, 2.0),  # 10 a device key's device of another user
            R(user, "heater", None, t + US_PER_S, 2_000.0),  # 11 new, one-hour gap
        ],
    )

    assert [(o.stored, o.inserted, o.device_id) for o in outcomes] == [
        (True, True, "fridge"),
        (True, False, "fridge"),
        (True, False, "fridge"),
        (False, False, None),
        (False, False, None),
        (True, True, "theirs"),
        (False, False, None),
        (True, True, "solar"),
        (True, True, "fridge"),
        (False, False, None),
        (False, False, None),
        (True, True, "heater"),
    ]
    assert stored(engine) == {
        (fridge, old): 5.0,
        (fridge, t): 80.0,  # the first value of the group wins
        (fridge, t + US_PER_S): 81.0,
        (theirs, t): 3.0,
        (solar, t): -1500.0,
        (heater, t + US_PER_S): 2_000.0,
    }
    assert dirty_marks(engine) == (
        expected_marks(fridge, t, GAP_S)
        | expected_marks(fridge, t + US_PER_S, GAP_S)
        | expected_marks(theirs, t, GAP_S)
        | expected_marks(solar, t, GAP_S)
        | expected_marks(heater, t + US_PER_S, 3_600)
    )
    assert len(expected_marks(heater, t + US_PER_S, 3_600)) == 2  # the marks do cross the hour
    seen = {d: to_epoch_us(dev.last_seen_at) for d, dev in devices_by_id(engine, user).items()}
    assert seen == {"fridge": t + US_PER_S, "solar": t, "heater": t + US_PER_S}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_single_readings_move_the_last_seen_time_only_past_a_minute(
    engine, database_url, household
):
    """As batches do (``LAST_SEEN_STEP_S``): the rollup sets the time to the newest reading."""
    R = SingleReading
    t = to_epoch_us(utcnow()) - 600 * US_PER_S

    def last_seen() -> int:
        return to_epoch_us(devices_by_id(engine, household.user_id)["fridge"].last_seen_at)

    for at, expected in ((t, t), (t + 60 * US_PER_S, t), (t + 61 * US_PER_S, t + 61 * US_PER_S)):
        (outcome,) = write_group(database_url, [R(household.user_id, "fridge", None, at, 1.0)])
        assert (outcome.stored, outcome.inserted) == (True, True)
        assert last_seen() == expected
    write_group(database_url, [R(household.user_id, "fridge", None, t + 90 * US_PER_S, 1.0)])
    assert last_seen() == t + 61 * US_PER_S
    rollup_dirty_hours(engine)
    assert last_seen() == t + 90 * US_PER_S


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_deactivated_device_is_refused_inside_a_group(engine, database_url, household):
    fridge = devices_by_id(engine, household.user_id)["fridge"].id
    set_device(engine, fridge, is_active=False)
    t = to_epoch_us(utcnow()) - 60 * US_PER_S
    R = SingleReading
    outcomes = write_group(
        database_url,
        [R(household.user_id, "fridge", None, t, 1.0), R(household.user_id, "solar", None, t, 1.0)],
    )
    assert [o.stored for o in outcomes] == [False, True]
    assert reading_count(engine) == 1


def waiting_for_a_lock(database_url: str, *, within_s: float = 10.0) -> bool:
    """Whether a session of this database waits for a lock, polled for up to ``within_s``."""
    deadline = time.monotonic() + within_s
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()[0]
            if waiting:
                return True
            time.sleep(0.05)
    return False


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_writer_waiting_for_a_claimed_mark_holds_no_device_row_the_rollup_moves(
    engine, database_url, household
):
    # The rollup claims an hour's mark (deletes it) and, in the same transaction, moves its
    # device's last-seen time. A reading of that hour arrives in between: its writer waits for the
    # claimed mark. Holding the device's row meanwhile, it deadlocked with the rollup.
    fridge = devices_by_id(engine, household.user_id)["fridge"].id
    # Ten minutes into an hour two hours ago: both readings are of that hour alone.
    two_hours_ago = to_epoch_us(utcnow()) - 2 * HOUR_US
    t = two_hours_ago - two_hours_ago % HOUR_US + 600 * US_PER_S
    later = t + 90 * US_PER_S  # far enough past t to move the last-seen time (LAST_SEEN_STEP_S)
    R = SingleReading
    write_group(database_url, [R(household.user_id, "fridge", None, t, 50.0)])
    with psycopg.connect(libpq_url(database_url)) as rollup:
        # The rollup's scope: every household's marks (row-level security).
        rollup.execute(f"SELECT set_config('{SCOPE_SETTING}', '{SYSTEM}', true)")
        claimed = rollup.execute(
            "DELETE FROM dirty_hours WHERE device_pk = %s RETURNING hour_start", (fridge,)
        ).fetchall()
        assert claimed
        writer = threading.Thread(
            target=lambda: outcomes.extend(
                write_group(database_url, [R(household.user_id, "fridge", None, later, 60.0)])
            ),
            daemon=True,
        )
        outcomes: list = []
        writer.start()
        assert waiting_for_a_lock(database_url), "the writer should wait for the claimed mark"
        rollup.execute("SET LOCAL lock_timeout = '5s'")
        rollup.execute(
            "UPDATE devices SET last_seen_at = greatest(last_seen_at, %s) WHERE id = %s",
            (from_epoch_us(t), fridge),
        )
        rollup.commit()
    writer.join(30)
    assert not writer.is_alive()
    assert [(o.stored, o.inserted) for o in outcomes] == [(True, True)]
    assert to_epoch_us(devices_by_id(engine, household.user_id)["fridge"].last_seen_at) == later
    assert (fridge, t - t % HOUR_US) in dirty_marks(engine)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_writer_answers_503_while_the_database_is_unreachable(database_url):
    unreachable = database_url.replace("127.0.0.1:5432", "127.0.0.1:9")
    writer = SingleReadingWriter(unreachable, default_gap_s=GAP_S)
    reading = SingleReading(1, "fridge", None, to_epoch_us(utcnow()), 1.0)

    async def run() -> Exception:
        try:
            with pytest.raises(Exception) as raised:
                await writer.write(reading)
            return raised.value
        finally:
            await writer.close()

    error = asyncio.run(run())
    assert type(error).__name__ == "DatabaseUnavailable"


def post_concurrently(url: str, requests: list[tuple[str, dict]], threads: int = 16) -> list:
    """Post (key, reading) pairs from ``threads`` connections at once; responses in order."""
    responses: list[httpx.Response | None] = [None] * len(requests)
    start = threading.Barrier(threads)

    def worker(k: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            start.wait()
            for i in range(k, len(requests), threads):
                key, reading = requests[i]
                responses[i] = http.post("/api/v1/telemetry", json=reading, headers=auth(key))

    workers = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return responses


def test_concurrent_single_readings_leave_what_one_batch_of_them_leaves(
    engine, database_url, household, make_app
):
    mine = devices_by_id(engine, household.user_id)
    heater, fridge = mine["heater"].id, mine["fridge"].id
    set_device(engine, heater, max_gap_s=3_000)
    set_device(engine, fridge, max_gap_s=3_000)
    base = utcnow() - timedelta(hours=5)
    instants = [(base + timedelta(seconds=97 * i)).isoformat() for i in range(120)]
    key = household.household_key
    singles = [
        (key, {"device_id": "heater", "timestamp": at, "energy_watts": i})
        for i, at in enumerate(instants)
    ]
    # Then the first 40 again, with other values under the alias: duplicates, the first value
    # stays.
    again = [
        (key, {"device_id": "heater", "timestamp": at, "power_w": 1.5}) for at in instants[:40]
    ]
    app = make_app()
    with LiveServer(app) as server:
        responses = post_concurrently(server.url, singles) + post_concurrently(server.url, again)
        batch = httpx.post(
            server.url + "/api/v1/telemetry/batch",
            json={
                "readings": [
                    {"device_id": "fridge", "timestamp": at, "energy_watts": i}
                    for i, at in enumerate(instants)
                ]
            },
            headers=auth(key),
        )
    assert batch.status_code == 201, batch.text
    assert all(r.status_code in (200, 201) for r in responses), [
        r.text for r in responses if r.status_code not in (200, 201)
    ]
    counts = Counter((r.json()["accepted"], r.json()["duplicates"]) for r in responses)
    assert counts == {(1, 0): 120, (0, 1): 40}
    if database_url.startswith("postgresql"):
        assert app.state.api.singles.readings == 160  # all took the shared writer

    rows = stored(engine)
    as_single = {t: p for (d, t), p in rows.items() if d == heater}
    as_batch = {t: p for (d, t), p in rows.items() if d == fridge}
    assert as_single == as_batch
    marks = dirty_marks(engine)
    assert {h for d, h in marks if d == heater} == {h for d, h in marks if d == fridge}
    seen = devices_by_id(engine, household.user_id)
    assert (
        seen["heater"].last_seen_at
        == seen["fridge"].last_seen_at
        == max(from_epoch_us(t) for t in as_single)
    )


def test_a_single_reading_refused_by_its_device_gets_the_usual_answer(
    engine, database_url, household, make_app
):
    mine = devices_by_id(engine, household.user_id)
    set_device(engine, mine["heater"].id, is_active=False)
    at = (utcnow() - timedelta(minutes=1)).isoformat()
    with LiveServer(make_app()) as server:
        answers = post_concurrently(
            server.url,
            [
                (household.household_key, {"device_id": "heater", "timestamp": at, "power_w": 1}),
                (household.household_key, {"device_id": "fridge", "timestamp": at, "power_w": -1}),
                (household.household_key, {"device_id": "ghost", "timestamp": at, "power_w": 1}),
                (household.fridge_key, {"device_id": "solar", "timestamp": at, "power_w": 1}),
                (household.other_key, {"device_id": "fridge", "timestamp": at, "power_w": 1}),
                (household.household_key, {"device_id": "solar", "timestamp": at, "power_w": -9}),
            ],
            threads=6,
        )
    assert (
        "deactivated" in assert_error(answers[0], 422, "validation_error")["details"][0]["message"]
    )
    assert (
        "bidirectional"
        in assert_error(answers[1], 422, "validation_error")["details"][0]["message"]
    )
    assert "ghost" in assert_error(answers[2], 404, "unknown_device")["message"]
    assert_error(answers[3], 403, "device_not_allowed")
    assert_error(answers[4], 404, "unknown_device")  # user B's key knows no fridge of A's
    assert (answers[5].status_code, answers[5].json()) == (201, {"accepted": 1, "duplicates": 0})
    assert reading_count(engine) == 1


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer  ",
        "Bearer abc",
        "bearer  abc ",
        "BEARER x y",
        "Basic abc",
        " Bearer abc",
        "Bearerabc",
        "Bearer\tabc",
    ],
)
def test_the_single_reading_route_reads_the_key_as_the_bearer_dependency_does(authorization):
    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    request = Request({"type": "http", "method": "POST", "path": "/", "headers": headers})
    expected = asyncio.run(bearer(request))
    got = bearer_credentials(request)
    assert (got is None) == (expected is None)
    if expected is not None:
        assert (got.scheme, got.credentials) == (expected.scheme, expected.credentials)
