"""The Emoncms input API: captured emonhub, pyemoncms and Home Assistant requests replayed with a
key of ours get the replies their clients need and store what they carry; every time mode,
encoding and key place."""

from __future__ import annotations

import time
import zlib
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from energy_core.accounts import issue_api_key
from energy_core.db import session_scope
from energy_core.inputs import input_is_watts
from energy_core.models import Device, Input, KeyScope, User
from energy_core.settings import get_settings
from tests.api.real_clients import captured
from tests.api.support import assert_error, reading_count
from tests.factories import make_device, make_user, stored_readings

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def keys(engine):
    """An Emoncms key of a household, a key that registers nothing, a read key, another user's."""
    with session_scope(engine) as s:
        user = make_user(s)
        other = make_user(s)
        return {
            "user_id": user.id,
            "key": issue_api_key(s, user_id=user.id, scope=KeyScope.ingest, emoncms=True).key,
            "quiet": issue_api_key(
                s, user_id=user.id, scope=KeyScope.ingest, emoncms=True, register_inputs=False
            ).key,
            "read": issue_api_key(s, user_id=user.id, scope=KeyScope.read).key,
            "other": issue_api_key(s, user_id=other.id, scope=KeyScope.ingest, emoncms=True).key,
            "other_id": other.id,
        }


CAPTURE_SENTAT = 1_795_724_198  # the first sentat of the emonhub capture


@pytest.fixture
def steady_clock(monkeypatch) -> float:
    """The API's clock for the emonhub replay: now, moved by under a minute so that every
    request's difference from the capture's clock (2 s apart, replayed at once) rounds to the
    same whole minutes; a real hub's requests are apart in real time as well."""
    now = time.time()
    now -= (now - CAPTURE_SENTAT) % 60 - 20
    monkeypatch.setattr("ingest_api.routers.emoncms.time", SimpleNamespace(time=lambda: now))
    return now


def stored(engine, user_id: int) -> dict[str, list[tuple[float, float]]]:
    """Device id -> [(epoch seconds, watts)] of the user's readings."""
    return {
        device_id: [(ts.timestamp(), power_w) for ts, power_w in points]
        for device_id, points in stored_readings(engine, user_id).items()
    }


def inputs(engine, user_id: int) -> dict[str, tuple[bool, float | None]]:
    with session_scope(engine, read_only=True) as s:
        rows = s.exec(select(Input).where(Input.user_id == user_id)).all()
    return {i.input_id: (i.is_watts, i.last_value) for i in rows}


def test_emonhub_bulk_requests_replayed_get_ok_and_store_their_power_inputs(
    client, engine, keys, steady_clock
):
    replies = [r.send(client) for r in captured("emonhub_emoncms_http", emoncms_key=keys["key"])]
    assert [(r.status_code, r.text) for r in replies] == [(200, "ok")] * 4
    got = stored(engine, keys["user_id"])
    assert {k: [p for _, p in v] for k, v in got.items()} == {
        "emontx1:power1": [230.0, 250.0],
        "emontx1:power2": [-45.0, -40.0],
        "10:1": [230.0, 250.0],
        "10:2": [-45.0, -40.0],
        "10:3": [240.1, 239.8],  # positional: nothing says it is a voltage
        "5:1": [1200.5],
        "5:2": [300.0],
    }
    # sentat: the hub's clock is days behind ours, so its times move by the difference, in
    # whole minutes (a resent batch lands on the same instants); 10 s apart as the hub said.
    (t_first, _), (t_second, _) = got["emontx1:power1"]
    assert steady_clock - 20 - 30 <= t_first <= steady_clock - 20 + 30
    assert t_second - t_first == 10
    seen = inputs(engine, keys["user_id"])
    assert seen["emontx1:vrms"] == (False, 239.8)
    assert seen["emontx1:power1"] == (True, 250.0)
    with session_scope(engine, read_only=True) as s:
        registered = s.exec(select(Device).where(Device.user_id == keys["user_id"])).all()
    assert {d.device_id for d in registered} == set(got)
    assert all(d.bidirectional for d in registered)


def test_emonhub_resending_a_batch_stores_nothing_twice(client, engine, keys, steady_clock):
    first = [r.send(client).text for r in captured("emonhub_emoncms_http", emoncms_key=keys["key"])]
    count = reading_count(engine)
    again = [r.send(client).text for r in captured("emonhub_emoncms_http", emoncms_key=keys["key"])]
    assert first == again == ["ok"] * 4
    # The third and fourth requests carry the same row of node 5: it is stored once.
    assert reading_count(engine) == count == 12


def test_pyemoncms_fulljson_gets_success_true_and_keeps_energy_out_of_readings(
    old_times_client, engine, keys
):
    replies = [
        r.send(old_times_client) for r in captured("pyemoncms_input_post", emoncms_key=keys["key"])
    ]
    assert [(r.status_code, r.json()) for r in replies] == [(200, {"success": True})] * 2
    assert replies[0].headers["content-type"] == "application/json"
    got = stored(engine, keys["user_id"])
    assert got["emontx:power"] == [(1_700_000_000.0, 100.0)]
    assert [p for _, p in got["19:sensor.plug_power"]] == [231.5]
    assert "19:sensor.house_energy" not in got
    assert inputs(engine, keys["user_id"])["19:sensor.house_energy"] == (False, 1234.56)


def test_home_assistant_emoncms_history_form_posts_get_ok(engine, keys, client):
    requests = [
        r
        for r in captured("homeassistant_2024_3_3", emoncms_key=keys["key"])
        if r.path.startswith("/input/")
    ]
    assert len(requests) == 2
    assert [(r.send(client).status_code, r.send(client).text) for r in requests] == [
        (200, "ok")
    ] * 2
    values = [p for _, p in stored(engine, keys["user_id"])["19:sensor.plug_power"]]
    assert set(values) <= {1708.0, 801.5} and 801.5 in values


@pytest.mark.parametrize(
    ("where", "expected"),
    [("query", "ok"), ("form", "ok"), ("bearer", "ok"), ("none", "Invalid API key")],
)
def test_the_key_is_read_from_the_query_the_form_or_the_bearer_header(
    client, engine, keys, where, expected
):
    key = keys["key"]
    params = {"node": "kitchen", "csv": "100,200"}
    headers, data = {}, None
    if where == "query":
        params["apikey"] = key
    elif where == "form":
        data = {"apikey": key}
    elif where == "bearer":
        headers = {"Authorization": f"Bearer {key}"}
    reply = client.post("/emoncms/input/post", params=params, data=data, headers=headers)
    assert reply.text == expected
    assert reply.status_code == (200 if expected == "ok" else 401)
    assert reading_count(engine) == (2 if expected == "ok" else 0)


@pytest.mark.parametrize(
    "key", ["0123456789abcdef0123456789abcdef", "not-a-key", "emk_00000000_nothing"]
)
def test_a_bad_key_is_401_invalid_api_key(client, engine, key):
    reply = client.post(f"/input/bulk.json?apikey={key}", data={"data": "[[0,1,100]]"})
    assert (reply.status_code, reply.text) == (401, "Invalid API key")
    assert reading_count(engine) == 0


def test_issued_emoncms_keys_are_32_lowercase_hex(keys):
    assert all(len(keys[k]) == 32 and int(keys[k], 16) >= 0 for k in ("key", "quiet", "other"))
    assert keys["key"] == keys["key"].lower()


def test_a_read_key_may_not_write_inputs(client, engine, keys):
    reply = client.get("/input/post", params={"apikey": keys["read"], "csv": "1"})
    assert_error(reply, 403, "wrong_scope")
    assert reading_count(engine) == 0


@pytest.mark.parametrize(
    ("params", "rows", "expected_offsets"),
    [
        # legacy: times relative to the last row, which is now
        ({}, [[0, 1, 10], [2, 1, 20], [4, 1, 30]], [-4, -2, 0]),
        # offset: relative to now minus offset
        ({"offset": "-10"}, [[-10, 1, 10], [-8, 1, 20]], [0, 2]),
        # time: relative to a given instant
        ({"time": "T0"}, [[0, 1, 10], [5, 1, 20]], ["T0", "T0+5"]),
        # sentat: absolute times of the hub's clock, which agrees with ours
        ({"sentat": "NOW"}, [["NOW-30", 1, 10], ["NOW-20", 1, 20]], [-30, -20]),
    ],
)
def test_bulk_time_modes(client, engine, keys, params, rows, expected_offsets):
    now = int(time.time())
    t0 = now - 3600

    def value(x):
        if isinstance(x, str):
            x = x.replace("NOW", str(now)).replace("T0", str(t0))
            return eval(x)  # noqa: S307 - test arithmetic on our own literals
        return x

    params = {k: str(value(v)) for k, v in params.items()}
    rows = [[value(r[0]), *r[1:]] for r in rows]
    reply = client.post(
        "/input/bulk",
        params={**params, "apikey": keys["key"]},
        data={"data": str(rows).replace("'", '"')},
    )
    # The server's "now" falls between ours and the reply, which a busy machine may delay.
    waited = time.time() - now
    assert (reply.status_code, reply.text) == (200, "ok")
    times = [t for t, _ in stored(engine, keys["user_id"])["1:1"]]
    expected = [value(o) if isinstance(o, str) and "T0" in o else now + o for o in expected_offsets]
    assert times == pytest.approx(expected, abs=2 + waited)


def test_bulk_with_a_hex_zlib_data_field(client, engine, keys):
    rows = f'[[{int(time.time())},"meter",{{"power":512.5}}]]'
    hexed = zlib.compress(rows.encode()).hex()
    reply = client.post(
        f"/input/bulk.json?c=1&sentat={int(time.time())}&apikey={keys['key']}",
        data={"data": hexed},
    )
    assert (reply.status_code, reply.text) == (200, "ok")
    assert [p for _, p in stored(engine, keys["user_id"])["meter:power"]] == [512.5]


def test_bulk_data_in_the_query_with_a_get(client, engine, keys):
    rows = quote(f"[[{int(time.time())},7,1,2]]")
    reply = client.get(f"/input/bulk?data={rows}&sentat={int(time.time())}&apikey={keys['key']}")
    assert reply.text == "ok"
    assert set(stored(engine, keys["user_id"])) == {"7:1", "7:2"}


@pytest.mark.parametrize(
    ("query", "body", "expected"),
    [
        ("node=emontx&json={power1:100,power2:200}", None, {"emontx:power1": 100.0}),
        ("node=emontx&csv=100,,300", None, {"emontx:1": 100.0, "emontx:3": 300.0}),
        ("json={power:5}", None, {"0:power": 5.0}),
        ("", "node=garage&data=%7Bpower%3A42%7D", {"garage:power": 42.0}),
        ("csv=7", None, {"0:1": 7.0}),
    ],
)
def test_input_post_legacy_forms(client, engine, keys, query, body, expected):
    url = f"/input/post.json?apikey={keys['key']}&{query}"
    reply = client.post(url, content=body, headers=FORM) if body else client.get(url)
    assert (reply.status_code, reply.text) == (200, "ok")
    got = {k: v[0][1] for k, v in stored(engine, keys["user_id"]).items()}
    assert expected.items() <= got.items()


def test_input_post_node_as_a_path_segment_and_plus_as_space(client, engine, keys):
    reply = client.get(
        f"/input/post/emontx?apikey={keys['key']}&fulljson=%7B%22grid+power%22:+1.5%7D"
    )
    assert reply.json() == {"success": True}
    assert [p for _, p in stored(engine, keys["user_id"])["emontx:grid power"]] == [1.5]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/input/post?node=a&fulljson={bad", 400),
        ("/input/post?node=a&fulljson=[1,2]", 422),
        ('/input/post?node=a&fulljson={"p":"abc"}', 422),
        ("/input/post?node=a&csv=abc", 422),
        ("/input/post?node=a", 422),
        ("/input/bulk?data=[[1,2]]", 422),
        ("/input/bulk?data=not-json", 400),
        ("/input/bulk?data=[[0,{},1]]", 422),
    ],
)
def test_malformed_inputs_are_refused_with_a_json_error_and_nothing_stored(
    client, engine, keys, url, status
):
    reply = client.get(f"{url}&apikey={keys['key']}")
    assert_error(reply, status)
    assert reading_count(engine) == 0


def test_one_bad_row_refuses_the_whole_bulk(client, engine, keys):
    now = int(time.time())
    data = f'[[{now},1,100],[{now},2,"x"]]'
    reply = client.post(f"/input/bulk?sentat={now}&apikey={keys['key']}", data={"data": data})
    error = assert_error(reply, 422)
    assert error["details"][0]["index"] == 1
    assert reading_count(engine) == 0


def test_a_cb_body_that_is_no_zlib_is_400(client, engine, keys):
    reply = client.post(f"/input/bulk?cb=1&apikey={keys['key']}", content=b"not zlib")
    assert_error(reply, 400)


def test_readings_out_of_the_window_are_refused_as_for_every_reading(client, engine, keys):
    reply = client.get(f"/input/post?apikey={keys['key']}&node=a&csv=1&time=1000000000")
    assert_error(reply, 422, "validation_error")
    assert reading_count(engine) == 0 and inputs(engine, keys["user_id"]) == {}


def test_a_key_that_registers_nothing_keeps_unknown_inputs_out_of_readings(client, engine, keys):
    with session_scope(engine) as s:
        user = s.get(User, keys["user_id"])
        make_device(s, user=user, device_id="hall:power")
    reply = client.get(f"/input/post?apikey={keys['quiet']}&node=hall&json={{power:5,other:6}}")
    assert reply.text == "ok"
    assert list(stored(engine, keys["user_id"])) == ["hall:power"]
    assert inputs(engine, keys["user_id"])["hall:other"] == (True, 6.0)


def test_a_deactivated_device_takes_no_readings_and_the_hub_still_hears_ok(client, engine, keys):
    client.get(f"/input/post?apikey={keys['key']}&node=n&csv=5")
    with session_scope(engine) as s:
        device = s.exec(select(Device).where(Device.device_id == "n:1")).one()
        device.is_active = False
        s.add(device)
    reply = client.get(f"/input/post?apikey={keys['key']}&node=n&csv=6&time={int(time.time())}")
    assert reply.text == "ok"
    assert reading_count(engine) == 1


def test_input_get_answers_the_latest_value_of_each_input_of_a_node(
    client, engine, keys, steady_clock
):
    assert client.get(f"/input/get?node=emontx1&apikey={keys['key']}").json() == (
        "Node does not exist"
    )
    for r in captured("emonhub_emoncms_http", emoncms_key=keys["key"]):
        r.send(client)
    reply = client.get(f"/input/get.json?node=emontx1&apikey={keys['key']}")
    latest = reply.json()
    assert set(latest) == {"power1", "power2", "vrms"}
    assert latest["vrms"]["value"] == 239.8
    assert abs(latest["power1"]["time"] - (steady_clock - 12)) <= 30
    everything = client.get("/input/get", headers={"Authorization": f"Bearer {keys['read']}"})
    assert set(everything.json()) == {"emontx1", "10", "5"}
    # Another household sees none of it.
    assert client.get(f"/input/get?node=emontx1&apikey={keys['other']}").json() == (
        "Node does not exist"
    )


def test_inputs_of_one_household_never_reach_another(client, engine, keys):
    client.get(f"/input/post?apikey={keys['other']}&node=x&csv=1")
    assert stored(engine, keys["user_id"]) == {}
    assert list(stored(engine, keys["other_id"])) == ["x:1"]


def test_requests_are_counted_against_the_keys_rate_limit(make_app, engine, keys):
    settings = get_settings().model_copy(update={"rate_limit_requests": 2})
    with TestClient(make_app(settings)) as c:
        replies = [c.get(f"/input/post?apikey={keys['key']}&node=a&csv={i}") for i in range(3)]
    assert [r.status_code for r in replies] == [200, 200, 429]


@pytest.mark.parametrize(
    ("name", "watts"),
    [
        ("emontx1:power1", True),
        ("10:1", True),
        ("19:sensor.plug_power", True),
        ("emontx1:vrms", False),
        ("emontx1:temp1", False),
        ("19:sensor.house_energy", False),
        ("emontx1:pulse", False),
        ("node:t2", False),
        ("node:solar", True),
    ],
)
def test_the_name_of_a_new_input_says_whether_it_is_watts(name, watts):
    assert input_is_watts(name) is watts
