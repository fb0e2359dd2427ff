"""Fixtures of the API tests: the app on each backend and a household with keys."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from energy_core.accounts import users
from ingest_api.app import create_app
from tests.api.support import Household, make_household
from tests.factories import quick_hash


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch):
    monkeypatch.setattr(users, "hash_password", quick_hash)


@pytest.fixture
def household(engine) -> Household:
    return make_household(engine)


@pytest.fixture
def client(engine):
    with TestClient(create_app()) as c:
        yield c
