"""row-level security on every table that holds households' rows (PostgreSQL only)

A query that forgot its ``user_id`` filter returns the rows of the transaction's household, or
nothing, instead of another household's (energy_core/household_scope.py).
"""

from alembic import op

from energy_core.household_scope import (
    protect_table_sql,
    protected_tables,
    unprotect_table_sql,
    unprotected_tables,
)

revision: str = "0090_row_level_security"
down_revision: str | None = "0070_tariff_alternatives"


# Every table with a ``user_id`` column at this point of the chain, found in the catalog (a
# partitioned table's partitions are filtered through it). A table added later protects itself in
# its own migration; tests/core/test_row_level_security.py finds any that does not.
def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return  # SQLite has no row-level security
    for table in unprotected_tables(bind):
        for statement in protect_table_sql(table):
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in protected_tables(bind):
        for statement in unprotect_table_sql(table):
            op.execute(statement)
