"""How the monitor itself is doing, for administrators: database, cache, background jobs, the
backlog of hours waiting for the rollup, and how big the tables are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, func, select

from energy_core.cache import Cache, get_cache
from energy_core.household_scope import act_for_system
from energy_core.models import DirtyHour, JobRun
from energy_core.mqtt_status import bridge_status
from energy_core.records import record_of
from energy_core.rollup import dirty_backlog
from energy_core.settings import Settings, get_settings
from energy_core.types import utcnow

# Tables counted on the status page, biggest last. Below this many rows a table is counted
# exactly; above it PostgreSQL's planner estimate is used, since count(*) would scan it all.
COUNTED_TABLES = ("users", "devices", "api_keys", "chat_messages", "hourly_aggregates", "readings")
EXACT_BELOW_ROWS = 200_000


@dataclass(frozen=True)
class TableSize:
    table: str
    rows: int
    estimated: bool


@dataclass(frozen=True)
class JobState:
    job: str
    started_at: datetime
    finished_at: datetime | None
    duration_s: float
    hours_computed: int
    error: str | None
    # Seconds since the run finished (or started, for one still running or cut short).
    age_s: float


@dataclass(frozen=True)
class MqttBridgeState:
    """The MQTT bridge's last report: counts since it started, its lag (arrival to commit)."""

    connected: bool
    started_at: datetime
    reported_at: datetime
    received: int
    stored: int
    ignored: int
    rejected: int
    reconnects: int
    backlog: int
    lag_s: float | None
    error: str | None
    # Seconds since the report: a bridge that stopped reporting is not running.
    age_s: float


@dataclass(frozen=True)
class SystemStatus:
    checked_at: datetime
    backend: str
    server_version: str
    database: str
    cache_backend: str
    cache_configured: bool
    cache_healthy: bool
    rollup_interval_s: int
    jobs: list[JobState]
    dirty_hours: int
    oldest_dirty_hour: datetime | None
    tables: list[TableSize]
    mqtt: MqttBridgeState | None = None

    @property
    def rollup(self) -> JobState | None:
        return next((job for job in self.jobs if job.job == "rollup"), None)


def _table_size(session: Session, table: str) -> TableSize:
    if session.get_bind().dialect.name == "postgresql":
        # The planner's estimate, summed over partitions should the table be partitioned.
        estimate = session.execute(
            text(
                "SELECT COALESCE(SUM(GREATEST(c.reltuples, 0)), 0) FROM pg_class c "
                "WHERE c.oid = to_regclass(:t) OR c.oid IN "
                "(SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass(:t))"
            ),
            {"t": table},
        ).scalar_one()
        if estimate >= EXACT_BELOW_ROWS:
            return TableSize(table, int(estimate), estimated=True)
    # Table names come from COUNTED_TABLES, never from input.
    rows = session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    return TableSize(table, int(rows), estimated=False)


def _age_s(since: datetime, now: datetime) -> float:
    return (now - since).total_seconds()


def system_status(
    session: Session,
    *,
    settings: Settings | None = None,
    cache: Cache | None = None,
    now: datetime | None = None,
) -> SystemStatus:
    act_for_system(session)  # across households by nature (row-level security)
    settings = settings or get_settings()
    cache = cache if cache is not None else get_cache()
    now = now or utcnow()
    connection = session.connection()
    dialect = connection.dialect
    version = ".".join(str(part) for part in (dialect.server_version_info or ()))
    jobs = [
        record_of(JobState, run, age_s=_age_s(run.finished_at or run.started_at, now))
        for run in session.exec(select(JobRun).order_by(JobRun.job))
    ]
    oldest = session.exec(select(func.min(col(DirtyHour.hour_start)))).one()
    bridge = bridge_status(session)
    mqtt = (
        record_of(
            MqttBridgeState,
            bridge,
            reported_at=bridge.updated_at,
            lag_s=bridge.last_lag_s,
            error=bridge.last_error,
            age_s=_age_s(bridge.updated_at, now),
        )
        if bridge is not None
        else None
    )
    return SystemStatus(
        checked_at=now,
        backend={"postgresql": "PostgreSQL", "sqlite": "SQLite"}.get(dialect.name, dialect.name),
        server_version=version,
        database=make_url(settings.database_url).render_as_string(hide_password=True),
        cache_backend=cache.backend,
        cache_configured=bool(settings.redis_url),
        cache_healthy=cache.healthy(),
        rollup_interval_s=settings.rollup_interval_s,
        jobs=jobs,
        dirty_hours=dirty_backlog(session),
        oldest_dirty_hour=oldest,
        tables=[_table_size(session, table) for table in COUNTED_TABLES],
        mqtt=mqtt,
    )
