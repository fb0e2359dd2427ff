"""Fixtures of the API tests: the app on each backend and a household with keys."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from energy_core.settings import get_settings
from tests.api.support import Household, make_household


@pytest.fixture
def household(engine) -> Household:
    return make_household(engine)


@pytest.fixture
def client(engine, make_app):
    with TestClient(make_app()) as c:
        yield c


@pytest.fixture
def old_times_client(engine, make_app):
    """The app with a lateness window wide enough for captured hubs' own timestamps (years old)."""
    settings = get_settings().model_copy(update={"lateness_days": 4000})
    with TestClient(make_app(settings)) as c:
        yield c
