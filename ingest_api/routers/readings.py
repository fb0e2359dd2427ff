"""``GET /api/v1/telemetry``: a read key's readings, page by page."""

from __future__ import annotations

from fastapi import APIRouter

from energy_core import reads
from ingest_api import schemas
from ingest_api.deps import ReaderDep, SessionDep, SettingsDep
from ingest_api.errors import documented
from ingest_api.query import ListingDep

router = APIRouter(tags=["read"])


@router.get(
    "/api/v1/telemetry",
    summary="List readings",
    description="Readings of the key's user in [start, end), device by device and in time "
    "order; follow next_cursor for the next page.",
    response_model=schemas.ReadingsPage,
    responses=documented(401, 403, 404, 422, 429, 503),
)
def get_readings(
    principal: ReaderDep, page: ListingDep, session: SessionDep, settings: SettingsDep
) -> schemas.ReadingsPage:
    found = reads.list_readings(
        session, settings=settings, user_id=principal.user_id, **page.arguments()
    )
    return schemas.ReadingsPage(
        items=[
            schemas.ReadingItem(device_id=r.device_id, timestamp=r.ts, energy_watts=r.power_w)
            for r in found.items
        ],
        next_cursor=found.next_cursor,
    )
