"""aggregates by user and time: an index for household-wide reads over a time range

Revision ID: 0003_aggregates
Revises: 0001
Create Date: 2026-11-26 22:10:00

The primary key (user_id, device_pk, hour_start) serves one device's history; a household
series over a month ("all my devices, by day") would scan every hour of every device of the
user through it. This index reads exactly the hours of the range.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_aggregates"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_hourly_aggregates_user_hour", "hourly_aggregates", ["user_id", "hour_start"]
    )


def downgrade() -> None:
    op.drop_index("ix_hourly_aggregates_user_hour", table_name="hourly_aggregates")
