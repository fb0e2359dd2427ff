"""``GET /api/v1/telemetry``: a read key's readings, page by page."""

from __future__ import annotations

from energy_core import reads
from ingest_api import schemas
from ingest_api.deps import HouseholdDep, read_router
from ingest_api.query import ListingDep

router = read_router()


@router.get(
    "/api/v1/telemetry",
    summary="List readings",
    description="Readings of the key's user in [start, end), device by device and in time "
    "order; follow next_cursor for the next page.",
    response_model=schemas.ReadingsPage,
)
def get_readings(household: HouseholdDep, page: ListingDep) -> schemas.ReadingsPage:
    found = household.read_figures(reads.list_readings, listing=page)
    return schemas.ReadingsPage(
        items=[
            schemas.ReadingItem(device_id=r.device_id, timestamp=r.ts, energy_watts=r.power_w)
            for r in found.items
        ],
        next_cursor=found.next_cursor,
    )
