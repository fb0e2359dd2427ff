"""Values that hubs send by name (Emoncms inputs, InfluxDB series) onto the one ingest function.

Each name is an *input* of the household (``node:input`` for Emoncms, e.g. ``emontx1:power1`` or
``10:1``). An input is watts or not: only watts become readings, of the device whose id is the
input's name, registered on first sight when the key allows it. Voltages, temperatures and meter
totals are kept as inputs with their latest value (what Emoncms clients ask back) and stay out of
every energy figure. The first time an input is seen, the protocol says whether it is watts when
it can (a Home Assistant ``W`` series), and its name decides otherwise (``input_is_watts``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from energy_core.household_scope import for_household
from energy_core.ingest import (
    IngestRejected,
    Problem,
    ReadingColumns,
    device_id_problem,
    record_reading_columns,
)
from energy_core.models import Input
from energy_core.settings import Settings
from energy_core.sql.ingest import find_devices
from energy_core.sql.inputs import add_inputs, move_latest

BAD_INPUT_NAME = "an input's node:name must be 1 to 128 printable characters"

# Names of quantities that are not power: voltage, current, temperature, humidity, meter totals
# (energy, pulses), signal and battery levels, frequency, power factor.
_NOT_WATTS = re.compile(
    r"vrms|volt|irms|current|amp|temp|humid|energy|kwh|wh\b|pulse|count|total|rssi|batt|"
    r"freq|hz\b|factor|\bpf\b|lux|co2|pressure|^[viut]\d*$",
    re.IGNORECASE,
)


def input_is_watts(input_id: str) -> bool:
    """Whether an input first seen under this name holds watts: unless its last part names
    another quantity (``vrms``, ``temp1``, ``sensor.house_energy``), it is power."""
    name = re.split(r"[:.]", input_id)[-1]
    return _NOT_WATTS.search(name) is None


@dataclass(frozen=True)
class InputValue:
    """One value of one input at one instant (epoch microseconds, UTC). ``is_watts`` is what the
    protocol says about a new input (None: its name decides)."""

    input_id: str
    ts_us: int
    value: float
    is_watts: bool | None = None


@dataclass
class InputsResult:
    accepted: int = 0
    duplicates: int = 0
    # Values kept only as their input's latest value: not watts, or no (active) device for them.
    not_readings: int = 0


def check_values(values: Sequence[InputValue]) -> None:
    """Raise IngestRejected naming each value with an unusable name or a non-finite number."""
    problems = []
    for i, v in enumerate(values):
        if device_id_problem(v.input_id):
            problems.append(Problem(i, "input", f"{v.input_id[:64]!r}: {BAD_INPUT_NAME}"))
        elif not math.isfinite(v.value):
            problems.append(Problem(i, v.input_id, "must be a finite number"))
    if problems:
        raise IngestRejected(
            f"{len(problems)} problem(s) in the inputs; nothing was stored.", problems[:100]
        )


@for_household
def record_inputs(
    session: Session,
    *,
    user_id: int,
    values: Sequence[InputValue],
    register: bool,
    settings: Settings | None = None,
    now: datetime | None = None,
    enforce_window: bool = True,
) -> InputsResult:
    """Store ``values`` in the caller's transaction: readings of the watts inputs through
    ``record_reading_columns`` (all or nothing, same rules), the latest value of every input.

    ``register`` creates a (bidirectional: a hub's sign is the meter's) device for each watts
    input that has none; without it such values are kept only as their input's latest value, as
    are values of deactivated devices: a hub sends everything it measures, and refusing the whole
    request would make it resend forever. ``enforce_window=False`` is for imports of history."""
    check_values(values)
    names = list(dict.fromkeys(v.input_id for v in values))
    kinds = _input_kinds(session, user_id=user_id, values=values, names=names)
    watts = [v for v in values if kinds[v.input_id]]
    devices = {
        row[1]: row[2]  # device id -> is active
        for row in find_devices(
            session.connection(), user_id=user_id, device_ids=sorted({v.input_id for v in watts})
        )
    }
    # A device of the input's name: store if it is active; none: store if it may be registered.
    stored = [v for v in watts if devices.get(v.input_id, register)]
    result = InputsResult(not_readings=len(values) - len(stored))
    if stored:
        done = record_reading_columns(
            session,
            user_id=user_id,
            columns=ReadingColumns(
                [v.input_id for v in stored], [v.ts_us for v in stored], [v.value for v in stored]
            ),
            settings=settings,
            now=now,
            register=register,
            register_bidirectional=True,
            enforce_window=enforce_window,
        )
        result.accepted, result.duplicates = done.accepted, done.duplicates
    latest: dict[str, tuple[int, float]] = {}
    for v in values:
        if v.input_id not in latest or v.ts_us >= latest[v.input_id][0]:
            latest[v.input_id] = (v.ts_us, v.value)
    move_latest(session.connection(), user_id=user_id, latest=latest)
    return result


def _input_kinds(
    session: Session, *, user_id: int, values: Sequence[InputValue], names: list[str]
) -> dict[str, bool]:
    """Whether each input of ``names`` is watts, adding the ones seen for the first time."""
    known = _kinds(session, user_id=user_id, names=names)
    new: dict[str, bool] = {}
    for v in values:
        if v.input_id not in known and v.input_id not in new:
            new[v.input_id] = v.is_watts if v.is_watts is not None else input_is_watts(v.input_id)
    if new:
        add_inputs(session.connection(), user_id=user_id, kinds=new)
        known = _kinds(session, user_id=user_id, names=names)
    return known


def _kinds(session: Session, *, user_id: int, names: list[str]) -> dict[str, bool]:
    kinds: dict[str, bool] = {}
    for i in range(0, len(names), 500):
        rows = session.exec(
            select(Input.input_id, Input.is_watts).where(
                Input.user_id == user_id, col(Input.input_id).in_(names[i : i + 500])
            )
        )
        kinds.update((name, bool(watts)) for name, watts in rows)
    return kinds


@dataclass(frozen=True)
class InputInfo:
    input_id: str
    is_watts: bool
    last_value: float | None
    last_at: datetime | None


@for_household
def list_inputs(session: Session, *, user_id: int, prefix: str = "") -> list[InputInfo]:
    """The user's inputs whose names start with ``prefix``, by name."""
    query = select(Input).where(Input.user_id == user_id)
    if prefix:
        query = query.where(col(Input.input_id).startswith(prefix, autoescape=True))
    return [
        InputInfo(i.input_id, i.is_watts, i.last_value, i.last_at)
        for i in session.exec(query.order_by(Input.input_id))
    ]


@for_household
def set_input_kind(session: Session, *, user_id: int, input_id: str, is_watts: bool) -> None:
    """Say whether an input is watts from now on (values already stored stay as they are)."""
    row = session.get(Input, (user_id, input_id))
    if row is None:
        row = Input(user_id=user_id, input_id=input_id, is_watts=is_watts)
    row.is_watts = is_watts
    session.add(row)
    session.flush()


__all__ = [
    "InputInfo",
    "InputValue",
    "InputsResult",
    "check_values",
    "input_is_watts",
    "list_inputs",
    "record_inputs",
    "set_input_kind",
]
