"""alert delivery error: why an alert's webhook delivery last failed, or was refused (a webhook
whose host resolves to the server's own network; docs/alerts.md, "Webhook")
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0105_alert_delivery_error"
down_revision: str | None = "0061_alert_email"


def upgrade() -> None:
    # A plain nullable ADD COLUMN: the alerts table and its partial unique index stay as they are.
    op.add_column("alerts", sa.Column("delivery_error", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("alerts", "delivery_error")
