"""The live simulator: posts the demo household's current power through the real ingest HTTP API.

It behaves like a well-made meter hub: it samples every ``interval_s``, keeps what it could not send
in a bounded buffer while the API is down, retries with exponential backoff (honouring
``Retry-After``), and sends the backlog when the API comes back. It never raises on an outage.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from energy_core.demo import DEMO_DEVICES, DemoDevice, demo_device, household_power_w

log = logging.getLogger(__name__)

BATCH_PATH = "/api/v1/telemetry/batch"
# Below the API's default batch limit (5,000), so a backlog goes out in a few requests.
MAX_BATCH_READINGS = 1_000
# About eight hours of 7 devices every 10 s: enough for an outage of a working day.
MAX_PENDING_READINGS = 20_000
# Statuses worth trying again; anything else in 4xx means the readings themselves were refused.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass
class SimulatorStats:
    """What one run of the simulator did, for logs and tests."""

    samples: int = 0  # ticks at which every device was sampled
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0  # readings the API refused for good (4xx): dropped
    dropped: int = 0  # readings lost because the buffer was full during a long outage
    failed_attempts: int = 0  # requests that failed and were retried


def iso_utc(ts: datetime) -> str:
    """``2026-01-20T12:00:00.123Z``: ISO 8601 in UTC with a ``Z``, as devices send it."""
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sample_readings(*, devices: Sequence[DemoDevice], at: datetime) -> list[dict]:
    """One reading per device at ``at``, shaped as the batch API expects them."""
    # The timestamp goes out in milliseconds: compute the power at exactly that instant, so a stored
    # reading always equals the model at its own timestamp.
    at = at.replace(microsecond=at.microsecond // 1000 * 1000)
    timestamp = iso_utc(at)
    return [
        {"device_id": device_id, "timestamp": timestamp, "energy_watts": power_w}
        for device_id, power_w in household_power_w(at=at, devices=devices).items()
    ]


class _RetryLater(Exception):
    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


def _retry_after_s(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare from our API, and the backoff is a fine substitute


def _error_message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


class _Sender:
    """Sends the buffered readings in order; raises _RetryLater when the API is not there."""

    def __init__(
        self, *, client: httpx.Client, url: str, api_key: str, stats: SimulatorStats
    ) -> None:
        self._client = client
        self._url = url
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._stats = stats

    def send(self, pending: deque[dict]) -> None:
        while pending:
            chunk = [pending[i] for i in range(min(MAX_BATCH_READINGS, len(pending)))]
            try:
                response = self._client.post(
                    self._url, json={"readings": chunk}, headers=self._headers
                )
            except httpx.RequestError as exc:  # connection, timeout, protocol errors
                raise _RetryLater(f"{type(exc).__name__}: {exc}") from exc
            if response.status_code in RETRYABLE_STATUSES:
                raise _RetryLater(f"HTTP {response.status_code}", _retry_after_s(response))
            for _ in chunk:
                pending.popleft()
            if response.is_success:
                try:
                    body = response.json()
                    self._stats.accepted += int(body.get("accepted", len(chunk)))
                    self._stats.duplicates += int(body.get("duplicates", 0))
                except (ValueError, TypeError, AttributeError):
                    self._stats.accepted += len(chunk)
                log.debug("posted %d readings", len(chunk))
            else:
                # Sending the same readings again would be refused again: drop them and go on.
                self._stats.rejected += len(chunk)
                log.error(
                    "the API refused %d readings with HTTP %d: %s",
                    len(chunk),
                    response.status_code,
                    _error_message(response),
                )


def run_simulator(
    *,
    api_url: str,
    api_key: str,
    devices: Sequence[DemoDevice | str] = DEMO_DEVICES,
    interval_s: float = 10.0,
    stop_event: threading.Event | None = None,
    client: httpx.Client | None = None,
    backoff_initial_s: float = 1.0,
    backoff_max_s: float = 60.0,
    timeout_s: float = 10.0,
) -> SimulatorStats:
    """Post one reading per device every ``interval_s`` to ``{api_url}/api/v1/telemetry/batch``
    until ``stop_event`` is set. ``devices`` are demo devices or their device ids.

    Connection errors, timeouts, 429 and 5xx are retried with exponential backoff while new samples
    keep being buffered; other 4xx answers are logged and their readings dropped.
    """
    if interval_s <= 0:
        raise ValueError("interval_s must be positive.")
    resolved = [demo_device(d) for d in devices]
    if not resolved:
        raise ValueError("The simulator needs at least one device.")
    stop = stop_event or threading.Event()
    own_client = client is None
    http = client or httpx.Client(timeout=timeout_s)
    url = api_url.rstrip("/") + BATCH_PATH
    stats = SimulatorStats()
    sender = _Sender(client=http, url=url, api_key=api_key, stats=stats)
    pending: deque[dict] = deque()
    jitter = random.Random()  # only spreads retries out; nothing depends on its values
    failures = 0
    retry_at = 0.0
    next_sample_at = time.monotonic()
    log.info("simulating %d devices, posting to %s every %g s", len(resolved), url, interval_s)
    try:
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_sample_at:
                _buffer(pending, sample_readings(devices=resolved, at=datetime.now(UTC)), stats)
                stats.samples += 1
                # Keep a steady cadence, but after a long stall start afresh instead of bursting.
                next_sample_at = max(next_sample_at + interval_s, now)
            if pending and now >= retry_at:
                try:
                    sender.send(pending)
                except _RetryLater as exc:
                    failures += 1
                    stats.failed_attempts += 1
                    delay_s = exc.retry_after_s
                    if delay_s is None:
                        delay_s = backoff_initial_s * 2 ** min(failures - 1, 20)
                        delay_s *= 0.8 + 0.4 * jitter.random()
                    delay_s = min(delay_s, backoff_max_s)
                    retry_at = time.monotonic() + delay_s
                    log.warning(
                        "cannot post to %s (%s); %d readings buffered, retry %d in %.1f s",
                        url,
                        exc.reason,
                        len(pending),
                        failures,
                        delay_s,
                    )
                else:
                    if failures:
                        log.info(
                            "the API at %s answers again after %d failed attempts", url, failures
                        )
                    failures = 0
                    retry_at = 0.0
            wake_at = next_sample_at if not pending else min(next_sample_at, retry_at)
            stop.wait(max(0.0, wake_at - time.monotonic()))
    finally:
        if own_client:
            http.close()
    log.info(
        "simulator stopped: %d accepted, %d duplicates, %d rejected, %d dropped, %d left unsent",
        stats.accepted,
        stats.duplicates,
        stats.rejected,
        stats.dropped,
        len(pending),
    )
    return stats


def _buffer(pending: deque[dict], readings: list[dict], stats: SimulatorStats) -> None:
    overflow = len(pending) + len(readings) - MAX_PENDING_READINGS
    if overflow > 0:
        # Lose the oldest readings, as a hub with a full buffer does: the newest matter most live.
        for _ in range(min(overflow, len(pending))):
            pending.popleft()
        stats.dropped += overflow
        log.warning("buffer full: dropped the %d oldest unsent readings", overflow)
    pending.extend(readings)


__all__ = ["SimulatorStats", "iso_utc", "run_simulator", "sample_readings"]
