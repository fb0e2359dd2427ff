"""a household's monthly budget, compared with its bill (docs/tariffs.md)

Revision ID: 0051_monthly_budget
Revises: 0021_devices_fillfactor
Create Date: 2026-12-02 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0051_monthly_budget"
down_revision: str | None = "0021_devices_fillfactor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("monthly_budget", sa.Float(precision=53), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "monthly_budget")
