"""A reading on its way in: its shapes (one reading, or parallel columns for a batch), the limits
every way in checks, and the problems a rejected batch lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from energy_core.errors import CoreError, ErrorKind
from energy_core.types import from_epoch_us

HOUR = timedelta(hours=1)
US_PER_S = 1_000_000
HOUR_US = 3_600 * US_PER_S
# Epoch seconds outside this range are certainly a unit mistake (ms/us) or garbage.
MIN_EPOCH_S = 946_684_800  # 2000-01-01
MAX_EPOCH_S = 4_102_444_800  # 2100-01-01
MIN_EPOCH_US = MIN_EPOCH_S * US_PER_S
MAX_EPOCH_US = MAX_EPOCH_S * US_PER_S
# Problems listed in one rejection; the rest are summed up in the message.
MAX_PROBLEMS = 100

TIMESTAMP_EXAMPLE = "e.g. 2026-05-01T12:00:00Z"
NOT_A_TIMESTAMP = "must be an ISO 8601 string with an offset, or epoch seconds"
EPOCH_OUT_OF_RANGE = "epoch seconds must be between 2000-01-01 and 2100-01-01 (seconds, not ms)"
BAD_DEVICE_ID = "must be a non-empty string of at most 128 printable characters"


@dataclass(frozen=True)
class ReadingIn:
    """A reading as parsed from a request: the device string is resolved against the user here."""

    device_id: str | None
    ts: datetime
    power_w: float


@dataclass
class ReadingColumns:
    """Readings as parallel columns: device strings (None: the key's device), UTC instants in
    epoch microseconds, watts. The shape bulk validation and bulk inserts work on."""

    device_ids: list[str | None]
    ts_us: list[int]
    power_w: list[float]

    def __len__(self) -> int:
        return len(self.ts_us)

    def readings(self) -> list[ReadingIn]:
        return [
            ReadingIn(d, from_epoch_us(t), p)
            for d, t, p in zip(self.device_ids, self.ts_us, self.power_w, strict=True)
        ]


@dataclass(frozen=True)
class Problem:
    index: int | None
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "message": self.message}


class IngestRejected(CoreError, ValueError):
    """The batch breaks a rule; nothing of it was stored."""

    kind = ErrorKind.invalid
    code = "validation_error"

    def __init__(self, message: str, problems: Sequence[Problem] = ()):
        super().__init__(message)
        self.problems = list(problems)

    @property
    def details(self) -> list[dict]:
        return [p.as_dict() for p in self.problems]


class InvalidBody(IngestRejected):
    """The body is not JSON at all (or not UTF-8)."""

    kind = ErrorKind.malformed
    code = "invalid_json"


class UnknownDevice(IngestRejected):
    kind = ErrorKind.not_found
    code = "unknown_device"


class DeviceNotAllowed(IngestRejected):
    kind = ErrorKind.forbidden
    code = "device_not_allowed"


def rejection(problems: list[Problem], what: str) -> IngestRejected:
    shown = problems[:MAX_PROBLEMS]
    more = f" (the first {MAX_PROBLEMS} are listed)" if len(problems) > MAX_PROBLEMS else ""
    return IngestRejected(
        f"{len(problems)} problem(s) in the {what}{more}; nothing was stored.", shown
    )
