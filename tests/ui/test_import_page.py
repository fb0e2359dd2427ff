"""The Import page: a CSV uploaded, previewed, imported once and rolled up; a bad file explained
and nothing stored; every household imports into its own devices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import func, select

from energy_core.db import session_scope
from energy_core.models import Device, HourlyAggregate, Reading
from tests.apptest import open_app, shown_text, sign_in
from tests.factories import PASSWORD, make_user

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def csv_file() -> bytes:
    lines = ["time,kettle,lamp"]
    for m in range(0, 90, 15):
        lines.append(f"{(T0 + timedelta(minutes=m)).isoformat()},{2000 + m},{40}")
    return ("\n".join(lines) + "\n").encode()


def import_page(email: str):
    at = sign_in(open_app(), email, PASSWORD)
    return at.switch_page("pages/import_history.py").run()


def counts(user_id: int) -> tuple[int, int]:
    with session_scope(read_only=True, household=user_id) as s:
        readings = s.exec(
            select(func.count()).select_from(Reading).where(Reading.user_id == user_id)
        ).one()
        hours = s.exec(
            select(func.count())
            .select_from(HourlyAggregate)
            .where(HourlyAggregate.user_id == user_id)
        ).one()
    return readings, hours


def test_a_csv_is_previewed_then_imported_once(app_env, engine):
    with session_scope() as s:
        user = make_user(s, email="importer@example.com")
        other = make_user(s, email="neighbour@example.com")
        user_id, other_id = user.id, other.id
    at = import_page("importer@example.com")
    assert not at.exception and "Import history" in [t.value for t in at.title]
    at.file_uploader[0].set_value(("history.csv", csv_file(), "text/csv")).run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown == {"Rows in the file": "6", "Readings to store": "12", "Devices": "2"}
    assert counts(user_id) == (0, 0)  # a preview stores nothing

    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception
    assert "Stored 12 new readings (0 were already stored)" in shown_text(at)
    readings, hours = counts(user_id)
    assert readings == 12 and hours >= 4
    assert counts(other_id) == (0, 0)
    with session_scope(read_only=True, household=user_id) as s:
        names = s.exec(select(Device.device_id).where(Device.user_id == user_id)).all()
    assert sorted(names) == ["kettle", "lamp"]

    next(b for b in at.button if b.label == "Import").click().run()
    assert "Stored 0 new readings (12 were already stored)" in shown_text(at)


def test_a_file_that_cannot_be_read_is_explained_and_nothing_stored(app_env, engine):
    with session_scope() as s:
        user_id = make_user(s, email="careless@example.com").id
    at = import_page("careless@example.com")
    bad = b"time,kettle\n2025-06-01T08:00:00Z,2000\n2025-06-01T08:15:00Z,lots\n"
    at.file_uploader[0].set_value(("history.csv", bad, "text/csv")).run()
    assert not at.exception
    assert "cannot be read" in shown_text(at)
    assert "'lots' is no number" in shown_text(at)
    assert not [b for b in at.button if b.label == "Import"]
    assert counts(user_id) == (0, 0)
