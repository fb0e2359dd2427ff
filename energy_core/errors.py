"""What went wrong, in the library's words: every error a user can act on is a ``CoreError`` with
a ``kind``; each shell maps kinds to its own answer (the API to an HTTP status, the CLI to an exit
code, a page to a message)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import ClassVar


class ErrorKind(StrEnum):
    malformed = "malformed"  # the input cannot be read at all (not JSON, not UTF-8, empty)
    invalid = "invalid"  # the input breaks a rule; details name each problem
    unauthorized = "unauthorized"  # no valid credentials
    forbidden = "forbidden"  # valid credentials that may not do this
    not_found = "not_found"  # no such thing for this user (or someone else's: same answer)
    conflict = "conflict"  # the thing exists already
    too_large = "too_large"  # more than a configured limit
    unsupported_media_type = "unsupported_media_type"  # sent in a format that is not accepted
    rate_limited = "rate_limited"  # too many requests; try again later
    unavailable = "unavailable"  # a service behind it (the database) does not answer


class CoreError(Exception):
    """An error a user can act on. ``code`` names it for machines, the message says what was
    wrong and what to do, ``details`` (plain dicts) point at each problem."""

    kind: ClassVar[ErrorKind] = ErrorKind.invalid
    code: ClassVar[str] = "invalid"

    def __init__(self, message: str = "", details: Sequence[Mapping] = ()):
        super().__init__(message)
        self._details = [dict(d) for d in details]

    @property
    def details(self) -> list[dict]:
        return self._details


class NotFoundError(CoreError, LookupError):
    """The object does not exist for this user (or belongs to someone else: same answer)."""

    kind = ErrorKind.not_found
    code = "not_found"


class ConflictError(CoreError, ValueError):
    """The object already exists."""

    kind = ErrorKind.conflict
    code = "conflict"
