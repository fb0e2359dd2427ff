"""The rollup's SQL: recompute dirty hours into hourly aggregates, and mark a range of hours
dirty for a rebuild, for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, bindparam, text

from energy_core.sql import PG_ORIGIN, is_sqlite
from energy_core.sql.arrays import Int4Array, Int8Array, binary_array
from energy_core.sql.locks import writers_held_back
from energy_core.types import UTCDateTime, to_epoch_us

# Both dialects compute the same thing in the same shape (DESIGN.md section 3):
#   batch   the dirty marks up to the cutoff hour, read once so the marks cleared are exactly
#           the marks computed (PostgreSQL: claimed first, then passed in as arrays);
#   runs    consecutive dirty hours of a device, each read with one index range scan over
#           [first hour - max_gap, last hour + 1 h): readings before the run can carry into it;
#   held    (PostgreSQL: inside own) each reading with the instant its power stops counting:
#           the next reading, t + max_gap or the end of the run, whichever is first (a next
#           reading beyond the run would be clipped at its end anyway, so looking only inside
#           the run is exact);
#   own     per hour, the part of each hold inside the reading's own hour, and the one reading
#           whose hold runs past the end of the hour (only the last one of the hour can);
#   carry   that overhang spread over the following hours, which may have no readings at all.
# All time arithmetic is in integer microseconds, so holds and coverage are exact. Energy is a
# float sum of power x microseconds; the pieces of one hour are always added in time order (the
# order of the index scan) plus at most one carried-in piece, so an incremental run and a full
# rebuild add the same numbers in the same order and store bit-identical rows.

# The last line of both rollup statements: a recomputed hour replaces what was stored.
_UPSERT_AGGREGATE = """ON CONFLICT (user_id, device_pk, hour_start) DO UPDATE SET
    energy_wh = excluded.energy_wh, consumed_wh = excluded.consumed_wh,
    generated_wh = excluded.generated_wh, covered_s = excluded.covered_s,
    avg_watts = excluded.avg_watts, min_watts = excluded.min_watts,
    max_watts = excluded.max_watts, sample_count = excluded.sample_count,
    computed_at = excluded.computed_at"""


# PostgreSQL: each instant is turned into integer microseconds once (date_part is a float8
# function; extract() would be numeric and several times slower), then the arithmetic is the
# same as on SQLite. The statement is a head that yields ``runs`` and the body after it: the
# head reads the claimed marks (_PG_RUNS_OF_MARKS) or, for a rebuild, ranges of hours of each
# device (_PG_RUNS_OF_RANGES); the body is one text, so both store the same rows.
_PG_RUNS_OF_MARKS = """
WITH batch AS MATERIALIZED (
    SELECT u AS user_id, d AS device_pk, to_timestamp(h / 1000000) AS hour_start
    FROM unnest(%(users)b::int4[], %(devices)b::int4[], %(hours)b::int8[]) AS c(u, d, h)
),
runs AS MATERIALIZED (
    SELECT user_id, device_pk, lo, lo - make_interval(secs => gap_us / 1000000) AS scan_from, hi,
           gap_us, CAST(date_part('epoch', lo) AS int8) * 1000000 AS lo_us,
           CAST(date_part('epoch', hi) AS int8) * 1000000 AS hi_us
    FROM (
        SELECT i.user_id, i.device_pk, min(i.hour_start) AS lo,
               max(i.hour_start) + interval '1 hour' AS hi,
               CAST(coalesce(min(dev.max_gap_s), %(default_gap_s)s) AS int8) * 1000000 AS gap_us
        FROM (
            SELECT user_id, device_pk, hour_start,
                   hour_start - row_number() OVER (PARTITION BY user_id, device_pk
                                                   ORDER BY hour_start) * interval '1 hour'
                   AS island
            FROM batch
        ) i
        JOIN devices dev ON dev.id = i.device_pk
        GROUP BY i.user_id, i.device_pk, i.island
    ) g
),"""

# A rebuild's runs without marks: given as (device, first hour, end hour) arrays, in integer
# microseconds (see device_hour_ranges).
_PG_RUNS_OF_RANGES = """
WITH runs AS MATERIALIZED (
    SELECT dev.user_id, c.device_pk, c.lo, c.lo - make_interval(secs => g.gap_us / 1000000)
           AS scan_from, c.hi, g.gap_us, c.lo_us, c.hi_us
    FROM (
        SELECT d AS device_pk, to_timestamp(l / 1000000) AS lo, to_timestamp(h / 1000000) AS hi,
               l AS lo_us, h AS hi_us
        FROM unnest(%(devices)b::int4[], %(los)b::int8[], %(his)b::int8[]) AS c(d, l, h)
    ) c
    JOIN devices dev ON dev.id = c.device_pk
    CROSS JOIN LATERAL (
        SELECT CAST(coalesce(dev.max_gap_s, %(default_gap_s)s) AS int8) * 1000000 AS gap_us
    ) g
),"""

_PG_RECOMPUTE_RUNS = f"""
own AS (
    -- Per run, its readings' hours. The window orders them (the run's index scan is in ts order
    -- within a partition, but the scan appends partitions), and each hour's sums add the readings
    -- in that order; every quantity of a reading is computed once (OFFSET 0 keeps the planner
    -- from copying the expressions into each sum). Per reading this is the costly part of the
    -- rollup, so each aggregate that only one reading of an hour feeds takes it by a FILTER
    -- instead of running for every reading: the run's newest reading (the one with no next)
    -- and the reading whose hold carries into the next hour (only the last one of its hour can,
    -- holds ending in time order). Durations are integers in float8 (exact below 2^53 us), so
    -- their sums need no numeric arithmetic.
    SELECT ru.user_id, ru.device_pk, ru.lo_us, o.*
    FROM runs ru
    CROSS JOIN LATERAL (
        SELECT h0, max(ts) FILTER (WHERE last) AS newest,
               sum(power_w * dur) AS energy,
               sum(CASE WHEN power_w >= 0 THEN power_w * dur ELSE 0 END) AS consumed,
               sum(CASE WHEN power_w < 0 THEN -power_w * dur ELSE 0 END) AS generated,
               sum(dur) AS covered,
               min(power_w) AS min_w, max(power_w) AS max_w, count(*) AS samples,
               max(until) FILTER (WHERE carries) AS carry_until,
               max(power_w) FILTER (WHERE carries) AS carry_w
        FROM (
            SELECT w.ts, w.power_w, w.h0, w.until, w.last,
                   w.until > w.h0 + 3600000000 AS carries,
                   CAST(least(w.until, w.h0 + 3600000000) - w.t_us AS float8) AS dur
            FROM (
                SELECT q.ts, q.power_w, q.t_us, q.t_us - q.t_us %% 3600000000 AS h0,
                       least(lead(q.t_us) OVER next_reading, q.t_us + ru.gap_us, ru.hi_us)
                       AS until,
                       -- The same window function: computed once for both columns.
                       lead(q.t_us) OVER next_reading IS NULL AS last
                FROM (
                    SELECT r.ts, r.power_w,
                           CAST(date_part('epoch', r.ts) * 1000000 AS int8) AS t_us
                    FROM readings r
                    WHERE r.user_id = ru.user_id AND r.device_pk = ru.device_pk
                      AND r.ts >= ru.scan_from AND r.ts < ru.hi
                    -- The sort is here, not only in the window: the instant is converted once,
                    -- below it, instead of in each expression of the window's level.
                    ORDER BY r.ts
                ) q
                -- lead() ignores the frame, but the default one (RANGE, to the current row's
                -- last peer) still makes the window look ahead for peers of every row; a
                -- one-row ROWS frame spares that (about a tenth of the rollup's CPU).
                WINDOW next_reading AS (ORDER BY q.ts ROWS CURRENT ROW)
            ) w
            OFFSET 0
        ) s
        GROUP BY h0
    ) o
),
pieces AS (
    SELECT user_id, device_pk, lo_us, h0 AS h, energy, consumed, generated, covered, min_w,
           max_w, samples
    FROM own
    UNION ALL
    SELECT user_id, device_pk, lo_us, h,
           carry_w * (least(carry_until, h + 3600000000) - h),
           greatest(carry_w, 0) * (least(carry_until, h + 3600000000) - h),
           greatest(-carry_w, 0) * (least(carry_until, h + 3600000000) - h),
           CAST(least(carry_until, h + 3600000000) - h AS float8), NULL, NULL, 0
    FROM (
        SELECT o.user_id, o.device_pk, o.lo_us, o.carry_until, o.carry_w,
               o.h0 + k * 3600000000 AS h
        FROM own o
        CROSS JOIN LATERAL generate_series(1, (o.carry_until - 1 - o.h0) / 3600000000) AS k
        WHERE o.carry_until > o.h0 + 3600000000
    ) c
),
hours AS (
    SELECT user_id, device_pk, h, sum(energy) AS energy_uws, sum(consumed) AS consumed_uws,
           sum(generated) AS generated_uws, sum(covered) AS covered_us,
           min(min_w) AS min_w, max(max_w) AS max_w, sum(samples) AS samples
    FROM pieces
    WHERE h >= lo_us
    GROUP BY user_id, device_pk, h
),
upserted AS (
    INSERT INTO hourly_aggregates (user_id, device_pk, hour_start, energy_wh, consumed_wh,
                                   generated_wh, covered_s, avg_watts, min_watts, max_watts,
                                   sample_count, computed_at)
    SELECT user_id, device_pk, to_timestamp(h / 1000000), energy_uws / 3600000000.0,
           consumed_uws / 3600000000.0, generated_uws / 3600000000.0, covered_us / 1000000.0,
           CASE WHEN covered_us > 0 THEN energy_uws / covered_us END, min_w, max_w, samples,
           %(computed_at)s
    FROM hours
    WHERE covered_us > 0 OR samples > 0
    {_UPSERT_AGGREGATE}
    RETURNING 1
),
touched AS (
    -- The devices recomputed, in one update of their rows (in id order, as writers lock them):
    --   last_seen_at  moved forward to the newest reading the scans saw. A writer that skipped
    --       it (sql.ingest: writers never wait for a device row another transaction holds)
    --       marked the hour of that reading dirty first: the rollup of that mark, this batch or
    --       the next, sees the reading;
    --   first_reading_at  kept on the device row so that reads know from when it takes part in a
    --       figure without looking for it (docs/metrics.md, "Which devices count"); looked up
    --       only for a device with a dirty hour before its known first reading (a first reading,
    --       or a late one older than it), and never moved later: retention prunes readings
    --       without marking hours, so no dirty hour precedes it then.
    UPDATE devices AS dev
    SET last_seen_at = greatest(dev.last_seen_at, d.at),
        first_reading_at = CASE
            WHEN dev.first_reading_at IS NULL OR dev.first_reading_at >= d.first_hour
            THEN least(dev.first_reading_at, (
                SELECT min(r.ts) FROM readings r
                WHERE r.user_id = dev.user_id AND r.device_pk = dev.id))
            ELSE dev.first_reading_at END
    FROM (
        SELECT ru.device_pk, min(ru.lo) AS first_hour, max(o.newest) AS at
        FROM runs ru
        LEFT JOIN own o ON o.device_pk = ru.device_pk AND o.lo_us = ru.lo_us
        GROUP BY ru.device_pk
        ORDER BY ru.device_pk
    ) AS d
    WHERE dev.id = d.device_pk
      AND (d.at > coalesce(dev.last_seen_at, '-infinity')
           OR dev.first_reading_at IS NULL OR dev.first_reading_at >= d.first_hour)
)
SELECT count(*) FROM upserted
"""

_PG_ROLLUP = _PG_RUNS_OF_MARKS + _PG_RECOMPUTE_RUNS

# SQLite: instants are integer microseconds, so hours are plain integer arithmetic.
_SQLITE_ROLLUP = f"""
WITH RECURSIVE batch AS (
    SELECT user_id, device_pk, hour_start FROM dirty_hours WHERE hour_start <= :cutoff
),
runs AS (
    SELECT i.user_id, i.device_pk, min(i.hour_start) AS lo, max(i.hour_start) + 3600000000 AS hi,
           CAST(coalesce(min(dev.max_gap_s), :default_gap_s) AS INTEGER) * 1000000 AS gap
    FROM (
        SELECT user_id, device_pk, hour_start,
               hour_start - row_number() OVER (PARTITION BY user_id, device_pk
                                               ORDER BY hour_start) * 3600000000 AS island
        FROM batch
    ) i
    JOIN devices dev ON dev.id = i.device_pk
    GROUP BY i.user_id, i.device_pk, i.island
),
held AS (
    SELECT user_id, device_pk, lo, ts, power_w, ts - ts % 3600000000 AS h0,
           min(coalesce(next_ts, ts + gap), ts + gap, hi) AS until
    FROM (
        SELECT ru.user_id, ru.device_pk, ru.lo, ru.hi, ru.gap, r.ts, r.power_w,
               lead(r.ts) OVER (PARTITION BY ru.user_id, ru.device_pk, ru.lo
                                ORDER BY r.ts) AS next_ts
        FROM runs ru
        JOIN readings r
          ON r.user_id = ru.user_id AND r.device_pk = ru.device_pk
         AND r.ts >= ru.lo - ru.gap AND r.ts < ru.hi
    )
),
own AS (
    SELECT user_id, device_pk, lo, h0,
           sum(power_w * (min(until, h0 + 3600000000) - ts)) AS energy,
           sum(CASE WHEN power_w >= 0 THEN power_w * (min(until, h0 + 3600000000) - ts)
                    ELSE 0 END) AS consumed,
           sum(CASE WHEN power_w < 0 THEN -power_w * (min(until, h0 + 3600000000) - ts)
                    ELSE 0 END) AS generated,
           sum(min(until, h0 + 3600000000) - ts) AS covered,
           min(power_w) AS min_w, max(power_w) AS max_w, count(*) AS samples,
           max(until) AS carry_until,
           max(CASE WHEN until > h0 + 3600000000 THEN power_w END) AS carry_w
    FROM held
    GROUP BY user_id, device_pk, lo, h0
),
carry (user_id, device_pk, lo, h, carry_until, carry_w) AS (
    SELECT user_id, device_pk, lo, h0 + 3600000000, carry_until, carry_w
    FROM own WHERE carry_until > h0 + 3600000000
    UNION ALL
    SELECT user_id, device_pk, lo, h + 3600000000, carry_until, carry_w
    FROM carry WHERE carry_until > h + 3600000000
),
pieces AS (
    SELECT user_id, device_pk, lo, h0 AS hour_start, energy, consumed, generated, covered, min_w,
           max_w, samples
    FROM own
    UNION ALL
    SELECT user_id, device_pk, lo, h,
           carry_w * (min(carry_until, h + 3600000000) - h),
           max(carry_w, 0) * (min(carry_until, h + 3600000000) - h),
           max(-carry_w, 0) * (min(carry_until, h + 3600000000) - h),
           min(carry_until, h + 3600000000) - h, NULL, NULL, 0
    FROM carry
),
hours AS (
    SELECT user_id, device_pk, hour_start, sum(energy) AS energy_uws,
           sum(consumed) AS consumed_uws, sum(generated) AS generated_uws,
           sum(covered) AS covered_us,
           min(min_w) AS min_w, max(max_w) AS max_w, sum(samples) AS samples
    FROM pieces
    WHERE hour_start >= lo
    GROUP BY user_id, device_pk, hour_start
)
INSERT INTO hourly_aggregates (user_id, device_pk, hour_start, energy_wh, consumed_wh,
                               generated_wh, covered_s, avg_watts, min_watts, max_watts,
                               sample_count, computed_at)
SELECT user_id, device_pk, hour_start, energy_uws / 3600000000.0, consumed_uws / 3600000000.0,
       generated_uws / 3600000000.0, covered_us / 1000000.0,
       CASE WHEN covered_us > 0 THEN CAST(energy_uws AS REAL) / covered_us END,
       min_w, max_w, samples, :computed_at
FROM hours
WHERE covered_us > 0 OR samples > 0
{_UPSERT_AGGREGATE}
"""


# A device's first reading, kept on the device row so that reads know from when it takes part in
# a figure without looking for it (docs/metrics.md, "Which devices count"). Only devices of the
# batch with a dirty hour before their known first reading (a first reading, or a late one older
# than it) are written; retention never moves it later, since no dirty hour precedes it then.
_FIRST_READINGS = """
UPDATE devices SET first_reading_at = (
    SELECT min(r.ts) FROM readings r WHERE r.user_id = devices.user_id AND r.device_pk = devices.id
)
WHERE id IN (
    SELECT device_pk FROM dirty_hours WHERE hour_start <= :cutoff AND device_pk % :shards = :shard
)
AND (first_reading_at IS NULL OR first_reading_at >= (
    SELECT min(d.hour_start) FROM dirty_hours d
    WHERE d.user_id = devices.user_id AND d.device_pk = devices.id AND d.hour_start <= :cutoff
))
AND EXISTS (
    SELECT 1 FROM readings r WHERE r.user_id = devices.user_id AND r.device_pk = devices.id
      AND (devices.first_reading_at IS NULL OR r.ts < devices.first_reading_at)
)
"""


# The marks a PostgreSQL batch recomputes, taken out of the table first (see recompute_dirty_hours),
# each with the zone its household's daily rows are kept in (null: none yet), for the days of the
# hours written (``energy_core.daily``) without another round trip.
_PG_CLAIM = """
WITH claimed AS (
    DELETE FROM dirty_hours
    WHERE hour_start <= %(cutoff)s AND device_pk %% %(shards)s = %(shard)s
    RETURNING user_id, device_pk, hour_start
)
SELECT c.user_id, c.device_pk, CAST(date_part('epoch', c.hour_start) AS int8) * 1000000,
       z.timezone
FROM claimed c
LEFT JOIN daily_zones z ON z.user_id = c.user_id
"""


@dataclass
class BatchResult:
    hours: int
    rows_written: int
    # The (user_id, device_pk, hour) recomputed, hours in microseconds.
    marks: list[tuple[int, int, int]] = field(default_factory=list)
    # The zone each household of ``marks`` keeps its daily rows in (households without left out).
    zones: dict[int, str] = field(default_factory=dict)


def recompute_dirty_hours(
    conn: Connection,
    *,
    cutoff: datetime,
    default_gap_s: int,
    computed_at: datetime,
    shard: tuple[int, int] = (0, 1),
) -> BatchResult:
    """Recompute every dirty hour up to ``cutoff`` and clear exactly the marks read, in the
    caller's transaction. The caller holds the rollup lock. ``shard=(k, n)`` takes only the
    devices with ``device_pk % n == k`` (PostgreSQL), so that n connections can share a backlog
    without touching the same rows.

    PostgreSQL: the marks are claimed (deleted) first, while the writers that mark hours without
    waiting for each other are held back (``sql.locks.writers_held_back``): every writer that
    found one of them already there has committed by then, so its readings are in what the
    statements after the claim read. A writer that comes later and finds a claimed mark waits
    for this transaction and marks the hour again. Readers still see the marks until the commit.
    """
    if is_sqlite(conn):
        params = {
            "cutoff": cutoff,
            "default_gap_s": default_gap_s,
            "computed_at": computed_at,
            "shard": shard[0],
            "shards": shard[1],
        }
        binds = (
            bindparam("cutoff", type_=UTCDateTime()),
            bindparam("computed_at", type_=UTCDateTime()),
        )
        conn.execute(text(_FIRST_READINGS).bindparams(binds[0]), params)
        marks = conn.exec_driver_sql(
            "SELECT d.user_id, d.device_pk, d.hour_start, z.timezone FROM dirty_hours d "
            "LEFT JOIN daily_zones z ON z.user_id = d.user_id WHERE d.hour_start <= ?",
            (to_epoch_us(cutoff),),
        ).all()
        # BEGIN IMMEDIATE holds the write lock: nothing can mark an hour between these statements.
        conn.execute(text(_SQLITE_ROLLUP).bindparams(*binds), params)
        # pysqlite reports no rowcount for a statement that starts with WITH.
        written = conn.exec_driver_sql("SELECT changes()").scalar()
        cleared = conn.execute(
            text("DELETE FROM dirty_hours WHERE hour_start <= :cutoff").bindparams(binds[0]),
            {"cutoff": cutoff},
        ).rowcount
        return _batch_result(cleared, written, marks)
    # JIT compilation costs more than it saves on a statement that runs every minute (set in
    # the same round trip as the hold-back's own settings).
    with writers_held_back(conn, settings={"jit": "off"}):
        claimed = conn.exec_driver_sql(
            _PG_CLAIM, {"cutoff": cutoff, "shard": shard[0], "shards": shard[1]}
        ).all()
    if not claimed:
        return BatchResult(hours=0, rows_written=0)
    users, devices, hours, _ = zip(*claimed, strict=True)
    arrays = {
        "users": binary_array(Int4Array, users),
        "devices": binary_array(Int4Array, devices),
        "hours": binary_array(Int8Array, hours),
    }
    written = conn.exec_driver_sql(
        _PG_ROLLUP, {**arrays, "default_gap_s": default_gap_s, "computed_at": computed_at}
    ).scalar()
    return _batch_result(len(claimed), written, claimed)


def _batch_result(hours: int, written: int, marks: Sequence[Sequence]) -> BatchResult:
    """A batch's result from the (user_id, device_pk, hour, zone) rows of its marks."""
    return BatchResult(
        hours=hours,
        rows_written=written,
        marks=[(u, d, h) for u, d, h, _ in marks],
        zones={u: zone for u, _, _, zone in marks if zone is not None},
    )


HOUR_US = 3_600_000_000


def device_hour_ranges(
    conn: Connection,
    *,
    since: datetime | None,
    until: datetime | None,
    device_pks: Sequence[int] | None,
    default_gap_s: int,
) -> list[tuple[int, int, int]]:
    """PostgreSQL: per device (all when None), in id order, the hours that its readings in
    ``[since, until)`` can reach, as ``(device_pk, first hour, end hour)`` in microseconds, the
    end exclusive: the hours ``mark_range_dirty`` would mark, found with the same two index
    probes per device. Devices without such readings are left out."""
    params: dict = {"default_gap_s": default_gap_s}
    conditions = []
    if since is not None:
        conditions.append("AND r.ts >= %(since)s")
        params["since"] = since
    if until is not None:
        conditions.append("AND r.ts < %(until)s")
        params["until"] = until
    device_filter = ""
    if device_pks is not None:
        if not device_pks:
            return []
        device_filter = "WHERE dev.id = ANY(%(devices)b::int4[])"
        params["devices"] = binary_array(Int4Array, device_pks)
    in_range = " ".join(conditions)
    sql = f"""
SELECT device_pk,
       CAST(date_part('epoch', date_bin('1 hour', first_ts, {PG_ORIGIN})) AS int8) * 1000000,
       CAST(date_part('epoch', date_bin('1 hour', last_ts + make_interval(secs => gap_s),
                                        {PG_ORIGIN})) AS int8) * 1000000 + {HOUR_US}
FROM (
    SELECT dev.id AS device_pk, coalesce(dev.max_gap_s, %(default_gap_s)s) AS gap_s,
           (SELECT min(r.ts) FROM readings r WHERE r.user_id = dev.user_id
               AND r.device_pk = dev.id {in_range}) AS first_ts,
           (SELECT max(r.ts) FROM readings r WHERE r.user_id = dev.user_id
               AND r.device_pk = dev.id {in_range}) AS last_ts
    FROM devices dev
    {device_filter}
    -- Probed once: flattened, each probe would run again for every column using it.
    OFFSET 0
) e
WHERE first_ts IS NOT NULL
ORDER BY device_pk
"""
    return [tuple(row) for row in conn.exec_driver_sql(sql, params)]


def recompute_hour_ranges(
    conn: Connection,
    *,
    ranges: Sequence[tuple[int, int, int]],
    default_gap_s: int,
    computed_at: datetime,
) -> int:
    """PostgreSQL: recompute, in the caller's transaction, the hours of ``ranges`` (as
    ``device_hour_ranges`` gives them, or parts of them), each range one run of the same
    statement body as ``recompute_dirty_hours``, so the rows stored are the same. No mark is
    read, made or cleared: marks that writers make meanwhile stay for the next rollup, and so do
    those already there. The caller holds the rollup lock. Returns the rows written."""
    if not ranges:
        return 0
    devices, los, his = zip(*ranges, strict=True)
    params = {
        "devices": binary_array(Int4Array, devices),
        "los": binary_array(Int8Array, los),
        "his": binary_array(Int8Array, his),
        "default_gap_s": default_gap_s,
        "computed_at": computed_at,
    }
    # JIT compilation costs more than it saves here too (see recompute_dirty_hours).
    conn.exec_driver_sql("SET LOCAL jit = off")
    return conn.exec_driver_sql(_PG_RUNS_OF_RANGES + _PG_RECOMPUTE_RUNS, params).scalar()


def mark_range_dirty(
    conn: Connection,
    *,
    since: datetime | None,
    until: datetime | None,
    device_pks: Sequence[int] | None,
    default_gap_s: int,
) -> int:
    """Mark for recomputation every hour that readings in ``[since, until)`` of the given devices
    (all when None) can reach: from the hour of the first such reading to the hour its last one
    carries into. Found with two index probes per device; no reading is loaded. Returns the
    number of marks made or renewed."""
    params: dict = {"since": since, "until": until, "default_gap_s": default_gap_s}
    device_filter = ""
    if device_pks is not None:
        if not device_pks:
            return 0
        device_filter = "AND dev.id IN ({})".format(", ".join(str(int(pk)) for pk in device_pks))
    since_cond = "AND r.ts >= :since" if since is not None else ""
    until_cond = "AND r.ts < :until" if until is not None else ""
    binds = [bindparam(n, type_=UTCDateTime()) for n in ("since", "until") if params[n]]
    params = {k: v for k, v in params.items() if v is not None}
    if is_sqlite(conn):
        sql = f"""
WITH RECURSIVE ends AS (
    SELECT dev.user_id, dev.id AS device_pk,
           (SELECT min(r.ts) FROM readings r WHERE r.user_id = dev.user_id
               AND r.device_pk = dev.id {since_cond} {until_cond}) AS first_ts,
           (SELECT max(r.ts) FROM readings r WHERE r.user_id = dev.user_id
               AND r.device_pk = dev.id {since_cond} {until_cond})
           + CAST(coalesce(dev.max_gap_s, :default_gap_s) AS INTEGER) * 1000000 AS last_ts
    FROM devices dev WHERE 1 = 1 {device_filter}
),
hrs (user_id, device_pk, h, last_h) AS (
    SELECT user_id, device_pk, first_ts - first_ts % 3600000000, last_ts - last_ts % 3600000000
    FROM ends WHERE first_ts IS NOT NULL
    UNION ALL
    SELECT user_id, device_pk, h + 3600000000, last_h FROM hrs WHERE h < last_h
)
INSERT INTO dirty_hours (user_id, device_pk, hour_start, version)
SELECT user_id, device_pk, h, 1 FROM hrs WHERE true
ON CONFLICT (user_id, device_pk, hour_start) DO UPDATE SET version = dirty_hours.version + 1
"""
    else:
        sql = f"""
INSERT INTO dirty_hours (user_id, device_pk, hour_start, version)
SELECT e.user_id, e.device_pk, h, 1
FROM (
    SELECT dev.user_id, dev.id AS device_pk,
           (SELECT min(r.ts) FROM readings r WHERE r.user_id = dev.user_id
               AND r.device_pk = dev.id {since_cond} {until_cond}) AS first_ts,
           (SELECT max(r.ts) FROM readings r WHERE r.user_id = dev.user_id
               AND r.device_pk = dev.id {since_cond} {until_cond})
           + make_interval(secs => coalesce(dev.max_gap_s, :default_gap_s)) AS last_ts
    FROM devices dev WHERE true {device_filter}
) e
CROSS JOIN LATERAL generate_series(date_bin('1 hour', e.first_ts, {PG_ORIGIN}),
                                   e.last_ts, interval '1 hour') AS h
WHERE e.first_ts IS NOT NULL
ON CONFLICT (user_id, device_pk, hour_start) DO UPDATE SET version = dirty_hours.version + 1
"""
    result = conn.execute(text(sql).bindparams(*binds), params)
    if is_sqlite(conn):
        return conn.exec_driver_sql("SELECT changes()").scalar()
    return result.rowcount
