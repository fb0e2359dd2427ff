"""``GET /api/v1/telemetry/devices``: the read key's user's devices."""

from __future__ import annotations

from energy_core import reads
from ingest_api import schemas
from ingest_api.deps import HouseholdDep, read_router

router = read_router()


@router.get(
    "/api/v1/telemetry/devices",
    summary="The key's user's devices",
    response_model=schemas.DevicesOut,
)
def get_devices(household: HouseholdDep) -> schemas.DevicesOut:
    devices = reads.user_devices(household.session, user_id=household.user_id)
    items = [schemas.DeviceOut.model_validate(d, from_attributes=True) for d in devices]
    return schemas.DevicesOut(items=items)
