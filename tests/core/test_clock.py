"""The clock of the chat and the demo seeding: pinned for a block, by ENERGY_NOW, or real."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from energy_core import clock
from energy_core.settings import Settings, get_settings

PINNED = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)


def test_an_instant_with_an_offset_is_read_in_utc():
    assert clock.parse_instant("2026-03-11T12:00:00Z") == PINNED
    assert clock.parse_instant(" 2026-03-11T13:00:00+01:00 ") == PINNED
    assert clock.parse_instant("2026-03-11T12:00:00Z").tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2026-03-11T12:00:00", "has no UTC offset"),
        ("2026-03-11", "has no UTC offset"),
        ("yesterday", "is not an ISO 8601 instant"),
        ("", "is not an ISO 8601 instant"),
    ],
)
def test_an_instant_without_an_offset_or_unreadable_is_refused(text, says):
    with pytest.raises(ValueError, match=says):
        clock.parse_instant(text)


def test_without_a_pin_the_clock_is_the_real_time():
    before = datetime.now(UTC)
    now = clock.now(Settings(_env_file=None))
    assert before <= now <= datetime.now(UTC)
    assert now.tzinfo is not None


def test_the_now_setting_pins_the_clock():
    settings = Settings(_env_file=None, now="2026-03-11T13:00:00+01:00")
    assert clock.now(settings) == PINNED
    assert clock.now(settings) == clock.now(settings)


def test_energy_now_in_the_environment_pins_the_clock(monkeypatch):
    monkeypatch.setenv("ENERGY_NOW", "2026-03-11T12:00:00Z")
    get_settings.cache_clear()
    try:
        assert clock.now() == PINNED
    finally:
        monkeypatch.delenv("ENERGY_NOW")
        get_settings.cache_clear()
    assert clock.now() > PINNED + timedelta(days=200)


@pytest.mark.parametrize("value", ["2026-03-11T12:00:00", "soon", datetime(2026, 3, 11, 12)])
def test_a_now_setting_without_an_offset_is_refused(value):
    with pytest.raises(ValidationError, match="offset|ISO 8601"):
        Settings(_env_file=None, now=value)


def test_a_pin_wins_over_the_setting_and_ends_with_its_block():
    settings = Settings(_env_file=None, now="2026-01-01T00:00:00Z")
    other = datetime(2026, 3, 11, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    with clock.pinned_now(other) as pinned:
        assert pinned == PINNED
        assert clock.now(settings) == PINNED
    assert clock.now(settings) == datetime(2026, 1, 1, tzinfo=UTC)


def test_a_naive_pin_is_refused():
    with pytest.raises(ValueError, match="naive"), clock.pinned_now(datetime(2026, 3, 11)):
        pass
