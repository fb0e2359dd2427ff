"""alerts per household: the alerts raised, per-device and household alert settings, mutes
(docs/alerts.md)
"""

import sqlalchemy as sa
from alembic import op

import energy_core.types

revision: str = "0060_alerts"
down_revision: str | None = "0051_monthly_budget"

UTC_TS = energy_core.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("device_pk", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("opened_at", UTC_TS(timezone=True), nullable=False),
        sa.Column("updated_at", UTC_TS(timezone=True), nullable=False),
        sa.Column("resolved_at", UTC_TS(timezone=True), nullable=True),
        sa.Column("acknowledged_at", UTC_TS(timezone=True), nullable=True),
        sa.Column("delivery", sa.String(length=16), nullable=False, server_default="none"),
        sa.Column("delivery_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_delivery_at", UTC_TS(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["device_pk"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    # One open alert per condition: the last line of defence against duplicates.
    op.create_index(
        "uq_alerts_open_key",
        "alerts",
        ["user_id", "key"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_index("ix_alerts_user_opened", "alerts", ["user_id", "opened_at"])
    op.create_index(
        "ix_alerts_pending_delivery",
        "alerts",
        ["next_delivery_at"],
        sqlite_where=sa.text("delivery = 'pending'"),
        postgresql_where=sa.text("delivery = 'pending'"),
    )
    op.create_table(
        "alert_settings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("cheap_period", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("webhook_secret", sa.String(length=64), nullable=True),
        sa.Column("hour_checked", UTC_TS(timezone=True), nullable=True),
        sa.Column("day_checked", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "alert_device_settings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("device_pk", sa.Integer(), nullable=False),
        sa.Column("sensitivity", sa.String(length=8), nullable=False, server_default="normal"),
        sa.Column("unusual_use", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("offline_minutes", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["device_pk"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "device_pk"),
    )
    op.create_table(
        "alert_mutes",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("muted_until", UTC_TS(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "key"),
    )


def downgrade() -> None:
    op.drop_table("alert_mutes")
    op.drop_table("alert_device_settings")
    op.drop_table("alert_settings")
    op.drop_index("ix_alerts_pending_delivery", table_name="alerts")
    op.drop_index("ix_alerts_user_opened", table_name="alerts")
    op.drop_index("uq_alerts_open_key", table_name="alerts")
    op.drop_table("alerts")
