"""``GET /api/v1/telemetry/summary``: the household's figures over a range."""

from __future__ import annotations

from energy_core import reads
from ingest_api import schemas
from ingest_api.deps import HouseholdDep, read_router
from ingest_api.query import WindowDep

router = read_router()


@router.get(
    "/api/v1/telemetry/summary",
    summary="Household summary",
    description="Consumption, generation, grid import and export (hour by hour), cost and "
    "coverage of the household over [start, end) (default the last 24 hours), and of each device "
    "that took part; docs/metrics.md defines each figure.",
    response_model=schemas.SummaryOut,
)
def get_summary(household: HouseholdDep, window: WindowDep) -> schemas.SummaryOut:
    summary = household.read_figures(reads.household_summary, window=window)
    return schemas.SummaryOut.of_summary(summary)
