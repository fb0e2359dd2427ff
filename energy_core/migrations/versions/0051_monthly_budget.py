"""a household's monthly budget, compared with its bill (docs/tariffs.md)"""

import sqlalchemy as sa
from alembic import op

revision: str = "0051_monthly_budget"
down_revision: str | None = "0021_devices_fillfactor"


def upgrade() -> None:
    op.add_column("users", sa.Column("monthly_budget", sa.Float(precision=53), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "monthly_budget")
