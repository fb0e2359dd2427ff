"""Hourly aggregates: recompute the hours made dirty by new readings, in SQL, idempotently."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, true
from sqlmodel import Session, col, func, select

from energy_core.daily import keep_days_of_marks, keep_days_of_ranges, keep_zones
from energy_core.db import session_scope
from energy_core.household_scope import act_for_system
from energy_core.jobs import BatchedRun, last_run, recorded_run
from energy_core.models import Device, DirtyHour, JobRun
from energy_core.retention import retention_horizon
from energy_core.settings import Settings, get_settings
from energy_core.sql.daily import stale_zones
from energy_core.sql.locks import WritersBusy
from energy_core.sql.rollup import (
    HOUR_US,
    device_hour_ranges,
    mark_range_dirty,
    recompute_dirty_hours,
    recompute_hour_ranges,
)
from energy_core.types import ceil_hour, utcnow

log = logging.getLogger(__name__)

ROLLUP_JOB = "rollup"


@dataclass
class RollupBatch:
    hours: int = 0
    rows_written: int = 0
    # Whether dirty hours beyond this batch's cutoff were there when it started.
    more: bool = False


@dataclass
class RollupRun(BatchedRun):
    # Dirty hours when the run started, and when it ended.
    backlog: int = 0
    remaining: int = 0


@dataclass(frozen=True)
class Rebuild:
    """What a rebuild recomputes: every hour that the readings of ``device_pks`` (None: every
    device) in ``[since, until)`` (either end open) can reach."""

    since: datetime | None = None
    until: datetime | None = None
    device_pks: Sequence[int] | None = None

    def __post_init__(self) -> None:
        for name, value in (("since", self.since), ("until", self.until)):
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")


EVERY_HOUR = Rebuild()


def dirty_backlog(session: Session) -> int:
    return session.exec(select(func.count()).select_from(DirtyHour)).one()


def rollup_batch(
    session: Session,
    *,
    limit: int,
    settings: Settings | None = None,
    shard: tuple[int, int] = (0, 1),
) -> RollupBatch:
    """Recompute about ``limit`` dirty (device, hour) pairs, oldest first, in the caller's
    transaction, and clear exactly the marks it read: a reading stored meanwhile leaves its hour
    dirty for the next batch. The caller holds the rollup lock (``rollup_dirty_hours`` does).
    ``shard=(k, n)`` limits the batch to devices with ``device_pk % n == k``."""
    settings = settings or get_settings()
    mine = (col(DirtyHour.device_pk) % shard[1]) == shard[0]
    # The cutoff in one round trip: the hour of the limit-th oldest mark, or the newest mark when
    # there are fewer (then this batch takes every mark there is).
    oldest = (
        select(DirtyHour.hour_start)
        .where(mine)
        .order_by(col(DirtyHour.hour_start))
        .offset(limit - 1)
        .limit(1)
        .scalar_subquery()
    )
    newest = select(func.max(DirtyHour.hour_start)).where(mine).scalar_subquery()
    at_limit, last = session.exec(select(oldest, newest)).one()
    # Everything up to the cutoff hour is taken, ties included: all devices of an hour together.
    cutoff = at_limit or last
    if cutoff is None:
        return RollupBatch()
    result = recompute_dirty_hours(
        session.connection(),
        cutoff=cutoff,
        default_gap_s=settings.max_gap_s,
        computed_at=utcnow(),
        shard=shard,
    )
    # The days of the hours written, in the same transaction: a read never sees a day's row
    # that disagrees with its hours.
    keep_days_of_marks(session.connection(), result.marks, zones=result.zones)
    return RollupBatch(
        hours=result.hours, rows_written=result.rows_written, more=at_limit is not None
    )


def rollup_dirty_hours(
    engine: Engine,
    *,
    settings: Settings | None = None,
    max_batches: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RollupRun:
    """Work through the dirty hours in bounded transactions, oldest first, until none are left.

    One scheduler works at a time: the run holds the rollup lock throughout, and a second one
    skips (and logs that it did). Each batch commits on its own, so a crash loses at most the
    batch in flight, which stays dirty and is redone by the next run; that is also how a
    scheduler that was down catches up. Runs are recorded in ``job_runs`` for status pages.
    """
    settings = settings or get_settings()
    with _rollup_run(engine) as run:
        if run.skipped:
            log.info("rollup skipped: another scheduler holds the lock")
            return run
        total = run.backlog
        catching_up = total > settings.rollup_batch_hours
        if catching_up:
            log.info("rollup catch-up: %d dirty hours to recompute", total)
        # SQLite has one writer at a time; on PostgreSQL a large backlog is shared by device.
        sqlite = engine.dialect.name == "sqlite"
        workers = settings.rollup_workers if catching_up and not sqlite else 1
        tally = threading.Lock()

        def work(shard: tuple[int, int]) -> None:
            while True:
                with tally:
                    if max_batches is not None and run.batches >= max_batches:
                        return
                try:
                    with session_scope(engine, system=True) as session:
                        batch = rollup_batch(
                            session,
                            limit=settings.rollup_batch_hours,
                            settings=settings,
                            shard=shard,
                        )
                except WritersBusy:
                    # Nothing was claimed; the marks wait for the next run.
                    log.warning("rollup: ingest transactions are still running; next run then")
                    return
                if batch.hours == 0:
                    return
                with tally:
                    run.batches += 1
                    run.hours += batch.hours
                    if progress is not None:
                        progress(run.hours, max(total, run.hours))
                    if catching_up:
                        log.info(
                            "rollup catch-up: %d of about %d dirty hours done", run.hours, total
                        )
                if not batch.more:
                    # It took every mark there was: marks made since wait for the next run.
                    return

        _on_workers(work, [(k, workers) for k in range(workers)], name="rollup")
    log.log(
        logging.INFO if run.hours else logging.DEBUG,
        "rollup: %d hours recomputed in %d batches, %.3f s, %d still dirty",
        run.hours,
        run.batches,
        run.duration_s,
        run.remaining,
    )
    return run


def _start_run(engine: Engine, run: RollupRun) -> None:
    """Note the backlog of dirty hours, and build the daily rows of households whose rows are
    not kept in their timezone (new, or the timezone was changed) before any batch, each in the
    transaction that records the zone. Both are looked for in one read-only transaction (the
    rollup works on every household's rows at once: row-level security's system scope): on
    SQLite a write transaction every minute would queue behind (and hold up) the writers of
    readings for nothing, and on PostgreSQL a transaction of its own was a few round trips more
    on every run."""
    with session_scope(engine, read_only=True, system=True) as session:
        run.backlog = dirty_backlog(session)
        stale = stale_zones(session.connection())
    if stale:
        with session_scope(engine, system=True) as session:
            keep_zones(session.connection())


def _on_workers(work: Callable[[Any], None], parts: Sequence[Any], *, name: str) -> None:
    """``work(part)`` for each of ``parts``: in this thread for one, else a thread (and so a
    connection) each; the first error is raised once all have ended."""
    if len(parts) == 1:
        work(parts[0])
        return
    with ThreadPoolExecutor(len(parts), thread_name_prefix=name) as pool:
        for future in [pool.submit(work, part) for part in parts]:
            future.result()


@contextmanager
def _rollup_run(engine: Engine) -> Iterator[RollupRun]:
    """One run under the rollup lock (see ``recorded_run``) that ends with the marks still
    there; unless it is skipped, it notes the backlog and keeps the households' daily zones
    first (``_start_run``)."""

    def note_remaining(session: Session, run: RollupRun) -> None:
        run.remaining = dirty_backlog(session)

    with recorded_run(engine, ROLLUP_JOB, RollupRun(), before_record=note_remaining) as run:
        if not run.skipped:
            _start_run(engine, run)
        yield run


def mark_for_rebuild(
    session: Session,
    rebuild: Rebuild = EVERY_HOUR,
    *,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> int:
    """Mark every hour of ``rebuild`` (default: every hour) as dirty, so that the next rollup
    recomputes it. Returns the number of hours marked. Works in SQL: no reading is loaded.

    With retention on, hours whose readings (or the readings that carry into them) may already
    be pruned are left alone: recomputing them from what is left would lose energy that their
    stored aggregate still has. ``since`` is raised to the first hour that is safe.
    """
    act_for_system(session)  # across households by nature (row-level security)
    settings = settings or get_settings()
    return mark_range_dirty(
        session.connection(),
        since=_safe_since(session, rebuild, now=now, settings=settings),
        until=rebuild.until,
        device_pks=rebuild.device_pks,
        default_gap_s=settings.max_gap_s,
    )


def _safe_since(
    session: Session, rebuild: Rebuild, *, now: datetime | None, settings: Settings
) -> datetime | None:
    """The start of what ``rebuild`` may recompute: its ``since``, raised past the hours whose
    readings retention may already have pruned."""
    since, device_pks = rebuild.since, rebuild.device_pks
    horizon = retention_horizon(now or utcnow(), settings=settings)
    if horizon is not None:
        gaps = session.exec(
            select(func.max(func.coalesce(Device.max_gap_s, settings.max_gap_s))).where(
                col(Device.id).in_(device_pks) if device_pks is not None else true()
            )
        ).one()
        safe = ceil_hour(horizon + timedelta(seconds=gaps or settings.max_gap_s))
        if since is None or since < safe:
            since = safe
    return since


def rebuild_transactions(
    ranges: Sequence[tuple[int, int, int]], *, hours: int
) -> list[list[tuple[int, int, int]]]:
    """``(device_pk, first hour, end hour)`` ranges (microseconds) packed in order into groups of
    about ``hours`` hours, one transaction each: a range longer than what is left of a group is
    cut at an hour and goes on in the next (any cut gives the same rows: readings before a run
    carry into it)."""
    groups: list[list[tuple[int, int, int]]] = []
    group: list[tuple[int, int, int]] = []
    room = hours
    for device_pk, lo, hi in ranges:
        while lo < hi:
            end = min(hi, lo + room * HOUR_US)
            group.append((device_pk, lo, end))
            room -= (end - lo) // HOUR_US
            lo = end
            if room <= 0:
                groups.append(group)
                group, room = [], hours
    if group:
        groups.append(group)
    return groups


def rebuild_aggregates(
    engine: Engine,
    rebuild: Rebuild = EVERY_HOUR,
    *,
    now: datetime | None = None,
    settings: Settings | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RollupRun:
    """Recompute every hour of ``rebuild`` (default: every hour), and store the same rows as
    ``mark_for_rebuild`` followed by ``rollup_dirty_hours`` would, with the same retention rule.

    PostgreSQL finds each device's range of hours with two index probes and recomputes it in
    long runs, without marking its hours first and claiming them back (at 10 M readings the
    marks alone cost about a tenth of the rebuild). The devices are shared by
    ``rollup_workers`` connections, each transaction about ``rollup_batch_hours`` hours. The run
    holds the rollup lock, so no rollup of dirty hours runs beside it; marks that writers make
    meanwhile stay for the next rollup. A crash loses only the transaction in flight: its hours
    keep the rows they had, and running the rebuild again completes it. SQLite marks the hours
    and rolls them up, with its one writer.
    """
    settings = settings or get_settings()
    if engine.dialect.name == "sqlite":
        with session_scope(engine, system=True) as session:
            mark_for_rebuild(session, rebuild, now=now, settings=settings)
        return rollup_dirty_hours(engine, settings=settings, progress=progress)
    with _rollup_run(engine) as run:
        if run.skipped:
            log.info("rebuild skipped: another scheduler holds the rollup lock")
            return run
        with session_scope(engine, read_only=True, system=True) as session:
            ranges = device_hour_ranges(
                session.connection(),
                since=_safe_since(session, rebuild, now=now, settings=settings),
                until=rebuild.until,
                device_pks=rebuild.device_pks,
                default_gap_s=settings.max_gap_s,
            )
        total = sum((hi - lo) // HOUR_US for _, lo, hi in ranges)
        workers = max(1, min(settings.rollup_workers, len(ranges)))
        tally = threading.Lock()

        def work(mine: Sequence[tuple[int, int, int]]) -> None:
            for group in rebuild_transactions(mine, hours=settings.rollup_batch_hours):
                with session_scope(engine, system=True) as session:
                    recompute_hour_ranges(
                        session.connection(),
                        ranges=group,
                        default_gap_s=settings.max_gap_s,
                        computed_at=utcnow(),
                    )
                    keep_days_of_ranges(session.connection(), group)
                with tally:
                    run.batches += 1
                    run.hours += sum((hi - lo) // HOUR_US for _, lo, hi in group)
                    if progress is not None:
                        progress(run.hours, total)

        # Devices interleaved, each on one connection only: as many old and new devices on each,
        # and no two transactions on the same device's rows.
        _on_workers(work, [ranges[k::workers] for k in range(workers)], name="rebuild")
    log.info(
        "rebuild: %d hours of %d devices recomputed in %d transactions, %.3f s, %d still dirty",
        run.hours,
        len(ranges),
        run.batches,
        run.duration_s,
        run.remaining,
    )
    return run


def last_rollup(session: Session) -> JobRun | None:
    return last_run(session, ROLLUP_JOB)
