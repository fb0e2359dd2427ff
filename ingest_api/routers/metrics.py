"""``GET /metrics``: the API's Prometheus metrics (``ingest_api/metrics.py``), when switched on."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from energy_core.db import session_scope
from energy_core.models import DirtyHour
from energy_core.rollup import last_rollup
from energy_core.types import utcnow
from ingest_api.deps import ApiDep
from ingest_api.errors import unauthorized

router = APIRouter(tags=["service"], include_in_schema=False)

EXPOSITION = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/metrics")
def metrics(request: Request, api: ApiDep) -> Response:
    token = api.settings.metrics_token
    if token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise unauthorized()
    gauges: dict[str, tuple[str, float]] = {}
    try:
        # Across households by nature: the backlog of the whole rollup.
        with session_scope(api.engine, read_only=True, system=True) as session:
            count, oldest = session.execute(
                select(func.count(), func.min(DirtyHour.hour_start)).select_from(DirtyHour)
            ).one()
            run = last_rollup(session)
        if run is not None and run.finished_at is not None:
            # What the scheduler recorded of its last rollup (job_runs): whichever scheduler ran.
            gauges["energy_rollup_last_run_age_seconds"] = (
                "Seconds since the last rollup run finished.",
                _age(run.finished_at),
            )
            gauges["energy_rollup_last_run_duration_seconds"] = (
                "How long the last rollup run took.",
                float(run.duration_s),
            )
            gauges["energy_rollup_last_run_hours"] = (
                "(device, hour) pairs the last rollup run recomputed.",
                float(run.hours_computed),
            )
        gauges["energy_rollup_dirty_hours"] = (
            "(device, hour) pairs waiting for the rollup.",
            float(count),
        )
        gauges["energy_rollup_oldest_dirty_age_seconds"] = (
            "Age of the oldest hour waiting for the rollup; 0 when none waits.",
            _age(oldest),
        )
        gauges["energy_database_up"] = ("1 if the database answered this scrape.", 1.0)
    except DBAPIError:
        gauges["energy_database_up"] = ("1 if the database answered this scrape.", 0.0)
    cache = api.limiter.cache
    if getattr(cache, "backend", None) == "redis":
        gauges["energy_redis_up"] = ("0 while Redis failed and memory stands in.", float(cache.up))
        gauges["energy_redis_errors_total"] = ("Redis calls that failed.", float(cache.errors))
    return Response(request.app.state.metrics.render(gauges), media_type=EXPOSITION)


def _age(oldest: datetime | None) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # naive means UTC here
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (utcnow() - oldest).total_seconds())
