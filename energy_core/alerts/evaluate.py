"""Evaluating a household's alerts, incrementally: every run looks at the devices' latest
readings (offline) and the tariff (cheap period); once per new whole hour the hourly figures of
the last 8 weeks from the aggregates (unusual use, left on); once per local day the baseload and
the bill (always-on load rising, budget). Findings open alerts; conditions that cleared resolve
them (energy_core/alerts/store.py keeps one open alert per condition, with a cooldown).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from energy_core.alerts import rules
from energy_core.alerts.models import AlertSettings, DeviceAlertSettings
from energy_core.alerts.store import apply_findings, household_settings
from energy_core.db import session_scope
from energy_core.household_scope import for_household
from energy_core.models import Device
from energy_core.sql.locks import job_lock
from energy_core.stats import Household, baseload, load_household, read_series
from energy_core.stats.bills import billing_summary
from energy_core.stats.now import latest_readings
from energy_core.stats.period import days_period, instant_period
from energy_core.types import HOUR, floor_hour

log = logging.getLogger(__name__)

ALERTS_JOB = "alerts"
HISTORY = timedelta(weeks=rules.UNUSUAL_MAX_WEEKS + 1)
RECENT = timedelta(hours=24)


@dataclass
class Evaluation:
    """What one evaluation of one household did."""

    opened: list[int] = field(default_factory=list)  # alert ids
    resolved: list[int] = field(default_factory=list)
    hourly: bool = False
    daily: bool = False


def _device_settings(session: Session, user_id: int) -> dict[int, DeviceAlertSettings]:
    rows = session.exec(
        select(DeviceAlertSettings).where(DeviceAlertSettings.user_id == user_id)
    ).all()
    return {row.device_pk: row for row in rows}


def _watched(household: Household) -> list:
    """Active devices that have sent a reading."""
    return [d for d in household.devices if d.is_active and d.first_at is not None]


def _offline(
    session: Session, household: Household, *, now: datetime, own: dict
) -> list[rules.Finding]:
    latest = latest_readings(session, user_id=household.user_id)
    found = []
    for device in _watched(household):
        reading = latest.get(device.pk)
        if reading is None:
            continue
        last_at = reading[0]
        minutes = own[device.pk].offline_minutes if device.pk in own else None
        # Offline comes no sooner than the max gap (or the device's own minutes): only then is
        # its usual interval worth a read.
        if (now - last_at).total_seconds() < (minutes * 60 if minutes else device.max_gap_s):
            continue
        period = instant_period(last_at - RECENT, last_at, timezone=household.timezone)
        day = read_series(session, household.select(period, devices=[device]), flows=False)
        total = day.device_total(device.device_id) if device.device_id in day.by_device else None
        interval = total.covered_s / total.sample_count if total and total.sample_count else None
        after_s = rules.offline_after_s(device, interval, minutes)
        recent = instant_period(floor_hour(now) - RECENT + HOUR, now, timezone=household.timezone)
        hours = read_series(
            session,
            household.select(recent, devices=[device], granularity="hour"),
            flows=False,
        ).by_device.get(device.device_id, [])
        finding = rules.offline(
            device,
            last_at=last_at,
            now=now,
            after_s=after_s,
            usual_interval_s=interval,
            recent=hours,
        )
        if finding:
            found.append(finding)
    return found


def _hourly(
    session: Session, household: Household, *, through: datetime, own: dict
) -> list[rules.Finding]:
    """Unusual use and left on, for the hour that ended at ``through`` (a UTC hour start)."""
    devices = [d for d in _watched(household) if not d.is_grid_meter and not d.is_generator]
    if not devices:
        return []
    period = instant_period(through - HISTORY, through, timezone=household.timezone)
    series = read_series(
        session, household.select(period, devices=devices, granularity="hour"), flows=False
    )
    found = []
    for device in devices:
        hourly = series.by_device.get(device.device_id)
        if not hourly:
            continue
        settings = own.get(device.pk)
        if settings is None or settings.unusual_use:
            sensitivity = settings.sensitivity if settings else "normal"
            finding = rules.unusual_use(device, hourly, sensitivity=sensitivity)
            if finding:
                found.append(finding)
        finding = rules.left_on(device, hourly)
        if finding:
            found.append(finding)
    return found


def _daily(session: Session, household: Household, *, now: datetime) -> list[rules.Finding]:
    found = []
    this_week = baseload(session, household, now=now)
    last_week = baseload(session, household, now=now - timedelta(days=7))
    rising = rules.baseload_rising(this_week, last_week)
    if rising:
        found.append(rising)
    summary = billing_summary(session, household, now=now)
    if summary.budget:
        cur = summary.current
        period = days_period(cur.first_day, cur.last_day, timezone=household.timezone, now=now)
        days = read_series(session, household.select(period, granularity="day")).household
        over = rules.budget(summary, household.currency, days)
        if over:
            found.append(over)
    return found


@for_household
def evaluate_household(session: Session, *, user_id: int, now: datetime) -> Evaluation:
    """Evaluate one household's alerts at ``now`` in the caller's transaction."""
    household = load_household(session, user_id=user_id)
    settings: AlertSettings = household_settings(session, user_id=user_id)
    own = _device_settings(session, user_id)
    evaluation = Evaluation()
    findings = _offline(session, household, now=now, own=own)
    kinds = {"offline"}
    if settings.cheap_period:
        cheap = rules.cheap_period(household, now=now)
        findings += [cheap] if cheap else []
    kinds.add("cheap_period")
    through = floor_hour(now)
    if settings.hour_checked is None or settings.hour_checked < through:
        findings += _hourly(session, household, through=through, own=own)
        kinds |= {"unusual_use", "left_on"}
        settings.hour_checked = through
        evaluation.hourly = True
    today = now.astimezone(household.tz).date()
    if settings.day_checked is None or settings.day_checked < today:
        findings += _daily(session, household, now=now)
        kinds |= {"baseload_rising", "budget"}
        settings.day_checked = today
        evaluation.daily = True
    session.add(settings)
    opened, resolved = apply_findings(
        session, user_id=user_id, findings=findings, kinds=kinds, now=now, settings=settings
    )
    evaluation.opened, evaluation.resolved = opened, resolved
    return evaluation


@dataclass
class AlertsRun:
    skipped: bool = False
    households: int = 0
    opened: int = 0
    resolved: int = 0
    failed: int = 0


def evaluate_alerts(engine: Engine, *, now: datetime) -> AlertsRun:
    """Evaluate every household with devices, each in its own transaction (a household that
    fails is logged and retried on the next run; the others go on). One scheduler at a time."""
    run = AlertsRun()
    with job_lock(engine, ALERTS_JOB) as got_lock:
        if not got_lock:
            log.info("alerts skipped: another scheduler holds the lock")
            return AlertsRun(skipped=True)
        # Which households have devices: across households (row-level security: system scope).
        with session_scope(engine, read_only=True, system=True) as session:
            users = session.exec(
                select(Device.user_id).distinct().order_by(col(Device.user_id))
            ).all()
        for user_id in users:
            try:
                with session_scope(engine, household=user_id) as session:
                    done = evaluate_household(session, user_id=user_id, now=now)
            except Exception:
                run.failed += 1
                log.exception("alerts of household %d failed; retried on the next run", user_id)
                continue
            run.households += 1
            run.opened += len(done.opened)
            run.resolved += len(done.resolved)
    if run.opened or run.resolved:
        log.info("alerts: %d opened, %d resolved", run.opened, run.resolved)
    return run


__all__ = ["ALERTS_JOB", "AlertsRun", "Evaluation", "evaluate_alerts", "evaluate_household"]
