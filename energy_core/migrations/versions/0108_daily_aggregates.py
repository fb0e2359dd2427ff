"""daily aggregates: each device's stored hours summed per local day of its household, and the
zone each household's days are kept in

A month by day of 500 devices grouped about 100k stored hours by day and device on every read;
the rollup now keeps these sums in the transaction that writes the hours, and reads of whole
days take them instead (docs/scale.md, "A month by day of 500 devices"). The rows of a database
that already has hours are built here from them, household by household, in each household's
timezone.
"""

import sqlalchemy as sa
from alembic import op

from energy_core.daily import build_household_days
from energy_core.household_scope import SCOPE_SETTING, SYSTEM, protect_table_sql
from energy_core.types import UTCDateTime

revision: str = "0108_daily_aggregates"
down_revision: str | None = "0107_sqlite_hourly_flows_index"

TABLES = ("daily_aggregates", "daily_zones")


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.create_table(
        "daily_aggregates",
        sa.Column("user_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("device_pk", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("day_start", UTCDateTime(), primary_key=True),
        sa.Column("day_end", UTCDateTime(), nullable=False),
        sa.Column("consumed_wh", sa.Float(precision=53), nullable=False),
        sa.Column("generated_wh", sa.Float(precision=53), nullable=False),
        sa.Column("covered_s", sa.Float(precision=53), nullable=False),
        sa.Column("cancelled_wh", sa.Float(precision=53), nullable=False),
        sa.Column("min_watts", sa.Float(precision=53), nullable=True),
        sa.Column("max_watts", sa.Float(precision=53), nullable=True),
        sa.Column("sample_count", sa.BigInteger(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_daily_aggregates_user_day", "daily_aggregates", ["user_id", "day_start"])
    op.create_table(
        "daily_zones",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
            nullable=False,
        ),
        sa.Column("timezone", sa.String(64), nullable=False),
    )
    if not sqlite:
        # Every household's hours are read (row-level security: system scope, this transaction).
        bind.exec_driver_sql(f"SELECT set_config('{SCOPE_SETTING}', '{SYSTEM}', true)")
    users = bind.exec_driver_sql("SELECT id, timezone FROM users ORDER BY id").all()
    for user_id, timezone in users:
        build_household_days(bind, user_id=user_id, timezone=timezone)
    if not sqlite:
        for table in TABLES:
            for statement in protect_table_sql(table):
                op.execute(statement)


def downgrade() -> None:
    op.drop_table("daily_zones")
    op.drop_index("ix_daily_aggregates_user_day", table_name="daily_aggregates")
    op.drop_table("daily_aggregates")
