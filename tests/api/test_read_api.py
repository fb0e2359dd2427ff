"""The read endpoints with a read key: readings, hourly statistics, stats, summary, realtime and
devices, with figures checked against the energy rule of DESIGN.md section 3 worked out by hand."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import pytest

from energy_core.db import session_scope
from energy_core.models import User
from energy_core.rollup import rollup_dirty_hours
from energy_core.types import utcnow
from tests.api.support import READ_PATHS, assert_error, auth
from tests.factories import make_device

HOUR = timedelta(hours=1)


def z(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


@pytest.fixture
def hour(client, household) -> datetime:
    """Readings around a UTC hour H three hours ago:

    fridge  H+0 100 W, H+5 min 200 W, H+20 min 50 W (max gap 600 s): 50 Wh over 1500 s, so
            avg 120 W, coverage 1500/3600; min 50, max 200, 3 samples.
    heater  H+1 h+55 min 300 W: 25 Wh in H+1 and, carried over the hour, 25 Wh in H+2 with
            no sample of its own.
    """
    h = (utcnow() - 3 * HOUR).replace(minute=0, second=0, microsecond=0)
    readings = [
        {"device_id": "fridge", "timestamp": z(h), "energy_watts": 100},
        {"device_id": "fridge", "timestamp": z(h + timedelta(minutes=5)), "energy_watts": 200},
        {"device_id": "fridge", "timestamp": z(h + timedelta(minutes=20)), "energy_watts": 50},
        {"device_id": "heater", "timestamp": z(h + HOUR + timedelta(minutes=55)), "power_w": 300},
    ]
    r = client.post(
        "/api/v1/telemetry/batch",
        json={"readings": readings},
        headers=auth(household.household_key),
    )
    assert r.status_code == 201, r.text
    return h


def get(client, household, path: str, **params) -> dict:
    r = client.get(path, params=params, headers=auth(household.read_key))
    assert r.status_code == 200, r.text
    return r.json()


EXPECTED_HOURS = [
    {
        "device_id": "fridge",
        "hour": 0,
        "energy_wh": 50.0,
        "avg_watts": 120.0,
        "min_watts": 50.0,
        "max_watts": 200.0,
        "sample_count": 3,
        "coverage": 1500 / 3600,
    },
    {
        "device_id": "heater",
        "hour": 1,
        "energy_wh": 25.0,
        "avg_watts": 300.0,
        "min_watts": 300.0,
        "max_watts": 300.0,
        "sample_count": 1,
        # The heater takes part from its first reading at H+1 h+55 min on: it covers all of that.
        "coverage": 1.0,
    },
    {
        "device_id": "heater",
        "hour": 2,
        "energy_wh": 25.0,
        "avg_watts": 300.0,
        "min_watts": None,
        "max_watts": None,
        "sample_count": 0,
        "coverage": 300 / 3600,
    },
]


PRICE = 0.30  # the household's price per kWh (tests/api/conftest.py)


def as_expected(items: list[dict], h: datetime) -> list[dict]:
    out = []
    for item in items:
        hour_start = datetime.fromisoformat(item["hour_start"])
        assert item["hour_start"].endswith("Z")
        rest = {k: v for k, v in item.items() if k != "hour_start"}
        out.append({**rest, "hour": int((hour_start - h) / HOUR)})
    return rounded(out)


def rounded(expected: list[dict]) -> list[dict]:
    """Each hour of a consumer: all it drew was consumption and grid import (energy_wh is the
    net, its alias); priced at the household's price."""
    out = []
    for item in expected:
        if "consumption_wh" not in item:
            energy = item["energy_wh"]
            item = {
                **item,
                "consumption_wh": energy,
                "generation_wh": 0.0,
                "net_wh": energy,
                "import_wh": energy,
                "export_wh": 0.0,
                "cost": energy * PRICE / 1000,
            }
        out.append({k: round(v, 9) if isinstance(v, float) else v for k, v in item.items()})
    return out


@pytest.mark.parametrize("rolled_up", [False, True], ids=["raw", "rolled-up"])
def test_hourly_statistics_follow_the_energy_rule_and_omit_empty_hours(
    client, engine, household, hour, rolled_up
):
    if rolled_up:
        rollup_dirty_hours(engine)
    page = get(
        client,
        household,
        "/api/v1/telemetry/aggregates/hourly",
        start=z(hour - HOUR),
        end=z(hour + 4 * HOUR),
    )
    assert page["next_cursor"] is None
    assert as_expected(page["items"], hour) == rounded(EXPECTED_HOURS)


def test_hourly_statistics_of_one_device_page_by_cursor(client, household, hour):
    seen, cursor = [], None
    for _ in range(5):
        params = {"device_id": "heater", "start": z(hour), "end": z(hour + 3 * HOUR), "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = get(client, household, "/api/v1/telemetry/aggregates/hourly", **params)
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert as_expected(seen, hour) == rounded(EXPECTED_HOURS[1:])


def test_hourly_statistics_default_to_the_last_24_hours(client, household, hour):
    page = get(client, household, "/api/v1/telemetry/aggregates/hourly")
    assert len(page["items"]) == 3


def test_readings_are_listed_device_by_device_in_time_order_and_paged(client, household, hour):
    items, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = get(client, household, "/api/v1/telemetry", **params)
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 2
    assert [(i["device_id"], i["energy_watts"]) for i in items] == [
        ("fridge", 100.0),
        ("fridge", 200.0),
        ("fridge", 50.0),
        ("heater", 300.0),
    ]
    assert items[0]["timestamp"] == z(hour)


def test_readings_filter_by_device_and_half_open_range(client, household, hour):
    page = get(
        client,
        household,
        "/api/v1/telemetry",
        device_id="fridge",
        start=z(hour + timedelta(minutes=5)),
        end=z(hour + timedelta(minutes=20)),
    )
    assert [i["energy_watts"] for i in page["items"]] == [200.0]
    epoch = get(
        client,
        household,
        "/api/v1/telemetry",
        device_id="fridge",
        start=str(int((hour + timedelta(minutes=5)).timestamp())),
    )
    assert [i["energy_watts"] for i in epoch["items"]] == [200.0, 50.0]


def test_stats_of_a_device(client, household, hour):
    stats = get(
        client,
        household,
        "/api/v1/telemetry/stats/fridge",
        start=z(hour),
        end=z(hour + HOUR),
    )
    assert stats["device_id"] == "fridge"
    assert stats["consumption_wh"] == stats["net_wh"] == pytest.approx(50.0)
    assert stats["energy_wh"] == stats["import_wh"] == pytest.approx(50.0)
    assert stats["generation_wh"] == 0.0 and stats["cost"] == pytest.approx(50 * PRICE / 1000)
    assert stats["avg_watts"] == pytest.approx(120.0)
    assert (stats["min_watts"], stats["max_watts"], stats["sample_count"]) == (50.0, 200.0, 3)
    assert stats["max_at"] == z(hour + timedelta(minutes=5))
    assert stats["min_at"] == z(hour + timedelta(minutes=20))
    assert stats["coverage"] == pytest.approx(1500 / 3600)
    assert stats["first_reading_at"] == z(hour)
    assert stats["last_reading_at"] == z(hour + timedelta(minutes=20))
    assert stats["latest_power_w"] == 50.0
    assert stats["last_seen_at"] == z(hour + timedelta(minutes=20))


def test_summary_sums_the_household_and_prices_it(client, household, hour):
    summary = get(
        client, household, "/api/v1/telemetry/summary", start=z(hour), end=z(hour + 3 * HOUR)
    )
    assert summary["consumption_wh"] == pytest.approx(100.0)
    assert summary["generation_wh"] == 0.0 and summary["export_wh"] == 0.0
    assert summary["import_wh"] == pytest.approx(100.0)
    assert summary["net_wh"] == summary["energy_wh"] == pytest.approx(100.0)
    assert summary["cost"] == pytest.approx(0.1 * PRICE)
    assert "minus what the grid export earns" in summary["cost_rule"]
    assert "not credited" in summary["cost_rule"]
    assert summary["currency"] == "EUR"
    # Coverage over the time each device took part, from its first reading on: the fridge
    # 1500 s of 3 h, the heater 600 s of the 65 minutes since its reading.
    assert summary["coverage"] == pytest.approx((1500 + 600) / (3 * 3600 + 65 * 60))
    # The solar inverter has never sent a reading: it takes no part.
    assert summary["device_count"] == 2
    assert [(d["device_id"], round(d["consumption_wh"], 6)) for d in summary["devices"]] == [
        ("fridge", 50.0),
        ("heater", 50.0),
    ]


def test_registering_a_device_does_not_change_the_summary_of_the_past(client, household, hour):
    params = {"start": z(hour), "end": z(hour + 3 * HOUR)}
    before = get(client, household, "/api/v1/telemetry/summary", **params)
    with session_scope() as session:
        make_device(session, user=session.get(User, household.user_id), device_id="freezer")
    after = get(client, household, "/api/v1/telemetry/summary", **params)
    assert after == before


def test_realtime_shows_devices_whose_reading_still_holds(client, household, hour):
    client.post(
        "/api/v1/telemetry",
        json={
            "device_id": "fridge",
            "timestamp": z(utcnow() - timedelta(seconds=5)),
            "power_w": 90,
        },
        headers=auth(household.household_key),
    )
    now = get(client, household, "/api/v1/telemetry/realtime")
    by_id = {d["device_id"]: d for d in now["devices"]}
    assert by_id["fridge"]["online"] and by_id["fridge"]["power_w"] == 90.0
    assert not by_id["heater"]["online"] and by_id["heater"]["power_w"] is None
    assert now["total_power_w"] == 90.0
    assert now["online"] == 1


def test_devices_lists_this_users_devices(client, household):
    devices = get(client, household, "/api/v1/telemetry/devices")["items"]
    assert [d["device_id"] for d in devices] == ["fridge", "heater", "solar"]
    solar = devices[2]
    assert solar["bidirectional"] is True and solar["location"] == "roof"
    assert set(solar) == {
        "device_id",
        "name",
        "type",
        "location",
        "is_active",
        "bidirectional",
        "created_at",
        "last_seen_at",
    }


def test_an_unknown_device_is_404_on_every_device_endpoint(client, household):
    for path, params in [
        ("/api/v1/telemetry", {"device_id": "nope"}),
        ("/api/v1/telemetry/aggregates/hourly", {"device_id": "nope"}),
        ("/api/v1/telemetry/stats/nope", {}),
    ]:
        r = client.get(path, params=params, headers=auth(household.read_key))
        assert "nope" in assert_error(r, 404, "not_found")["message"]


def test_read_endpoints_need_a_key(client):
    for path in READ_PATHS:
        r = client.get(path)
        assert_error(r, 401, "unauthorized")
        assert r.headers["WWW-Authenticate"] == "Bearer"


def test_a_cursor_of_one_listing_is_refused_by_another(client, household, hour):
    page = get(client, household, "/api/v1/telemetry", limit=1)
    r = client.get(
        "/api/v1/telemetry/aggregates/hourly",
        params={"cursor": page["next_cursor"]},
        headers=auth(household.read_key),
    )
    assert assert_error(r, 422, "validation_error")["details"][0]["field"] == "cursor"


def test_a_start_after_the_default_end_is_a_422_not_a_5xx(client, household):
    future = z(utcnow() + timedelta(days=2))
    for path in ("/api/v1/telemetry/summary", "/api/v1/telemetry/aggregates/hourly"):
        r = client.get(path, params={"start": future}, headers=auth(household.read_key))
        assert "end must be after start" in assert_error(r, 422, "validation_error")["message"]


@pytest.mark.parametrize(
    "position",
    [
        {"k": "readings", "d": 10**30, "t": 0},
        {"k": "readings", "d": 1, "t": 2**62},
        {"k": "hourly", "h": 2**62, "d": ""},
        {"k": "readings", "d": 1, "t": -(10**20)},
        {"k": "hourly", "h": 10**25, "d": ""},
        {"k": "hourly", "h": 0, "d": 5},
        {"k": "readings", "d": True, "t": 0},
        [1, 2],
    ],
)
def test_forged_cursors_are_refused_with_422(client, household, position):
    cursor = base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")
    for path in ("/api/v1/telemetry", "/api/v1/telemetry/aggregates/hourly"):
        r = client.get(path, params={"cursor": cursor}, headers=auth(household.read_key))
        assert assert_error(r, 422, "validation_error")["details"][0]["field"] == "cursor"
