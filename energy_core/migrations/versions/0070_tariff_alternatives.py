"""named alternative tariffs a household compares its own with (docs/tariffs.md, "What if")"""

import sqlalchemy as sa
from alembic import op

import energy_core.types

revision: str = "0070_tariff_alternatives"
down_revision: str | None = "0080_readings_by_month"


def upgrade() -> None:
    op.create_table(
        "tariff_alternatives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("created_at", energy_core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "name", name="uq_tariff_alternatives_user_name"),
    )


def downgrade() -> None:
    op.drop_table("tariff_alternatives")
