"""The demo household: its account, the seed of its history and its simulator key.

One load-shape model (``demo_shapes``) serves two uses: ``seed_demo_household`` writes weeks of
history from it, and the live simulator of `energy-monitor simulate` and `up` posts its current
value over HTTP.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from sqlmodel import Session

from energy_core import clock
from energy_core.accounts import (
    IssuedKey,
    create_device,
    create_user,
    get_user_by_email,
    issue_api_key,
    issue_replacement_key,
)
from energy_core.demo_shapes import (
    DEMO_DEVICE_IDS,
    DEMO_DEVICES,
    DEMO_TIMEZONE,
    DemoDevice,
    demo_device,
    device_power_w,
    household_power_w,
    instant_at,
    noise_for,
    shape_power_w,
)
from energy_core.ingest import ReadingIn, record_readings
from energy_core.models import KeyScope, Role
from energy_core.types import EPOCH

log = logging.getLogger(__name__)

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-energy-2026"
DEMO_FULL_NAME = "Alex Demo"
DEMO_PRICE_PER_KWH = 0.28
DEMO_CURRENCY = "GBP"
DEMO_KEY_NAME = "Demo simulator"
SEED_CHUNK_READINGS = 5_000
# The demo's budget per billing period is this share of what its model draws a month: the demo
# household is on course to exceed it, so a newcomer sees a budget alert explained.
DEMO_BUDGET_SHARE = 0.85

# --- history -----------------------------------------------------------------------------------


def _history_grid(*, end_at: datetime, days: float, step_s: int) -> tuple[int, int, float]:
    """(first grid second, number of steps, largest jitter in seconds) of a history up to end_at."""
    if end_at.tzinfo is None:
        raise ValueError("naive datetime: pass an aware end time (e.g. datetime.now(UTC))")
    if step_s < 1:
        raise ValueError("step_s must be at least 1 second.")
    if days <= 0:
        raise ValueError("days must be positive.")
    steps = int(days * 86_400) // step_s
    # Real meters do not post exactly on the second; a deterministic jitter keeps that look without
    # ever pushing a reading past end_at or onto its neighbour.
    max_jitter_s = min(2.0, step_s / 10.0)
    last = math.floor((end_at.timestamp() - max_jitter_s) / step_s) * step_s
    return last - (steps - 1) * step_s, steps, max_jitter_s


def count_demo_readings(
    *, days: float, step_s: int, devices: Sequence[DemoDevice | str] = DEMO_DEVICES
) -> int:
    return len(devices) * (int(days * 86_400) // step_s)


def iter_demo_readings(
    *,
    end_at: datetime,
    days: float,
    step_s: int,
    devices: Sequence[DemoDevice | str] = DEMO_DEVICES,
) -> Iterator[ReadingIn]:
    """``days`` of history up to ``end_at``: one reading per device every ``step_s`` seconds, in
    time order. The same arguments always give the same readings."""
    resolved = [demo_device(d) for d in devices]
    first_s, steps, max_jitter_s = _history_grid(end_at=end_at, days=days, step_s=step_s)
    jitter_ms = int(max_jitter_s * 1000)
    noises = [(d, noise_for(d.device_id)) for d in resolved]
    for i in range(steps):
        base_s = first_s + i * step_s
        for device, noise in noises:
            epoch_ms = base_s * 1000 + int(noise.u(15, base_s) * jitter_ms)
            ts = EPOCH + timedelta(milliseconds=epoch_ms)
            power_w = shape_power_w(device, instant_at(epoch_ms / 1000))
            yield ReadingIn(device.device_id, ts, power_w)


def demo_budget(*, now: datetime, days: float) -> float:
    """A budget per billing period below the demo's usual bill: ``DEMO_BUDGET_SHARE`` of a
    month of the household's import (net power when positive, sampled every 30 minutes over the
    ``days`` before ``now``) at the demo's flat price, in steps of 5."""
    samples = max(int(days * 48), 1)
    mean_w = (
        sum(
            max(sum(household_power_w(at=now - timedelta(minutes=30 * i + 7)).values()), 0.0)
            for i in range(samples)
        )
        / samples
    )
    month = mean_w / 1000 * 24 * 30.4 * DEMO_PRICE_PER_KWH
    return max(5.0, math.floor(DEMO_BUDGET_SHARE * month / 5) * 5.0)


# --- seeding -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSeedResult:
    """What ``seed_demo_household`` did. ``api_key`` is the only copy of the household's key."""

    created: bool
    user_id: int
    email: str
    message: str
    device_ids: tuple[str, ...] = ()
    readings: int = 0
    start_at: datetime | None = None
    end_at: datetime | None = None
    duration_s: float = 0.0
    api_key: str | None = field(default=None, repr=False)


def seed_demo_household(
    session: Session,
    *,
    now: datetime | None = None,
    days: float = 30,
    step_s: int = 60,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSeedResult:
    """Create the demo user, its devices, a household ingest key and ``days`` of history up to
    ``now`` (default: the clock, ``energy_core.clock``), in the caller's transaction. Does nothing
    when the demo user already exists."""
    started = time.perf_counter()
    now = now or clock.now()
    existing = get_user_by_email(session, email=DEMO_EMAIL)
    if existing is not None:
        return DemoSeedResult(
            created=False,
            user_id=existing.id,
            email=existing.email,
            message=f"The demo household ({DEMO_EMAIL}) already exists; nothing was changed.",
        )
    # Check the arguments before anything is written.
    _history_grid(end_at=now, days=days, step_s=step_s)

    user = create_user(
        session,
        email=DEMO_EMAIL,
        password=DEMO_PASSWORD,
        full_name=DEMO_FULL_NAME,
        role=Role.admin,
        timezone=DEMO_TIMEZONE,
        price_per_kwh=DEMO_PRICE_PER_KWH,
        currency=DEMO_CURRENCY,
    )
    user.monthly_budget = demo_budget(now=now, days=days)
    session.add(user)
    for device in DEMO_DEVICES:
        create_device(session, user_id=user.id, data=device.to_create())
    key = issue_api_key(session, user_id=user.id, scope=KeyScope.ingest, name=DEMO_KEY_NAME)

    total = count_demo_readings(days=days, step_s=step_s)
    done = accepted = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    readings = iter_demo_readings(end_at=now, days=days, step_s=step_s)
    if progress:
        progress(0, total)
    while chunk := list(islice(readings, SEED_CHUNK_READINGS)):
        # Readings are in time order by step, but jitter reorders the devices within one step.
        chunk_first, chunk_last = min(r.ts for r in chunk), max(r.ts for r in chunk)
        first_at = min(first_at or chunk_first, chunk_first)
        last_at = max(last_at or chunk_last, chunk_last)
        result = record_readings(
            session, user_id=user.id, readings=chunk, now=now, enforce_window=False
        )
        accepted += result.accepted
        done += len(chunk)
        if progress:
            progress(done, total)

    duration_s = time.perf_counter() - started
    log.info(
        "seeded the demo household: %d devices, %d readings over %g days in %.1f s",
        len(DEMO_DEVICES),
        accepted,
        days,
        duration_s,
    )
    return DemoSeedResult(
        created=True,
        user_id=user.id,
        email=user.email,
        message=(
            f"Created the demo household {DEMO_EMAIL} with {len(DEMO_DEVICES)} devices and "
            f"{accepted:,} readings over {days:g} days."
        ),
        device_ids=DEMO_DEVICE_IDS,
        readings=accepted,
        start_at=first_at,
        end_at=last_at,
        duration_s=duration_s,
        api_key=key.key,
    )


def issue_demo_simulator_key(session: Session) -> IssuedKey | None:
    """A fresh household ingest key for the simulator of an already seeded demo (the seed's own key
    is shown only once). Earlier simulator keys are revoked so they do not pile up on every start.
    None when there is no demo user."""
    user = get_user_by_email(session, email=DEMO_EMAIL)
    if user is None:
        return None
    return issue_replacement_key(session, user_id=user.id, name=DEMO_KEY_NAME)


__all__ = [
    "DEMO_DEVICES",
    "DEMO_DEVICE_IDS",
    "DEMO_EMAIL",
    "DEMO_PASSWORD",
    "DEMO_TIMEZONE",
    "DemoDevice",
    "DemoSeedResult",
    "count_demo_readings",
    "demo_device",
    "device_power_w",
    "household_power_w",
    "issue_demo_simulator_key",
    "iter_demo_readings",
    "seed_demo_household",
]
