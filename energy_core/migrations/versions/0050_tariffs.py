"""effective-dated tariffs per household and imported price series (docs/tariffs.md)"""

import sqlalchemy as sa
from alembic import op

import energy_core.types

revision: str = "0050_tariffs"
down_revision: str | None = "0031_mqtt_bridge_status"


def upgrade() -> None:
    op.create_table(
        "tariff_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("created_at", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "valid_from", name="uq_tariff_plans_user_from"),
    )
    op.create_table(
        "tariff_prices",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("starts_at", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("price", sa.Float(precision=53), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "direction", "starts_at"),
    )


def downgrade() -> None:
    op.drop_table("tariff_prices")
    op.drop_table("tariff_plans")
