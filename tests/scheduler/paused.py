"""The scheduler as the process builds it, started paused: its jobs can be read, none runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from apscheduler.schedulers.background import BackgroundScheduler

from scheduler.main import build_scheduler


@contextmanager
def paused_scheduler() -> Iterator[BackgroundScheduler]:
    """The scheduler built from the current settings (change them first), shut down on exit."""
    scheduler = build_scheduler(scheduler_class=BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=False)
