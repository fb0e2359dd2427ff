"""``GET /api/v1/telemetry/realtime``: every device's current power."""

from __future__ import annotations

from energy_core import reads
from ingest_api import schemas
from ingest_api.deps import HouseholdDep, read_router

router = read_router()


@router.get(
    "/api/v1/telemetry/realtime",
    summary="Current power of every device",
    response_model=schemas.RealtimeOut,
)
def get_realtime(household: HouseholdDep) -> schemas.RealtimeOut:
    return schemas.RealtimeOut.of_realtime(household.read_figures(reads.realtime))
