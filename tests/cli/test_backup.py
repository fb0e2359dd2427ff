"""``backup`` while readings arrive and ``restore`` of it: the copy is the database at one instant
(whole batches only), a restore brings back identical counts and aggregates, and nothing is
overwritten without --force. On SQLite through its online backup, on PostgreSQL through pg_dump
and pg_restore."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from energy_cli.main import main
from energy_core.db import session_scope
from energy_core.ingest import ReadingIn, record_readings
from energy_core.rollup import rollup_dirty_hours
from energy_core.types import utcnow
from tests.factories import make_device, make_user

BATCH = 60


@pytest.fixture
def household(engine) -> int:
    with session_scope(engine) as s:
        user = make_user(s, email="keep@example.com")
        make_device(s, user=user, device_id="fridge")
        make_device(s, user=user, device_id="heater")
        return user.id


class Ingest(threading.Thread):
    """Batches of BATCH readings, one transaction each, until stopped."""

    def __init__(self, engine, user_id: int):
        super().__init__(daemon=True)
        self.engine, self.user_id = engine, user_id
        self.stop, self.batches = threading.Event(), 0
        # Far enough back that all it may write (400 batches and one more, 15 minutes each) is in
        # the past: a reading in the future would be refused, and the thread would die with it.
        self.start_at = (utcnow() - timedelta(days=5)).replace(microsecond=0)

    def run(self) -> None:
        while not self.stop.is_set() and self.batches < 400:
            self.write_batch()

    def write_batch(self) -> None:
        base = self.start_at + timedelta(seconds=BATCH * 15 * self.batches)
        readings = [
            ReadingIn("fridge" if i % 2 else "heater", base + timedelta(seconds=15 * i), 50 + i)
            for i in range(BATCH)
        ]
        with session_scope(self.engine) as s:
            record_readings(s, user_id=self.user_id, readings=readings)
        self.batches += 1


def snapshot(engine) -> dict:
    with engine.connect() as conn:
        counts = {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("users", "devices", "api_keys", "readings", "hourly_aggregates")
        }
        aggregates = conn.execute(
            text(
                "SELECT device_pk, hour_start, energy_wh, consumed_wh, covered_s, sample_count "
                "FROM hourly_aggregates ORDER BY device_pk, hour_start"
            )
        ).all()
    return {"counts": counts, "aggregates": [tuple(map(str, row)) for row in aggregates]}


def test_backup_during_ingest_then_restore_gives_identical_counts_and_aggregates(
    engine, household, tmp_path, capsys
):
    during, after = tmp_path / "during.backup", tmp_path / "after.backup"
    ingest = Ingest(engine, household)
    ingest.start()
    while ingest.batches < 5:
        threading.Event().wait(0.05)
    assert main(["backup", str(during)]) == 0
    ingest.stop.set()
    ingest.join()
    assert ingest.batches > 5, "ingest stopped before the backup; it proved nothing"
    out = capsys.readouterr().out
    assert out.startswith(f"Wrote {during}")

    rollup_dirty_hours(engine)
    expected = snapshot(engine)
    assert expected["counts"]["readings"] == ingest.batches * BATCH
    assert main(["backup", str(after)]) == 0
    # Nothing is overwritten without --force.
    assert main(["backup", str(after)]) == 2
    assert "exists already" in capsys.readouterr().err

    # Changed after the backup, then restored: the change is gone, the rest identical.
    ingest.write_batch()
    assert main(["restore", str(after)]) == 2
    assert "--force" in capsys.readouterr().err
    engine.dispose()
    assert main(["restore", str(after), "--force"]) == 0
    assert snapshot(engine) == expected

    # The copy taken during ingest holds whole batches only, and rolls up like any database.
    engine.dispose()
    assert main(["restore", str(during), "--force"]) == 0
    restored = snapshot(engine)["counts"]["readings"]
    assert 0 < restored < expected["counts"]["readings"]
    assert restored % BATCH == 0
    assert rollup_dirty_hours(engine).hours >= 0
    with session_scope(engine, read_only=True) as s:
        assert s.execute(text("SELECT count(*) FROM users")).scalar_one() == 1


def test_restore_refuses_a_file_that_is_no_backup(engine, household, tmp_path, capsys):
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a database at all")
    assert main(["restore", str(junk), "--force"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert snapshot(engine)["counts"]["users"] == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_pg_dump_older_than_the_server_is_refused_with_what_to_install(
    engine, household, tmp_path, capsys, monkeypatch
):
    with engine.connect() as conn:
        server = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10_000
    old = tmp_path / "bin" / "pg_dump"
    old.parent.mkdir()
    old.write_text(f"#!/bin/sh\necho 'pg_dump (PostgreSQL) {server - 1}.4'\n")
    old.chmod(0o755)
    monkeypatch.setenv("PATH", f"{old.parent}:/usr/bin:/bin")
    dest = tmp_path / "db.backup"
    assert main(["backup", str(dest)]) == 2
    err = capsys.readouterr().err
    assert f"pg_dump {server - 1} cannot work with PostgreSQL {server}" in err
    assert f"postgresql-client-{server}" in err
    assert not dest.exists()

    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert main(["backup", str(dest)]) == 2
    assert "pg_dump is not installed" in capsys.readouterr().err


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_restore_that_breaks_off_leaves_the_database_as_it_was(
    engine, household, tmp_path, capsys
):
    # A backup cut short (a full disk, a copy interrupted) lets pg_restore write the drops and
    # the first tables before it fails: none of that may be committed.
    ingest = Ingest(engine, household)
    for _ in range(40):
        ingest.write_batch()
    rollup_dirty_hours(engine)
    whole = tmp_path / "whole.backup"
    assert main(["backup", str(whole)]) == 0
    ingest.write_batch()
    expected = snapshot(engine)
    cut = tmp_path / "cut.backup"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 3 // 4])
    capsys.readouterr()
    engine.dispose()
    assert main(["restore", str(cut), "--force"]) == 2
    assert "pg_restore failed" in capsys.readouterr().err
    assert snapshot(engine) == expected
