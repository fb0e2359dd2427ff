"""Property: whatever a client sends, the API never answers 5xx, and every reading it stores is
finite, within the power bounds (negative only for bidirectional devices), inside the accepted
time window and in UTC. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from energy_core.db import session_scope
from energy_core.models import Device, Reading
from energy_core.settings import get_settings
from energy_core.types import utcnow
from tests.strategies import database_examples

ALLOWED = {200, 201, 400, 401, 403, 404, 413, 415, 422, 429}


@dataclass(frozen=True)
class Offset:
    """A timestamp relative to the moment the request is sent, in one of the accepted spellings."""

    seconds: float
    spelling: str


def materialize(value: object, now) -> object:  # noqa: ANN001
    if isinstance(value, Offset):
        at = now - timedelta(seconds=value.seconds)
        if value.spelling == "epoch":
            return at.timestamp()
        if value.spelling == "naive":
            return at.replace(tzinfo=None).isoformat()
        if value.spelling == "offset":
            return at.astimezone(UTC).isoformat()
        return at.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: materialize(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [materialize(v, now) for v in value]
    return value


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
any_json = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=12), children, max_size=4),
    ),
    max_leaves=12,
)


def mostly(valid, invalid):
    """``valid`` 19 times in 20, so that whole batches are often acceptable and get stored."""
    return st.integers(0, 19).flatmap(lambda k: valid if k else invalid)


spellings = st.sampled_from(["iso", "epoch", "offset"])
offsets = mostly(
    st.builds(Offset, st.floats(min_value=0, max_value=7 * 86400), spellings),
    st.builds(
        Offset,
        st.floats(min_value=-10 * 86400, max_value=40 * 86400),
        st.sampled_from(["iso", "epoch", "offset", "naive"]),
    ),
)
watts = mostly(
    st.one_of(st.floats(min_value=0, max_value=5000), st.integers(min_value=0, max_value=5000)),
    st.one_of(
        st.floats(min_value=-5000, max_value=0),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(2**64), max_value=2**64),
        st.sampled_from([100_000, 100_000.5, -100_000, 0, -0.0]),
        json_scalars,
    ),
)
device_ids = mostly(
    st.sampled_from(["fridge", "solar", "heater"]),
    st.one_of(st.sampled_from(["theirs", "garage", ""]), st.text(max_size=8), json_scalars),
)


@st.composite
def readings(draw):
    reading = {}
    if draw(st.integers(0, 9)):
        reading["device_id"] = draw(device_ids)
    if draw(st.integers(0, 19)):
        reading["timestamp"] = draw(mostly(offsets, json_scalars))
    name = draw(st.sampled_from(["energy_watts"] * 3 + ["power_w"]))
    if draw(st.integers(0, 19)):
        reading[name] = draw(watts)
    if not draw(st.integers(0, 19)):
        reading[draw(st.sampled_from(["user_id", "owner_id", "power_w", "energy_watts"]))] = draw(
            any_json
        )
    return reading


# (endpoint, body): mostly the body the endpoint expects, sometimes the other one or anything.
requests = st.one_of(
    st.tuples(
        st.just("/api/v1/telemetry/batch"),
        st.builds(lambda items: {"readings": items}, st.lists(readings(), max_size=8)),
    ),
    st.tuples(st.just("/api/v1/telemetry"), readings()),
    st.tuples(
        st.sampled_from(["/api/v1/telemetry", "/api/v1/telemetry/batch"]),
        st.one_of(any_json, readings(), st.builds(lambda r: {"readings": [r]}, readings())),
    ),
)


@pytest.fixture
def raw_client(engine, make_app):
    # 500s must come back as responses here, not as exceptions, to be counted as failures.
    with TestClient(make_app(), raise_server_exceptions=False) as c:
        yield c


def assert_stored_readings_are_sane(engine) -> None:
    config = get_settings()
    now = utcnow()
    earliest = now - timedelta(days=config.lateness_days, minutes=5)
    latest = now + timedelta(seconds=config.future_skew_s)
    with session_scope(engine, read_only=True) as s:
        rows = s.exec(
            select(Reading.ts, Reading.power_w, Device.bidirectional).join(
                Device, Device.id == Reading.device_pk
            )
        ).all()
    for ts, power_w, bidirectional in rows:
        assert math.isfinite(power_w)
        assert abs(power_w) <= config.max_power_w
        assert power_w >= 0 or bidirectional
        assert ts.tzinfo is not None and ts.utcoffset() == timedelta(0)
        assert earliest <= ts <= latest


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=requests, device_key=st.integers(0, 3))
def test_arbitrary_json_never_gets_a_5xx_and_what_is_stored_is_sane(
    raw_client, engine, household, request, device_key
):
    path, payload = request
    # NaN and Infinity go out as the literals buggy clients really send.
    body = json.dumps(materialize(payload, utcnow()), allow_nan=True)
    key = household.household_key if device_key else household.fridge_key
    r = raw_client.post(
        path,
        content=body.encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    event(f"status {r.status_code}")
    assert r.status_code in ALLOWED, r.text
    if r.status_code >= 400:
        assert set(r.json()["error"]) == {"code", "message", "details"}
    else:
        counts = r.json()
        assert counts["accepted"] >= 0 and counts["duplicates"] >= 0
    assert_stored_readings_are_sane(engine)


@database_examples(60)
@given(body=st.binary(max_size=300))
def test_arbitrary_bytes_never_get_a_5xx(raw_client, household, body):
    r = raw_client.post(
        "/api/v1/telemetry/batch",
        content=body,
        headers={
            "Authorization": f"Bearer {household.household_key}",
            "Content-Type": "application/json",
        },
    )
    assert r.status_code in ALLOWED, r.text


query_values = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(
        [
            "2026-05-01T00:00:00Z",
            "2099-01-01T00:00:00Z",
            "2000-01-01T00:00:00+05:30",
            "1777636800",
            "1777636800.5",
            "-1",
            "1e400",
            "nan",
            "2026-05-01",
        ]
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
read_paths = st.sampled_from(
    [
        "/api/v1/telemetry",
        "/api/v1/telemetry/aggregates/hourly",
        "/api/v1/telemetry/stats/fridge",
        "/api/v1/telemetry/stats/theirs",
        "/api/v1/telemetry/summary",
        "/api/v1/telemetry/realtime",
        "/api/v1/telemetry/devices",
    ]
)


@database_examples(80)
@given(
    path=read_paths,
    params=st.fixed_dictionaries(
        {},
        optional={
            "start": query_values,
            "end": query_values,
            "device_id": query_values,
            "cursor": query_values,
            "limit": query_values,
        },
    ),
)
def test_arbitrary_query_parameters_never_get_a_5xx(raw_client, household, path, params):
    r = raw_client.get(
        path,
        params={k: v for k, v in params.items() if v is not None},
        headers={"Authorization": f"Bearer {household.read_key}"},
    )
    assert r.status_code in {200, 404, 422}, r.text
    if r.status_code != 200:
        assert set(r.json()["error"]) == {"code", "message", "details"}
