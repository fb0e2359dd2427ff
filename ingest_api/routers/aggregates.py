"""``GET /api/v1/telemetry/aggregates/hourly``: statistics per device and UTC hour."""

from __future__ import annotations

from energy_core import reads
from ingest_api import schemas
from ingest_api.deps import HouseholdDep, read_router
from ingest_api.query import ListingDep

router = read_router()


@router.get(
    "/api/v1/telemetry/aggregates/hourly",
    summary="Hourly statistics",
    description="Per device and UTC hour: consumption, generation, net, grid import and export "
    "(the device's own hourly net), cost, average, min and max power, sample count and coverage "
    "(docs/metrics.md) over the hours [start, end) touches; default the last 24 hours. Hours "
    "without data are left out.",
    response_model=schemas.HourlyPage,
)
def get_hourly(household: HouseholdDep, page: ListingDep) -> schemas.HourlyPage:
    found = household.read_figures(reads.hourly_stats, listing=page)
    return schemas.HourlyPage(
        items=[schemas.HourlyItem.of_stat(item) for item in found.items],
        next_cursor=found.next_cursor,
    )
