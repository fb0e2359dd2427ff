"""An app serving with state built anew (``IngestApp.serve_with``), as the next test that reuses
it does, forgets what it served before: its rate limits count in the cache of the new state (each
test has a fresh one), and its engine is new."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from energy_core.cache import get_cache
from energy_core.settings import get_settings
from ingest_api.app import create_app
from tests.api.support import assert_error, auth


def test_new_state_starts_with_no_requests_counted(engine, household):
    settings = get_settings().model_copy(update={"rate_limit_requests": 1})
    app = create_app(settings)
    read = auth(household.read_key)
    with TestClient(app) as client:
        assert client.get("/api/v1/telemetry", headers=read).status_code == 200
        assert_error(client.get("/api/v1/telemetry", headers=read), 429, "rate_limited")
    old = app.state.api
    get_cache.cache_clear()  # as between two tests
    app.serve_with(settings)
    assert app.state.api is not old and app.state.api.engine is not old.engine
    with TestClient(app) as client:
        assert client.get("/api/v1/telemetry", headers=read).status_code == 200


def test_settings_that_change_the_routes_need_a_new_app(configured):
    app = create_app()
    for change in ({"api_docs": False}, {"metrics": True}, {"max_batch_readings": 7}):
        with pytest.raises(ValueError, match="create_app"):
            app.serve_with(get_settings().model_copy(update=change))
