"""Where the settings come from: ``ENERGY_*`` variables first, then a ``.env`` file in the working
directory, then the defaults; a missing or empty ``.env`` is the same as none."""

from __future__ import annotations

import pytest

from energy_core.settings import Settings


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENERGY_MAX_GAP_S", raising=False)
    monkeypatch.delenv("ENERGY_REDIS_URL", raising=False)
    return tmp_path


def test_a_dotenv_file_is_read_and_the_environment_wins_over_it(folder, monkeypatch):
    (folder / ".env").write_text("ENERGY_MAX_GAP_S=123\nENERGY_REDIS_URL=redis://from-file/0\n")
    monkeypatch.setenv("ENERGY_REDIS_URL", "redis://from-environment/0")
    settings = Settings()
    assert settings.max_gap_s == 123
    assert settings.redis_url == "redis://from-environment/0"


@pytest.mark.parametrize("content", [None, "", "# nothing set here\n"])
def test_without_a_dotenv_file_or_with_an_empty_one_the_defaults_hold(folder, content):
    if content is not None:
        (folder / ".env").write_text(content)
    settings = Settings()
    assert settings.max_gap_s == Settings.model_fields["max_gap_s"].default
    assert settings.redis_url is None
