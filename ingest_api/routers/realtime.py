"""``GET /api/v1/telemetry/realtime``: every device's current power."""

from __future__ import annotations

from fastapi import APIRouter

from energy_core import reads
from ingest_api import schemas
from ingest_api.deps import ReaderDep, SessionDep, SettingsDep
from ingest_api.errors import documented

router = APIRouter(tags=["read"])


@router.get(
    "/api/v1/telemetry/realtime",
    summary="Current power of every device",
    response_model=schemas.RealtimeOut,
    responses=documented(401, 403, 404, 422, 429, 503),
)
def get_realtime(
    principal: ReaderDep, session: SessionDep, settings: SettingsDep
) -> schemas.RealtimeOut:
    now = reads.realtime(session, settings=settings, user_id=principal.user_id)
    return schemas.RealtimeOut.of_realtime(now)
