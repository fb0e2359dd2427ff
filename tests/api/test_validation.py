"""Every way a reading, a batch or a body can be wrong: a clear 4xx naming the problem (index,
field, reason), nothing stored, never a 5xx. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import orjson
import pytest
from fastapi.testclient import TestClient

from energy_core.types import utcnow
from ingest_api.app import create_app
from tests.api.support import (
    Household,
    assert_error,
    iso,
    json_headers,
    make_household,
    reading_count,
)
from tests.databases import scratch_postgres_database, sqlite_copy

GOOD = '{"device_id": "fridge", "timestamp": "%s", "energy_watts": 10}'


# Building a database, an app and a household takes far longer than checking a body, so this
# module shares one of each per backend. Each test still checks that nothing was written: against
# the count taken when it starts, in a table that is never empty.


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(request, tmp_path_factory) -> Iterator[str]:
    """A migrated database of this module alone (on SQLite, then on PostgreSQL)."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        yield sqlite_copy(template, tmp_path_factory.mktemp("validation"))
    else:
        with scratch_postgres_database("energy_validation") as url:
            yield url


@pytest.fixture(scope="module")
def household(module_engine) -> Household:
    return make_household(module_engine)


@pytest.fixture(scope="module")
def client(module_engine, household) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        r = c.post(
            "/api/v1/telemetry",
            content=GOOD % iso(600),
            headers=json_headers(household.household_key),
        )
        assert r.status_code == 201, r.text
        yield c


@pytest.fixture
def seeded(client, module_engine, household) -> int:
    """The readings stored when the test starts (at least one, so that "nothing stored" is
    checked against a non-empty table)."""
    count = reading_count(module_engine)
    assert count >= 1
    return count


def batch_of(*readings: str) -> str:
    return '{"readings": [' + ", ".join(readings) + "]}"


def stamp(name: str) -> str:
    now = utcnow()
    return {
        "NOW": iso(1),
        "FUTURE": iso(-3600),
        "SKEWED": iso(-330),  # past the 300 s skew even if the request waits a while
        "ANCIENT": iso(86400 * 31),
        "NAIVE": (now - timedelta(seconds=5)).replace(tzinfo=None).isoformat(),
    }[name]


def reading(text: str) -> str:
    for name in ("NOW", "FUTURE", "SKEWED", "ANCIENT", "NAIVE"):
        text = text.replace(f"@{name}", stamp(name))
    return text


def json_reading(**fields: str) -> str:
    """A reading as JSON text, each field given as its JSON source so that what no JSON encoder
    writes (NaN, 1e400, a lone surrogate) is sent as written."""
    return "{" + ", ".join(f'"{name}": {source}' for name, source in fields.items()) + "}"


def fridge_now(**fields: str) -> str:
    """The fridge's reading of 1 W now, with ``fields`` (JSON source) replacing or added."""
    return json_reading(
        **{"device_id": '"fridge"', "timestamp": '"@NOW"', "energy_watts": "1", **fields}
    )


def watts(source: str, device_id: str = "fridge") -> tuple[str, str]:
    return fridge_now(device_id=f'"{device_id}"', energy_watts=source), "energy_watts"


def at(source: str) -> tuple[str, str]:
    return fridge_now(timestamp=source), "timestamp"


def device(source: str) -> tuple[str, str]:
    return fridge_now(device_id=source), "device_id"


def extra(name: str, source: str) -> tuple[str, str]:
    return fridge_now(**{name: source}), name


# (reading as JSON text with @-placeholders for timestamps, the field the problem is reported on)
WATTS_CASES = {
    "nan": watts("NaN"),
    "infinity": watts("Infinity"),
    "minus_infinity": watts("-Infinity", "solar"),
    "overflowing_1e400": watts("1e400"),
    "overflowing_alias": (
        json_reading(device_id='"solar"', timestamp='"@NOW"', power_w="-1e400"),
        "power_w",
    ),
    "numeric_string": watts('"12.5"'),
    "empty_string": watts('""'),
    "true": watts("true"),
    "false": watts("false"),
    "null": watts("null"),
    "object": watts('{"value": 1}'),
    "list": watts("[12.5]"),
    "above_max": watts("100000.01"),
    "huge_integer": watts("1" + "0" * 400),
    "below_minus_max_bidirectional": watts("-100001", "solar"),
    "negative_not_bidirectional": watts("-5"),
    "missing": (json_reading(device_id='"fridge"', timestamp='"@NOW"'), "energy_watts"),
    "both_names": (fridge_now(power_w="1"), "energy_watts"),
}
TIMESTAMP_CASES = {
    "missing": (json_reading(device_id='"fridge"', energy_watts="1"), "timestamp"),
    "naive": at('"@NAIVE"'),
    "date_only": at('"2026-05-01"'),
    "unparseable": at('"yesterday"'),
    "empty": at('""'),
    "month_13": at('"2026-13-01T00:00:00Z"'),
    "too_long": at('"' + "2" * 65 + '"'),
    "future_beyond_skew": at('"@FUTURE"'),
    "just_beyond_skew": at('"@SKEWED"'),
    "older_than_lateness_window": at('"@ANCIENT"'),
    "epoch_milliseconds": at("1777636800000"),
    "epoch_microseconds": at("1e15"),
    "epoch_zero": at("0"),
    "epoch_negative": at("-1"),
    "epoch_year_2128": at("5e9"),
    "epoch_nan": at("NaN"),
    "epoch_infinity": at("Infinity"),
    "boolean": at("true"),
    "null": at("null"),
    "list": at('["@NOW"]'),
    "year_1": at('"0001-01-01T00:00:00+23:59"'),
}
OTHER_CASES = {
    "device_id_empty": device('""'),
    "device_id_blank": device('"   "'),
    "device_id_too_long": device('"' + "d" * 129 + '"'),
    "device_id_number": device("7"),
    "device_id_nul": device('"fri\\u0000dge"'),
    "device_id_lone_surrogate": (
        fridge_now(device_id='"\\ud800"', energy_watts="NaN"),
        "device_id",
    ),
    "mass_assignment_user_id": extra("user_id", "2"),
    "mass_assignment_owner_id": extra("owner_id", "2"),
    "mass_assignment_device_pk": extra("device_pk", "9"),
    "reading_not_an_object": ('["fridge", "@NOW", 1]', "reading"),
    "reading_null": ("null", "reading"),
}
CASES = {
    **{f"watts_{k}": v for k, v in WATTS_CASES.items()},
    **{f"timestamp_{k}": v for k, v in TIMESTAMP_CASES.items()},
    **{f"reading_{k}": v for k, v in OTHER_CASES.items()},
}


@pytest.mark.parametrize(("text", "field"), CASES.values(), ids=CASES.keys())
def test_invalid_reading_rejects_the_whole_batch_naming_index_and_field(
    client, module_engine, household, seeded, text, field
):
    body = batch_of(GOOD % iso(100), reading(text))
    r = client.post(
        "/api/v1/telemetry/batch", content=body, headers=json_headers(household.household_key)
    )
    error = assert_error(r, 422, "validation_error")
    problems = [(p["index"], p["field"]) for p in error["details"]]
    assert (1, field) in problems, error
    assert all(index == 1 for index, _ in problems), error
    assert all(p["message"] for p in error["details"])
    assert "nothing was stored" in error["message"]
    assert reading_count(module_engine) == seeded


SINGLE_CASES = {
    k: CASES[k]
    for k in (
        "watts_nan",
        "watts_overflowing_1e400",
        "watts_numeric_string",
        "watts_negative_not_bidirectional",
        "timestamp_naive",
        "timestamp_future_beyond_skew",
        "timestamp_older_than_lateness_window",
        "timestamp_epoch_milliseconds",
        "reading_mass_assignment_user_id",
    )
}


@pytest.mark.parametrize(("text", "field"), SINGLE_CASES.values(), ids=SINGLE_CASES.keys())
def test_invalid_single_reading_is_rejected_naming_the_field(
    client, module_engine, household, seeded, text, field
):
    r = client.post(
        "/api/v1/telemetry", content=reading(text), headers=json_headers(household.household_key)
    )
    error = assert_error(r, 422, "validation_error")
    assert (None, field) in [(p["index"], p["field"]) for p in error["details"]], error
    assert reading_count(module_engine) == seeded


def test_non_finite_watts_are_named_as_such_not_as_broken_json(client, household, seeded):
    body = batch_of(
        GOOD % iso(100),
        reading('{"device_id": "fridge", "timestamp": "@NOW", "energy_watts": NaN}'),
    )
    r = client.post(
        "/api/v1/telemetry/batch", content=body, headers=json_headers(household.household_key)
    )
    error = assert_error(r, 422, "validation_error")
    assert error["details"] == [
        {"index": 1, "field": "energy_watts", "message": "must be a finite number"}
    ]


def test_every_problem_of_a_reading_is_listed(client, household, seeded):
    bad = '{"device_id": "", "timestamp": "soon", "energy_watts": "lots", "owner_id": 1}'
    r = client.post(
        "/api/v1/telemetry/batch",
        content=batch_of(bad),
        headers=json_headers(household.household_key),
    )
    error = assert_error(r, 422, "validation_error")
    assert {p["field"] for p in error["details"]} == {
        "owner_id",
        "device_id",
        "timestamp",
        "energy_watts",
    }


def test_rules_that_need_the_device_or_the_clock_are_listed_per_reading(client, household, seeded):
    readings = [
        {"device_id": "fridge", "timestamp": iso(10), "energy_watts": 5},
        {"device_id": "fridge", "timestamp": iso(-7200), "energy_watts": -5},
        {"device_id": "solar", "timestamp": iso(10), "energy_watts": -5},
        {"device_id": "heater", "timestamp": iso(86400 * 60), "energy_watts": 2e5},
    ]
    r = client.post(
        "/api/v1/telemetry/batch",
        json={"readings": readings},
        headers=json_headers(household.household_key),
    )
    error = assert_error(r, 422, "validation_error")
    assert [(p["index"], p["field"]) for p in error["details"]] == [
        (1, "energy_watts"),
        (1, "timestamp"),
        (3, "energy_watts"),
        (3, "timestamp"),
    ]


@pytest.mark.parametrize(
    ("reading_at", "total"),
    [
        (lambda i: {"device_id": "fridge", "timestamp": "bad", "energy_watts": 1}, 250),
        (lambda i: {"device_id": "fridge", "timestamp": iso(-3600 - i), "energy_watts": 1}, 300),
    ],
    ids=["unparseable_timestamps", "clock_problems"],
)
def test_only_the_first_100_problems_are_listed_and_the_total_is_said(
    client, module_engine, household, seeded, reading_at, total
):
    r = client.post(
        "/api/v1/telemetry/batch",
        json={"readings": [reading_at(i) for i in range(total)]},
        headers=json_headers(household.household_key),
    )
    error = assert_error(r, 422, "validation_error")
    assert len(error["details"]) == 100
    assert error["details"][-1]["index"] == 99
    assert error["message"].startswith(f"{total} problem(s)")
    assert reading_count(module_engine) == seeded


# --- bodies ------------------------------------------------------------------------------------

JSON = "application/json"


def refused_as(status: int, code: str | None, bodies: dict[str, bytes], content_type=JSON) -> dict:
    """Cases of ``bodies`` sent as ``content_type``, each refused with ``status`` and ``code``."""
    return {name: (body, content_type, status, code) for name, body in bodies.items()}


BODY_CASES = {
    **refused_as(
        400,
        "invalid_json",
        {
            "not_json": b"{not json",
            "truncated_json": b'{"readings": [{"device_id": "fr',
            "trailing_garbage": b'{"readings": []} x',
            "invalid_utf8": (
                b'{"readings": [{"device_id": "\xff\xfe", "timestamp": 1, "energy_watts": 1}]}'
            ),
            "utf16_bom": "\ufeff{}".encode("utf-16"),
        },
    ),
    **refused_as(400, "empty_body", {"empty": b"", "whitespace": b"  \n "}),
    **refused_as(
        400,
        None,
        {
            "deeply_nested_list": b"[" * 100_000 + b"]" * 100_000,
            "deeply_nested_reading": (
                b'{"readings": [' + b'{"a":' * 5_000 + b"1" + b"}" * 5_000 + b"]}"
            ),
        },
    ),
    **refused_as(
        422,
        "validation_error",
        {
            "nested_but_shallow": (
                b'{"readings": [{"device_id": "fridge", "timestamp": 1, "energy_watts": '
                + b"[" * 200
                + b"]" * 200
                + b"}]}"
            ),
            "not_an_object": b"[1, 2]",
            "a_number": b"5",
            "null": b"null",
            "readings_not_a_list": b'{"readings": 5}',
            "readings_missing": b"{}",
            "empty_batch": b'{"readings": []}',
            "batch_mass_assignment": b'{"readings": [], "user_id": 2}',
        },
    ),
    "form": (
        b"device_id=fridge",
        "application/x-www-form-urlencoded",
        415,
        "unsupported_media_type",
    ),
    **{
        name: (b'{"readings": []}', content_type, 415, "unsupported_media_type")
        for name, content_type in {
            "text": "text/plain",
            "no_content_type": None,
            "latin1_charset": "application/json; charset=latin-1",
        }.items()
    },
}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"), BODY_CASES.values(), ids=BODY_CASES.keys()
)
def test_malformed_bodies_get_a_clear_4xx_and_store_nothing(
    client, module_engine, household, seeded, body, content_type, status, code
):
    headers = {"Authorization": f"Bearer {household.household_key}"}
    if content_type:
        headers["Content-Type"] = content_type
    r = client.post("/api/v1/telemetry/batch", content=body, headers=headers)
    assert_error(r, status, code)
    assert reading_count(module_engine) == seeded


def test_json_with_a_charset_is_accepted(client, household, seeded):
    r = client.post(
        "/api/v1/telemetry",
        content=GOOD % iso(30),
        headers={
            "Authorization": f"Bearer {household.household_key}",
            "Content-Type": "application/json; charset=UTF-8",
        },
    )
    assert r.status_code == 201, r.text


def test_invalid_utf8_is_called_that(client, household, seeded):
    r = client.post(
        "/api/v1/telemetry",
        content=b'{"device_id": "\xc3\x28", "timestamp": 1, "energy_watts": 1}',
        headers=json_headers(household.household_key),
    )
    assert "UTF-8" in assert_error(r, 400, "invalid_json")["message"]


def test_a_batch_sent_to_the_single_endpoint_is_rejected(client, module_engine, household, seeded):
    body = {"readings": [{"device_id": "fridge", "timestamp": iso(5), "energy_watts": 1}]}
    r = client.post("/api/v1/telemetry", json=body, headers=json_headers(household.household_key))
    error = assert_error(r, 422, "validation_error")
    assert {p["field"] for p in error["details"]} >= {"readings", "timestamp"}
    assert reading_count(module_engine) == seeded


def test_batch_over_the_maximum_is_rejected_whole(client, module_engine, household, seeded):
    readings = [
        {"device_id": "fridge", "timestamp": iso(1000 + i / 1000), "energy_watts": 1}
        for i in range(5_001)
    ]
    r = client.post(
        "/api/v1/telemetry/batch",
        content=orjson.dumps({"readings": readings}),
        headers=json_headers(household.household_key),
    )
    error = assert_error(r, 422, "validation_error")
    assert "at most 5000" in error["message"]
    assert reading_count(module_engine) == seeded


def test_batch_of_exactly_the_maximum_is_stored(client, module_engine, household, seeded):
    readings = [
        {"device_id": "fridge", "timestamp": iso(1000 + i / 100), "energy_watts": i % 300}
        for i in range(5_000)
    ]
    r = client.post(
        "/api/v1/telemetry/batch",
        content=orjson.dumps({"readings": readings}),
        headers=json_headers(household.household_key),
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"accepted": 5_000, "duplicates": 0}
    assert reading_count(module_engine) == seeded + 5_000


def test_body_over_the_size_limit_is_413_before_it_is_parsed(
    client, module_engine, household, seeded
):
    # Not even JSON: a 413 proves the size was checked first.
    big = b"{" * 2_000_001
    r = client.post(
        "/api/v1/telemetry/batch", content=big, headers=json_headers(household.household_key)
    )
    assert_error(r, 413, "payload_too_large")
    assert reading_count(module_engine) == seeded


def test_chunked_body_over_the_size_limit_is_413(client, module_engine, household, seeded):
    def chunks():
        for _ in range(40):
            yield b" " * 100_000

    r = client.post(
        "/api/v1/telemetry/batch", content=chunks(), headers=json_headers(household.household_key)
    )
    assert_error(r, 413, "payload_too_large")
    assert reading_count(module_engine) == seeded


def test_chunked_body_within_the_limit_is_accepted(client, module_engine, household, seeded):
    body = batch_of(GOOD % iso(77)).encode()

    def chunks():
        for i in range(0, len(body), 7):
            yield body[i : i + 7]

    r = client.post(
        "/api/v1/telemetry/batch", content=chunks(), headers=json_headers(household.household_key)
    )
    assert r.status_code == 201, r.text
    assert reading_count(module_engine) == seeded + 1


def test_query_parameters_that_break_rules_get_the_error_shape(client, household):
    headers = {"Authorization": f"Bearer {household.read_key}"}
    assert_error(client.get("/api/v1/telemetry?limit=0", headers=headers), 422)
    assert_error(client.get("/api/v1/telemetry?limit=abc", headers=headers), 422)
    error = assert_error(client.get("/api/v1/telemetry?start=yesterday", headers=headers), 422)
    assert error["details"][0]["field"] == "start"
    error = assert_error(
        client.get("/api/v1/telemetry?start=2026-05-02T00:00:00", headers=headers), 422
    )
    assert "offset" in error["details"][0]["message"]
    error = assert_error(
        client.get(
            "/api/v1/telemetry/summary?start=2026-05-02T00:00:00Z&end=2026-05-01T00:00:00Z",
            headers=headers,
        ),
        422,
    )
    assert error["details"][0]["field"] == "end"
    error = assert_error(client.get("/api/v1/telemetry?cursor=!!!", headers=headers), 422)
    assert error["details"][0]["field"] == "cursor"
