"""The public shapes of the API's answers, for the OpenAPI document and for the read endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

READING_EXAMPLE = {
    "device_id": "fridge",
    "timestamp": "2026-05-01T12:00:00Z",
    "energy_watts": 112.5,
}
BATCH_EXAMPLE = {
    "readings": [
        READING_EXAMPLE,
        {"device_id": "fridge", "timestamp": 1777636860, "energy_watts": 0.8},
        {"device_id": "solar", "timestamp": "2026-05-01T14:01:00+02:00", "power_w": -2450.0},
    ]
}


def _example(value: dict) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [value]})


class ErrorDetail(BaseModel):
    index: int | None = Field(None, description="Position of the reading in the batch, if any.")
    field: str = Field(description="The field (or parameter) that is wrong.")
    message: str = Field(description="What is wrong with it.")


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable, machine-readable code, e.g. validation_error.")
    message: str = Field(description="What went wrong and what to do about it.")
    details: list[ErrorDetail] = Field(description="One entry per problem (at most 100).")


class ErrorBody(BaseModel):
    """Every error of the API has this shape."""

    model_config = _example(
        {
            "error": {
                "code": "validation_error",
                "message": "1 problem(s) in the batch; nothing was stored.",
                "details": [
                    {"index": 3, "field": "energy_watts", "message": "must be a finite number"}
                ],
            }
        }
    )
    error: ErrorInfo


class IngestAccepted(BaseModel):
    """A committed batch: ``accepted`` new readings, ``duplicates`` already stored (or repeated
    within the batch), which were left as they were."""

    model_config = _example({"accepted": 998, "duplicates": 2})
    accepted: int
    duplicates: int


class ReadingItem(BaseModel):
    device_id: str
    timestamp: datetime = Field(description="UTC.")
    energy_watts: float = Field(description="Power in watts; negative is export.")


class ReadingsPage(BaseModel):
    model_config = _example(
        {
            "items": [
                {"device_id": "fridge", "timestamp": "2026-05-01T12:00:00Z", "energy_watts": 112.5}
            ],
            "next_cursor": "eyJrIjoicmVhZGluZ3MiLCJkIjoxLCJ0IjoxNzc3NjM2ODAwMDAwMDAwfQ",
        }
    )
    items: list[ReadingItem]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: end.")


class HourlyItem(BaseModel):
    device_id: str
    hour_start: datetime = Field(description="Start of the UTC hour [hour_start, +1 h).")
    energy_wh: float = Field(description="Energy over the hour (watt-hours).")
    avg_watts: float | None = Field(description="energy_wh over the covered time; null if none.")
    min_watts: float | None = Field(description="Lowest reading taken in the hour.")
    max_watts: float | None = Field(description="Highest reading taken in the hour.")
    sample_count: int = Field(description="Readings taken in the hour.")
    coverage: float = Field(description="Share of the hour held by readings, 0..1.")


class HourlyPage(BaseModel):
    model_config = _example(
        {
            "items": [
                {
                    "device_id": "fridge",
                    "hour_start": "2026-05-01T12:00:00Z",
                    "energy_wh": 95.2,
                    "avg_watts": 95.2,
                    "min_watts": 0.8,
                    "max_watts": 140.1,
                    "sample_count": 360,
                    "coverage": 1.0,
                }
            ],
            "next_cursor": None,
        }
    )
    items: list[HourlyItem]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: end.")


class DeviceStatsOut(BaseModel):
    model_config = _example(
        {
            "device_id": "fridge",
            "name": "Fridge",
            "start": "2026-05-01T00:00:00Z",
            "end": "2026-05-02T00:00:00Z",
            "energy_wh": 1210.4,
            "avg_watts": 50.4,
            "min_watts": 0.8,
            "max_watts": 140.1,
            "sample_count": 8640,
            "coverage": 1.0,
            "first_reading_at": "2026-05-01T00:00:04Z",
            "last_reading_at": "2026-05-01T23:59:54Z",
            "latest_power_w": 96.0,
            "latest_reading_at": "2026-05-02T08:15:04Z",
            "last_seen_at": "2026-05-02T08:15:04Z",
        }
    )
    device_id: str
    name: str
    start: datetime
    end: datetime
    energy_wh: float
    avg_watts: float | None
    min_watts: float | None
    max_watts: float | None
    sample_count: int
    coverage: float
    first_reading_at: datetime | None
    last_reading_at: datetime | None
    latest_power_w: float | None
    latest_reading_at: datetime | None
    last_seen_at: datetime | None


class DeviceEnergyOut(BaseModel):
    device_id: str
    name: str
    location: str
    energy_wh: float
    coverage: float


class SummaryOut(BaseModel):
    model_config = _example(
        {
            "start": "2026-05-01T00:00:00Z",
            "end": "2026-05-02T00:00:00Z",
            "energy_wh": 9120.0,
            "cost": 2.74,
            "currency": "EUR",
            "coverage": 0.98,
            "device_count": 2,
            "devices": [
                {
                    "device_id": "heat-pump",
                    "name": "Heat pump",
                    "location": "cellar",
                    "energy_wh": 7910.0,
                    "coverage": 0.97,
                },
                {
                    "device_id": "fridge",
                    "name": "Fridge",
                    "location": "kitchen",
                    "energy_wh": 1210.0,
                    "coverage": 0.99,
                },
            ],
        }
    )
    start: datetime
    end: datetime
    energy_wh: float = Field(description="Net energy: imports minus exports (watt-hours).")
    cost: float = Field(description="energy_wh at the user's price per kWh.")
    currency: str
    coverage: float = Field(description="Average share of the range covered by readings.")
    device_count: int
    devices: list[DeviceEnergyOut] = Field(description="Largest consumers first.")


class RealtimeDeviceOut(BaseModel):
    device_id: str
    name: str
    location: str
    power_w: float | None = Field(description="Current power; null when the device is offline.")
    reading_at: datetime | None
    last_seen_at: datetime | None
    online: bool
    today_energy_wh: float


class RealtimeOut(BaseModel):
    model_config = _example(
        {
            "at": "2026-05-02T08:15:10Z",
            "total_power_w": 1296.0,
            "online": 1,
            "devices": [
                {
                    "device_id": "fridge",
                    "name": "Fridge",
                    "location": "kitchen",
                    "power_w": 96.0,
                    "reading_at": "2026-05-02T08:15:04Z",
                    "last_seen_at": "2026-05-02T08:15:04Z",
                    "online": True,
                    "today_energy_wh": 402.3,
                }
            ],
        }
    )
    at: datetime
    total_power_w: float
    online: int
    devices: list[RealtimeDeviceOut]


class DeviceOut(BaseModel):
    device_id: str
    name: str
    type: str
    location: str
    is_active: bool
    bidirectional: bool
    created_at: datetime
    last_seen_at: datetime | None


class DevicesOut(BaseModel):
    model_config = _example(
        {
            "items": [
                {
                    "device_id": "fridge",
                    "name": "Fridge",
                    "type": "appliance",
                    "location": "kitchen",
                    "is_active": True,
                    "bidirectional": False,
                    "created_at": "2026-04-01T09:00:00Z",
                    "last_seen_at": "2026-05-02T08:15:04Z",
                }
            ]
        }
    )
    items: list[DeviceOut]
