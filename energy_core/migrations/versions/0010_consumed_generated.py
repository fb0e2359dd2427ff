"""aggregates keep consumption and generation apart; devices know their first reading

An hour's net energy_wh cannot say how much of it was drawn and how much produced when a device
both draws and produces within the hour (a battery that charges and discharges, an inverter's
night standby). The rollup now stores both parts, each exact per reading.

Existing rows are split by the sign of their energy, which is exact for every hour whose
readings all have one sign. The hours that may mix signs (every hour of a bidirectional device,
and of any device with negative readings) are marked dirty so that the scheduler recomputes them
from their readings; hours whose readings retention has already pruned (or whose carried-in
readings it may have pruned) keep the split by sign.

``devices.first_reading_at`` (kept by the rollup from now on) is filled from the oldest stored
reading, or from the first stored hour where retention pruned the readings before it.
"""

import sqlalchemy as sa
from alembic import op

import energy_core.types

revision: str = "0010_consumed_generated"
down_revision: str | None = "0020_readings_without_fk"

# The longest max gap a device may have: a recomputed hour needs the readings of that long
# before it, so hours closer than this to a device's oldest kept reading are not recomputed.
_LONGEST_GAP_S = 86_400

_MIXED_DEVICES = f"""
    SELECT dev.id, dev.user_id, coalesce(dev.max_gap_s, {_LONGEST_GAP_S}) AS gap_s,
           (SELECT min(r.ts) FROM readings r
            WHERE r.user_id = dev.user_id AND r.device_pk = dev.id) AS oldest,
           (SELECT min(x.hour_start) FROM hourly_aggregates x
            WHERE x.user_id = dev.user_id AND x.device_pk = dev.id) AS first_hour
    FROM devices dev
    WHERE dev.bidirectional OR EXISTS (
        SELECT 1 FROM hourly_aggregates y
        WHERE y.user_id = dev.user_id AND y.device_pk = dev.id
          AND (y.min_watts < 0 OR y.energy_wh < 0)
    )
"""

_MARK_SQLITE = f"""
INSERT INTO dirty_hours (user_id, device_pk, hour_start, version)
SELECT a.user_id, a.device_pk, a.hour_start, 1
FROM hourly_aggregates a
JOIN ({_MIXED_DEVICES}) d ON a.user_id = d.user_id AND a.device_pk = d.id
WHERE d.oldest IS NOT NULL
  AND (d.first_hour >= d.oldest - d.oldest % 3600000000
       OR a.hour_start - d.gap_s * 1000000 >= d.oldest - d.oldest % 3600000000)
ON CONFLICT (user_id, device_pk, hour_start) DO UPDATE SET version = dirty_hours.version + 1
"""

_MARK_POSTGRES = f"""
INSERT INTO dirty_hours (user_id, device_pk, hour_start, version)
SELECT a.user_id, a.device_pk, a.hour_start, 1
FROM hourly_aggregates a
JOIN ({_MIXED_DEVICES}) d ON a.user_id = d.user_id AND a.device_pk = d.id
WHERE d.oldest IS NOT NULL
  AND (d.first_hour >= date_bin('1 hour', d.oldest, TIMESTAMPTZ '2000-01-01 00:00:00+00')
       OR a.hour_start - make_interval(secs => d.gap_s)
          >= date_bin('1 hour', d.oldest, TIMESTAMPTZ '2000-01-01 00:00:00+00'))
ON CONFLICT (user_id, device_pk, hour_start) DO UPDATE SET version = dirty_hours.version + 1
"""


_FIRST_READING = """
UPDATE devices SET first_reading_at = (
    SELECT min(r.ts) FROM readings r WHERE r.user_id = devices.user_id AND r.device_pk = devices.id
)
"""
_FIRST_HOUR = """
UPDATE devices SET first_reading_at = (
    SELECT min(a.hour_start) FROM hourly_aggregates a
    WHERE a.user_id = devices.user_id AND a.device_pk = devices.id
)
WHERE EXISTS (
    SELECT 1 FROM hourly_aggregates a
    WHERE a.user_id = devices.user_id AND a.device_pk = devices.id
      AND (devices.first_reading_at IS NULL OR a.hour_start + {hour} <= devices.first_reading_at)
)
"""


def upgrade() -> None:
    op.add_column(
        "devices",
        sa.Column("first_reading_at", energy_core.types.UTCDateTime(timezone=True), nullable=True),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.execute(_FIRST_READING)
    op.execute(_FIRST_HOUR.format(hour="3600000000" if sqlite else "interval '1 hour'"))
    for name in ("consumed_wh", "generated_wh"):
        op.add_column(
            "hourly_aggregates",
            sa.Column(name, sa.Float(precision=53), nullable=False, server_default="0"),
        )
    op.execute(
        "UPDATE hourly_aggregates SET "
        "consumed_wh = CASE WHEN energy_wh > 0 THEN energy_wh ELSE 0 END, "
        "generated_wh = CASE WHEN energy_wh < 0 THEN -energy_wh ELSE 0 END"
    )
    op.execute(_MARK_SQLITE if sqlite else _MARK_POSTGRES)


def downgrade() -> None:
    # Plain ALTER TABLE on both backends (SQLite >= 3.35): a batch copy of ``devices`` would
    # cascade the drop of the old table to every reading.
    for table, column in (
        ("hourly_aggregates", "generated_wh"),
        ("hourly_aggregates", "consumed_wh"),
        ("devices", "first_reading_at"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
