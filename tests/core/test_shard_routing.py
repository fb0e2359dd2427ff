"""Every SQL statement a household's traffic causes can be routed to one shard (the Citus path,
docs/scale.md). PostgreSQL only: Citus is PostgreSQL, and the statements checked are the ones the
product sends to PostgreSQL (several differ on SQLite), so this test has no SQLite half.

A realistic flow runs while a ``before_cursor_execute`` listener records each statement: readings
in a batch and one at a time through the API, the rollup, every read route, the pages' loaders
(``energy_core.stats``) and every chat tool. Each statement that touches a per-household table must
filter on ``user_id`` (``user_id =``, ``IN`` or ``= ANY``), the column every distributed table is
distributed by; the few that fan out on purpose (the scheduler's jobs over every household, the
status page's totals) are listed below, each with its reason. ``EXPLAIN`` checks the filter is in
the plan and not only in the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from energy_core.chat.toolbase import ToolContext
from energy_core.chat.tools import run_tool, tool_schemas
from energy_core.db import make_engine, session_scope
from energy_core.rollup import rollup_dirty_hours
from energy_core.stats import (
    baseload,
    compare,
    day_period,
    hour_of_day_profile,
    household_now,
    load_household,
    read_series,
    week_period,
)
from energy_core.status import system_status
from energy_core.types import utcnow
from ingest_api.app import create_app
from tests.api.support import Household, auth, make_household
from tests.databases import code_under_test_on, empty_postgres_database

# Tables distributed by user_id in docs/scale.md. ``users`` and ``api_keys`` are reference tables:
# a sign-in finds its user by email, and a request its key by prefix, before the household is known.
DISTRIBUTED = (
    "readings",
    "hourly_aggregates",
    "dirty_hours",
    "devices",
    "inputs",
    "chat_messages",
    "tariff_plans",
    "tariff_prices",
)
# user_id compared with a value (a bound parameter or a literal), not only joined to another column.
HOUSEHOLD_FILTER = re.compile(
    r"\buser_id\s*(=\s*(%\(|%[sbt]\b|\$\d|\d)|IN\s*\(|=\s*ANY\s*\()", re.IGNORECASE
)
# An INSERT of rows that carry their user_id is routed by that value.
ROUTED_INSERT = re.compile(r"^INSERT INTO \w+ \([^)]*\buser_id\b[^)]*\) VALUES", re.IGNORECASE)
TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+(\w+)", re.IGNORECASE)

# Statements that fan out across households on purpose: a pattern each, and why.
FAN_OUT = {
    # The rollup works through every household's dirty hours, oldest first (scheduler, not a
    # request): a multi-shard job, which Citus runs shard by shard since every join in it is on
    # (user_id, device_pk).
    r"FROM dirty_hours\b.*ORDER BY dirty_hours\.hour_start": "rollup: the oldest dirty hours",
    r"max\(dirty_hours\.hour_start\)": "rollup: the newest dirty hour",
    r"count\(\*\).*FROM dirty_hours": "rollup: the backlog, for its log and the status page",
    r"DELETE FROM dirty_hours WHERE hour_start <=": "rollup: its claim of the oldest dirty hours",
    r"^WITH batch AS MATERIALIZED \( SELECT u AS user_id": "rollup: recompute the claimed hours",
    r"^UPDATE devices SET first_reading_at": "rollup: first readings of the claimed devices",
    r"^INSERT INTO daily_aggregates \(user_id, device_pk, day_start": (
        "rollup: the days of the recomputed hours, summed again from them"
    ),
    # The administrator's status page (energy_core/status.py) and /metrics: totals of the
    # whole installation.
    r"^SELECT count\(\*\) FROM (devices|readings|hourly_aggregates|chat_messages)$": "status",
    r"^SELECT min\(dirty_hours\.hour_start\) AS min_1 FROM dirty_hours$": "status: rollup lag",
    # Single readings that arrive together, from any household, share one statement
    # (ingest_api/singles.py): a multi-shard statement on Citus (docs/scale.md).
    r"^PREPARE energy_single_readings \(.*\) AS WITH input AS \( SELECT \* FROM unnest\( \$1": (
        "ingest: grouped single readings"
    ),
}


@pytest.fixture
def pg_engine(request) -> Iterator[Engine]:
    url = empty_postgres_database(request.getfixturevalue("postgres_url"))
    with code_under_test_on(url):
        engine = make_engine(url)
        yield engine
        engine.dispose()


@contextmanager
def recorded() -> Iterator[list[tuple[str, object]]]:
    """Every statement sent: SQLAlchemy's through its event, and those the ingest path sends on
    the driver's own cursors (sql/ingest.py, singles.py) by wrapping psycopg's execute; the
    grouped single readings' statement as the PREPARE that names it (sql/prepared.py)."""
    statements: list[tuple[str, object]] = []

    def keep(statement: object, parameters: object, cursor: object) -> None:
        if isinstance(statement, bytes):
            statement = statement.decode()
        elif not isinstance(statement, str):
            statement = statement.as_string(cursor)
        statements.append((" ".join(statement.split()), parameters))

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        keep(statement, None if executemany else parameters, cursor)

    def wrapped(original):  # noqa: ANN001, ANN202
        def execute(self, query, params=None, **kwargs):  # noqa: ANN001, ANN202
            keep(query, None, self)
            return original(self, query, params, **kwargs)

        return execute

    def wrapped_async(original):  # noqa: ANN001, ANN202
        async def execute(self, query, params=None, **kwargs):  # noqa: ANN001, ANN202
            keep(query, None, self)
            return await original(self, query, params, **kwargs)

        return execute

    event.listen(Engine, "before_cursor_execute", record)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(psycopg.Cursor, "execute", wrapped(psycopg.Cursor.execute))
        patch.setattr(psycopg.AsyncCursor, "execute", wrapped_async(psycopg.AsyncCursor.execute))
        try:
            yield statements
        finally:
            event.remove(Engine, "before_cursor_execute", record)


def household_tables(statement: str) -> set[str]:
    return {t.lower() for t in TABLE.findall(statement)} & set(DISTRIBUTED)


def fan_out_reason(statement: str) -> str | None:
    for pattern, reason in FAN_OUT.items():
        if re.search(pattern, statement, re.IGNORECASE | re.DOTALL):
            return reason
    return None


def run_the_product(engine: Engine, household: Household) -> int:
    user_id = household.user_id
    now = utcnow().replace(microsecond=0)
    with TestClient(create_app()) as client:
        key, read = auth(household.household_key), auth(household.read_key)
        batch = [
            {
                "device_id": d,
                "timestamp": (now - timedelta(minutes=5 * i)).isoformat(),
                "energy_watts": w,
            }
            for i in range(36)
            for d, w in (("fridge", 90.0 + i), ("heater", 1500.0), ("solar", -400.0))
        ]
        assert (
            client.post(
                "/api/v1/telemetry/batch", json={"readings": batch}, headers=key
            ).status_code
            == 201
        )
        single = {
            "device_id": "fridge",
            "timestamp": (now + timedelta(seconds=1)).isoformat(),
            "energy_watts": 80,
        }
        assert client.post("/api/v1/telemetry", json=single, headers=key).status_code == 201
        rollup_dirty_hours(engine)
        since = (now - timedelta(hours=4)).isoformat()
        for path, params in (
            ("/api/v1/telemetry", {"device_id": "fridge", "since": since}),
            ("/api/v1/telemetry/aggregates/hourly", {"device_id": "fridge", "since": since}),
            ("/api/v1/telemetry/stats/fridge", {"since": since}),
            ("/api/v1/telemetry/summary", {}),
            ("/api/v1/telemetry/realtime", {}),
            ("/api/v1/telemetry/devices", {}),
        ):
            answer = client.get(path, params=params, headers=read)
            assert answer.status_code == 200, (path, answer.text)
    with session_scope(engine, read_only=True) as session:
        home = load_household(session, user_id=user_id)
        local = now.astimezone(home.tz)
        today = day_period(local.date(), now=local)
        week = week_period(local.date(), offset=0, now=local)
        week_before = day_period(local.date() - timedelta(days=7), now=local)
        read_series(session, home.select(today, granularity="hour"))
        read_series(session, home.select(week, granularity="day"))
        compare(session, home.select(today), week_before)
        hour_of_day_profile(session, home.select(week))
        baseload(session, home, now=now)
        household_now(session, home, now=now)
        ctx = ToolContext.load(session, user_id=user_id, now=now)
        for tool in tool_schemas():
            run_tool(ctx, tool["function"]["name"], {})
    return user_id


def run_the_admin_pages(engine: Engine) -> None:
    """The administrator's status page and the retention job: over every household."""
    with session_scope(engine, read_only=True) as session:
        system_status(session)


def plan_filters_on_user_id(engine: Engine, statement: str, parameters: object) -> bool:
    """EXPLAIN shows the user_id condition on a scan (index or filter), not only in the text."""
    with engine.connect() as conn:
        lines = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars().all()
        conn.rollback()
    conditions = [line for line in lines if re.search(r"(Cond|Filter):", line)]
    return any(re.search(r"\buser_id\b", line) for line in conditions)


def test_every_household_statement_filters_on_user_id(pg_engine):
    household = make_household(pg_engine)
    with recorded() as statements:
        run_the_product(pg_engine, household)
    with recorded() as admin:
        run_the_admin_pages(pg_engine)
    routed: dict[str, object] = {}
    fanned: set[str] = set()
    missing = []
    for statement, parameters in statements:
        if not household_tables(statement):
            continue
        if HOUSEHOLD_FILTER.search(statement) or ROUTED_INSERT.search(statement):
            routed.setdefault(statement, parameters)
        elif fan_out_reason(statement):
            fanned.add(fan_out_reason(statement))
        else:
            missing.append(statement)
    assert not missing, "\n\n".join(dict.fromkeys(missing))
    assert len(routed) >= 15
    # The rollup ran: its fan-out statements were seen, and nothing else fanned out.
    assert (
        fanned <= set(FAN_OUT.values()) and "rollup: its claim of the oldest dirty hours" in fanned
    )
    # The reads' plans use the filter (an index or a filter on user_id).
    selects = {
        s: p
        for s, p in routed.items()
        if s.upper().startswith(("SELECT", "WITH")) and p is not None
    }
    assert selects
    unplanned = [s for s, p in selects.items() if not plan_filters_on_user_id(pg_engine, s, p)]
    assert not unplanned, "\n\n".join(unplanned)
    # The status page's totals fan out, and say so.
    admin_fan_out = {fan_out_reason(s) for s, _ in admin if household_tables(s)}
    unexplained = [s for s, _ in admin if household_tables(s) and not fan_out_reason(s)]
    assert not unexplained, "\n\n".join(dict.fromkeys(unexplained))
    assert admin_fan_out
