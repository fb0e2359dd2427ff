"""Alerts that explain themselves (docs/alerts.md): rules over the read layer's figures, stored
one open alert per condition, evaluated by the scheduler, shown by the page, the CLI and the
read API."""

from energy_core.alerts.evaluate import evaluate_alerts, evaluate_household
from energy_core.alerts.models import AlertSettingsUpdate, DeviceAlertSettingsUpdate
from energy_core.alerts.store import (
    MUTE_CHOICES,
    STATES,
    AlertSettingsError,
    acknowledge,
    device_alert_settings,
    grouped,
    household_settings,
    list_alerts,
    mute,
    open_count,
    set_device_alert_settings,
    set_household_alert_settings,
    unmute,
)

__all__ = [
    "MUTE_CHOICES",
    "STATES",
    "AlertSettingsError",
    "AlertSettingsUpdate",
    "DeviceAlertSettingsUpdate",
    "acknowledge",
    "device_alert_settings",
    "evaluate_alerts",
    "evaluate_household",
    "grouped",
    "household_settings",
    "list_alerts",
    "mute",
    "open_count",
    "set_device_alert_settings",
    "set_household_alert_settings",
    "unmute",
]
