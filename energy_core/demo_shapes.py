"""The demo household's devices and their load shapes: a pure function of (device, instant).

Its randomness comes from hashing the device id with a time index rather than from a stateful
generator, so any instant can be evaluated on its own: the seeded history and the live simulator
agree without replaying state, the result is the same in every process (no ``hash()`` of
strings, which Python salts per process), and it is fast enough to generate 300k readings in
well under a second.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from energy_core.models import DeviceCreate

DEMO_TIMEZONE = "Europe/London"
_TZ = ZoneInfo(DEMO_TIMEZONE)
# The demo house stands in London: sunrise, sunset and solar elevation follow from this.
_LATITUDE_DEG = 51.5
_LONGITUDE_DEG = -0.12


@dataclass(frozen=True)
class DemoDevice:
    """One device of the demo household. ``type`` also selects its load shape."""

    device_id: str
    name: str
    type: str
    location: str
    bidirectional: bool = False

    def to_create(self) -> DeviceCreate:
        return DeviceCreate(**asdict(self))


DEMO_DEVICES: tuple[DemoDevice, ...] = (
    DemoDevice("fridge-kitchen", "Kitchen fridge", "fridge", "Kitchen"),
    DemoDevice("router-hall", "Broadband router", "router", "Hallway"),
    DemoDevice("washer-utility", "Washing machine", "washing_machine", "Utility room"),
    DemoDevice("lights-living", "Living room lights", "lighting", "Living room"),
    DemoDevice("ev-charger", "EV charger", "ev_charger", "Driveway"),
    DemoDevice("heat-pump", "Heat pump", "heat_pump", "Garden"),
    DemoDevice("solar-roof", "Solar inverter", "solar", "Roof", bidirectional=True),
)
DEMO_DEVICE_IDS: tuple[str, ...] = tuple(d.device_id for d in DEMO_DEVICES)


# --- deterministic randomness ------------------------------------------------------------------

_MASK64 = (1 << 64) - 1
_TO_UNIT = 1.0 / (1 << 53)


def _mix64(x: int) -> int:
    """The splitmix64 finaliser: consecutive inputs give unrelated, well-spread outputs."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


class _Noise:
    """Uniform numbers in [0, 1) that depend only on (device, stream, index)."""

    __slots__ = ("_streams",)
    _N_STREAMS = 16

    def __init__(self, device_id: str) -> None:
        salt = _mix64(zlib.crc32(device_id.encode()))
        self._streams = [_mix64(salt ^ (n * 0x632BE59BD9B4E019)) for n in range(self._N_STREAMS)]

    def u(self, stream: int, index: int) -> float:
        return (_mix64(self._streams[stream] ^ (index & _MASK64)) >> 11) * _TO_UNIT

    def smooth(self, stream: int, t: float, period_s: float) -> float:
        """Value noise in [0, 1): random knots every ``period_s``, eased between them."""
        k = math.floor(t / period_s)
        f = t / period_s - k
        f = f * f * (3.0 - 2.0 * f)
        a = self.u(stream, k)
        return a + (self.u(stream, k + 1) - a) * f


@lru_cache(maxsize=256)
def noise_for(device_id: str) -> _Noise:
    return _Noise(device_id)


# --- time and sun ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Instant:
    epoch_s: float
    utc_hour: float  # hours since UTC midnight
    local_hour: float  # wall-clock hours since local midnight
    local_day: int  # proleptic ordinal of the local date
    weekday: int  # 0 = Monday
    day_of_year: int
    utc_offset_h: float


@lru_cache(maxsize=4096)
def _utc_offset_s(epoch_hour: int) -> int:
    # Europe/London changes its offset on the hour (01:00 UTC), so one lookup per UTC hour is exact.
    offset = datetime.fromtimestamp(epoch_hour * 3600, _TZ).utcoffset()
    return int(offset.total_seconds()) if offset else 0


@lru_cache(maxsize=4096)
def _day_of_year(ordinal: int) -> int:
    return date.fromordinal(ordinal).timetuple().tm_yday


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def instant_at(epoch_s: float) -> _Instant:
    """The instant ``epoch_s`` (seconds since the Unix epoch) as the load shapes see it.

    Plain arithmetic instead of ``astimezone``: this runs once per generated reading.
    """
    offset_s = _utc_offset_s(math.floor(epoch_s / 3600.0))
    local_s = epoch_s + offset_s
    local_days = math.floor(local_s / 86_400.0)
    ordinal = _EPOCH_ORDINAL + local_days
    return _Instant(
        epoch_s=epoch_s,
        utc_hour=(epoch_s % 86_400.0) / 3600.0,
        local_hour=(local_s - local_days * 86_400.0) / 3600.0,
        local_day=ordinal,
        weekday=(ordinal + 6) % 7,
        day_of_year=_day_of_year(ordinal),
        utc_offset_h=offset_s / 3600.0,
    )


def _instant(at: datetime) -> _Instant:
    if at.tzinfo is None:
        raise ValueError("naive datetime: pass an aware instant (e.g. datetime.now(UTC))")
    return instant_at(at.timestamp())


@dataclass(frozen=True, slots=True)
class _Sun:
    noon_utc_h: float
    sunrise_utc_h: float
    sunset_utc_h: float
    sin_decl: float
    cos_decl: float
    sin_noon_elev: float


_SIN_LAT = math.sin(math.radians(_LATITUDE_DEG))
_COS_LAT = math.cos(math.radians(_LATITUDE_DEG))


@lru_cache(maxsize=400)
def _sun(day_of_year: int) -> _Sun:
    """Textbook approximations (declination, equation of time): minutes off, which is plenty."""
    decl = math.radians(-23.44) * math.cos(2 * math.pi * (day_of_year + 10) / 365)
    b = 2 * math.pi * (day_of_year - 81) / 364
    equation_of_time_min = 9.87 * math.sin(2 * b) - 7.53 * math.cos(b) - 1.5 * math.sin(b)
    noon = 12.0 - _LONGITUDE_DEG / 15.0 - equation_of_time_min / 60.0
    sin_d, cos_d = math.sin(decl), math.cos(decl)
    cos_h0 = (math.sin(math.radians(-0.83)) - _SIN_LAT * sin_d) / (_COS_LAT * cos_d)
    half_day_h = math.degrees(math.acos(max(-1.0, min(1.0, cos_h0)))) / 15.0
    return _Sun(
        noon_utc_h=noon,
        sunrise_utc_h=noon - half_day_h,
        sunset_utc_h=noon + half_day_h,
        sin_decl=sin_d,
        cos_decl=cos_d,
        sin_noon_elev=_SIN_LAT * sin_d + _COS_LAT * cos_d,
    )


def _sin_elevation(at: _Instant, sun: _Sun) -> float:
    hour_angle = math.radians(15.0 * (at.utc_hour - sun.noon_utc_h))
    return _SIN_LAT * sun.sin_decl + _COS_LAT * sun.cos_decl * math.cos(hour_angle)


_SIN_NOON_WINTER = _sun(355).sin_noon_elev
_SIN_NOON_SUMMER = _sun(172).sin_noon_elev


# --- load shapes -------------------------------------------------------------------------------
# Each shape maps (noise of the device, instant) to watts. Stream numbers keep the random choices
# of one shape independent of each other.

FRIDGE_SLOT_S = 3000.0  # one compressor cycle: ~15-20 min on, ~30-35 min off


def _fridge(n: _Noise, at: _Instant) -> float:
    phase_s = n.u(0, 0) * FRIDGE_SLOT_S
    k = math.floor((at.epoch_s - phase_s) / FRIDGE_SLOT_S)
    s = at.epoch_s - phase_s - k * FRIDGE_SLOT_S
    start_s = n.u(1, k) * 300.0
    on_s = 900.0 + n.u(2, k) * 300.0
    if n.u(3, k) < 1 / 30:  # about once a day: the defrost heater runs before the compressor
        if start_s <= s < start_s + 720.0:
            return round(275.0 + 30.0 * n.u(4, k) + 4.0 * (n.u(5, int(at.epoch_s)) - 0.5), 1)
        start_s += 720.0
    if start_s <= s < start_s + on_s:
        base_w = 88.0 + 6.0 * n.u(6, k)
        # Start-up draw is higher and settles as the pressures equalise: ~120 W falling to ~90 W.
        power_w = base_w + 26.0 * math.exp(-(s - start_s) / 300.0)
        return round(power_w + 3.0 * (n.u(5, int(at.epoch_s)) - 0.5), 1)
    return round(0.8 + 0.4 * n.u(5, int(at.epoch_s)), 1)


def _router(n: _Noise, at: _Instant) -> float:
    # Busier (and warmer) in the evening, when everyone is streaming.
    evening = math.exp(-(((at.local_hour - 20.5) / 3.0) ** 2))
    power_w = (
        9.2 + 1.3 * evening + 0.8 * n.smooth(0, at.epoch_s, 900.0) + 0.6 * n.u(1, int(at.epoch_s))
    )
    return round(min(12.0, max(8.0, power_w)), 1)


def _washing_machine(n: _Noise, at: _Instant) -> float:
    day = at.local_day
    standby_w = round(0.8 + 0.4 * n.u(7, int(at.epoch_s)), 1)
    if n.u(0, day) >= 0.45:  # about three washes a week
        return standby_w
    start_h = 8.0 + 11.0 * n.u(1, day)
    heat_h = (15.0 + 5.0 * n.u(2, day)) / 60.0
    wash_h = (35.0 + 10.0 * n.u(3, day)) / 60.0
    rinse_h = 15.0 / 60.0
    spin_h = (8.0 + 4.0 * n.u(4, day)) / 60.0
    h = at.local_hour - start_h
    if h < 0 or h >= heat_h + wash_h + rinse_h + spin_h:
        return standby_w
    tumble = n.smooth(5, at.epoch_s, 40.0)  # the drum turns one way, pauses, turns the other
    if h < heat_h:
        return round(2000.0 + 200.0 * n.u(6, day) + 60.0 * tumble, 1)
    h -= heat_h
    if h < wash_h:
        return round(200.0 + 200.0 * tumble, 1)
    h -= wash_h
    if h < rinse_h:
        return round(120.0 + 150.0 * tumble, 1)
    h -= rinse_h
    ramp = min(1.0, h / (2.0 / 60.0))
    return round(250.0 + 250.0 * ramp + 40.0 * tumble, 1)


def _lighting(n: _Noise, at: _Instant) -> float:
    sun = _sun(at.day_of_year)
    sunrise_h = sun.sunrise_utc_h + at.utc_offset_h
    dusk_h = sun.sunset_utc_h + at.utc_offset_h - 0.5 + 0.3 * n.u(0, at.local_day)
    bedtime_h = 22.6 + 0.9 * n.u(1, at.local_day)
    h = at.local_hour
    if dusk_h <= h < bedtime_h:
        # Lamps are switched on and off as people come and go: a level per 45-minute block.
        block = math.floor(at.epoch_s / 2700.0)
        level_w = (60.0, 95.0, 120.0, 150.0, 180.0)[int(n.u(2, block) * 5)]
        return round(level_w + 2.0 * n.u(3, int(at.epoch_s)), 1)
    weekend = at.weekday >= 5
    wake_h = (8.0 if weekend else 6.5) + 0.5 * n.u(4, at.local_day)
    # The morning bump only happens while it is still dark outside (autumn to spring).
    if wake_h <= h < min(wake_h + 1.25, sunrise_h + 0.5):
        return round(60.0 + 30.0 * n.u(5, at.local_day) + 2.0 * n.u(3, int(at.epoch_s)), 1)
    return 0.0


EV_POWER_W = 7200.0


def _ev_session(n: _Noise, day: int) -> tuple[float, float] | None:
    """(plug-in hour, duration in hours) of the evening session of local ``day``, if any."""
    if n.u(0, day) >= 0.45:  # several evenings a week
        return None
    return 18.0 + 3.5 * n.u(1, day), 2.0 + 2.0 * n.u(2, day)


def _ev_charger(n: _Noise, at: _Instant) -> float:
    # A session that starts in the evening may run past midnight: look at yesterday's too.
    for day, h in ((at.local_day, at.local_hour), (at.local_day - 1, at.local_hour + 24.0)):
        session = _ev_session(n, day)
        if session is None:
            continue
        start_h, duration_h = session
        into_h = h - start_h
        if 0.0 <= into_h < duration_h:
            # The battery tapers the current over the last ten minutes of a full charge.
            left_h = duration_h - into_h
            taper = 1.0 if left_h >= 1 / 6 else 0.35 + 0.65 * left_h * 6.0
            return round(EV_POWER_W * taper + 60.0 * (n.u(3, int(at.epoch_s)) - 0.5), 1)
    return 0.0


def _outdoor_temperature_c(n: _Noise, at: _Instant) -> float:
    seasonal = 10.5 - 6.5 * math.cos(2 * math.pi * (at.day_of_year - 20) / 365)
    daily = 3.5 * math.cos(2 * math.pi * (at.utc_hour - 15.0) / 24.0)
    weather = 8.0 * (n.smooth(0, at.epoch_s, 2 * 86_400.0) - 0.5)
    return seasonal + daily + weather


def _heat_pump(n: _Noise, at: _Instant) -> float:
    h = at.local_hour
    if 5.0 <= h < 5.75:  # the hot-water cylinder is reheated every morning
        return round(1900.0 + 250.0 * n.u(1, at.local_day) + 30.0 * n.u(2, int(at.epoch_s)), 1)
    demand_k = max(0.0, 15.5 - _outdoor_temperature_c(n, at))
    if h >= 23.0 or h < 6.0:
        demand_k *= 0.6  # night setback
    elif h < 8.0:
        demand_k *= 1.25  # morning reheat after the setback
    modulation = 0.92 + 0.16 * n.smooth(3, at.epoch_s, 600.0)
    power_w = 300.0 + 90.0 * demand_k * modulation + 10.0 * (n.u(2, int(at.epoch_s)) - 0.5)
    return round(min(2500.0, max(300.0, power_w)), 1)


SOLAR_PEAK_W = 3500.0
_INVERTER_MIN_W = 15.0  # below this the inverter does not feed in at all


def _solar(n: _Noise, at: _Instant) -> float:
    sun = _sun(at.day_of_year)
    sin_elev = _sin_elevation(at, sun)
    if sin_elev <= 0.0:
        return 0.0
    # A tilted south roof loses less in winter than a flat one would: keep 45-100 % of the peak.
    summer_share = (sun.sin_noon_elev - _SIN_NOON_WINTER) / (_SIN_NOON_SUMMER - _SIN_NOON_WINTER)
    season = 0.45 + 0.55 * summer_share
    clear_sky = (sin_elev / sun.sin_noon_elev) ** 1.3
    cloudiness = n.u(0, at.local_day) ** 1.2  # 0 = clear day, 1 = overcast
    passing = n.smooth(1, at.epoch_s, 420.0)
    cloud = 1.0 - cloudiness * (0.35 + 0.55 * passing)
    power_w = SOLAR_PEAK_W * season * clear_sky * cloud * (0.985 + 0.03 * n.u(2, int(at.epoch_s)))
    if power_w < _INVERTER_MIN_W:
        return 0.0
    return -round(power_w, 1)


LOAD_SHAPES: dict[str, Callable[[_Noise, _Instant], float]] = {
    "fridge": _fridge,
    "router": _router,
    "washing_machine": _washing_machine,
    "lighting": _lighting,
    "ev_charger": _ev_charger,
    "heat_pump": _heat_pump,
    "solar": _solar,
}


def demo_device(device: DemoDevice | str) -> DemoDevice:
    """The demo device for a device id (or the device itself), checked to have a load shape."""
    if isinstance(device, str):
        for candidate in DEMO_DEVICES:
            if candidate.device_id == device:
                return candidate
        raise ValueError(
            f"{device!r} is not a demo device; choose from {', '.join(DEMO_DEVICE_IDS)}."
        )
    if device.type not in LOAD_SHAPES:
        raise ValueError(
            f"Device {device.device_id!r} has type {device.type!r}, which has no load shape; "
            f"use one of {', '.join(LOAD_SHAPES)}."
        )
    return device


def shape_power_w(device: DemoDevice, at: _Instant) -> float:
    return LOAD_SHAPES[device.type](noise_for(device.device_id), at)


def device_power_w(device: DemoDevice | str, *, at: datetime) -> float:
    """Power of ``device`` at instant ``at`` in watts (negative = generation), to 0.1 W."""
    return shape_power_w(demo_device(device), _instant(at))


def household_power_w(
    *, at: datetime, devices: Sequence[DemoDevice | str] = DEMO_DEVICES
) -> dict[str, float]:
    """Power of every device at one instant, by device id."""
    instant = _instant(at)
    return {d.device_id: shape_power_w(d, instant) for d in map(demo_device, devices)}
