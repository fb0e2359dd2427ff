"""hourly aggregates by hour carry each device's flows (SQLite): the household's net per hour is
summed from the index alone

The household's net per hour (its grid import and export, hour by hour) sums every device's
stored hour of the range by hour. On SQLite the only index by hour held the key alone, so
grouping by hour either looked up each of the index's entries in the table or sorted all of
them (a month of 500 devices: 0.2-0.3 s of CPU, read out to Python instead). The index now also
holds the device and the columns that sum needs, in device order within each hour, so the sum
walks the index alone and groups the hours as they come (0.06 s). It replaces the index on
(user, hour), which it begins with.

PostgreSQL keeps its index: it groups the hours by hashing them, and every index the rollup
writes costs each stored hour on its way in.
"""

from alembic import op

revision: str = "0107_sqlite_hourly_flows_index"
down_revision: str | None = "0105_alert_delivery_error"

FLOWS_COLUMNS = ["user_id", "hour_start", "device_pk", "consumed_wh", "generated_wh", "covered_s"]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.create_index("ix_hourly_aggregates_user_hour_flows", "hourly_aggregates", FLOWS_COLUMNS)
    op.drop_index("ix_hourly_aggregates_user_hour", table_name="hourly_aggregates")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.create_index(
        "ix_hourly_aggregates_user_hour", "hourly_aggregates", ["user_id", "hour_start"]
    )
    op.drop_index("ix_hourly_aggregates_user_hour_flows", table_name="hourly_aggregates")
