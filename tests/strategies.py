"""Hypothesis strategies and settings shared by the property tests."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

HOUR_S = 3600


def database_examples(max_examples: int) -> settings:
    """Settings of a property test on a database fixture: no deadline (database calls vary in
    time) and the fixture shared by the examples (each example makes rows of its own)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )


def seconds_within(hours: int) -> st.SearchStrategy[float]:
    """Seconds from 0 to ``hours`` hours, with whole-hour boundaries well represented."""
    return st.one_of(
        st.integers(min_value=0, max_value=hours * HOUR_S).map(float),
        st.integers(min_value=0, max_value=hours).map(lambda h: float(h * HOUR_S)),
        st.floats(min_value=0, max_value=hours * HOUR_S, allow_nan=False).map(
            lambda x: round(x, 6)
        ),
    )


def watts(limit: float, *, digits: int) -> st.SearchStrategy[float]:
    """Power from ``-limit`` to ``limit`` W (generation negative), rounded to ``digits``."""
    return st.floats(min_value=-limit, max_value=limit, allow_nan=False).map(
        lambda x: round(x, digits)
    )
