"""The command line fixes the database before it starts anything: a relative SQLite file is
resolved once, against the folder the command runs in, for itself and every child process."""

from __future__ import annotations

import argparse
import os

import pytest

from energy_cli.main import configure
from energy_core.settings import get_settings


@pytest.fixture
def clean_settings(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    # Set, then removed: the environment configure() changes is restored after the test.
    monkeypatch.setenv("ENERGY_DATABASE_URL", "unset")
    monkeypatch.delenv("ENERGY_DATABASE_URL")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_the_default_database_is_made_absolute_for_every_child(clean_settings):
    configure(argparse.Namespace(database_url=None))
    expected = f"sqlite:///{clean_settings.resolve() / 'data' / 'energy.db'}"
    # Children inherit the environment: they get the absolute URL, whatever their folder.
    assert os.environ["ENERGY_DATABASE_URL"] == expected
    assert get_settings().database_url == expected


def test_a_relative_database_url_option_is_made_absolute(clean_settings):
    configure(argparse.Namespace(database_url="sqlite:///./elsewhere/my.db"))
    expected = f"sqlite:///{clean_settings.resolve() / 'elsewhere' / 'my.db'}"
    assert os.environ["ENERGY_DATABASE_URL"] == expected


def test_a_postgresql_url_is_passed_on_unchanged(clean_settings):
    url = "postgresql://energy@db.internal/energy"
    configure(argparse.Namespace(database_url=url))
    assert os.environ["ENERGY_DATABASE_URL"] == url
