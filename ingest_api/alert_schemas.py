"""The read API's shape of an alert (docs/alerts.md): the same fields the page and
``energy-monitor alerts list --json`` show."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ingest_api.schemas import with_example


class AlertFigureOut(BaseModel):
    label: str = Field(description="What the figure is, in the glossary's words.")
    value: float | int | str | None = Field(description="Its value; null: no data.")
    unit: str = Field(description="Its unit (W, min, h, a currency...), empty when it has none.")


class AlertPointOut(BaseModel):
    at: str = Field(description="UTC start of the point's hour or day (ISO 8601).")
    label: str | None = Field(description="The point's name on a bar chart (a local day...).")
    value: float | None = Field(description="The charted figure; null: no reading holds.")
    usual: float | None = Field(description="The usual value to compare with, if any.")


class AlertReferenceOut(BaseModel):
    label: str
    value: float | None


class AlertChartOut(BaseModel):
    title: str
    unit: str
    mark: str = Field(description="line (hours) or bar (days, weeks).")
    reference: AlertReferenceOut | None = Field(description="A level to compare with (budget).")
    points: list[AlertPointOut]


class AlertEvidenceOut(BaseModel):
    figures: list[AlertFigureOut] = Field(description="The figures the explanation quotes.")
    chart: AlertChartOut = Field(description="The chart behind the alert.")


class AlertOut(BaseModel):
    id: int
    kind: str = Field(
        description="offline, unusual_use, left_on, baseload_rising, budget or cheap_period."
    )
    kind_title: str
    key: str = Field(description="The condition: at most one open alert per key.")
    state: str = Field(description="open, acknowledged (or muted) or resolved.")
    muted: bool = Field(description="No new alert opens for this condition while muted.")
    device_id: str | None = Field(description="The device, for a device's alert.")
    device_name: str | None
    title: str
    explanation: str = Field(description="What happened and why it is an alert, in words.")
    evidence: AlertEvidenceOut
    opened_at: str
    updated_at: str = Field(description="The last evaluation that found the condition.")
    resolved_at: str | None = Field(description="When the condition cleared; null while open.")
    acknowledged_at: str | None


EXAMPLE = {
    "id": 12,
    "kind": "offline",
    "kind_title": "Device offline",
    "key": "offline:kitchen-fridge",
    "state": "open",
    "muted": False,
    "device_id": "kitchen-fridge",
    "device_name": "Kitchen fridge",
    "title": "Kitchen fridge is offline",
    "explanation": "Kitchen fridge has sent no reading for 2 h 05 min: last seen 2026-11-30 "
    "08:00 UTC. It is not online (its latest reading no longer holds: it usually reports every "
    "1,800 s, its max gap is 3600 s) and counts as offline after 90 minutes without a reading. "
    "Check its power and network.",
    "evidence": {
        "figures": [
            {"label": "Last seen", "value": "2026-11-30T08:00:00+00:00", "unit": ""},
            {"label": "Minutes without a reading", "value": 125, "unit": "min"},
            {"label": "Offline after", "value": 90, "unit": "min"},
            {"label": "Usual reporting interval", "value": 1800.0, "unit": "s"},
        ],
        "chart": {
            "title": "Kitchen fridge: average power per hour",
            "unit": "W",
            "mark": "line",
            "reference": None,
            "points": [
                {"at": "2026-11-30T07:00:00+00:00", "label": None, "value": 80.0, "usual": None}
            ],
        },
    },
    "opened_at": "2026-11-30T10:05:00+00:00",
    "updated_at": "2026-11-30T10:05:00+00:00",
    "resolved_at": None,
    "acknowledged_at": None,
}


class AlertsOut(BaseModel):
    model_config = with_example({"items": [EXAMPLE]})

    items: list[AlertOut] = Field(description="The alerts, newest first.")
