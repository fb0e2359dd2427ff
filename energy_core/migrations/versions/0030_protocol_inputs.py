"""inputs of the Emoncms and InfluxDB protocols; keys that register inputs; keys found by hash

Hubs send many values per node (power, voltage, temperature, meter totals). ``inputs`` holds each
one a household's hubs have sent (``node:name``), whether it is watts (only those become readings
of the device of that name) and its latest value and time (what ``input/get`` answers).

``api_keys.register_inputs`` says whether a key's unknown power inputs become devices on first
sight. Emoncms keys are 32 hex characters with no lookup prefix, so keys are also found by their
hash: ``ix_api_keys_key_hash``.
"""

import sqlalchemy as sa
from alembic import op

import energy_core.types

revision: str = "0030_protocol_inputs"
down_revision: str | None = "0010_consumed_generated"


def upgrade() -> None:
    op.create_table(
        "inputs",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("input_id", sa.String(length=128), nullable=False),
        sa.Column("is_watts", sa.Boolean(), nullable=False),
        sa.Column("last_value", sa.Float(precision=53), nullable=True),
        sa.Column("last_at", energy_core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "input_id"),
    )
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.add_column(
            sa.Column("register_inputs", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.create_index("ix_api_keys_key_hash", ["key_hash"])


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.drop_index("ix_api_keys_key_hash")
        batch_op.drop_column("register_inputs")
    op.drop_table("inputs")
