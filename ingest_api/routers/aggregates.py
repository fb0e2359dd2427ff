"""``GET /api/v1/telemetry/aggregates/hourly``: statistics per device and UTC hour."""

from __future__ import annotations

from fastapi import APIRouter

from energy_core import reads
from ingest_api import schemas
from ingest_api.deps import ReaderDep, SessionDep, SettingsDep
from ingest_api.errors import documented
from ingest_api.query import ListingDep

router = APIRouter(tags=["read"])


@router.get(
    "/api/v1/telemetry/aggregates/hourly",
    summary="Hourly statistics",
    description="Per device and UTC hour: consumption, generation, net, grid import and export "
    "(the device's own hourly net), cost, average, min and max power, sample count and coverage "
    "(docs/metrics.md) over the hours [start, end) touches; default the last 24 hours. Hours "
    "without data are left out.",
    response_model=schemas.HourlyPage,
    responses=documented(401, 403, 404, 422, 429, 503),
)
def get_hourly(
    principal: ReaderDep, page: ListingDep, session: SessionDep, settings: SettingsDep
) -> schemas.HourlyPage:
    found = reads.hourly_stats(
        session, settings=settings, user_id=principal.user_id, **page.arguments()
    )
    return schemas.HourlyPage(
        items=[schemas.HourlyItem.of_stat(item) for item in found.items],
        next_cursor=found.next_cursor,
    )
