"""``GET /api/v1/telemetry/summary``: the household's figures over a range."""

from __future__ import annotations

from fastapi import APIRouter

from energy_core import reads
from ingest_api import schemas
from ingest_api.deps import ReaderDep, SessionDep, SettingsDep
from ingest_api.errors import documented
from ingest_api.query import WindowDep

router = APIRouter(tags=["read"])


@router.get(
    "/api/v1/telemetry/summary",
    summary="Household summary",
    description="Consumption, generation, grid import and export (hour by hour), cost and "
    "coverage of the household over [start, end) (default the last 24 hours), and of each device "
    "that took part; docs/metrics.md defines each figure.",
    response_model=schemas.SummaryOut,
    responses=documented(401, 403, 404, 422, 429, 503),
)
def get_summary(
    principal: ReaderDep, window: WindowDep, session: SessionDep, settings: SettingsDep
) -> schemas.SummaryOut:
    summary = reads.household_summary(
        session, settings=settings, user_id=principal.user_id, start=window.start, end=window.end
    )
    return schemas.SummaryOut.of_summary(summary)
