"""How the pages write ranges: whole days by their last day, and the first minute of a period."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from webapp.units import format_range

LONDON = ZoneInfo("Europe/London")


def test_whole_days_are_shown_by_their_first_and_last_day():
    start, end = datetime(2026, 11, 25, tzinfo=LONDON), datetime(2026, 12, 1, tzinfo=LONDON)
    assert format_range(start, end, tz=LONDON) == "25 Nov – 30 Nov 2026"
    one_day = format_range(end, datetime(2026, 12, 2, tzinfo=LONDON), tz=LONDON)
    assert one_day == "Tue 01 Dec 2026"


def test_a_period_in_its_first_minute_is_shown_as_it_is_not_backwards():
    # "Today" or "this month" read just after midnight: the range is still empty.
    midnight = datetime(2026, 12, 1, tzinfo=LONDON)
    assert format_range(midnight, midnight, tz=LONDON) == "Tue 01 Dec 2026, 00:00 – 00:00"
