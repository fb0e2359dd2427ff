"""The InfluxDB write API: captured Home Assistant, emonhub and client-library writes replayed with
a key of ours get 204 and store their power; errors in InfluxDB's shapes, nothing half-written."""

from __future__ import annotations

import base64
import gzip
import time

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from energy_core.accounts import issue_api_key
from energy_core.db import session_scope
from energy_core.models import Device, KeyScope, Reading, User
from energy_core.settings import get_settings
from energy_core.types import to_epoch_us
from tests.api.real_clients import captured
from tests.api.support import reading_count
from tests.api.test_emoncms import inputs, stored
from tests.factories import make_device, make_user


@pytest.fixture
def keys(engine):
    with session_scope(engine) as s:
        user = make_user(s)
        other = make_user(s)
        device = make_device(s, user=user, device_id="fridge")
        return {
            "user_id": user.id,
            "key": issue_api_key(s, user_id=user.id, scope=KeyScope.ingest).key,
            "device_key": issue_api_key(
                s, user_id=user.id, scope=KeyScope.ingest, device_id=device.device_id
            ).key,
            "read": issue_api_key(s, user_id=user.id, scope=KeyScope.read).key,
            "other": issue_api_key(s, user_id=other.id, scope=KeyScope.ingest).key,
            "other_id": other.id,
        }


def v2(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}"}


def now_ns() -> int:
    return time.time_ns() - 5_000_000_000


def test_home_assistant_writes_and_its_empty_connection_test_get_204(
    old_times_client, engine, keys
):
    writes = [
        r
        for r in captured("homeassistant_2024_3_3", influx_key=keys["key"])
        if r.path.startswith("/api/v2/write")
    ]
    replies = [r.send(old_times_client) for r in writes]
    assert [(r.status_code, r.content) for r in replies] == [(204, b"")] * 5
    got = stored(engine, keys["user_id"])
    assert [p for _, p in got["sensor.plug_power"]] == [100.0, 614.6, 1708.0, 801.5, 1098.3]
    assert got["sensor.plug_power"][0][0] == pytest.approx(1_795_724_474.692347)


def test_emonhub_influx_lines_store_power_and_keep_the_voltage_as_an_input(
    old_times_client, engine, keys
):
    (request,) = captured("emonhub_influx_v1", influx_key=keys["key"])
    reply = request.send(old_times_client)
    assert (reply.status_code, reply.content) == (204, b"")
    got = stored(engine, keys["user_id"])
    assert {k: [p for _, p in v] for k, v in got.items()} == {
        "emontx1:power1": [230.0],
        "emontx1:power2": [-45.0],
    }
    assert inputs(engine, keys["user_id"])["emontx1:vrms"] == (False, 240.1)


def test_client_library_writes_v2_v1_and_v3_get_204_and_store_watts(old_times_client, engine, keys):
    replies = [
        r.send(old_times_client) for r in captured("python_influx_clients", influx_key=keys["key"])
    ]
    assert [replies[i].status_code for i in (0, 2, 3)] == [204] * 3
    got = stored(engine, keys["user_id"])
    # v2 in s, v1 in s and v3 in ns: the same instant, stored once; energy_wh is no power.
    assert got == {"plug1": [(1_700_000_000.0, 231.5)]}


def test_a_captured_line_with_an_unescaped_space_in_a_tag_is_refused_as_influxdb_does(
    old_times_client, engine, keys
):
    # "power,device=plug 2 watts=12.5 ...": the space ends the tags, so "2" is a field without
    # a value. InfluxDB answers 400 and writes nothing; so does the monitor.
    request = captured("python_influx_clients", influx_key=keys["key"])[1]
    assert request.body == b"power,device=plug 2 watts=12.5 1700000001000000000"
    reply = request.send(old_times_client)
    assert reply.status_code == 400
    assert reply.json()["code"] == "invalid"
    assert reply.json()["line"] == 1 and "unable to parse" in reply.json()["message"]
    assert reading_count(engine) == 0


def test_an_escaped_space_in_a_tag_value_is_part_of_the_device_name(client, engine, keys):
    body = f"power,device=plug\\ 2 watts=12.5 {now_ns()}"
    assert client.post("/api/v2/write", content=body, headers=v2(keys["key"])).status_code == 204
    assert list(stored(engine, keys["user_id"])) == ["plug 2"]


def test_a_resent_write_stores_nothing_twice(client, engine, keys):
    body = f"power,device=kettle watts=2000 {now_ns()}"
    for _ in range(2):
        assert (
            client.post("/api/v2/write", content=body, headers=v2(keys["key"])).status_code == 204
        )
    assert reading_count(engine) == 1


@pytest.mark.parametrize(
    ("precision", "divisor"), [("ns", 1), ("us", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000)]
)
def test_every_precision(client, engine, keys, precision, divisor):
    stamp = now_ns() // divisor
    reply = client.post(
        f"/api/v2/write?org=o&bucket=b&precision={precision}",
        content=f"power,device=p watts=1 {stamp}",
        headers=v2(keys["key"]),
    )
    assert reply.status_code == 204
    with session_scope(engine, read_only=True) as s:
        (ts,) = s.exec(select(Reading.ts).where(Reading.user_id == keys["user_id"])).all()
    assert to_epoch_us(ts) == stamp * divisor // 1_000


def test_v1_precisions_minutes_and_hours(client, engine, keys):
    minutes = time.time_ns() // 60_000_000_000 - 1
    reply = client.post(
        f"/write?db=x&precision=m&u=me&p={keys['key']}", content=f"power,device=m watts=3 {minutes}"
    )
    assert reply.status_code == 204
    assert stored(engine, keys["user_id"])["m"][0][0] == minutes * 60


def test_a_point_without_a_timestamp_takes_the_servers_time(client, engine, keys):
    before = time.time()
    client.post("/api/v2/write", content="power,device=now watts=7", headers=v2(keys["key"]))
    ((t, p),) = stored(engine, keys["user_id"])["now"]
    assert p == 7.0 and before - 1 <= t <= time.time() + 1


def test_gzip_bodies_as_telegraf_sends_them(client, engine, keys):
    lines = "\n".join(f"power,device=g{i} watts={i}.5 {now_ns()}" for i in range(3))
    reply = client.post(
        "/api/v2/write",
        content=gzip.compress(lines.encode()),
        headers={**v2(keys["key"]), "Content-Encoding": "gzip"},
    )
    assert reply.status_code == 204
    assert set(stored(engine, keys["user_id"])) == {"g0", "g1", "g2"}


def test_basic_auth_and_token_header_on_v1(client, engine, keys):
    basic = base64.b64encode(f"user:{keys['key']}".encode()).decode()
    first = client.post(
        "/write?db=d",
        content=f"power,device=b watts=1 {now_ns()}",
        headers={"Authorization": f"Basic {basic}"},
    )
    second = client.post(
        "/write?db=d", content=f"power,device=b watts=2 {now_ns() + 1000}", headers=v2(keys["key"])
    )
    assert (first.status_code, second.status_code) == (204, 204)
    assert len(stored(engine, keys["user_id"])["b"]) == 2


@pytest.mark.parametrize(
    "line",
    [
        "power,device=x watts=1\nbroken line",
        "power,device=x",
        'power,device=x watts="unterminated',
        "power,device=x watts=abc",
        "power,device=x watts=1 notatime",
        ",device=x watts=1",
    ],
)
def test_one_bad_line_writes_nothing_and_is_400_in_influx_shape(client, engine, keys, line):
    reply = client.post("/api/v2/write", content=line, headers=v2(keys["key"]))
    assert reply.status_code == 400
    body = reply.json()
    assert body["code"] == "invalid" and "unable to parse" in body["message"]
    assert reading_count(engine) == 0


def test_v1_errors_have_the_v1_shape(client, engine, keys):
    reply = client.post(f"/write?db=d&p={keys['key']}", content="nope")
    assert reply.status_code == 400 and set(reply.json()) == {"error"}
    bad_key = client.post("/write?db=d&p=wrong", content="power watts=1")
    assert (bad_key.status_code, bad_key.json()) == (401, {"error": "authorization failed"})


def test_a_bad_or_missing_token_is_401(client, engine):
    for headers in ({}, v2("emk_00000000_nope")):
        reply = client.post("/api/v2/write", content="power watts=1", headers=headers)
        assert reply.status_code == 401
        assert reply.json() == {"code": "unauthorized", "message": "unauthorized access"}
    assert reading_count(engine) == 0


def test_read_keys_and_device_keys_may_not_write(client, engine, keys):
    for key in (keys["read"], keys["device_key"]):
        reply = client.post("/api/v2/write", content="power watts=1", headers=v2(key))
        assert reply.status_code == 403 and reply.json()["code"] == "forbidden"
    assert reading_count(engine) == 0


def test_a_value_that_breaks_a_rule_refuses_the_whole_request(client, engine, keys):
    with session_scope(engine) as s:
        make_device(s, user=s.get(User, keys["user_id"]), device_id="heater")
    body = f"power,device=ok watts=1 {now_ns()}\npower,device=heater watts=-5 {now_ns()}"
    reply = client.post("/api/v2/write", content=body, headers=v2(keys["key"]))
    assert reply.status_code == 422
    assert reply.json()["code"] == "unprocessable entity"
    assert "bidirectional" in reply.json()["message"] or reply.json()["message"]
    assert reading_count(engine) == 0


def test_a_precision_that_does_not_match_the_stamps_is_refused(client, engine, keys):
    reply = client.post(
        "/api/v2/write?precision=s",
        content=f"power,device=x watts=1 {now_ns()}",
        headers=v2(keys["key"]),
    )
    assert reply.status_code == 422
    assert reading_count(engine) == 0


def test_points_without_power_are_skipped_and_entities_in_kilowatts_scaled(client, engine, keys):
    stamp = now_ns()
    body = "\n".join(
        [
            f"cpu,host=a usage_idle=99 {stamp}",
            f"°C,domain=sensor,entity_id=outdoor value=4.5 {stamp}",
            f"kW,domain=sensor,entity_id=heat_pump value=1.25 {stamp}",
            f"power,device=kettle,phase=a watts=2000i {stamp}",
            f"meter power_kw=0.5 {stamp}",
        ]
    )
    reply = client.post("/api/v2/write", content=body, headers=v2(keys["key"]))
    assert reply.status_code == 204
    got = {k: v[0][1] for k, v in stored(engine, keys["user_id"]).items()}
    assert got == {"sensor.heat_pump": 1250.0, "kettle": 2000.0, "meter": 500.0}


def test_influx_writes_reach_only_the_keys_household(client, engine, keys):
    client.post(
        "/api/v2/write",
        content=f"power,device=fridge watts=90 {now_ns()}",
        headers=v2(keys["other"]),
    )
    assert stored(engine, keys["user_id"]) == {}
    with session_scope(engine, read_only=True) as s:
        theirs = s.exec(select(Device).where(Device.user_id == keys["other_id"])).all()
    assert [d.device_id for d in theirs] == ["fridge"]


def test_ping_answers_204(client):
    assert client.get("/ping").status_code == 204


def test_a_body_over_the_limit_is_413_and_a_gzip_bomb_400(make_app, engine, keys):
    settings = get_settings().model_copy(update={"max_body_bytes": 4_096})
    with TestClient(make_app(settings)) as c:
        big = c.post("/api/v2/write", content=b"x" * 5_000, headers=v2(keys["key"]))
        bomb = c.post(
            "/api/v2/write",
            content=gzip.compress(b"power,device=x watts=1\n" * 10_000),
            headers={**v2(keys["key"]), "Content-Encoding": "gzip"},
        )
    assert big.status_code == 413 and big.json()["code"] == "request too large"
    assert bomb.status_code == 400 and bomb.json()["code"] == "invalid"
    assert reading_count(engine) == 0
