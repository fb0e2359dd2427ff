"""initial schema"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import energy_core.types

revision: str = "0001"
down_revision: str | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("started_at", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", energy_core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hours_computed", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("job"),
    )
    op.create_table(
        "users",
        sa.Column("full_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("price_per_kwh", sa.Float(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("auto_register_devices", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", energy_core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "sessions_valid_after", energy_core.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created_at", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("tool_calls", sa.Text(), nullable=True),
        sa.Column("engine", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("created_at", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_chat_messages_user_conv", ["user_id", "conversation_id", "id"], unique=False
        )

    op.create_table(
        "devices",
        sa.Column("device_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("location", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("bidirectional", sa.Boolean(), nullable=False),
        sa.Column("max_gap_s", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", energy_core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "device_id", name="uq_devices_user_device_id"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("device_pk", sa.Integer(), nullable=True),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("created_at", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", energy_core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", energy_core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["device_pk"], ["devices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("prefix"),
    )
    op.create_table(
        "dirty_hours",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("device_pk", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hour_start", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["device_pk"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "device_pk", "hour_start"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("dirty_hours", schema=None) as batch_op:
        batch_op.create_index("ix_dirty_hours_hour_start", ["hour_start"], unique=False)

    op.create_table(
        "hourly_aggregates",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("device_pk", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hour_start", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("energy_wh", sa.Float(precision=53), nullable=False),
        sa.Column("covered_s", sa.Float(precision=53), nullable=False),
        sa.Column("avg_watts", sa.Float(precision=53), nullable=True),
        sa.Column("min_watts", sa.Float(precision=53), nullable=True),
        sa.Column("max_watts", sa.Float(precision=53), nullable=True),
        sa.Column("sample_count", sa.Integer(), nullable=False),
        sa.Column("computed_at", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["device_pk"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "device_pk", "hour_start"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "readings",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("device_pk", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ts", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("power_w", sa.Float(precision=53), nullable=False),
        sa.ForeignKeyConstraint(["device_pk"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "device_pk", "ts"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("readings")
    op.drop_table("hourly_aggregates")
    with op.batch_alter_table("dirty_hours", schema=None) as batch_op:
        batch_op.drop_index("ix_dirty_hours_hour_start")

    op.drop_table("dirty_hours")
    op.drop_table("api_keys")
    op.drop_table("devices")
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_messages_user_conv")

    op.drop_table("chat_messages")
    op.drop_table("users")
    op.drop_table("job_runs")
