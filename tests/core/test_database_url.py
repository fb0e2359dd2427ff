"""A relative SQLite file becomes one absolute path, so every process opens the same file."""

from __future__ import annotations

from pathlib import Path

import pytest

from energy_core.db import absolute_database_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///./data/energy.db", "sqlite:////srv/monitor/data/energy.db"),
        ("sqlite:///data/../energy.db", "sqlite:////srv/monitor/energy.db"),
        ("sqlite:///energy.db?timeout=5", "sqlite:////srv/monitor/energy.db?timeout=5"),
        ("sqlite:////var/lib/energy.db", "sqlite:////var/lib/energy.db"),
    ],
)
def test_relative_sqlite_files_are_resolved_against_the_base(url, expected):
    assert absolute_database_url(url, base=Path("/srv/monitor")) == expected


def test_a_home_relative_sqlite_file_is_expanded():
    url = absolute_database_url("sqlite:///~/energy.db", base=Path("/srv/monitor"))
    assert url == f"sqlite:///{Path.home() / 'energy.db'}"


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "postgresql+psycopg://energy:secret@db.internal/energy"],
)
def test_other_urls_are_left_as_they_are(url):
    assert absolute_database_url(url, base=Path("/srv/monitor")) == url
