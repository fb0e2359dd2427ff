"""Data for the pages: cached loaders that take plain arguments (always the user id) and return
DataFrames, and ``read_session``, which every database read of the app goes through so that a
missing database becomes a message the operator can act on instead of a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields

import pandas as pd
import streamlit as st
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlmodel import Session

from energy_core.db import session_scope
from energy_core.overview import DeviceStatus, device_overview
from energy_core.settings import get_settings

log = logging.getLogger(__name__)

OVERVIEW_TTL_S = 10
OVERVIEW_COLUMNS = [field.name for field in fields(DeviceStatus)]
_TIME_COLUMNS = ("reading_at", "last_seen_at")
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


def _explain(exc: SQLAlchemyError) -> str | None:
    """The message for a database that is not there or not set up; None for anything else."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) == _POSTGRES_UNDEFINED_TABLE or "no such table" in str(orig):
        return SCHEMA_MISSING
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError):
        return DATABASE_UNREACHABLE
    return None


@contextmanager
def read_session() -> Iterator[Session]:
    """A read-only session; raises ``DatabaseUnavailable`` when the database cannot be used."""
    try:
        with session_scope(read_only=True) as session:
            yield session
    except (OperationalError, InterfaceError, ProgrammingError, PoolTimeoutError) as exc:
        message = _explain(exc)
        if message is None:
            raise
        where = make_url(get_settings().database_url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        log.error("database %s cannot be used: %s", where, reason)
        raise DatabaseUnavailable(message) from exc


@st.cache_data(ttl=OVERVIEW_TTL_S, show_spinner=False)
def load_overview(user_id: int) -> pd.DataFrame:
    """One row per device of the user: power now, online, last seen and energy today.

    Columns are the fields of ``energy_core.overview.DeviceStatus``; times are UTC.
    """
    with read_session() as session:
        statuses = device_overview(session, user_id=user_id)
    frame = pd.DataFrame([asdict(status) for status in statuses], columns=OVERVIEW_COLUMNS)
    for column in _TIME_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.astype({"power_w": "float64", "today_energy_wh": "float64"})
