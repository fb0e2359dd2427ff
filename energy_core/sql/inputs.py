"""The inputs' SQL (Emoncms and InfluxDB values by name): adding the ones seen for the first time
and moving their latest value, for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, and_, bindparam, or_, update
from sqlalchemy.dialects import postgresql, sqlite

from energy_core.models import Input
from energy_core.sql import is_sqlite
from energy_core.types import from_epoch_us, utcnow


def add_inputs(conn: Connection, *, user_id: int, kinds: Mapping[str, bool]) -> None:
    """Add the inputs ``kinds`` (input id -> is watts); one another request added meanwhile is
    kept as it is."""
    if not kinds:
        return
    insert = sqlite.insert if is_sqlite(conn) else postgresql.insert
    now = utcnow()
    rows = [
        {"user_id": user_id, "input_id": name, "is_watts": watts, "created_at": now}
        for name, watts in kinds.items()
    ]
    conn.execute(insert(Input).on_conflict_do_nothing(index_elements=["user_id", "input_id"]), rows)


def move_latest(conn: Connection, *, user_id: int, latest: Mapping[str, tuple[int, float]]) -> None:
    """Set each input's latest value (input id -> (epoch µs, value)) unless it has a newer one."""
    if not latest:
        return
    table = Input.__table__
    statement = (
        update(table)
        .where(
            and_(
                table.c.user_id == bindparam("uid"),
                table.c.input_id == bindparam("iid"),
                or_(table.c.last_at.is_(None), table.c.last_at < bindparam("at")),
            )
        )
        .values(last_value=bindparam("value"), last_at=bindparam("at"))
    )
    conn.execute(
        statement,
        [
            {"uid": user_id, "iid": name, "at": from_epoch_us(ts_us), "value": value}
            for name, (ts_us, value) in latest.items()
        ],
    )
