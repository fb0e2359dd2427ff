"""the MQTT bridge's counts and lag, for the System status page"""

import sqlalchemy as sa
from alembic import op

import energy_core.types

revision: str = "0031_mqtt_bridge_status"
down_revision: str | None = "0030_protocol_inputs"


def upgrade() -> None:
    op.create_table(
        "bridge_status",
        sa.Column("bridge", sa.String(length=64), nullable=False),
        sa.Column("started_at", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("connected", sa.Boolean(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("stored", sa.BigInteger(), nullable=False),
        sa.Column("ignored", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.Column("reconnects", sa.Integer(), nullable=False),
        sa.Column("backlog", sa.Integer(), nullable=False),
        sa.Column("last_lag_s", sa.Float(precision=53), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("bridge"),
    )


def downgrade() -> None:
    op.drop_table("bridge_status")
