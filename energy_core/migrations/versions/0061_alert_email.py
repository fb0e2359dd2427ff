"""alert e-mail: each alert's own e-mail delivery state beside the webhook's, and a household's
e-mail settings (docs/alerts.md, "E-mail")
"""

import sqlalchemy as sa
from alembic import op

import energy_core.types

revision: str = "0061_alert_email"
down_revision: str | None = "0090_row_level_security"

UTC_TS = energy_core.types.UTCDateTime


def upgrade() -> None:
    # Plain ADD COLUMN on both databases (SQLite allows it with a constant default): the alerts
    # table is never rebuilt, so its partial unique index stays exactly as 0060 made it.
    op.add_column(
        "alerts",
        sa.Column("email_delivery", sa.String(length=16), nullable=False, server_default="none"),
    )
    op.add_column(
        "alerts", sa.Column("email_attempts", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("alerts", sa.Column("next_email_at", UTC_TS(timezone=True), nullable=True))
    op.create_index(
        "ix_alerts_pending_email",
        "alerts",
        ["next_email_at"],
        sqlite_where=sa.text("email_delivery = 'pending'"),
        postgresql_where=sa.text("email_delivery = 'pending'"),
    )
    op.add_column(
        "alert_settings",
        sa.Column("email_alerts", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column("alert_settings", sa.Column("email_to", sa.String(length=254), nullable=True))


def downgrade() -> None:
    op.drop_column("alert_settings", "email_to")
    op.drop_column("alert_settings", "email_alerts")
    op.drop_index("ix_alerts_pending_email", table_name="alerts")
    op.drop_column("alerts", "next_email_at")
    op.drop_column("alerts", "email_attempts")
    op.drop_column("alerts", "email_delivery")
