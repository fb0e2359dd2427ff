"""``GET /api/v1/telemetry/devices``: the read key's user's devices."""

from __future__ import annotations

from fastapi import APIRouter

from energy_core import reads
from ingest_api import schemas
from ingest_api.deps import ReaderDep, SessionDep
from ingest_api.errors import documented

router = APIRouter(tags=["read"])


@router.get(
    "/api/v1/telemetry/devices",
    summary="The key's user's devices",
    response_model=schemas.DevicesOut,
    responses=documented(401, 403, 404, 422, 429, 503),
)
def get_devices(principal: ReaderDep, session: SessionDep) -> schemas.DevicesOut:
    devices = reads.user_devices(session, user_id=principal.user_id)
    items = [schemas.DeviceOut.model_validate(d, from_attributes=True) for d in devices]
    return schemas.DevicesOut(items=items)
