"""The public shape of ``GET /api/v1/bill``: the billing period so far, its projection, the last
period, the same days a year earlier and the budget (docs/tariffs.md, "Bills, budget and
what-if")."""

from __future__ import annotations

from pydantic import BaseModel, Field

from energy_core.stats.bills import BillingSummary
from ingest_api.schemas import with_example


class BillOut(BaseModel):
    first_day: str = Field(description="The first local day of the bill, YYYY-MM-DD.")
    last_day: str = Field(description="The last local day of the bill (inclusive).")
    days: int = Field(description="Local days the bill covers.")
    days_so_far: int = Field(description="Days of it that have begun.")
    energy: float = Field(
        description="The cost metric over its days: grid import x import price - grid export x "
        "export price, hour by hour (docs/metrics.md)."
    )
    standing_charge: float = Field(description="The standing charge of every day begun.")
    tax: float = Field(description="Tax on the energy cost and the standing charge.")
    total: float = Field(description="energy + standing_charge + tax.")
    has_readings: bool = Field(
        description="False when no reading covers any of its days: the bill is then no data, "
        "and its total (standing charges at most) is not a measured bill."
    )


class BillingOut(BaseModel):
    model_config = with_example(
        {
            "currency": "GBP",
            "current": {
                "first_day": "2026-04-01",
                "last_day": "2026-04-30",
                "days": 30,
                "days_so_far": 2,
                "energy": 3.1,
                "standing_charge": 1.2,
                "tax": 0.215,
                "total": 4.515,
                "has_readings": True,
            },
            "projected_total": 65.1,
            "projection_method": "the average energy cost per day of the whole days so "
            "far, times the days of the period, plus the standing charge of every day "
            "of it, plus tax",
            "budget": 80.0,
            "budget_used": 0.0564,
            "budget_verdict": "within budget",
        }
    )
    currency: str = Field(description="The household's currency.")
    current: BillOut = Field(description="This billing period so far.")
    projected_total: float | None = Field(
        description="The period's bill projected to its end (null until a whole day has passed)."
    )
    projection_method: str = Field(description="How the projection is made, in words.")
    last: BillOut = Field(description="The last billing period.")
    same_days_last_year: BillOut | None = Field(
        description="This period's days so far, a year earlier, at the tariff valid then."
    )
    budget: float | None = Field(description="The budget per billing period (null: none set).")
    budget_used: float | None = Field(
        description="The share of the budget this period's bill so far has used (1 = all)."
    )
    budget_verdict: str | None = Field(
        description="'within budget', 'on course to exceed the budget' (the projection passes "
        "it) or 'over budget'; null without a budget."
    )

    @classmethod
    def of_summary(cls, summary: BillingSummary) -> BillingOut:
        return cls.model_validate(summary.as_dict())
