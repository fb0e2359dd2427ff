"""``GET /api/v1/bill``: the household's bill so far, its projection and the budget."""

from __future__ import annotations

from energy_core import clock
from energy_core.stats.bills import billing_summary
from ingest_api.bill_schemas import BillingOut
from ingest_api.deps import HouseholdDep, read_router

router = read_router(401, 403, 422, 429, 503)


@router.get(
    "/api/v1/bill",
    summary="The bill so far",
    description="The current billing period's bill so far (energy cost, standing charge, tax), "
    "its projection to the period's end with the method in words, the last period, the same "
    "days a year earlier, and the budget's progress; docs/tariffs.md defines each figure.",
    response_model=BillingOut,
)
def get_bill(household: HouseholdDep) -> BillingOut:
    summary = household.read_figures(billing_summary, now=clock.now(household.settings))
    return BillingOut.of_summary(summary)
