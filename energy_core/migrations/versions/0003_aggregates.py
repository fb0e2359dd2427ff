"""aggregates by user and time: an index for household-wide reads over a time range

The primary key (user_id, device_pk, hour_start) serves one device's history; a household
series over a month ("all my devices, by day") would scan every hour of every device of the
user through it. This index reads exactly the hours of the range.
"""

from alembic import op

revision: str = "0003_aggregates"
down_revision: str | None = "0001"


def upgrade() -> None:
    op.create_index(
        "ix_hourly_aggregates_user_hour", "hourly_aggregates", ["user_id", "hour_start"]
    )


def downgrade() -> None:
    op.drop_index("ix_hourly_aggregates_user_hour", table_name="hourly_aggregates")
