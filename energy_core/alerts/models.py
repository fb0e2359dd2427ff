"""The alert tables (migration 0060_alerts): alerts raised per household, the household's and
each device's alert settings, and mutes. Every table carries ``user_id``."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Column, Date, Index, Integer, String, Text, text
from sqlmodel import Field, SQLModel

from energy_core.columns import device_pk_field, user_id_field, utc_column


class Alert(SQLModel, table=True):
    """One alert: a condition (``key``) of a household, open from ``opened_at`` until
    ``resolved_at``. At most one open alert per (household, key)."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_open_key",
            "user_id",
            "key",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
        Index("ix_alerts_user_opened", "user_id", "opened_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = user_id_field()
    device_pk: int | None = device_pk_field(nullable=True)
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    key: str = Field(sa_column=Column(String(160), nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    explanation: str = Field(sa_column=Column(Text, nullable=False))
    evidence: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    opened_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())
    resolved_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    acknowledged_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # Webhook delivery: none (no webhook), pending, sent or failed (retries exhausted).
    delivery: str = Field(default="none", sa_column=Column(String(16), nullable=False))
    delivery_attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_delivery_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # Why the last try failed, or why the webhook was refused (migration 0105); None once sent.
    delivery_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # E-mail delivery (migration 0061), the same states, kept apart from the webhook's.
    email_delivery: str = Field(default="none", sa_column=Column(String(16), nullable=False))
    email_attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_email_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class AlertSettings(SQLModel, table=True):
    """A household's alert settings, and how far its hourly and daily checks have got."""

    __tablename__ = "alert_settings"

    user_id: int = user_id_field(primary_key=True)
    cheap_period: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    webhook_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    webhook_secret: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    # E-mail (migration 0061): on by default when the server has SMTP; to ``email_to``, else to
    # the household's own address.
    email_alerts: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    email_to: str | None = Field(default=None, sa_column=Column(String(254), nullable=True))
    hour_checked: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    day_checked: date | None = Field(default=None, sa_column=Column(Date, nullable=True))


class DeviceAlertSettings(SQLModel, table=True):
    """One device's alert settings; a device without a row has the defaults."""

    __tablename__ = "alert_device_settings"

    user_id: int = user_id_field(primary_key=True)
    device_pk: int = device_pk_field(primary_key=True)
    sensitivity: str = Field(default="normal", sa_column=Column(String(8), nullable=False))
    unusual_use: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    offline_minutes: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))


class AlertSettingsUpdate(SQLModel):
    """A change to a household's alert settings: only the fields set change. ``webhook_url=None``
    set explicitly removes the webhook; ``email_to=""`` sends alert e-mail to the household's own
    address again."""

    cheap_period: bool | None = None
    webhook_url: str | None = None
    email_alerts: bool | None = None
    email_to: str | None = None


class DeviceAlertSettingsUpdate(SQLModel):
    """A change to one device's alert settings: only the fields set change.
    ``offline_minutes=None`` set explicitly goes back to the default."""

    sensitivity: str | None = None
    unusual_use: bool | None = None
    offline_minutes: int | None = None


class AlertMute(SQLModel, table=True):
    """No alert opens for ``key`` until ``muted_until`` (None: until unmuted)."""

    __tablename__ = "alert_mutes"

    user_id: int = user_id_field(primary_key=True)
    key: str = Field(sa_column=Column(String(160), primary_key=True, nullable=False))
    muted_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


__all__ = [
    "Alert",
    "AlertMute",
    "AlertSettings",
    "AlertSettingsUpdate",
    "DeviceAlertSettings",
    "DeviceAlertSettingsUpdate",
]
