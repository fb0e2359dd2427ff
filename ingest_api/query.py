"""The query parameters the read routes share, parsed once as dependencies: a time window
``[start, end)`` and, for the paged listings, a device, a cursor and a page size as well."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query

from energy_core.ingest import device_id_problem, timestamp_us
from energy_core.read_requests import MAX_PAGE, Listing, Window
from energy_core.types import from_epoch_us
from ingest_api.errors import invalid_parameter

TimeParam = Annotated[
    str | None,
    Query(
        description="ISO 8601 with an offset or Z, or epoch seconds.",
        examples=["2026-05-01T00:00:00Z"],
    ),
]
DeviceParam = Annotated[
    str | None, Query(description="Only this device.", examples=["fridge"], max_length=128)
]
CursorParam = Annotated[
    str | None, Query(description="next_cursor of the previous page.", max_length=512)
]
LimitParam = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")]


def query_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed: object = float(value) if value.strip()[:1].isdigit() else value
    except ValueError:
        parsed = value
    if isinstance(parsed, float) and parsed.is_integer():
        parsed = int(parsed)
    us = timestamp_us(parsed)
    if isinstance(us, str):
        raise invalid_parameter(name, f"The {name} parameter is invalid.", us)
    return from_epoch_us(us)


def query_device(value: str | None, name: str = "device_id") -> str | None:
    """``value`` if it could name a device: the rule ingest applies (printable, 1 to 128
    characters), so that a control character is the caller's mistake, never a database error."""
    if value is not None and (why := device_id_problem(value)):
        raise invalid_parameter(name, f"The {name} parameter is invalid.", why)
    return value


async def window(start: TimeParam = None, end: TimeParam = None) -> Window:
    start_at, end_at = query_time(start, "start"), query_time(end, "end")
    if start_at is not None and end_at is not None and end_at <= start_at:
        raise invalid_parameter("end", "end must be after start.", "must be after start")
    return Window(start_at, end_at)


WindowDep = Annotated[Window, Depends(window)]


async def listing(
    device_id: DeviceParam = None,
    start: TimeParam = None,
    end: TimeParam = None,
    cursor: CursorParam = None,
    limit: LimitParam = 1000,
) -> Listing:
    return Listing(query_device(device_id), await window(start, end), cursor, limit)


ListingDep = Annotated[Listing, Depends(listing)]
