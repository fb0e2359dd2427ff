"""Column types shared by every table: UTC instants that are compact and exact on both backends,
the UTC hours that aggregates are kept by, and a stretch of time ``[start, end)``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
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


def floor_hour(moment: datetime) -> datetime:
    """The start of the UTC hour that holds ``moment`` (aggregates are kept per UTC hour)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    """The first UTC hour start at or after ``moment``."""
    floor = floor_hour(moment)
    return floor if floor == moment else floor + HOUR


@dataclass(frozen=True)
class Stretch:
    """A stretch of time ``[start, end)``: a gap in the readings, a run of an appliance, the
    range a device's holding is measured over."""

    start: datetime
    end: datetime

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()
