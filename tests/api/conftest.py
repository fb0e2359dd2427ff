"""Fixtures of the API tests: the app on each backend and a household with keys."""

from __future__ import annotations

import bcrypt
import pytest
from fastapi.testclient import TestClient

from energy_core.accounts import users
from ingest_api.app import create_app
from tests.api.support import Household, make_household


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch):
    # Every household creates users; bcrypt at its production cost would dominate the suite.
    # Cost 4 is still real bcrypt, so logins in these tests behave like production.
    monkeypatch.setattr(
        users,
        "hash_password",
        lambda password: bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode(),
    )


@pytest.fixture
def household(engine) -> Household:
    return make_household(engine)


@pytest.fixture
def client(engine):
    with TestClient(create_app()) as c:
        yield c
