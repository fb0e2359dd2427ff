"""``db upgrade`` says what it changed: a new schema, an upgrade, or nothing."""

from __future__ import annotations

import pytest

from energy_cli.main import main
from energy_core import db as db_module
from energy_core.settings import get_settings


@pytest.fixture
def new_database(tmp_path, monkeypatch):
    monkeypatch.setenv("ENERGY_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    get_settings.cache_clear()
    db_module.get_engine.cache_clear()
    yield
    db_module.get_engine().dispose()
    get_settings.cache_clear()
    db_module.get_engine.cache_clear()


def test_db_upgrade_says_whether_it_created_the_schema_or_changed_nothing(new_database, capsys):
    assert main(["db", "upgrade"]) == 0
    created = capsys.readouterr().out
    assert created.startswith("Created the database schema (revision ")
    revision = created.split("(revision ")[1].split(")")[0]
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"The database schema was up to date already (revision {revision}); nothing changed."
    )
