"""Fixtures of the API tests: the app on each backend and a household with keys."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ingest_api.app import create_app
from tests.api.support import Household, make_household


@pytest.fixture
def household(engine) -> Household:
    return make_household(engine)


@pytest.fixture
def client(engine):
    with TestClient(create_app()) as c:
        yield c
