"""``GET /api/v1/telemetry/aggregates/hourly``: statistics per device and UTC hour."""

from __future__ import annotations

from fastapi import APIRouter

from energy_core import telemetry
from ingest_api import schemas
from ingest_api.deps import ReaderDep, SessionDep, SettingsDep
from ingest_api.errors import documented
from ingest_api.query import CursorParam, DeviceParam, LimitParam, TimeParam, time_range

router = APIRouter(tags=["read"])


@router.get(
    "/api/v1/telemetry/aggregates/hourly",
    summary="Hourly statistics",
    description="Per device and UTC hour: energy, average, min and max power, sample count "
    "and coverage (DESIGN.md section 3) over the hours [start, end) touches; default the "
    "last 24 hours. Hours without data are left out.",
    response_model=schemas.HourlyPage,
    responses=documented(401, 403, 404, 422, 429, 503),
)
def get_hourly(
    principal: ReaderDep,
    session: SessionDep,
    settings: SettingsDep,
    device_id: DeviceParam = None,
    start: TimeParam = None,
    end: TimeParam = None,
    cursor: CursorParam = None,
    limit: LimitParam = 1000,
) -> schemas.HourlyPage:
    start_at, end_at = time_range(start, end)
    page = telemetry.hourly_stats(
        session,
        settings=settings,
        user_id=principal.user_id,
        device_id=device_id,
        start=start_at,
        end=end_at,
        cursor=cursor,
        limit=limit,
    )
    return schemas.HourlyPage(
        items=[schemas.HourlyItem(**vars(item)) for item in page.items],
        next_cursor=page.next_cursor,
    )
