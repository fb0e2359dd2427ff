"""``GET /api/v1/telemetry/stats/{device_id}``: one device's figures over a range."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from energy_core import reads
from ingest_api import schemas
from ingest_api.deps import HouseholdDep, read_router
from ingest_api.query import WindowDep, query_device

router = read_router()


@router.get(
    "/api/v1/telemetry/stats/{device_id}",
    summary="Statistics of one device",
    description="Consumption, generation, grid import and export, cost, power (with when the "
    "peak and the minimum were read) and coverage of one device over [start, end) (default the "
    "last 24 hours), with its latest reading; docs/metrics.md defines each figure.",
    response_model=schemas.DeviceStatsOut,
)
def get_stats(
    household: HouseholdDep,
    device_id: Annotated[str, Path(max_length=128, examples=["fridge"])],
    window: WindowDep,
) -> schemas.DeviceStatsOut:
    stats = household.read_figures(
        reads.device_stats, device_id=query_device(device_id), window=window
    )
    return schemas.DeviceStatsOut.of_stats(stats)
