"""Data for the pages: cached loaders that take plain arguments (always the user id) and return
DataFrames, and ``read_session`` / ``write_session``, which every database access of the app goes
through so that a missing database becomes a message the operator can act on instead of a
traceback.

Nothing cached is shared between users: the user id is an argument of every loader, and every
energy_core call below is scoped by it. Times in the frames are aware datetimes: UTC for instants
(``*_at``), the user's timezone for the periods of a series.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlmodel import Session

from energy_core.accounts import describe_api_keys, list_devices, list_user_summaries
from energy_core.aggregates import EnergyPoint, energy_series
from energy_core.app_settings import get_registration_policy
from energy_core.db import session_scope
from energy_core.devicestats import device_hours, device_stats, require_device_ref
from energy_core.history import (
    Range,
    compare_ranges,
    device_totals,
    household_series,
    weekday_hour_profile,
)
from energy_core.models import User
from energy_core.overview import DeviceStatus, device_overview, recent_power
from energy_core.power import raw_power
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
    """The start of ``moment``'s UTC hour. energy_series reads raw readings for a range's partial
    hours, and when both ends are partial it reads every raw reading between them: rolling
    windows start on a whole hour so that only their last hour is read raw."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_ceil(moment: datetime) -> datetime:
    floor = hour_floor(moment)
    return floor if floor == moment else floor + timedelta(hours=1)


def _utc(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


# --- live ----------------------------------------------------------------------------------------


@st.cache_data(ttl=OVERVIEW_TTL_S, show_spinner=False)
def load_overview(user_id: int) -> pd.DataFrame:
    """One row per device of the user: power now, online, last seen, energy and cost today.

    Columns are the fields of ``energy_core.overview.DeviceStatus``; times are UTC.
    """
    with read_session() as session:
        statuses = device_overview(session, user_id=user_id, now=now_utc())
    frame = pd.DataFrame([asdict(status) for status in statuses], columns=OVERVIEW_COLUMNS)
    _utc(frame, *_TIME_COLUMNS)
    return frame.astype(
        {"power_w": "float64", "today_energy_wh": "float64", "today_cost": "float64"}
    )


RECENT_COLUMNS = ["device_id", "bucket_start", "mean_w", "min_w", "max_w", "samples"]


@st.cache_data(ttl=OVERVIEW_TTL_S, show_spinner=False)
def load_recent_power(user_id: int, minutes: int = 60) -> pd.DataFrame:
    """Per device and minute of the last ``minutes``: min, mean and max power (UTC minutes)."""
    with read_session() as session:
        buckets = recent_power(session, user_id=user_id, minutes=minutes, now=now_utc())
    frame = pd.DataFrame(
        [(b.device_id, b.start, b.mean_w, b.min_w, b.max_w, b.samples) for b in buckets],
        columns=RECENT_COLUMNS,
    )
    return _utc(frame, "bucket_start")


# --- devices and keys ----------------------------------------------------------------------------

DEVICE_COLUMNS = [
    "device_id",
    "name",
    "type",
    "location",
    "is_active",
    "bidirectional",
    "max_gap_s",
    "effective_gap_s",
    "created_at",
    "last_seen_at",
]


@st.cache_data(ttl=SETUP_TTL_S, show_spinner=False)
def load_devices(user_id: int) -> pd.DataFrame:
    """The user's devices, ordered by name; ``effective_gap_s`` is the device's own max_gap or
    the default."""
    default_gap = get_settings().max_gap_s
    with read_session() as session:
        devices = list_devices(session, user_id=user_id)
        rows = [
            (
                d.device_id,
                d.name,
                d.type,
                d.location,
                d.is_active,
                d.bidirectional,
                d.max_gap_s,
                d.max_gap_s or default_gap,
                d.created_at,
                d.last_seen_at,
            )
            for d in devices
        ]
    frame = pd.DataFrame(rows, columns=DEVICE_COLUMNS)
    frame["max_gap_s"] = frame["max_gap_s"].astype("Int64")
    return _utc(frame, "created_at", "last_seen_at")


KEY_COLUMNS = [
    "id",
    "prefix",
    "name",
    "scope",
    "device_id",
    "device_name",
    "created_at",
    "last_used_at",
    "revoked_at",
]


@st.cache_data(ttl=SETUP_TTL_S, show_spinner=False)
def load_api_keys(user_id: int) -> pd.DataFrame:
    """The user's API keys (prefix only, never a secret), live ones first, newest first."""
    with read_session() as session:
        keys = describe_api_keys(session, user_id=user_id)
    frame = pd.DataFrame([asdict(k) for k in keys], columns=KEY_COLUMNS)
    return _utc(frame, "created_at", "last_used_at", "revoked_at")


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


def clear_setup_caches() -> None:
    """After a change to devices or keys: the pages show it at once. Clears every user's entries
    of these loaders (Streamlit clears by function), which only costs a reload."""
    for loader in (load_devices, load_api_keys, load_overview, load_recent_power):
        loader.clear()


def clear_figure_caches() -> None:
    """After a change that moves figures (a device deleted, a price or timezone changed)."""
    clear_setup_caches()
    for loader in (
        load_history,
        load_comparison,
        load_heatmap,
        load_device_stats,
        load_device_hours,
        load_raw_power,
    ):
        loader.clear()


# --- history -------------------------------------------------------------------------------------

SERIES_COLUMNS = [
    "period_start",
    "period_end",
    "device_id",
    "energy_wh",
    "covered_s",
    "span_s",
    "coverage",
    "avg_w",
    "min_w",
    "max_w",
    "sample_count",
]


def _series_frame(points, timezone: str) -> pd.DataFrame:  # noqa: ANN001 - EnergyPoints
    frame = pd.DataFrame(
        [
            (
                p.period_start,
                p.period_end,
                p.device_id,
                p.energy_wh,
                p.covered_s,
                p.span_s,
                p.coverage,
                p.avg_w,
                p.min_w,
                p.max_w,
                p.sample_count,
            )
            for p in points
        ],
        columns=SERIES_COLUMNS,
    )
    for column in ("period_start", "period_end"):
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(timezone)
    return frame.astype({"avg_w": "float64", "min_w": "float64", "max_w": "float64"})


def _filters(device_ids: tuple[str, ...] | None, locations: tuple[str, ...] | None):  # noqa: ANN202
    return (
        list(device_ids) if device_ids is not None else None,
        list(locations) if locations is not None else None,
    )


@st.cache_data(ttl=HISTORY_TTL_S, show_spinner=False)
def load_history(
    user_id: int,
    start: datetime,
    end: datetime,
    granularity: str,
    timezone: str,
    device_ids: tuple[str, ...] | None = None,
    locations: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """``energy_series`` per device and period (periods in ``timezone``)."""
    devices, rooms = _filters(device_ids, locations)
    with read_session() as session:
        points = energy_series(
            session,
            user_id=user_id,
            start=start,
            end=end,
            granularity=granularity,
            device_ids=devices,
            locations=rooms,
            timezone=timezone,
        )
    return _series_frame(points, timezone)


def _points_of(series: pd.DataFrame) -> list[EnergyPoint]:
    return [
        EnergyPoint(
            period_start=row.period_start,
            period_end=row.period_end,
            device_id=row.device_id,
            energy_wh=row.energy_wh,
            covered_s=row.covered_s,
            span_s=row.span_s,
            sample_count=row.sample_count,
        )
        for row in series.itertuples()
    ]


TOTAL_COLUMNS = ["device_id", "energy_wh", "coverage", "share"]


def totals_of(series: pd.DataFrame) -> pd.DataFrame:
    """Each device's energy, coverage and share over a loaded series (``device_totals``)."""
    totals = device_totals(_points_of(series))
    return pd.DataFrame(
        [(t.device_id, t.energy_wh, t.coverage, t.share) for t in totals], columns=TOTAL_COLUMNS
    ).astype({"share": "float64"})


def household_of(series: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """The household's series from a loaded per-device one (``household_series``)."""
    return _series_frame(household_series(_points_of(series)), timezone)


COMPARISON_COLUMNS = [
    "device_id",
    "energy_wh",
    "coverage",
    "previous_wh",
    "previous_coverage",
    "previous_delta_wh",
    "previous_change",
    "last_year_wh",
    "last_year_coverage",
    "last_year_delta_wh",
    "last_year_change",
]


@st.cache_data(ttl=HISTORY_TTL_S, show_spinner=False)
def load_comparison(
    user_id: int,
    current: tuple[datetime, datetime],
    previous: tuple[datetime, datetime],
    last_year: tuple[datetime, datetime],
    timezone: str,
    device_ids: tuple[str, ...] | None = None,
    locations: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """The household (``device_id`` None) and each device over the range and both baselines;
    changes are None where a baseline has no data."""
    devices, rooms = _filters(device_ids, locations)
    with read_session() as session:
        rows = compare_ranges(
            session,
            user_id=user_id,
            current=Range(*current),
            previous=Range(*previous),
            last_year=Range(*last_year),
            device_ids=devices,
            locations=rooms,
            timezone=timezone,
        )
    return pd.DataFrame(
        [
            (
                r.device_id,
                r.current.energy_wh,
                r.current.coverage,
                r.previous.energy_wh,
                r.previous.coverage,
                r.vs_previous.delta_wh,
                r.vs_previous.ratio,
                r.last_year.energy_wh,
                r.last_year.coverage,
                r.vs_last_year.delta_wh,
                r.vs_last_year.ratio,
            )
            for r in rows
        ],
        columns=COMPARISON_COLUMNS,
    ).astype(dict.fromkeys(COMPARISON_COLUMNS[1:], "float64"))


HEATMAP_COLUMNS = ["weekday", "hour", "avg_w", "energy_wh", "covered_s", "hours"]


@st.cache_data(ttl=BASELINE_TTL_S, show_spinner=False)
def load_heatmap(
    user_id: int,
    start: datetime,
    end: datetime,
    timezone: str,
    device_ids: tuple[str, ...] | None = None,
    locations: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Average household power per weekday (0 = Monday) and local hour over the range."""
    devices, rooms = _filters(device_ids, locations)
    with read_session() as session:
        cells = weekday_hour_profile(
            session,
            user_id=user_id,
            start=start,
            end=end,
            device_ids=devices,
            locations=rooms,
            timezone=timezone,
        )
    return pd.DataFrame(
        [(c.weekday, c.hour, c.avg_w, c.energy_wh, c.covered_s, c.hours) for c in cells],
        columns=HEATMAP_COLUMNS,
    ).astype({"avg_w": "float64"})


# --- one device ----------------------------------------------------------------------------------

STATS_COLUMNS = [
    "device_id",
    "energy_wh",
    "avg_w",
    "min_w",
    "max_w",
    "sample_count",
    "coverage",
    "standby_w",
    "duty_cycle",
    "active_s",
    "covered_s",
    "gap_s",
    "gaps",
    "gaps_truncated",
    "max_gap_s",
]
GAP_COLUMNS = ["gap_start", "gap_end", "duration_s"]


@st.cache_data(ttl=HISTORY_TTL_S, show_spinner=False)
def load_device_stats(
    user_id: int, device_id: str, start: datetime, end: datetime, standby_w: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row of statistics of the device over the range, and its gaps (UTC)."""
    with read_session() as session:
        stats = device_stats(
            session,
            user_id=user_id,
            device_id=device_id,
            start=start,
            end=end,
            standby_w=standby_w,
        )
    summary = pd.DataFrame(
        [
            (
                stats.device.device_id,
                stats.energy_wh,
                stats.avg_w,
                stats.min_w,
                stats.max_w,
                stats.sample_count,
                stats.coverage,
                stats.standby_w,
                stats.duty_cycle,
                stats.active_s,
                stats.covered_s,
                stats.gap_s,
                len(stats.gaps),
                stats.gaps_truncated,
                stats.device.max_gap_s,
            )
        ],
        columns=STATS_COLUMNS,
    ).astype({"avg_w": "float64", "min_w": "float64", "max_w": "float64", "duty_cycle": "float64"})
    gaps = pd.DataFrame([(g.start, g.end, g.duration_s) for g in stats.gaps], columns=GAP_COLUMNS)
    return summary, _utc(gaps, "gap_start", "gap_end")


@st.cache_data(ttl=HISTORY_TTL_S, show_spinner=False)
def load_device_hours(
    user_id: int, device_id: str, start: datetime, end: datetime, timezone: str
) -> pd.DataFrame:
    """The device's local hours over the range (``energy_series`` at hour granularity)."""
    with read_session() as session:
        points = device_hours(session, user_id=user_id, device_id=device_id, start=start, end=end)
    return _series_frame(points, timezone)


RAW_COLUMNS = ["time", "power_w"]
BUCKET_COLUMNS = ["bucket_start", "bucket_end", "min_w", "mean_w", "max_w", "samples"]


@st.cache_data(ttl=HISTORY_TTL_S, show_spinner=False)
def load_raw_power(user_id: int, device_id: str, start: datetime, end: datetime) -> pd.DataFrame:
    """The device's readings in the window: ``time, power_w`` when there are few enough to show
    them all, otherwise min/mean/max buckets (``bucket_start`` ... ``samples``), times UTC."""
    with read_session() as session:
        device = require_device_ref(session, user_id=user_id, device_id=device_id)
        raw = raw_power(session, user_id=user_id, device=device, start=start, end=end)
    if not raw.downsampled:
        return _utc(pd.DataFrame(raw.points, columns=RAW_COLUMNS), "time")
    width = timedelta(seconds=raw.bucket_s)
    frame = pd.DataFrame(
        [(b.start, b.start + width, b.min_w, b.mean_w, b.max_w, b.samples) for b in raw.buckets],
        columns=BUCKET_COLUMNS,
    )
    return _utc(frame, "bucket_start", "bucket_end")


# --- administration ------------------------------------------------------------------------------

USER_COLUMNS = [
    "id",
    "email",
    "full_name",
    "role",
    "is_active",
    "timezone",
    "devices",
    "failed_logins",
    "locked_until",
    "created_at",
]


@st.cache_data(ttl=SETUP_TTL_S, show_spinner=False)
def load_users(admin_id: int) -> pd.DataFrame:
    """Every account, for the admin ``admin_id`` (part of the key: nothing cached is shared)."""
    with read_session() as session:
        users = list_user_summaries(session)
    frame = pd.DataFrame([asdict(u) for u in users], columns=USER_COLUMNS)
    return _utc(frame, "locked_until", "created_at")


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
    data["jobs"] = _utc(
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
