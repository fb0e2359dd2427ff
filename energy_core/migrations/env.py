"""Alembic environment: runs the migrations shipped inside energy_core against a URL."""

from alembic import context
from sqlmodel import SQLModel

import energy_core.alerts.models  # noqa: F401  (registers the alert tables)
import energy_core.app_settings  # noqa: F401  (registers its table on SQLModel.metadata)
import energy_core.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from energy_core.db import make_engine
from energy_core.household_scope import SCOPE_SETTING, SYSTEM

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # A migration that moves rows works on every household's (row-level security,
            # migration 0090): in system scope, for this transaction only.
            connection.exec_driver_sql(f"SELECT set_config('{SCOPE_SETTING}', '{SYSTEM}', true)")
        context.run_migrations()


run_migrations()
