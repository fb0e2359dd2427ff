"""Row-level security on PostgreSQL: which household a transaction works for.

Every table with a ``user_id`` column carries two policies (migration 0090): a row is visible and
writable when its ``user_id`` is the transaction's household (setting ``energy.household``), or
when the transaction works in system scope (setting ``energy.scope = 'system'``). Both settings
are transaction-local (``set_config(..., true)``, i.e. ``SET LOCAL``): a pooled connection never
carries them into the next transaction. A query that forgot its ``user_id`` filter therefore
returns the household's own rows, and nothing at all in a transaction that set neither.

Sessions say what they work for through ``session.info``; a listener applies it at the start of
every transaction, so a session that commits and goes on keeps its household. SQLite has no
row-level security: there the settings are kept on the session and never sent.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.orm import Session, SessionTransaction

from energy_core.errors import CoreError, ErrorKind

HOUSEHOLD_SETTING = "energy.household"
SCOPE_SETTING = "energy.scope"
SYSTEM = "system"

P = ParamSpec("P")
R = TypeVar("R")

_HOUSEHOLD = "energy_household"
_SYSTEM = "energy_system"
_PINNED = "energy_household_pinned"
_DEFAULT_SCOPE = "energy_default_scope"
_APPLIED = "energy_scope_applied"

# The policies of one table, created by migrations (0090 for the tables it found; a later table
# with a ``user_id`` calls ``protect_table_sql`` in its own migration). ``nullif``: once a
# transaction that set the household ends, the setting reads '' rather than NULL.
_HOUSEHOLD_ROW = f"user_id = nullif(current_setting('{HOUSEHOLD_SETTING}', true), '')::bigint"
_SYSTEM_SCOPE = f"current_setting('{SCOPE_SETTING}', true) = '{SYSTEM}'"


class HouseholdMismatch(CoreError, RuntimeError):
    """A session that works for one household was asked to work for another: a defect."""

    kind = ErrorKind.forbidden
    code = "household_mismatch"


def protect_table_sql(table: str) -> list[str]:
    """The statements that put ``table`` (with a ``user_id`` column) under row-level security,
    its owner included (FORCE): only its household's rows, or every row in system scope."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS household_rows ON {table}",
        f"DROP POLICY IF EXISTS system_scope ON {table}",
        f"CREATE POLICY household_rows ON {table} "
        f"USING ({_HOUSEHOLD_ROW}) WITH CHECK ({_HOUSEHOLD_ROW})",
        f"CREATE POLICY system_scope ON {table} "
        f"USING ({_SYSTEM_SCOPE}) WITH CHECK ({_SYSTEM_SCOPE})",
    ]


def unprotect_table_sql(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS system_scope ON {table}",
        f"DROP POLICY IF EXISTS household_rows ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


# Tables (not partitions: a query through a partitioned parent is filtered by the parent's
# policies) that have a ``user_id`` column but lack forced row-level security or a policy.
_UNPROTECTED = """
SELECT c.relname
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace AND n.nspname = current_schema()
JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND NOT (c.relrowsecurity AND c.relforcerowsecurity
           AND EXISTS (SELECT 1 FROM pg_policy AS p
                       WHERE p.polrelid = c.oid AND p.polname = 'household_rows')
           AND EXISTS (SELECT 1 FROM pg_policy AS p
                       WHERE p.polrelid = c.oid AND p.polname = 'system_scope'))
ORDER BY c.relname
"""


def unprotected_tables(conn: Connection) -> list[str]:
    """Tables of the PostgreSQL database behind ``conn`` that hold households' rows (a
    ``user_id`` column) without row-level security: none, after the migrations."""
    return list(conn.execute(text(_UNPROTECTED)).scalars())


def protected_tables(conn: Connection) -> list[str]:
    """Tables of the PostgreSQL database behind ``conn`` under the household policies."""
    return list(
        conn.execute(
            text(
                "SELECT DISTINCT c.relname FROM pg_policy AS p JOIN pg_class AS c "
                "ON c.oid = p.polrelid WHERE p.polname = 'household_rows' "
                "AND c.relnamespace = current_schema()::regnamespace ORDER BY c.relname"
            )
        ).scalars()
    )


def act_for_household(session: Session, user_id: int, *, pin: bool = False) -> None:
    """Let ``session`` see and write only the rows of household ``user_id`` from now on, in this
    transaction and the next ones, until a library function of another household says otherwise.

    ``pin`` (what a shell does for its caller: the key's or the signed-in user's household) holds
    the session to that household for good: working for another one then raises. A session in
    system scope keeps it (it works across households on purpose)."""
    current = session.info.get(_HOUSEHOLD)
    if session.info.get(_PINNED) and current != user_id:
        raise HouseholdMismatch(
            f"this session works for household {current}, not for household {user_id}"
        )
    if pin:
        session.info[_PINNED] = True
    if current == user_id or session.info.get(_SYSTEM):
        return
    session.info[_HOUSEHOLD] = user_id
    _apply_now(session)


def for_household(function: Callable[P, R]) -> Callable[P, R]:
    """Mark a library function of one household (a ``Session`` first, ``user_id`` as keyword):
    its session works for that household from the call on (``act_for_household``), so a query
    of it that forgot its ``user_id`` filter still sees no other household's rows; in a session
    a shell pinned to another household, the call raises instead."""

    @functools.wraps(function)
    def scoped(*args: P.args, **kwargs: P.kwargs) -> R:
        act_for_household(args[0], kwargs["user_id"])
        return function(*args, **kwargs)

    return scoped


def act_for_system(session: Session) -> None:
    """Let ``session`` see and write every household's rows: only for work that is across
    households by nature (the rollup, retention, key lookup, status, user management)."""
    if not session.info.get(_SYSTEM):
        session.info[_SYSTEM] = True
        _apply_now(session)


@contextmanager
def across_households(session: Session) -> Iterator[None]:
    """System scope for the block only: for a lookup that finds the household (an API key by its
    hash) before anything of that household is read or written."""
    if session.info.get(_SYSTEM):
        yield
        return
    act_for_system(session)
    try:
        yield
    except BaseException:
        session.info[_SYSTEM] = False
        session.info.pop(_APPLIED, None)
        # A failed statement aborted the transaction (or the connection is gone): nothing more
        # runs in it, and its rollback ends the scope. The block's own error is the one to see.
        with contextlib.suppress(Exception):
            _apply_now(session)
        raise
    session.info[_SYSTEM] = False
    _apply_now(session)


# For a program of its own (pg_dump, the single-reading writer's connection): libpq's ``options``.
SYSTEM_SCOPE_OPTION = f"-c {SCOPE_SETTING}={SYSTEM}"


def enter_system_scope(conn: Connection) -> None:
    """System scope for the transaction of a plain connection (PostgreSQL; nothing on SQLite)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT set_config('{SCOPE_SETTING}', '{SYSTEM}', true)")


def system_engine(engine: Engine) -> Engine:
    """``engine`` (the same pool) whose plain connections, and whose ``session_scope`` sessions
    without a household, work in system scope: for tools that look at the whole database as its
    operator does, such as tests that check what the code under test wrote."""
    return engine.execution_options(**{_DEFAULT_SCOPE: SYSTEM})


def works_across_households_by_default(engine: Engine) -> bool:
    return engine.get_execution_options().get(_DEFAULT_SCOPE) == SYSTEM


def _wanted(session: Session) -> tuple[int | None, bool]:
    return session.info.get(_HOUSEHOLD), bool(session.info.get(_SYSTEM))


def _apply_now(session: Session) -> None:
    """Send the session's scope at once when a transaction is already open on PostgreSQL; else the
    listener sends it when the next transaction begins."""
    if not session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return  # (on SQLite, asking for the connection would begin its transaction early)
    connection = session.connection()  # a new connection is sent the scope as it begins
    if session.info.get(_APPLIED) != _wanted(session):
        _send(session, connection)


def _send(session: Session, connection: Connection) -> None:
    household, system = _wanted(session)
    connection.execute(
        text(
            "SELECT set_config(:household_setting, :household, true), "
            "set_config(:scope_setting, :scope, true)"
        ),
        {
            "household_setting": HOUSEHOLD_SETTING,
            "household": "" if household is None else str(household),
            "scope_setting": SCOPE_SETTING,
            "scope": SYSTEM if system else "",
        },
    )
    session.info[_APPLIED] = (household, system)


@event.listens_for(Engine, "begin")
def _on_engine_begin(connection: Connection) -> None:
    # A plain connection of a ``system_engine`` (not a session's: sessions say their own scope).
    if connection.get_execution_options().get(_DEFAULT_SCOPE) == SYSTEM:
        enter_system_scope(connection)


@event.listens_for(Session, "after_begin")
def _on_begin(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    session.info.pop(_APPLIED, None)
    if connection.dialect.name != "postgresql":
        return
    household, system = _wanted(session)
    if household is not None or system:
        _send(session, connection)


@event.listens_for(Session, "after_transaction_end")
def _on_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_APPLIED, None)


# --- the application's database role -----------------------------------------------------------

_ROLE_ATTRIBUTES = """
SELECT r.rolsuper, r.rolbypassrls,
       EXISTS (SELECT 1 FROM pg_tables AS t
               WHERE t.schemaname = current_schema() AND t.tableowner = r.rolname)
FROM pg_roles AS r WHERE r.rolname = :role
"""


class UnsafeAppRole(CoreError, ValueError):
    """A role that row-level security would not hold: it cannot be the application's."""

    kind = ErrorKind.invalid
    code = "unsafe_app_role"


def check_app_role(conn: Connection, role: str) -> None:
    """Raise ``UnsafeAppRole`` unless ``role`` exists and row-level security holds it: not a
    superuser, no BYPASSRLS, and owner of no table (an owner may turn the policies off)."""
    found = conn.execute(text(_ROLE_ATTRIBUTES), {"role": role}).first()
    if found is None:
        raise UnsafeAppRole(
            f"There is no role {role!r}: create it first, e.g. "
            f"CREATE ROLE {role} LOGIN PASSWORD '...' NOSUPERUSER NOBYPASSRLS."
        )
    superuser, bypass, owner = found
    if superuser or bypass:
        raise UnsafeAppRole(
            f"Role {role!r} is a superuser or has BYPASSRLS, so row-level security never applies "
            f"to it: ALTER ROLE {role} NOSUPERUSER NOBYPASSRLS, or choose another role."
        )
    if owner:
        raise UnsafeAppRole(
            f"Role {role!r} owns tables of this schema and could turn their row-level security "
            "off: let the application connect as a role that owns nothing."
        )


def ensure_app_role(conn: Connection, role: str, password: str) -> str:
    """Create ``role`` as a login role that row-level security holds (no superuser, no
    BYPASSRLS, no CREATEDB/CREATEROLE) with ``password``, or set the password of the existing
    role, so that a deployment can rotate it by changing one setting. Needs a role that may
    create roles. Returns what it did, in words."""
    if not password:
        raise UnsafeAppRole(f"No password given for role {role!r}: a login role needs one.")
    quote = conn.dialect.identifier_preparer.quote
    # Role statements take no bind parameters: the password goes in as a quoted literal.
    literal = "'" + password.replace("'", "''") + "'"
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if exists is None:
        conn.exec_driver_sql(
            f"CREATE ROLE {quote(role)} LOGIN PASSWORD {literal} "
            "NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
        )
        return f"Created role {role} (login, no superuser, no BYPASSRLS)."
    conn.exec_driver_sql(f"ALTER ROLE {quote(role)} LOGIN PASSWORD {literal}")
    return f"Role {role} exists; its password is set."


def grant_app_role(conn: Connection, role: str) -> list[str]:
    """Let ``role`` (checked by ``check_app_role``) read and write rows under row-level security
    and change nothing else, in tables the owner makes later too. Run as the tables' owner;
    returns the statements run."""
    check_app_role(conn, role)
    quote = conn.dialect.identifier_preparer.quote
    database = quote(conn.execute(text("SELECT current_database()")).scalar_one())
    schema = quote(conn.execute(text("SELECT current_schema()")).scalar_one())
    who = quote(role)
    statements = [
        f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {who}",
        f"GRANT USAGE ON SCHEMA {schema} TO {who}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {who}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {who}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {who}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
        f"GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {who}",
    ]
    for statement in statements:
        conn.exec_driver_sql(statement)
    return statements
