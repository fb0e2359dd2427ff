"""Tables and the public shapes of each entity (DESIGN.md section 3).

Naming: ``Device.device_id`` is the string a device sends; columns that point at a device row are
called ``device_pk``. Every data table carries ``user_id``: it scopes every query to one household
and is the distribution key should readings and aggregates ever be sharded by user.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlmodel import Field, SQLModel

from energy_core.columns import device_pk_field, user_id_field, utc_column
from energy_core.types import UTCDateTime, utcnow


class Role(StrEnum):
    admin = "admin"
    member = "member"


class KeyScope(StrEnum):
    ingest = "ingest"
    read = "read"


# --- users -------------------------------------------------------------------------------------


class UserBase(SQLModel):
    email: str = Field(max_length=254)
    full_name: str = Field(default="", max_length=200)
    role: Role = Field(default=Role.member, sa_column=Column(String(16), nullable=False))
    is_active: bool = True
    timezone: str = Field(default="UTC", max_length=64)
    price_per_kwh: float = Field(default=0.30, ge=0)
    currency: str = Field(default="EUR", max_length=8)


class User(UserBase, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    # Stored lower-cased, so the unique index makes email unique case-insensitively.
    email: str = Field(max_length=254, sa_column=Column(String(254), nullable=False, unique=True))
    password_hash: str = Field(max_length=100)
    auto_register_devices: bool = False
    # What the household means to spend per billing period (migration 0051); None: no budget.
    monthly_budget: float | None = Field(
        default=None, sa_column=Column(Float(precision=53), nullable=True)
    )
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # Login cookies issued before this instant are rejected (password change, sign out everywhere).
    sessions_valid_after: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class UserPublic(UserBase):
    id: int
    created_at: datetime


# --- devices -----------------------------------------------------------------------------------


class DeviceBase(SQLModel):
    device_id: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=200)
    type: str = Field(default="other", max_length=64)
    location: str = Field(default="", max_length=128)
    is_active: bool = True
    bidirectional: bool = False
    max_gap_s: int | None = Field(default=None, ge=1, le=86_400)


class Device(DeviceBase, table=True):
    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("user_id", "device_id", name="uq_devices_user_device_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = user_id_field()
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    last_seen_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # The instant of the device's first reading, kept by the rollup (migration
    # 0010_consumed_generated): a device takes part in figures from then on.
    first_reading_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class DeviceCreate(DeviceBase):
    pass


class DeviceUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    type: str | None = Field(default=None, max_length=64)
    location: str | None = Field(default=None, max_length=128)
    is_active: bool | None = None
    bidirectional: bool | None = None
    max_gap_s: int | None = Field(default=None, ge=1, le=86_400)


class DevicePublic(DeviceBase):
    created_at: datetime
    last_seen_at: datetime | None


# --- API keys ----------------------------------------------------------------------------------


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"
    # Emoncms keys (32 hex characters) carry no lookup prefix: they are found by their hash.
    __table_args__ = (Index("ix_api_keys_key_hash", "key_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = user_id_field()
    # Null: the key covers all of the user's devices.
    device_pk: int | None = device_pk_field(nullable=True)
    scope: KeyScope = Field(sa_column=Column(String(16), nullable=False))
    name: str = Field(default="", max_length=200)
    # The visible start of the key (also the lookup index); the rest is stored only as a hash.
    prefix: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    key_hash: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    last_used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # Whether unknown power inputs sent with this key (Emoncms, InfluxDB) become devices.
    register_inputs: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=true())
    )


class Input(SQLModel, table=True):
    """A value a hub sends under a name (Emoncms ``node:input``, an InfluxDB series): whether it is
    watts (only those become readings of the device ``input_id``) and its latest value."""

    __tablename__ = "inputs"

    user_id: int = user_id_field(primary_key=True)
    input_id: str = Field(sa_column=Column(String(128), primary_key=True))
    is_watts: bool = Field(sa_column=Column(Boolean, nullable=False))
    last_value: float | None = Field(default=None, sa_column=Column(Float(precision=53)))
    last_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


# --- readings and aggregates -------------------------------------------------------------------


class Reading(SQLModel, table=True):
    """One power reading. The biggest table by far: no surrogate key, nothing but what it means.

    On PostgreSQL the row is (int4, int4, timestamptz, float8): ``user_id`` costs nothing, it sits
    in the alignment padding that ``device_pk`` alone would leave before the timestamp.

    No foreign key to ``devices`` (nor from the aggregates and dirty marks): ingest checks each
    batch's devices once, where a foreign key looked the device up again for every row and halved
    the rate at which rows can be written. Deleting a device or a user deletes its rows in the
    same transaction (``accounts``); ``integrity.find_orphans`` finds any left behind.
    """

    __tablename__ = "readings"
    __table_args__ = {"sqlite_with_rowid": False}

    user_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    device_pk: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    ts: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    power_w: float = Field(sa_column=Column(Float(precision=53), nullable=False))


class HourlyAggregate(SQLModel, table=True):
    """Statistics of one device over one UTC hour ``[hour_start, hour_start + 1 h)``."""

    __tablename__ = "hourly_aggregates"
    __table_args__ = (
        # Household-wide reads over a time range (migration 0003_aggregates); on SQLite with
        # the columns of the household's net per hour, summed from the index alone (0107).
        Index("ix_hourly_aggregates_user_hour", "user_id", "hour_start").ddl_if(
            dialect="postgresql"
        ),
        Index(
            "ix_hourly_aggregates_user_hour_flows",
            "user_id",
            "hour_start",
            "device_pk",
            "consumed_wh",
            "generated_wh",
            "covered_s",
        ).ddl_if(dialect="sqlite"),
        {"sqlite_with_rowid": False},
    )

    user_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    device_pk: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    hour_start: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    energy_wh: float = Field(sa_column=Column(Float(precision=53), nullable=False))
    # The energy of readings of 0 W or more, and of negative readings as a positive number
    # (migration 0010_consumed_generated): consumption and generation exact per reading.
    consumed_wh: float = Field(
        sa_column=Column(Float(precision=53), nullable=False, server_default="0")
    )
    generated_wh: float = Field(
        sa_column=Column(Float(precision=53), nullable=False, server_default="0")
    )
    covered_s: float = Field(sa_column=Column(Float(precision=53), nullable=False))
    avg_watts: float | None = Field(default=None, sa_column=Column(Float(precision=53)))
    min_watts: float | None = Field(default=None, sa_column=Column(Float(precision=53)))
    max_watts: float | None = Field(default=None, sa_column=Column(Float(precision=53)))
    sample_count: int = Field(sa_column=Column(Integer, nullable=False))
    computed_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    @property
    def coverage(self) -> float:
        return self.covered_s / 3600.0


class DailyAggregate(SQLModel, table=True):
    """Sums of one device's stored hours over one local day of its household: the hours whose
    start falls in ``[day_start, day_end)``, two local midnights as UTC instants in the zone
    ``DailyZone`` names (23, 24 or 25 hours apart across a clock change). Kept by the rollup in
    the transaction that writes the hours, so that reads of whole days sum a row per device and
    day instead of every hour (docs/scale.md, "A month by day of 500 devices")."""

    __tablename__ = "daily_aggregates"
    __table_args__ = (
        # A read of some days of every device (migration 0108_daily_aggregates).
        Index("ix_daily_aggregates_user_day", "user_id", "day_start"),
        {"sqlite_with_rowid": False},
    )

    user_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    device_pk: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    day_start: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    day_end: datetime = Field(sa_column=utc_column())
    consumed_wh: float = Field(sa_column=Column(Float(precision=53), nullable=False))
    generated_wh: float = Field(sa_column=Column(Float(precision=53), nullable=False))
    covered_s: float = Field(sa_column=Column(Float(precision=53), nullable=False))
    # The sum over the hours of min(consumed_wh, generated_wh): what the device's own hourly net
    # cancels (its own import is consumed - cancelled, its export generated - cancelled).
    cancelled_wh: float = Field(sa_column=Column(Float(precision=53), nullable=False))
    min_watts: float | None = Field(default=None, sa_column=Column(Float(precision=53)))
    max_watts: float | None = Field(default=None, sa_column=Column(Float(precision=53)))
    sample_count: int = Field(sa_column=Column(BigInteger, nullable=False))


class DailyZone(SQLModel, table=True):
    """The timezone a household's daily aggregates are kept in. When the household's own
    timezone differs (it was changed), its daily rows are not used until the rollup has built
    them again in the new one."""

    __tablename__ = "daily_zones"

    user_id: int = user_id_field(primary_key=True)
    timezone: str = Field(sa_column=Column(String(64), nullable=False))


class DirtyHour(SQLModel, table=True):
    """An hour whose aggregate must be recomputed. ``version`` grows with every new mark, so the job
    deletes only the marks it has seen and a reading that lands during a run stays dirty."""

    __tablename__ = "dirty_hours"
    __table_args__ = (
        Index("ix_dirty_hours_hour_start", "hour_start"),
        {"sqlite_with_rowid": False},
    )

    user_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    device_pk: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    hour_start: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))


class JobRun(SQLModel, table=True):
    """The last run of each background job, for status pages and the lag figure."""

    __tablename__ = "job_runs"

    job: str = Field(sa_column=Column(String(64), primary_key=True))
    started_at: datetime = Field(sa_column=utc_column())
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    hours_computed: int = 0
    duration_s: float = 0.0
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class BridgeStatus(SQLModel, table=True):
    """What the MQTT bridge last said about itself: counts since it started, its lag."""

    __tablename__ = "bridge_status"

    bridge: str = Field(sa_column=Column(String(64), primary_key=True))
    started_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())
    connected: bool = Field(sa_column=Column(Boolean, nullable=False))
    received: int = Field(sa_column=Column(BigInteger, nullable=False))
    stored: int = Field(sa_column=Column(BigInteger, nullable=False))
    ignored: int = Field(sa_column=Column(BigInteger, nullable=False))
    rejected: int = Field(sa_column=Column(BigInteger, nullable=False))
    reconnects: int = 0
    backlog: int = 0
    last_lag_s: float | None = Field(default=None, sa_column=Column(Float(precision=53)))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


# --- chat --------------------------------------------------------------------------------------


class ChatMessage(SQLModel, table=True):
    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_user_conv", "user_id", "conversation_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = user_id_field()
    conversation_id: str = Field(max_length=64)
    role: str = Field(max_length=16)
    content: str = Field(sa_column=Column(Text, nullable=False))
    # JSON text: the tool calls made for this answer and the data they returned.
    tool_calls: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    engine: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


# --- tariffs -----------------------------------------------------------------------------------


class TariffPlanRow(SQLModel, table=True):
    """One effective-dated tariff of a household (docs/tariffs.md): valid from the local midnight
    of ``valid_from`` until the next row's; ``spec`` is the validated JSON document."""

    __tablename__ = "tariff_plans"
    __table_args__ = (UniqueConstraint("user_id", "valid_from", name="uq_tariff_plans_user_from"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = user_id_field()
    valid_from: date = Field(sa_column=Column(Date, nullable=False))
    spec: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class TariffAlternative(SQLModel, table=True):
    """A named tariff a household may switch to, kept to compare with its own ("what if");
    ``spec`` is the validated JSON document (its ``valid_from`` is ignored when compared)."""

    __tablename__ = "tariff_alternatives"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_tariff_alternatives_user_name"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = user_id_field()
    name: str = Field(sa_column=Column(String(80), nullable=False))
    spec: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class TariffPrice(SQLModel, table=True):
    """One imported price of a dynamic tariff: ``[starts_at, ends_at)`` at ``price`` per kWh."""

    __tablename__ = "tariff_prices"

    user_id: int = user_id_field(primary_key=True)
    direction: str = Field(sa_column=Column(String(8), primary_key=True, nullable=False))
    starts_at: datetime = Field(sa_column=utc_column(primary_key=True))
    ends_at: datetime = Field(sa_column=utc_column())
    price: float = Field(sa_column=Column(Float(precision=53), nullable=False))


__all__ = [
    "ApiKey",
    "ChatMessage",
    "Device",
    "DeviceCreate",
    "DevicePublic",
    "DeviceUpdate",
    "DirtyHour",
    "HourlyAggregate",
    "JobRun",
    "KeyScope",
    "Reading",
    "Role",
    "TariffPlanRow",
    "TariffAlternative",
    "TariffPrice",
    "User",
    "UserPublic",
]
