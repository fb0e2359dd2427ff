"""Prometheus metrics of the API, in the text exposition format (version 0.0.4), kept in process.

Off unless ``ENERGY_METRICS=true``; with ``ENERGY_METRICS_TOKEN`` set, ``GET /metrics`` also wants
``Authorization: Bearer <token>``. Each replica counts its own requests: Prometheus scrapes every
replica and sums. What is counted:

- ``energy_api_requests_total{route,method,status}``: every answer, by route template (never the
  raw path, so that device ids and dates cannot blow up the label set);
- ``energy_api_request_duration_seconds{route}``: a latency histogram per route;
- ``energy_readings_accepted_total`` / ``energy_readings_duplicate_total``: readings stored and
  readings that were already stored, over the JSON ingest routes;
- ``energy_ingest_rejected_total{reason}``: ingest requests refused, by the error code they got
  (``validation_error``, ``unauthorized``, ``rate_limited``, ``payload_too_large`` ...);
- ``energy_api_errors_total{code}``: every error answer by code, ``database_unavailable`` included;
- ``energy_rollup_dirty_hours`` and ``energy_rollup_oldest_dirty_age_seconds``: the aggregation
  backlog, read from the database at scrape time (the rollup lag); once a rollup has run,
  ``energy_rollup_last_run_age_seconds``, ``_duration_seconds`` and ``_hours`` from ``job_runs``.
- with Redis configured, ``energy_redis_up`` and ``energy_redis_errors_total`` (calls that failed
  and were served from process memory instead).
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import defaultdict
from contextvars import ContextVar
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Seconds; the ingest routes answer in milliseconds, the read routes and chat in up to seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
INGEST_PREFIX = "/api/v1/telemetry"


@dataclass
class RequestNote:
    """What the handlers of one request tell the metrics: readings stored, the error code."""

    accepted: int = 0
    duplicates: int = 0
    error_code: str | None = None


_current: ContextVar[RequestNote | None] = ContextVar("energy_request_note", default=None)


def note_accepted(new: int, duplicates: int) -> None:
    note = _current.get()
    if note is not None:
        note.accepted += new
        note.duplicates += duplicates


def note_error(code: str) -> None:
    note = _current.get()
    if note is not None:
        note.error_code = code


@dataclass
class Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.durations: dict[str, Histogram] = defaultdict(Histogram)
        self.errors: dict[str, int] = defaultdict(int)
        self.rejected: dict[str, int] = defaultdict(int)
        self.readings_accepted = 0
        self.readings_duplicate = 0

    def record(
        self, *, route: str, method: str, status: int, seconds: float, note: RequestNote
    ) -> None:
        with self._lock:
            self.requests[(route, method, str(status))] += 1
            self.durations[route].observe(seconds)
            self.readings_accepted += note.accepted
            self.readings_duplicate += note.duplicates
            if status >= 400:
                code = note.error_code or str(status)
                self.errors[code] += 1
                if route.startswith(INGEST_PREFIX):
                    self.rejected[code] += 1

    def render(self, gauges: dict[str, tuple[str, float]] | None = None) -> str:
        with self._lock:
            out: list[str] = []
            _family(out, "energy_api_requests_total", "counter", "HTTP answers.")
            for (route, method, status), n in sorted(self.requests.items()):
                out.append(
                    _sample(
                        "energy_api_requests_total", n, route=route, method=method, status=status
                    )
                )
            name = "energy_api_request_duration_seconds"
            _family(out, name, "histogram", "Time to answer, by route.")
            for route, hist in sorted(self.durations.items()):
                running = 0
                for bound, count in zip((*BUCKETS, float("inf")), hist.counts, strict=True):
                    running += count
                    le = "+Inf" if bound == float("inf") else repr(bound)
                    out.append(_sample(f"{name}_bucket", running, route=route, le=le))
                out.append(_sample(f"{name}_sum", hist.total, route=route))
                out.append(_sample(f"{name}_count", running, route=route))
            _family(out, "energy_readings_accepted_total", "counter", "Readings stored.")
            out.append(_sample("energy_readings_accepted_total", self.readings_accepted))
            _family(
                out,
                "energy_readings_duplicate_total",
                "counter",
                "Readings received again and not stored twice.",
            )
            out.append(_sample("energy_readings_duplicate_total", self.readings_duplicate))
            _family(
                out,
                "energy_ingest_rejected_total",
                "counter",
                "Ingest requests refused, by error code.",
            )
            for code, n in sorted(self.rejected.items()):
                out.append(_sample("energy_ingest_rejected_total", n, reason=code))
            _family(out, "energy_api_errors_total", "counter", "Error answers, by error code.")
            for code, n in sorted(self.errors.items()):
                out.append(_sample("energy_api_errors_total", n, code=code))
        for gauge, (help_text, value) in sorted((gauges or {}).items()):
            _family(out, gauge, "counter" if gauge.endswith("_total") else "gauge", help_text)
            out.append(_sample(gauge, value))
        return "\n".join(out) + "\n"


def _family(out: list[str], name: str, kind: str, help_text: str) -> None:
    out.append(f"# HELP {name} {help_text}")
    out.append(f"# TYPE {name} {kind}")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _sample(name: str, value: float, **labels: str) -> str:
    text = repr(float(value)) if isinstance(value, float) else str(value)
    if not labels:
        return f"{name} {text}"
    inner = ",".join(f'{key}="{_escape(val)}"' for key, val in labels.items())
    return f"{name}{{{inner}}} {text}"


class MetricsMiddleware:
    """Times and counts every HTTP request; the route label is the matched route's template."""

    def __init__(self, app: ASGIApp, metrics: Metrics, single_path: str) -> None:
        self.app, self.metrics, self.single_path = app, metrics, single_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        note = RequestNote()
        token = _current.set(note)
        status = 500
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            _current.reset(token)
            self.metrics.record(
                route=self._route(scope),
                method=scope["method"],
                status=status,
                seconds=time.perf_counter() - started,
                note=note,
            )

    def _route(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None and getattr(route, "path", None):
            return route.path
        path = scope.get("path", "")
        # The single-reading route is answered before routing (telemetry_ingest.py).
        if scope["method"] == "POST" and path.endswith(self.single_path):
            return self.single_path
        return "unmatched"
