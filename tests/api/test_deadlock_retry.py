"""A batch that the server rolls back to break a deadlock is run again, not answered with an
error: it wrote nothing, so the device hears "stored" once it is, and the reading is stored once.
PostgreSQL only: SQLite has one writer at a time and no deadlocks between writers."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from energy_core.household_scope import act_for_household
from energy_core.models import Device, Reading
from energy_core.types import floor_hour
from tests.api.support import auth

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def waiting_on_locks(engine) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar_one()


def test_a_batch_rolled_back_to_break_a_deadlock_is_stored_once(client, engine, household):
    at = floor_hour(datetime.now(UTC) - timedelta(days=1)) + timedelta(minutes=10)
    with Session(engine) as s:
        act_for_household(s, household.user_id)
        fridge = s.exec(
            select(Device).where(Device.user_id == household.user_id, Device.device_id == "fridge")
        ).one()
    answer: dict = {}

    def post() -> None:
        body = {"readings": [{"device_id": "fridge", "timestamp": at.isoformat(), "power_w": 80}]}
        try:
            answer["r"] = client.post(
                "/api/v1/telemetry/batch", json=body, headers=auth(household.household_key)
            )
        except Exception as exc:  # noqa: BLE001 - the test client re-raises the server's error
            answer["error"] = exc

    other = Session(engine)
    try:
        act_for_household(other, household.user_id)
        # Another writer marks the reading's hour first and keeps its transaction open ...
        other.execute(
            text(
                "INSERT INTO dirty_hours (user_id, device_pk, hour_start, version) "
                "VALUES (:u, :d, :h, 1)"
            ),
            {"u": household.user_id, "d": fridge.id, "h": floor_hour(at)},
        )
        request = threading.Thread(target=post)
        request.start()
        # ... the batch stores its reading and waits for that mark ...
        for _ in range(300):
            if waiting_on_locks(engine):
                break
            time.sleep(0.05)
        assert waiting_on_locks(engine) == 1
        # ... and the other writer now wants the batch's reading: a deadlock. The batch waited
        # first, so the server rolls the batch back.
        other.execute(
            text(
                "INSERT INTO readings (user_id, device_pk, ts, power_w) VALUES (:u, :d, :t, 1) "
                "ON CONFLICT DO NOTHING"
            ),
            {"u": household.user_id, "d": fridge.id, "t": at},
        )
        other.rollback()
    finally:
        other.close()
    request.join(60)
    assert "error" not in answer, answer
    r = answer["r"]
    assert r.status_code == 201, r.text
    assert r.json() == {"accepted": 1, "duplicates": 0}
    with Session(engine) as s:
        act_for_household(s, household.user_id)
        rows = s.exec(select(Reading.power_w).where(Reading.device_pk == fridge.id)).all()
    assert rows == [80.0]
