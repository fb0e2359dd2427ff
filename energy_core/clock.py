"""The clock that the chat and the demo seeding read "now" from, so that their answers can be
reproduced: pinned for one command (``--now``), for a process (``ENERGY_NOW``), or the real time.

In order, "now" is: the instant pinned with ``pinned_now`` in the current context, else the
``now`` setting (``ENERGY_NOW``, ISO 8601 with an offset), else the real time in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from energy_core.settings import Settings

_pinned: ContextVar[datetime | None] = ContextVar("energy_now", default=None)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with a UTC offset (``2026-11-30T18:00:00Z``, ``...+01:00``), in UTC.
    A time without an offset is refused: it would mean a different instant in every timezone."""
    value = text.strip()
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 instant; write e.g. 2026-11-30T18:00:00Z"
        ) from None
    if at.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset; write e.g. {value}Z or {value}+01:00")
    return at.astimezone(UTC)


def now(settings: Settings | None = None) -> datetime:
    """The current instant (aware, UTC) as the chat and the demo seeding see it."""
    pinned = _pinned.get()
    if pinned is not None:
        return pinned
    if settings is None:
        from energy_core.settings import get_settings

        settings = get_settings()
    if settings.now is not None:
        return settings.now
    return datetime.now(UTC)


@contextmanager
def pinned_now(at: datetime) -> Iterator[datetime]:
    """Within the block, ``now()`` is ``at`` (an aware instant), whatever ``ENERGY_NOW`` says."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: pin an aware instant, e.g. 2026-11-30T18:00:00Z")
    token = _pinned.set(at.astimezone(UTC))
    try:
        yield at.astimezone(UTC)
    finally:
        _pinned.reset(token)


__all__ = ["now", "parse_instant", "pinned_now"]
