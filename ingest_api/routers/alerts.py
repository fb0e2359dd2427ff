"""``GET /api/v1/alerts``: the read key's household's alerts, newest first."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

from energy_core import clock
from energy_core.alerts import list_alerts
from ingest_api.alert_schemas import AlertsOut
from ingest_api.deps import HouseholdDep, read_router

router = read_router(401, 403, 422, 429, 503)


@router.get(
    "/api/v1/alerts",
    summary="The household's alerts",
    description="Open alerts and those of the last 7 days (state=recent, the default), only the "
    "open ones (state=open) or all; each with its explanation and evidence (figures and a "
    "chart). docs/alerts.md describes each kind, its rule and defaults.",
    response_model=AlertsOut,
)
def get_alerts(
    household: HouseholdDep,
    state: Annotated[Literal["open", "recent", "all"], Query()] = "recent",
) -> AlertsOut:
    items = list_alerts(
        household.session,
        user_id=household.user_id,
        state=state,
        now=clock.now(household.settings),
    )
    return AlertsOut.model_validate({"items": items})
