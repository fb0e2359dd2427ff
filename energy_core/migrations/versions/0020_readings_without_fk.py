"""readings, hourly aggregates and dirty marks without a foreign key to devices

The foreign key from ``readings.device_pk`` to ``devices`` looked the device up again for every
row written (a trigger per row on PostgreSQL, a lookup per row on SQLite), which halved the rate at
which readings can be stored. Ingest checks the devices of a batch once, and deleting a device or a
user deletes its rows in the same transaction (``energy_core.accounts``); ``energy_core.integrity``
finds rows whose device is gone, should any appear. The aggregates and the dirty marks lose theirs
for the same reason: they are written per device and hour on the same hot path.

Nothing is rewritten on PostgreSQL (dropping a constraint only changes the catalog). SQLite cannot
drop a constraint, so each table is copied into a new one without it, rows unchanged.
"""

import re

import sqlalchemy as sa
from alembic import op

revision: str = "0020_readings_without_fk"
down_revision: str | None = "0004_app"

TABLES = ("readings", "hourly_aggregates", "dirty_hours")
_SQLITE_REFERENCE = "FOREIGN KEY(device_pk) REFERENCES devices (id) ON DELETE CASCADE"
_SQLITE_FOREIGN_KEY = re.compile(
    r",\s*FOREIGN KEY\s*\(device_pk\)\s*REFERENCES\s+devices\s*\(id\)\s*ON DELETE CASCADE",
    re.IGNORECASE,
)


def _postgres_foreign_keys(table: str) -> list[str]:
    return list(
        op.get_bind()
        .execute(
            sa.text(
                "SELECT conname FROM pg_constraint "
                "WHERE conrelid = CAST(:table AS regclass) AND contype = 'f'"
            ),
            {"table": table},
        )
        .scalars()
    )


def _sqlite_rebuild(table: str, *, with_foreign_key: bool) -> None:
    """Copy ``table`` into a new table of the same shape, with or without the foreign key."""
    sql = op.get_bind().execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :table"),
        {"table": table},
    )
    create = sql.scalar_one()
    if with_foreign_key:
        head, _, tail = create.rpartition(")")
        create = f"{head}, {_SQLITE_REFERENCE})" + tail
    else:
        create = _SQLITE_FOREIGN_KEY.sub("", create)
    indexes = list(
        op.get_bind()
        .execute(
            sa.text(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :table "
                "AND sql IS NOT NULL"
            ),
            {"table": table},
        )
        .scalars()
    )
    op.execute(f"ALTER TABLE {table} RENAME TO {table}_old")
    op.execute(create)
    op.execute(f"INSERT INTO {table} SELECT * FROM {table}_old")
    op.execute(f"DROP TABLE {table}_old")
    for index in indexes:
        op.execute(index)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            _sqlite_rebuild(table, with_foreign_key=False)
        return
    for table in TABLES:
        for name in _postgres_foreign_keys(table):
            op.drop_constraint(name, table, type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            _sqlite_rebuild(table, with_foreign_key=True)
        return
    for table in TABLES:
        op.create_foreign_key(
            f"{table}_device_pk_fkey", table, "devices", ["device_pk"], ["id"], ondelete="CASCADE"
        )
