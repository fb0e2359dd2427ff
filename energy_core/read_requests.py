"""What the read API's library calls are asked: a time window ``[start, end)`` and, for the
paged listings, a page of one device or all (the shells parse their input into these once)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from energy_core.errors import CoreError, ErrorKind
from energy_core.types import utcnow

DEFAULT_RANGE = timedelta(hours=24)
MAX_PAGE = 10_000


class InvalidRange(CoreError, ValueError):
    """A time range that is empty or not timezone-aware (e.g. a start in the future, no end)."""

    kind = ErrorKind.invalid
    code = "validation_error"

    def __init__(self, message: str):
        super().__init__(message, [{"index": None, "field": "start", "message": message}])


@dataclass(frozen=True)
class Window:
    """``[start, end)`` as aware instants; None leaves the read's default (the last 24 hours up
    to now, or for a listing no bound)."""

    start: datetime | None = None
    end: datetime | None = None

    def require_aware(self) -> None:
        for name, value in (("start", self.start), ("end", self.end)):
            if value is not None and value.tzinfo is None:
                raise InvalidRange(f"{name} must be timezone-aware")

    def resolve(self, now: datetime | None) -> tuple[datetime, datetime]:
        """The window in UTC with its defaults filled in: the end ``now`` (default: the
        clock), the start ``DEFAULT_RANGE`` before the end."""
        end = self.end or now or utcnow()
        start = self.start or end - DEFAULT_RANGE
        Window(start, end).require_aware()
        if end <= start:
            raise InvalidRange("end must be after start (the default end is now)")
        return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class Listing:
    """One page of a listing: which device (None: all), the window, where to go on (a
    ``next_cursor`` of the page before) and how many items at most."""

    device_id: str | None = None
    window: Window = field(default_factory=Window)
    cursor: str | None = None
    limit: int = 1_000

    @property
    def page_size(self) -> int:
        return max(1, min(self.limit, MAX_PAGE))
