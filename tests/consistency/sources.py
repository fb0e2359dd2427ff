"""Where a figure can be read, each as a person or a program reads it: the read API (summary,
one device's stats, the hourly aggregates summed), the chat tools, the read layer directly, and
the oracle (tests/oracle.py) from the raw readings. Each returns a dict of the suite's figures:
consumption, generation, net, import, export, cost, coverage, peak (and peak_generation); a
figure a source cannot give is left out, a figure without data is None."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from fastapi.testclient import TestClient

from energy_core.chat.tools import ToolContext, run_tool
from energy_core.db import session_scope
from energy_core.stats import (
    Period,
    Selection,
    load_household,
    locate_extremes,
    peak_hour,
    read_series,
)
from energy_core.types import ceil_hour, floor_hour
from tests.api.support import auth
from tests.oracle import Oracle

ENERGY = ("consumption", "generation", "net", "import", "export", "cost", "coverage")


@dataclass(frozen=True)
class Target:
    """What a selection is about: the whole household, one device, or one room."""

    kind: Literal["household", "device", "room"]
    name: str = ""

    def __str__(self) -> str:
        return self.kind if self.kind == "household" else f"{self.kind} {self.name}"


def members_of(oracle: Oracle, target: Target) -> list[str]:
    """The devices a target is about."""
    if target.kind == "household":
        return list(oracle.devices)
    if target.kind == "device":
        return [target.name]
    return [d for d, device in oracle.devices.items() if device.location == target.name]


def z(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def api_row(row: dict) -> dict:
    """The suite's figures of one JSON row of the read API."""
    return _of_fields(row)


def _of_fields(row: dict, names: tuple[str, ...] = ENERGY) -> dict:
    fields = {
        "consumption": row.get("consumption_wh"),
        "generation": row.get("generation_wh"),
        "net": row.get("net_wh"),
        "import": row.get("import_wh"),
        "export": row.get("export_wh"),
        "cost": row.get("cost"),
        "coverage": row.get("coverage"),
    }
    return {k: v for k, v in fields.items() if k in names}


def _add(rows: list[dict], names: tuple[str, ...]) -> dict:
    """Rows summed field by field; None where no row has data."""
    out = {}
    for name in names:
        values = [r[name] for r in rows if r.get(name) is not None]
        out[name] = sum(values) if values else None
    return out


# --- the read API ------------------------------------------------------------------------------


def _get(client: TestClient, key: str, path: str, **params) -> dict:
    response = client.get(path, params=params, headers=auth(key))
    assert response.status_code == 200, response.text
    return response.json()


def api_summary(client: TestClient, key: str, period: Period, target: Target, rooms: dict) -> dict:
    """``/summary``: the household's figures; a device's row; a room's rows summed (a room's
    import, export and cost are its rows' sums only while nothing in it generates)."""
    body = _get(client, key, "/api/v1/telemetry/summary", start=z(period.start), end=z(period.end))
    if target.kind == "household":
        return _of_fields(body)
    if target.kind == "device":
        row = next((d for d in body["devices"] if d["device_id"] == target.name), None)
        return _of_fields(row) if row else dict.fromkeys(ENERGY)
    members = [d for d in body["devices"] if d["device_id"] in rooms[target.name]]
    return _add([_of_fields(d) for d in members], ENERGY[:-1])


def api_stats(client: TestClient, key: str, period: Period, device_id: str) -> dict:
    body = _get(
        client,
        key,
        f"/api/v1/telemetry/stats/{device_id}",
        start=z(period.start),
        end=z(period.end),
    )
    return {
        **_of_fields(body),
        "average": body["avg_watts"],
        "peak": body["max_watts"],
        "peak_at": datetime.fromisoformat(body["max_at"]) if body["max_at"] else None,
        "peak_generation": -body["min_watts"] if body["min_watts"] is not None else None,
        "peak_generation_at": datetime.fromisoformat(body["min_at"]) if body["min_at"] else None,
    }


def hourly_window(period: Period) -> tuple[datetime, datetime]:
    """The whole UTC hours a period touches: what ``/aggregates/hourly`` answers for it."""
    return floor_hour(period.start.astimezone(UTC)), ceil_hour(period.end.astimezone(UTC))


def api_hourly_items(client: TestClient, key: str, period: Period) -> list[dict]:
    """Every item of ``/aggregates/hourly`` over the hours the period touches, page by page."""
    lo, hi = hourly_window(period)
    items: list[dict] = []
    cursor = None
    while True:
        params = {"start": z(lo), "end": z(hi), "limit": 10_000}
        if cursor:
            params["cursor"] = cursor
        page = _get(client, key, "/api/v1/telemetry/aggregates/hourly", **params)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def api_hourly(client: TestClient, key: str, period: Period, device_ids: list[str]) -> dict:
    """``/aggregates/hourly`` over the hours the period touches, every page, the items of the
    chosen devices summed. Import, export and cost of an item are its device's own hourly net,
    so their sums are the selection's only for one device."""
    chosen = [i for i in api_hourly_items(client, key, period) if i["device_id"] in device_ids]
    names = ENERGY[:-1] if len(device_ids) == 1 else ENERGY[:3]
    out = _add([_of_fields(i) for i in chosen], names)
    if len(device_ids) == 1:
        highs = [i["max_watts"] for i in chosen if i["max_watts"] is not None]
        lows = [i["min_watts"] for i in chosen if i["min_watts"] is not None]
        out["peak"] = max(highs) if highs else None
        out["peak_generation"] = -min(lows) if lows else None
    return out


# --- the chat tools ----------------------------------------------------------------------------


def chat_arguments(target: Target, when: dict) -> dict:
    if target.kind == "device":
        return {**when, "devices": [target.name]}
    if target.kind == "room":
        return {**when, "rooms": [target.name]}
    return dict(when)


def chat(user_id: int, now: datetime, when: dict, target: Target) -> dict:
    """``energy_usage``, ``cost``, ``power_stats`` and ``data_coverage`` as a model calls them."""
    arguments = chat_arguments(target, when)
    with session_scope(read_only=True) as s:
        ctx = ToolContext.load(s, user_id=user_id, now=now)
        calls = {
            name: run_tool(ctx, name, arguments) for name in ("energy_usage", "cost", "power_stats")
        }
        if target.kind != "room":
            calls["data_coverage"] = run_tool(
                ctx, "data_coverage", {k: v for k, v in arguments.items() if k != "rooms"}
            )
    for name, call in calls.items():
        assert call.error is None, f"{name}: {call.error}"
    usage, cost, power = (calls[n].result for n in ("energy_usage", "cost", "power_stats"))
    out = {**_of_fields(usage, ENERGY[:5] + ("coverage",)), "cost": cost["cost"]}
    out["cost tool consumption"] = cost["consumption_wh"]
    out["power_stats coverage"] = power["coverage"]
    if "data_coverage" in calls:
        out["data_coverage coverage"] = calls["data_coverage"].result["coverage"]
    out["average"] = power["household_avg_w"]
    if target.kind == "device":
        row = next((r for r in power["per_device"] if r["device_id"] == target.name), None)
        out["power_stats device average"] = row["avg_w"] if row else None
        out["peak"] = row["max_w"] if row else None
        out["peak_generation"] = -row["min_w"] if row and row["min_w"] is not None else None
    else:
        out["peak"] = power["peak_hour_avg_w"]
    return out


# --- the read layer ----------------------------------------------------------------------------


def select(session, user_id: int, period: Period, target: Target) -> Selection:  # noqa: ANN001
    household = load_household(session, user_id=user_id)
    if target.kind == "device":
        return household.select(period, device_ids=[target.name])
    if target.kind == "room":
        return household.select(period, rooms=[target.name])
    return household.select(period)


def read_layer(user_id: int, period: Period, target: Target) -> dict:
    with session_scope(read_only=True) as s:
        selection = select(s, user_id, period, target)
        series = read_series(s, selection)
        total = series.total
        if target.kind == "device" and target.name in series.by_device:
            total = locate_extremes(s, selection, series.device_total(target.name))
        hourly = read_series(s, selection.with_granularity("hour"), flows=False).household
    out = {
        "consumption": total.consumption_wh,
        "generation": total.generation_wh,
        "net": total.net_wh,
        "import": total.import_wh,
        "export": total.export_wh,
        "cost": total.cost,
        "coverage": total.coverage,
        "average": total.avg_w,
    }
    if target.kind == "device":
        out["peak"] = total.max_w
        out["peak_at"] = total.max_at
        out["peak_generation"] = -total.min_w if total.min_w is not None else None
        out["peak_generation_at"] = total.min_at
    else:
        peak = peak_hour(hourly)
        out["peak"] = peak.avg_w if peak else None
    return out


# --- the oracle --------------------------------------------------------------------------------


def oracle_figures(
    oracle: Oracle,
    start: datetime,
    end: datetime,
    device_ids: list[str],
    *,
    peak_hours: bool,
    hours: frozenset[int] | None = None,
) -> dict:
    """The figures from the raw readings (docs/metrics.md worked out in plain Python), of the
    local ``hours`` of the day only if given."""
    sums = oracle.household(start, end, device_ids, hours=hours)
    data = sums.covered > 0
    # The grid meter is not a consumer: a selection of nothing else has no consumption.
    counted = any(
        oracle.device(d, start, end, hours=hours).covered > 0
        for d in device_ids
        if not oracle.is_meter(d)
    )
    out = {
        "consumption": sums.consumed if counted else None,
        "generation": sums.generated if counted else None,
        "net": sums.consumed - sums.generated if counted else None,
        "import": sums.imported if data else None,
        "export": sums.exported if data else None,
        "cost": oracle.cost(sums) if data else None,
        "coverage": sums.coverage,
        # Average power: consumption over the covered time (for several devices, the
        # period's length x coverage), counting the devices that took part.
        "average": oracle.avg_w(
            sums, _taking_part(oracle, start, end, device_ids), _seconds(start, end, oracle, hours)
        )
        if counted
        else None,
    }
    if len(device_ids) == 1:
        values = oracle.device(device_ids[0], start, end, hours=hours).values
        out["peak"] = max(values) if values else None
        out["peak_generation"] = -min(values) if values else None
        # When the peak (and the peak generation) was read: the first reading at that power.
        readings = [r for r in oracle.readings.get(device_ids[0], []) if start <= r[0] < end]
        for name, power in (
            ("peak_at", out["peak"]),
            ("peak_generation_at", min(values, default=None)),
        ):
            out[name] = next((ts for ts, power_w in readings if power_w == power), None)
    elif peak_hours:
        averages = [
            avg
            for at, avg, coverage in oracle.hourly_averages(start, end, device_ids)
            if coverage is not None and coverage >= 0.5 and (hours is None or at.hour in hours)
        ]
        out["peak"] = max(averages) if averages else None
    return out


def _taking_part(oracle: Oracle, start: datetime, end: datetime, device_ids: list[str]) -> int:
    return sum(1 for d in device_ids if oracle.household(start, end, [d]).span > 0)


def _seconds(start: datetime, end: datetime, oracle: Oracle, hours: frozenset[int] | None) -> float:
    """The length of ``[start, end)``, of its chosen local hours of the day only if given."""
    lo, hi = start.astimezone(UTC), end.astimezone(UTC)
    if hours is None:
        return (hi - lo).total_seconds()
    total, cursor = 0.0, lo
    while cursor < hi:
        following = min(floor_hour(cursor) + timedelta(hours=1), hi)
        if cursor.astimezone(oracle.tz).hour in hours:
            total += (following - cursor).total_seconds()
        cursor = following
    return total
