"""Column types shared by every table: UTC instants that are compact and exact on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def to_epoch_us(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("naive datetime: every datetime in the monitor must carry a timezone")
    return (value - EPOCH) // _MICRO


def from_epoch_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


class UTCDateTime(TypeDecorator):
    """A timezone-aware instant.

    PostgreSQL stores ``timestamptz``. SQLite stores integer microseconds since the epoch: eight
    bytes instead of a 26-character string, exact ordering, and integer arithmetic in the rollup.
    Python always sees an aware UTC ``datetime``; naive values are refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every datetime in the monitor must carry a timezone")
        if dialect.name == "sqlite":
            return to_epoch_us(value)
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return from_epoch_us(int(value))
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
