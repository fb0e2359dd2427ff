"""The OpenAPI document describes every endpoint, its errors and its authentication, with
examples."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from energy_core.settings import get_settings
from ingest_api.app import create_app
from tests.api.support import assert_error

try:
    from fastapi.routing import iter_route_contexts
except ImportError:  # FastAPI that copies an included router's routes into the app

    def iter_route_contexts(routes):
        return routes


@pytest.fixture(scope="module")
def app():
    return create_app()


@pytest.fixture(scope="module")
def spec(app):
    return app.openapi()


def operations(spec):
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def resolve(spec, schema: dict) -> dict:
    if "$ref" in schema:
        return spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_every_route_is_documented(app, spec):
    # Every route the app serves, those of its routers included.
    # A path converter ("{base:path}") is the router's business; the document names "{base}".
    routes = {
        (re.sub(r":\w+}", "}", route.path), method.lower())
        for route in iter_route_contexts(app.routes)
        if isinstance(getattr(route, "original_route", route), APIRoute)
        for method in route.methods
    }
    documented = {(path, method) for path, method, _ in operations(spec)}
    assert routes == documented
    assert {
        "/api/v1/telemetry",
        "/api/v1/telemetry/batch",
        "/api/v1/telemetry/aggregates/hourly",
        "/api/v1/telemetry/stats/{device_id}",
        "/api/v1/telemetry/summary",
        "/api/v1/telemetry/realtime",
        "/api/v1/telemetry/devices",
        "/api/v1/chat/query",
        "/api/v1/chat/history",
        "/api/v1/chat/suggestions",
    } <= set(spec["paths"])


def test_every_api_operation_has_a_summary_auth_errors_and_an_example(spec):
    for path, method, operation in operations(spec):
        if not path.startswith("/api/v1/"):  # the monitor's own API, not InfluxDB's /api/v2
            continue
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        assert {"HTTPBearer": []} in operation.get("security", []), where
        responses = operation["responses"]
        for status in ("401", "403", "422", "429", "503"):
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema["$ref"].endswith("/ErrorBody"), where
        success = [s for s in responses if s.startswith("2")]
        assert success, where
        if method == "post":
            content = operation["requestBody"]["content"]["application/json"]
            assert content["examples"], where
            assert content["schema"]["type"] == "object", where
            assert {"200", "400", "413", "415"} <= set(responses), where
            if path.startswith("/api/v1/telemetry"):
                # Readings: 201 when any was new, 404 for a device the key does not reach.
                assert {"201", "404"} <= set(responses), where
        else:
            schema = resolve(spec, responses["200"]["content"]["application/json"]["schema"])
            assert schema.get("examples"), where


def test_the_error_shape_is_documented_with_an_example(spec):
    error = spec["components"]["schemas"]["ErrorBody"]
    assert error["examples"][0]["error"]["details"][0]["field"] == "energy_watts"


def test_openapi_json_is_served(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200
    assert r.json()["info"]["title"].startswith("Home energy monitor")


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_the_documentation_is_served_by_default(client, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"])
def test_api_docs_false_hides_the_documentation(configured, monkeypatch, path):
    monkeypatch.setenv("ENERGY_API_DOCS", "false")
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        assert_error(client.get(path), 404, "not_found")
        # The API itself still answers.
        assert client.get("/health").status_code == 200


def test_the_chat_api_is_documented_with_its_methods_and_question_limits(spec):
    assert set(spec["paths"]["/api/v1/chat/history"]) == {"get", "delete"}
    query = spec["paths"]["/api/v1/chat/query"]["post"]
    schema = query["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["question"] and schema["additionalProperties"] is False
    assert schema["properties"]["question"]["maxLength"] == 2000
    assert schema["properties"]["question"]["minLength"] == 1
    answer = resolve(spec, query["responses"]["200"]["content"]["application/json"]["schema"])
    assert {"answer", "evidence", "tool_calls", "suggestions"} <= set(answer["properties"])
