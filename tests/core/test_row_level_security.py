"""Row-level security on PostgreSQL: a query that forgot its ``user_id`` filter, run as the role the
application connects as (no superuser, no BYPASSRLS), sees the transaction's household or nothing.

The suite's own ``postgres`` user is a superuser and passes through every policy, so these tests
seed as that user and then work as ``tests.databases.APP_ROLE``. SQLite has no row-level security:
the last test shows that the same sessions work there and that nothing is filtered.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from energy_core.accounts import list_devices
from energy_core.db import make_engine, session_scope
from energy_core.household_scope import (
    HouseholdMismatch,
    UnsafeAppRole,
    act_for_household,
    check_app_role,
    protected_tables,
    unprotected_tables,
)
from energy_core.models import KeyScope
from energy_core.rollup import rollup_dirty_hours
from energy_core.tariffs import set_tariff
from ingest_api.app import create_app
from tests.databases import APP_ROLE, as_app_role, code_under_test_on, empty_postgres_database
from tests.factories import add_readings, make_device, make_key, make_user

# Every table with a user_id column when row-level security came (migration 0090); the test
# below holds every later one to the same rule.
HOUSEHOLD_TABLES = {
    "alert_device_settings",
    "alert_mutes",
    "alert_settings",
    "alerts",
    "api_keys",
    "chat_messages",
    "devices",
    "dirty_hours",
    "hourly_aggregates",
    "inputs",
    "readings",
    "tariff_alternatives",
    "tariff_plans",
    "tariff_prices",
}
START = datetime(2026, 3, 2, 10, tzinfo=UTC)


@dataclass(frozen=True)
class Seeded:
    admin_url: str
    app_url: str
    a: int
    b: int
    a_read_key: str
    b_read_key: str
    a_ingest_key: str
    # Rows of each table per household, counted by the superuser.
    counts: dict[str, dict[int, int]]


def _seed_household(session, *, email: str) -> tuple[int, str, str]:
    user = make_user(session, email=email)
    fridge = make_device(session, user=user, device_id="fridge")
    read_key = make_key(session, user=user, scope=KeyScope.read).key
    ingest_key = make_key(session, user=user).key
    points = [(START + timedelta(minutes=5 * i), 100.0 + i) for i in range(36)]
    add_readings(session, user=user, device=fridge, points=points)
    for statement in (
        "INSERT INTO inputs (user_id, input_id, is_watts, created_at) "
        "VALUES (:u, 'emon:power1', true, now())",
        "INSERT INTO chat_messages (user_id, conversation_id, role, content, created_at) "
        "VALUES (:u, 'c1', 'user', 'how much?', now())",
        "INSERT INTO tariff_prices (user_id, direction, starts_at, ends_at, price) "
        "VALUES (:u, 'import', '2026-03-02 10:00+00', '2026-03-02 11:00+00', 0.25)",
        "INSERT INTO alerts (user_id, device_pk, kind, key, title, explanation, evidence, "
        "opened_at, updated_at) VALUES (:u, :d, 'offline', 'offline:fridge', 'Fridge offline', "
        "'no reading', '{}', now(), now())",
        "INSERT INTO alert_settings (user_id) VALUES (:u)",
        "INSERT INTO alert_device_settings (user_id, device_pk) VALUES (:u, :d)",
        "INSERT INTO alert_mutes (user_id, key) VALUES (:u, 'offline:fridge')",
        "INSERT INTO tariff_alternatives (user_id, name, spec, created_at) "
        "VALUES (:u, 'flat', '{}', now())",
    ):
        session.execute(text(statement), {"u": user.id, "d": fridge.id})
    plan = {"currency": "EUR", "valid_from": "2026-01-01", "import": {"default": 0.3}}
    set_tariff(session, user_id=user.id, document=plan)
    return user.id, read_key, ingest_key


@pytest.fixture(scope="module")
def seeded(postgres_url) -> Iterator[Seeded]:
    url = empty_postgres_database(postgres_url)
    admin = make_engine(url)
    with session_scope(admin) as s:
        a, a_read, a_ingest = _seed_household(s, email="a@example.com")
        b, b_read, _ = _seed_household(s, email="b@example.com")
    rollup_dirty_hours(admin)
    # Newer readings leave dirty marks for the table of marks to hold rows too.
    with session_scope(admin) as s:
        for user_id in (a, b):
            s.execute(
                text(
                    "INSERT INTO dirty_hours (user_id, device_pk, hour_start, version) "
                    "SELECT user_id, id, '2026-03-03 00:00+00', 1 FROM devices WHERE user_id = :u"
                ),
                {"u": user_id},
            )
    with admin.connect() as conn:
        tables = protected_tables(conn)
        counts = {
            table: dict(
                conn.execute(text(f"SELECT user_id, count(*) FROM {table} GROUP BY user_id")).all()
            )
            for table in tables
        }
    admin.dispose()
    yield Seeded(url, as_app_role(url), a, b, a_read, b_read, a_ingest, counts)
    empty_postgres_database(url)


@pytest.fixture
def app_engine(seeded):
    engine = make_engine(seeded.app_url)
    yield engine
    engine.dispose()


def _user_ids(session, table: str) -> list[int]:
    # Deliberately unfiltered: what a query that forgot its user_id filter would get.
    return list(session.execute(text(f"SELECT user_id FROM {table}")).scalars())


def test_every_table_with_a_user_id_has_row_level_security(seeded):
    engine = make_engine(seeded.admin_url)
    with engine.connect() as conn:
        assert unprotected_tables(conn) == []
        assert HOUSEHOLD_TABLES <= set(protected_tables(conn))
    engine.dispose()


def test_each_table_holds_rows_of_both_households_to_hide(seeded):
    for table, per_user in seeded.counts.items():
        assert set(per_user) == {seeded.a, seeded.b}, table


def test_an_unfiltered_query_sees_only_the_transactions_household(seeded, app_engine):
    for user_id in (seeded.a, seeded.b):
        with session_scope(app_engine, read_only=True, household=user_id) as session:
            for table, per_user in seeded.counts.items():
                assert _user_ids(session, table) == [user_id] * per_user[user_id], table


def test_an_unfiltered_query_without_a_household_sees_nothing(seeded, app_engine):
    with session_scope(app_engine, read_only=True) as session:
        for table in seeded.counts:
            assert _user_ids(session, table) == [], table


def test_system_scope_sees_every_household(seeded, app_engine):
    with session_scope(app_engine, read_only=True, system=True) as session:
        for table, per_user in seeded.counts.items():
            assert sorted(_user_ids(session, table)) == sorted(
                [user_id for user_id, n in per_user.items() for _ in range(n)]
            ), table


def test_writing_a_row_of_another_household_is_refused(seeded, app_engine):
    with pytest.raises(ProgrammingError, match="row-level security"):
        with session_scope(app_engine, household=seeded.a) as session:
            session.execute(
                text(
                    "INSERT INTO readings (user_id, device_pk, ts, power_w) "
                    "VALUES (:b, 1, '2026-03-05 00:00+00', 1.0)"
                ),
                {"b": seeded.b},
            )
    with session_scope(app_engine, household=seeded.a) as session:
        moved = session.execute(
            text("UPDATE readings SET power_w = 0 WHERE user_id = :b"), {"b": seeded.b}
        )
        assert moved.rowcount == 0


def test_a_pooled_connection_forgets_the_household_when_the_transaction_ends(seeded):
    engine = make_engine(seeded.app_url, pool_size=1, max_overflow=0)
    try:
        with session_scope(engine, household=seeded.a) as session:
            first_pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            assert len(_user_ids(session, "readings")) == seeded.counts["readings"][seeded.a]
        with session_scope(engine) as session:
            assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() == first_pid
            assert _user_ids(session, "readings") == []
            assert session.execute(
                text("SELECT current_setting('energy.household', true)")
            ).scalar_one() in ("", None)
        with session_scope(engine, household=seeded.b) as session:
            assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() == first_pid
            assert set(_user_ids(session, "readings")) == {seeded.b}
    finally:
        engine.dispose()


def test_a_session_keeps_its_household_across_its_commits(seeded, app_engine):
    with session_scope(app_engine, household=seeded.a) as session:
        session.commit()
        assert set(_user_ids(session, "devices")) == {seeded.a}


def test_a_session_pinned_to_one_household_refuses_to_work_for_another(seeded, app_engine):
    with session_scope(app_engine, household=seeded.a) as session:
        act_for_household(session, seeded.a)
        with pytest.raises(HouseholdMismatch):
            list_devices(session, user_id=seeded.b)


def test_a_library_function_works_for_its_household_in_an_unpinned_session(seeded, app_engine):
    with session_scope(app_engine, read_only=True) as session:
        assert [d.user_id for d in list_devices(session, user_id=seeded.a)] == [seeded.a]
        assert set(_user_ids(session, "readings")) == {seeded.a}
        assert [d.user_id for d in list_devices(session, user_id=seeded.b)] == [seeded.b]
        assert set(_user_ids(session, "readings")) == {seeded.b}


def test_the_suites_superuser_is_refused_as_the_application_role(seeded):
    engine = make_engine(seeded.admin_url)
    with engine.connect() as conn, pytest.raises(UnsafeAppRole, match="BYPASSRLS"):
        check_app_role(conn, "postgres")
    engine.dispose()


def test_the_rollup_as_the_application_role_aggregates_every_household(seeded, app_engine):
    run = rollup_dirty_hours(app_engine)
    assert run.hours == 2  # the mark of each household's fridge
    with session_scope(app_engine, read_only=True) as session:
        assert session.execute(text("SELECT count(*) FROM dirty_hours")).scalar_one() == 0
    with session_scope(app_engine, read_only=True, system=True) as session:
        assert session.execute(text("SELECT count(*) FROM dirty_hours")).scalar_one() == 0


def test_the_api_as_the_application_role_ingests_and_reads_one_household(seeded):
    def auth(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    recent = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    stamps = [(recent + timedelta(minutes=i)).isoformat() for i in range(2)]
    with code_under_test_on(seeded.app_url), TestClient(create_app()) as client:
        sent = client.post(
            "/api/v1/telemetry/batch",
            headers=auth(seeded.a_ingest_key),
            json={
                "readings": [
                    {"device_id": "fridge", "timestamp": stamps[0], "energy_watts": 5},
                    {"device_id": "fridge", "timestamp": stamps[1], "energy_watts": 6},
                ]
            },
        )
        assert sent.status_code == 201, sent.text
        assert sent.json() == {"accepted": 2, "duplicates": 0}
        devices = client.get("/api/v1/telemetry/devices", headers=auth(seeded.a_read_key))
        assert devices.status_code == 200, devices.text
        assert [d["device_id"] for d in devices.json()["items"]] == ["fridge"]
        for key, expected in ((seeded.a_read_key, 38), (seeded.b_read_key, 36)):
            got = client.get(
                "/api/v1/telemetry", headers=auth(key), params={"device_id": "fridge", "limit": 100}
            )
            assert got.status_code == 200, got.text
            assert len(got.json()["items"]) == expected


def test_sqlite_has_no_row_level_security(tmp_path, sqlite_template):
    import shutil

    path = tmp_path / "energy.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with session_scope(engine) as s:
        a = make_user(s).id
        b = make_user(s).id
        for user_id in (a, b):
            s.execute(
                text(
                    "INSERT INTO chat_messages (user_id, conversation_id, role, content, "
                    "created_at) VALUES (:u, 'c', 'user', 'q', '2026-03-02 10:00:00')"
                ),
                {"u": user_id},
            )
    with session_scope(engine, household=a) as session:
        assert sorted(_user_ids(session, "chat_messages")) == [a, b]
    engine.dispose()


def test_grant_app_role_lets_a_plain_role_in_and_refuses_the_superuser(seeded, capsys):
    from energy_cli.main import main

    with code_under_test_on(seeded.admin_url):
        assert main(["db", "grant-app-role", APP_ROLE]) == 0
        said = capsys.readouterr().out
        assert f"Role {APP_ROLE} may now read and write rows" in said
        assert (
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE};"
            in said
        )
        assert main(["db", "grant-app-role", "postgres"]) == 2
        assert "BYPASSRLS" in capsys.readouterr().err


def test_grant_app_role_creates_the_role_a_deployment_names_and_rotates_its_password(
    seeded, capsys, monkeypatch
):
    """What compose's migrate step runs: the role is created held by the policies, and a
    second run (every `docker compose up`) only sets the password again."""
    from energy_cli.main import main

    role = f"energy_app_{uuid.uuid4().hex[:8]}"
    grant = ["db", "grant-app-role", role, "--password-env", "TEST_APP_DB_PASSWORD"]
    admin = make_engine(seeded.admin_url)
    try:
        with code_under_test_on(seeded.admin_url):
            monkeypatch.setenv("TEST_APP_DB_PASSWORD", "it's a long passphrase")
            assert main(grant) == 0
            assert f"Created role {role}" in capsys.readouterr().out
            assert main(grant) == 0
            assert f"Role {role} exists; its password is set." in capsys.readouterr().out
            monkeypatch.delenv("TEST_APP_DB_PASSWORD")
            assert main(grant) == 2
            assert "TEST_APP_DB_PASSWORD, which is not set" in capsys.readouterr().err
        with admin.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, "
                    "rolpassword IS NOT NULL FROM pg_authid WHERE rolname = :r"
                ),
                {"r": role},
            ).one()
        assert tuple(found) == (True, False, False, False, False, True)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def test_the_application_role_cannot_turn_the_policies_off(seeded, app_engine):
    with pytest.raises(ProgrammingError, match="must be owner"):
        with app_engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE readings DISABLE ROW LEVEL SECURITY")


# Library functions of one household that touch only the users table (no row-level security).
USERS_ONLY = {
    "change_password",
    "end_sessions",
    "record_successful_login",
    "require_user_id",
    "reset_password",
    "set_user_active",
    "set_user_role",
    "unlock_user",
    "update_profile",
    "upgrade_password_hash",
}


def test_every_library_function_of_one_household_works_for_it():
    """A public function that takes a session and a ``user_id`` carries ``@for_household``, so
    that an unpinned session (a page, the CLI) is filtered to that household on PostgreSQL."""
    import ast
    from pathlib import Path

    import energy_core

    root = Path(energy_core.__file__).parent
    missing = []
    for path in sorted(root.rglob("*.py")):
        if {"migrations", "sql"} & set(path.relative_to(root).parts):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            positional = [a.arg for a in node.args.posonlyargs + node.args.args]
            keywords = [a.arg for a in node.args.kwonlyargs]
            decorators = {ast.unparse(d) for d in node.decorator_list}
            if (
                positional[:1] == ["session"]
                and "user_id" in keywords
                and "for_household" not in decorators
                and node.name not in USERS_ONLY
            ):
                missing.append(f"{path.relative_to(root)}:{node.name}")
    assert missing == []
