"""``GET /api/v1/telemetry/stats/{device_id}``: one device's figures over a range."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from energy_core import reads
from ingest_api import schemas
from ingest_api.deps import ReaderDep, SessionDep, SettingsDep
from ingest_api.errors import documented
from ingest_api.query import WindowDep, query_device

router = APIRouter(tags=["read"])


@router.get(
    "/api/v1/telemetry/stats/{device_id}",
    summary="Statistics of one device",
    description="Consumption, generation, grid import and export, cost, power (with when the "
    "peak and the minimum were read) and coverage of one device over [start, end) (default the "
    "last 24 hours), with its latest reading; docs/metrics.md defines each figure.",
    response_model=schemas.DeviceStatsOut,
    responses=documented(401, 403, 404, 422, 429, 503),
)
def get_stats(
    principal: ReaderDep,
    device_id: Annotated[str, Path(max_length=128, examples=["fridge"])],
    window: WindowDep,
    session: SessionDep,
    settings: SettingsDep,
) -> schemas.DeviceStatsOut:
    stats = reads.device_stats(
        session,
        settings=settings,
        user_id=principal.user_id,
        device_id=query_device(device_id),
        start=window.start,
        end=window.end,
    )
    return schemas.DeviceStatsOut.of_stats(stats)
