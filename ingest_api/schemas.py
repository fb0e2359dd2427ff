"""The public shapes of the API's answers, for the OpenAPI document and for the read endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field

from energy_core.reads import DeviceStats, Energy, HourlyStat, Realtime, Summary
from energy_core.stats import GLOSSARY

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


def with_example(value: dict) -> ConfigDict:
    """A model's configuration that shows ``value`` as its example in the OpenAPI docs."""
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

    model_config = with_example(
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

    model_config = with_example({"accepted": 998, "duplicates": 2})
    accepted: int
    duplicates: int


class ReadingItem(BaseModel):
    device_id: str
    timestamp: datetime = Field(description="UTC.")
    energy_watts: float = Field(description="Power in watts; negative is export.")


class ReadingsPage(BaseModel):
    model_config = with_example(
        {
            "items": [
                {"device_id": "fridge", "timestamp": "2026-05-01T12:00:00Z", "energy_watts": 112.5}
            ],
            "next_cursor": "eyJrIjoicmVhZGluZ3MiLCJkIjoxLCJ0IjoxNzc3NjM2ODAwMDAwMDAwfQ",
        }
    )
    items: list[ReadingItem]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: end.")


def _attributes(source: object, model: type[BaseModel]) -> dict:
    """``source``'s attributes that ``model`` has a field of, by name."""
    return {k: v for k, v in vars(source).items() if k in model.model_fields}


def _glossary(name: str) -> str:
    return GLOSSARY[name] + " See docs/metrics.md."


class EnergyFields(BaseModel):
    """The glossary's energy, grid and money figures (docs/metrics.md); null means no data."""

    consumption_wh: float | None = Field(description=_glossary("consumption_wh"))
    generation_wh: float | None = Field(description=_glossary("generation_wh"))
    net_wh: float | None = Field(description=_glossary("net_wh"))
    energy_wh: float | None = Field(
        description=_glossary("energy_wh") + " Deprecated: read net_wh.",
        json_schema_extra={"deprecated": True},
    )
    import_wh: float | None = Field(description=_glossary("import_wh"))
    export_wh: float | None = Field(description=_glossary("export_wh"))
    cost: float | None = Field(description=_glossary("cost"))
    coverage: float | None = Field(description=_glossary("coverage"))

    @staticmethod
    def of(energy: Energy) -> dict:
        return {name: getattr(energy, name) for name in EnergyFields.model_fields}

    @classmethod
    def with_energy(cls, source: object, **fields: object) -> Self:
        """The answer of a library result: its attributes named as this model's fields (unless
        given in ``fields``) and the figures of its ``energy``."""
        return cls(**{**_attributes(source, cls), **fields}, **EnergyFields.of(source.energy))


_ENERGY_EXAMPLE = {
    "consumption_wh": 95.2,
    "generation_wh": 0.0,
    "net_wh": 95.2,
    "energy_wh": 95.2,
    "import_wh": 95.2,
    "export_wh": 0.0,
    "cost": 0.0286,
    "coverage": 1.0,
}


class HourlyItem(EnergyFields):
    device_id: str
    hour_start: datetime = Field(description="Start of the UTC hour [hour_start, +1 h).")
    avg_watts: float | None = Field(description=_glossary("avg_w"))
    min_watts: float | None = Field(description="Lowest reading taken in the hour.")
    max_watts: float | None = Field(description="Highest reading taken in the hour.")
    sample_count: int = Field(description="Readings taken in the hour.")

    @classmethod
    def of_stat(cls, item: HourlyStat) -> HourlyItem:
        return cls.with_energy(item)


class HourlyPage(BaseModel):
    model_config = with_example(
        {
            "items": [
                {
                    "device_id": "fridge",
                    "hour_start": "2026-05-01T12:00:00Z",
                    **_ENERGY_EXAMPLE,
                    "avg_watts": 95.2,
                    "min_watts": 0.8,
                    "max_watts": 140.1,
                    "sample_count": 360,
                }
            ],
            "next_cursor": None,
        }
    )
    items: list[HourlyItem]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: end.")


class DeviceStatsOut(EnergyFields):
    model_config = with_example(
        {
            "device_id": "fridge",
            "name": "Fridge",
            "start": "2026-05-01T00:00:00Z",
            "end": "2026-05-02T00:00:00Z",
            **_ENERGY_EXAMPLE,
            "consumption_wh": 1210.4,
            "net_wh": 1210.4,
            "energy_wh": 1210.4,
            "import_wh": 1210.4,
            "cost": 0.3631,
            "currency": "EUR",
            "avg_watts": 50.4,
            "avg_generation_watts": 0.0,
            "min_watts": 0.8,
            "min_at": "2026-05-01T03:12:44Z",
            "max_watts": 140.1,
            "max_at": "2026-05-01T18:40:04Z",
            "sample_count": 8640,
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
    currency: str
    avg_watts: float | None = Field(description=_glossary("avg_w"))
    avg_generation_watts: float | None = Field(description=_glossary("avg_generation_w"))
    min_watts: float | None = Field(description=_glossary("min_w"))
    min_at: datetime | None = Field(description=_glossary("min_at"))
    max_watts: float | None = Field(description=_glossary("max_w"))
    max_at: datetime | None = Field(description=_glossary("max_at"))
    sample_count: int = Field(description=_glossary("sample_count"))
    first_reading_at: datetime | None = Field(description="First reading in the range.")
    last_reading_at: datetime | None = Field(description="Last reading in the range.")
    latest_power_w: float | None = Field(description="The device's latest reading, any time.")
    latest_reading_at: datetime | None
    last_seen_at: datetime | None = Field(description=_glossary("last_seen_at"))

    @classmethod
    def of_stats(cls, stats: DeviceStats) -> DeviceStatsOut:
        return cls.with_energy(stats)


class DeviceEnergyOut(EnergyFields):
    device_id: str
    name: str
    location: str


class SummaryOut(EnergyFields):
    model_config = with_example(
        {
            "start": "2026-05-01T00:00:00Z",
            "end": "2026-05-02T00:00:00Z",
            "consumption_wh": 9120.0,
            "generation_wh": 3100.0,
            "net_wh": 6020.0,
            "energy_wh": 6020.0,
            "import_wh": 7310.0,
            "export_wh": 1290.0,
            "cost": 2.19,
            "coverage": 0.98,
            "self_consumption_wh": 1810.0,
            "self_sufficiency": 0.1985,
            "grid_metered": False,
            "currency": "EUR",
            "cost_rule": "Cost is what the grid import costs minus what the grid export earns, "
            "each hour at the prices of that hour in the local time of the household (time of "
            "use, tariff valid then); the standing charge per day and tax are added only where "
            "the bill of a period is shown. Here: grid import at 0.3 EUR/kWh; export is not "
            "credited (no export price is set).",
            "device_count": 2,
            "devices": [
                {
                    "device_id": "heat-pump",
                    "name": "Heat pump",
                    "location": "cellar",
                    **_ENERGY_EXAMPLE,
                    "consumption_wh": 9120.0,
                    "net_wh": 9120.0,
                    "energy_wh": 9120.0,
                    "import_wh": 9120.0,
                    "cost": 2.736,
                    "coverage": 0.97,
                },
                {
                    "device_id": "solar",
                    "name": "Solar inverter",
                    "location": "roof",
                    **_ENERGY_EXAMPLE,
                    "consumption_wh": 0.0,
                    "generation_wh": 3100.0,
                    "net_wh": -3100.0,
                    "energy_wh": -3100.0,
                    "import_wh": 0.0,
                    "export_wh": 3100.0,
                    "cost": 0.0,
                    "coverage": 0.99,
                },
            ],
        }
    )
    start: datetime
    end: datetime
    self_consumption_wh: float | None = Field(description=_glossary("self_consumption_wh"))
    self_sufficiency: float | None = Field(description=_glossary("self_sufficiency"))
    grid_metered: bool = Field(
        description="True: import and export are a grid meter's readings; false: derived hour "
        "by hour from the devices' net."
    )
    currency: str
    cost_rule: str = Field(description="How cost is computed, in words, with the prices used.")
    device_count: int = Field(description="Devices that took part in the range.")
    devices: list[DeviceEnergyOut] = Field(
        description="Each device that took part in the range, largest consumer first; its import, "
        "export and cost are those of its own hourly net (a grid meter's: what it read, and it "
        "has no consumption or generation)."
    )

    @classmethod
    def of_summary(cls, summary: Summary) -> SummaryOut:
        devices = [DeviceEnergyOut.with_energy(d) for d in summary.devices]
        return cls.with_energy(summary, devices=devices)


class RealtimeDeviceOut(BaseModel):
    device_id: str
    name: str
    location: str
    power_w: float | None = Field(description="Current power; null when the device is offline.")
    reading_at: datetime | None
    last_seen_at: datetime | None = Field(description=_glossary("last_seen_at"))
    online: bool = Field(description=_glossary("online"))
    today_consumption_wh: float | None = Field(
        description="Consumption since local midnight; " + _glossary("consumption_wh")
    )
    today_generation_wh: float | None = Field(
        description="Generation since local midnight; " + _glossary("generation_wh")
    )
    today_energy_wh: float | None = Field(
        description="Net energy since local midnight. Deprecated: read today_consumption_wh and "
        "today_generation_wh.",
        json_schema_extra={"deprecated": True},
    )


class RealtimeOut(BaseModel):
    model_config = with_example(
        {
            "at": "2026-05-02T08:15:10Z",
            "total_power_w": 1296.0,
            "consumption_w": 1296.0,
            "generation_w": 0.0,
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
                    "today_consumption_wh": 402.3,
                    "today_generation_wh": 0.0,
                    "today_energy_wh": 402.3,
                }
            ],
        }
    )
    at: datetime
    total_power_w: float = Field(
        description="Net power now: the grid meter's latest reading where there is one online, "
        "else what the online devices draw minus what they produce (export is negative)."
    )
    consumption_w: float = Field(description="What the online devices draw now.")
    generation_w: float = Field(description="What the online devices produce now, positive.")
    online: int
    devices: list[RealtimeDeviceOut]

    @classmethod
    def of_realtime(cls, now: Realtime) -> RealtimeOut:
        fields = {k: v for k, v in vars(now).items() if k != "devices"}
        devices = [
            RealtimeDeviceOut(
                **_attributes(d, RealtimeDeviceOut),
                today_consumption_wh=d.today.consumption_wh,
                today_generation_wh=d.today.generation_wh,
                today_energy_wh=d.today.net_wh,
            )
            for d in now.devices
        ]
        return cls(**fields, devices=devices)


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
    model_config = with_example(
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
