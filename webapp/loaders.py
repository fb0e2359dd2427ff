"""Data for the pages: cached loaders that take plain arguments (always the user id) and return
DataFrames, and ``read_session`` / ``write_session``, which every database access of the app goes
through so that a missing database becomes a message the operator can act on instead of a
traceback. The figures of the pages are loaded in ``webapp.reads``, over the read layer.

Nothing cached is shared between users: the user id is an argument of every loader, and every
energy_core call below is scoped by it. Times in the frames are aware datetimes: UTC for instants
(``*_at``), the user's timezone for the periods of a series.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlmodel import Session

from energy_core.accounts import (
    ApiKeyInfo,
    UserSummary,
    describe_api_keys,
    list_devices,
    list_user_summaries,
)
from energy_core.app_settings import get_registration_policy
from energy_core.db import session_scope
from energy_core.inputs import list_inputs
from energy_core.models import DevicePublic, User
from energy_core.settings import get_settings
from energy_core.status import system_status
from energy_core.types import utcnow

log = logging.getLogger(__name__)

OVERVIEW_TTL_S = 10
# Figures of ranges that end now move with every new reading; a minute old is fresh enough for
# analysis, and the range ends the pages ask for are rounded to the minute to match.
HISTORY_TTL_S = 60
# Baselines (previous period, last year) and profiles change only with late readings.
BASELINE_TTL_S = 300
SETUP_TTL_S = 30
STATUS_TTL_S = 15
_POSTGRES_UNDEFINED_TABLE = "42P01"

DATABASE_UNREACHABLE = (
    "The database is not reachable right now, so there is nothing to show. "
    "If you run this monitor: check that the database server is up and that "
    "`ENERGY_DATABASE_URL` points at it (the app's log has the details), then reload this page."
)
SCHEMA_MISSING = (
    "The database has no energy-monitor tables yet. If you run this monitor: run "
    "`energy-monitor db upgrade` (or start everything with `energy-monitor up`), then reload "
    "this page."
)


class DatabaseUnavailable(RuntimeError):
    """The database cannot be read; ``str()`` says what to do about it."""


# sqlite3 raises OperationalError for bad SQL too; only these mean the file cannot be used.
_SQLITE_UNAVAILABLE = (
    "unable to open database",
    "disk i/o error",
    "database is locked",
    "readonly database",
    "malformed",
)


def _explain(exc: SQLAlchemyError) -> str | None:
    """The message for a database that is not there or not set up; None for anything else
    (a bug, which must surface as one)."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) == _POSTGRES_UNDEFINED_TABLE or "no such table" in str(orig):
        return SCHEMA_MISSING
    if isinstance(orig, sqlite3.Error):
        text = str(orig).lower()
        return DATABASE_UNREACHABLE if any(s in text for s in _SQLITE_UNAVAILABLE) else None
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError):
        return DATABASE_UNREACHABLE
    return None


@contextmanager
def _session(*, read_only: bool) -> Iterator[Session]:
    try:
        with session_scope(read_only=read_only) as session:
            yield session
    except (OperationalError, InterfaceError, ProgrammingError, PoolTimeoutError) as exc:
        message = _explain(exc)
        if message is None:
            raise
        where = make_url(get_settings().database_url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        log.error("database %s cannot be used: %s", where, reason)
        raise DatabaseUnavailable(message) from exc


@contextmanager
def read_session() -> Iterator[Session]:
    """A read-only session; raises ``DatabaseUnavailable`` when the database cannot be used."""
    with _session(read_only=True) as session:
        yield session


@contextmanager
def write_session() -> Iterator[Session]:
    """One transaction for a form submit: commits whole or not at all; raises
    ``DatabaseUnavailable`` when the database cannot be used."""
    with _session(read_only=False) as session:
        yield session


@contextmanager
def database_guard() -> Iterator[None]:
    """For the top of a page: a database that cannot be used ends the page with the message."""
    try:
        yield
    except DatabaseUnavailable as exc:
        st.error(str(exc), icon=":material/cloud_off:")
        st.stop()


def minute(moment: datetime) -> datetime:
    """``moment`` rounded down to the minute: range ends that move with the clock give the same
    cache key for a minute."""
    return moment.replace(second=0, microsecond=0)


def hour_floor(moment: datetime) -> datetime:
    """The start of ``moment``'s UTC hour. The read layer reads raw readings for a range's partial
    hours: rolling windows start on a whole hour so that only their last hour is read raw."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_ceil(moment: datetime) -> datetime:
    floor = hour_floor(moment)
    return floor if floor == moment else floor + timedelta(hours=1)


def utc_frame(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def records_frame(kind: type, records: Iterable, *instants: str) -> pd.DataFrame:
    """``records`` of the library (dataclasses ``kind``) as a DataFrame with a column per field,
    none or many, and the UTC instants of the columns ``instants`` as datetimes."""
    columns = [f.name for f in fields(kind)]
    return utc_frame(pd.DataFrame([asdict(r) for r in records], columns=columns), *instants)


# --- devices and keys ----------------------------------------------------------------------------

# A device as the pages show it: the fields it shows the world (DevicePublic), and the max gap
# in force for it.
DEVICE_COLUMNS = [*DevicePublic.model_fields, "effective_gap_s"]


@st.cache_data(ttl=SETUP_TTL_S, show_spinner=False)
def load_devices(user_id: int) -> pd.DataFrame:
    """The user's devices, ordered by name; ``effective_gap_s`` is the device's own max_gap or
    the default."""
    default_gap = get_settings().max_gap_s
    with read_session() as session:
        devices = list_devices(session, user_id=user_id)
        rows = [
            {name: getattr(d, name) for name in DevicePublic.model_fields}
            | {"effective_gap_s": d.max_gap_s or default_gap}
            for d in devices
        ]
    frame = pd.DataFrame(rows, columns=DEVICE_COLUMNS)
    frame["max_gap_s"] = frame["max_gap_s"].astype("Int64")
    return utc_frame(frame, "created_at", "last_seen_at")


@st.cache_data(ttl=SETUP_TTL_S, show_spinner=False)
def load_api_keys(user_id: int) -> pd.DataFrame:
    """The user's API keys (prefix only, never a secret), live ones first, newest first."""
    with read_session() as session:
        keys = describe_api_keys(session, user_id=user_id)
    return records_frame(ApiKeyInfo, keys, "created_at", "last_used_at", "revoked_at")


def load_profile(user_id: int) -> dict:
    """The user's editable settings, read fresh (a form shows what is stored now)."""
    with read_session() as session:
        user = session.get(User, user_id)
        if user is None:
            return {}
        return {
            "full_name": user.full_name,
            "email": user.email,
            "timezone": user.timezone,
            "price_per_kwh": user.price_per_kwh,
            "currency": user.currency,
            "auto_register_devices": user.auto_register_devices,
            "sessions_valid_after": user.sessions_valid_after,
        }


@st.cache_data(ttl=SETUP_TTL_S, show_spinner=False)
def load_inputs(user_id: int) -> pd.DataFrame:
    """The values the user's hubs send by name (Emoncms, InfluxDB, MQTT), by name."""
    with read_session() as session:
        rows = [
            (i.input_id, i.is_watts, i.last_value, i.last_at)
            for i in list_inputs(session, user_id=user_id)
        ]
    frame = pd.DataFrame(rows, columns=["input_id", "is_watts", "last_value", "last_at"])
    return utc_frame(frame, "last_at")


def clear_setup_caches() -> None:
    """After a change to devices or keys: the pages show it at once. Clears every user's entries
    of these loaders (Streamlit clears by function), which only costs a reload."""
    from webapp.reads import load_overview, load_recent_power

    for loader in (load_devices, load_api_keys, load_inputs, load_overview, load_recent_power):
        loader.clear()


def clear_figure_caches() -> None:
    """After a change that moves figures (a device deleted, a price or timezone changed)."""
    from webapp.reads import FIGURE_LOADERS

    clear_setup_caches()
    for loader in FIGURE_LOADERS:
        loader.clear()


# --- administration ------------------------------------------------------------------------------


@st.cache_data(ttl=SETUP_TTL_S, show_spinner=False)
def load_users(admin_id: int) -> pd.DataFrame:
    """Every account, for the admin ``admin_id`` (part of the key: nothing cached is shared)."""
    with read_session() as session:
        users = list_user_summaries(session)
    return records_frame(UserSummary, users, "locked_until", "created_at")


def load_registration_policy() -> dict:
    with read_session() as session:
        policy = get_registration_policy(session)
    return {"enabled": policy.enabled, "domains": list(policy.domains)}


@st.cache_data(ttl=STATUS_TTL_S, show_spinner=False)
def load_system_status(admin_id: int) -> dict:
    """The monitor's own state (``energy_core.status.system_status``) as plain data: ``jobs``
    and ``tables`` as DataFrames, the rest as values."""
    with read_session() as session:
        status = system_status(session)
    data = asdict(status)
    data["jobs"] = utc_frame(
        pd.DataFrame(data["jobs"], columns=[f.name for f in fields(status.jobs[0])])
        if status.jobs
        else pd.DataFrame(
            columns=[
                "job",
                "started_at",
                "finished_at",
                "duration_s",
                "hours_computed",
                "error",
                "age_s",
            ]
        ),
        "started_at",
        "finished_at",
    )
    data["tables"] = pd.DataFrame(data["tables"], columns=["table", "rows", "estimated"])
    return data


def now_utc() -> datetime:
    """The app's clock: every page takes "now" from here (and tests may pin it)."""
    return utcnow()
