"""Bringing a household's history in: CSV files (a column per device, or one column for one
device), Emoncms feed exports (``time,value`` lines without a header) and line-protocol files.

``read_history`` reads a whole file into readings, or refuses it naming the rows it cannot read;
``store_history`` stores them in the caller's transaction through the one ingest function (same
rules, without the lateness window: history is old by nature), so an import is stored whole or
not at all and importing the same file again stores nothing twice. The hours it touches are
marked dirty like any others; the caller rolls them up.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session

from energy_core.household_scope import for_household
from energy_core.ingest import (
    MAX_EPOCH_S,
    MIN_EPOCH_S,
    US_PER_S,
    IngestRejected,
    Problem,
    ReadingColumns,
    record_reading_columns,
)
from energy_core.inputs import InputValue, record_inputs
from energy_core.protocols.line_protocol import (
    PRECISION_NS,
    PointMapping,
    parse_lines,
    power_values,
)
from energy_core.settings import Settings, get_settings
from energy_core.types import from_epoch_us

# Watts per unit of a power column; energy units are meter totals, turned into power.
POWER_UNITS = {"W": 1.0, "kW": 1_000.0}
ENERGY_UNITS = {"Wh": 1.0, "kWh": 1_000.0}
CHUNK = 50_000
_MISSING = {"", "null", "none", "nan", "n/a", "-"}


class ImportRejected(IngestRejected):
    """The file cannot be imported as asked; nothing was stored."""


@dataclass(frozen=True)
class CsvOptions:
    """How to read a CSV file. Without ``device``, every value column is a device named by its
    header; with it, the one value column (the second, or ``value_column``) is that device."""

    time_column: str | None = None  # header name; None: the first column
    value_column: str | None = None
    device: str | None = None
    timezone: str = "UTC"  # for times without an offset
    unit: str = "W"  # W, kW, or meter totals in Wh, kWh


@dataclass
class HistoryPlan:
    """What a file holds, before anything is stored."""

    format: str
    rows: int
    columns: ReadingColumns | None = None  # CSV
    values: list[InputValue] = field(default_factory=list)  # line protocol

    @property
    def count(self) -> int:
        return len(self.columns) if self.columns is not None else len(self.values)

    def readings(self) -> Iterable[tuple[str, int, float]]:
        if self.columns is not None:
            return zip(
                self.columns.device_ids, self.columns.ts_us, self.columns.power_w, strict=True
            )
        return ((v.input_id, v.ts_us, v.value) for v in self.values)

    def devices(self) -> list[str]:
        return sorted({d for d, _, _ in self.readings()})

    def span(self) -> tuple[datetime, datetime] | None:
        stamps = [t for _, t, _ in self.readings()]
        return (from_epoch_us(min(stamps)), from_epoch_us(max(stamps))) if stamps else None

    def preview(self, n: int = 10) -> list[tuple[str, datetime, float]]:
        out = []
        for device, ts, power in self.readings():
            out.append((device, from_epoch_us(ts), power))
            if len(out) == n:
                break
        return out


@dataclass
class HistoryResult:
    accepted: int = 0
    duplicates: int = 0
    duration_s: float = 0.0


def detect_format(name: str, text: str) -> str:
    """``lp`` for line-protocol files (by extension, or a first line that reads as one), else
    ``csv``."""
    if name.lower().endswith((".lp", ".line", ".influx")):
        return "lp"
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")), "")
    if " " in first and "=" in first and "," not in first.split(" ", 1)[1].split("=", 1)[0]:
        try:
            parse_lines(first)
            return "lp"
        except IngestRejected:
            return "csv"
    return "csv"


def read_history(
    text: str,
    *,
    format: str,
    options: CsvOptions | None = None,
    precision: str = "ns",
    mapping: PointMapping | None = None,
) -> HistoryPlan:
    if format == "lp":
        if precision not in PRECISION_NS:
            raise ImportRejected(f"Unknown precision {precision!r}.")
        points = parse_lines(text)
        values = power_values(
            points,
            now_ns=time.time_ns(),
            precision_ns=PRECISION_NS[precision],
            mapping=mapping or PointMapping(),
        )
        return HistoryPlan("lp", len(points), values=values)
    return _read_csv(text, options or CsvOptions())


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ImportRejected(f"Unknown timezone {name!r}; use an IANA name.") from exc


def _time_us(raw: str, zone: ZoneInfo) -> int | str:
    text = raw.strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        if number > MAX_EPOCH_S * 10:  # milliseconds since the epoch
            number /= 1_000
        if not MIN_EPOCH_S <= number <= MAX_EPOCH_S:
            return "epoch seconds must be between 2000 and 2100"
        return round(number * US_PER_S)
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        return "is no ISO 8601 time or epoch seconds"
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=zone)
    return round((ts.timestamp()) * US_PER_S)


def _read_csv(text: str, options: CsvOptions) -> HistoryPlan:
    if options.unit not in POWER_UNITS and options.unit not in ENERGY_UNITS:
        raise ImportRejected(f"Unknown unit {options.unit!r}: use W, kW, Wh or kWh.")
    zone = _zone(options.timezone)
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = csv.reader(io.StringIO(text), dialect)
    first = next(rows, None)
    if first is None:
        raise ImportRejected("The file is empty.")
    # A first row whose first cell is a time is data (Emoncms exports have no header).
    headerless = not isinstance(_time_us(first[0], zone), str)
    header = [f"column {i + 1}" for i in range(len(first))] if headerless else first
    data_rows: Iterable[list[str]] = [first, *rows] if headerless else rows
    time_at = _column(header, options.time_column, default=0, what="time")
    if options.device is not None:
        value_at = [_column(header, options.value_column, default=1, what="value")]
        names = [options.device]
    else:
        if headerless:
            raise ImportRejected(
                "The file has no header naming its devices: give the device (--device ID)."
            )
        value_at = [i for i in range(len(header)) if i != time_at]
        if options.value_column is not None:
            value_at = [_column(header, options.value_column, default=1, what="value")]
        names = [header[i].strip() for i in value_at]
        if not value_at or not all(names):
            raise ImportRejected("Every value column needs a header: it names the device.")
    scale = POWER_UNITS.get(options.unit) or ENERGY_UNITS[options.unit]
    series: list[list[tuple[int, float]]] = [[] for _ in value_at]
    problems: list[Problem] = []
    count = 0
    offset = 1 if headerless else 2  # file line of the first data row
    for n, row in enumerate(data_rows):
        count += 1
        if not row or not any(c.strip() for c in row):
            continue
        line = n + offset
        if len(row) <= max(time_at, *value_at):
            problems.append(Problem(line, "row", f"has {len(row)} columns"))
            continue
        ts = _time_us(row[time_at], zone)
        if isinstance(ts, str):
            problems.append(Problem(line, header[time_at], f"{row[time_at][:40]!r} {ts}"))
            continue
        for k, at in enumerate(value_at):
            cell = row[at].strip()
            if cell.lower() in _MISSING:
                continue
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                problems.append(Problem(line, header[at], f"{cell[:40]!r} is no number"))
                continue
            series[k].append((ts, value * scale))
        if len(problems) > 100:
            break
    if problems:
        raise ImportRejected(
            f"{len(problems)} row(s) cannot be read (line numbers of the file); nothing was "
            "stored.",
            problems[:100],
        )
    device_ids: list[str | None] = []
    stamps: list[int] = []
    powers: list[float] = []
    for name, points in zip(names, series, strict=True):
        if options.unit in ENERGY_UNITS:
            points = _power_from_totals(points)
        device_ids += [name] * len(points)
        stamps += [t for t, _ in points]
        powers += [p for _, p in points]
    if not stamps:
        raise ImportRejected("The file holds no readings.")
    return HistoryPlan("csv", count, columns=ReadingColumns(device_ids, stamps, powers))


def _power_from_totals(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Average watts between successive meter totals (Wh), held from the first of each pair; a
    total that goes down (a meter reset or replaced) starts again without a reading."""
    points = sorted(points)
    out = []
    for (t0, e0), (t1, e1) in zip(points, points[1:], strict=False):
        if t1 > t0 and e1 >= e0:
            out.append((t0, (e1 - e0) * 3_600 * US_PER_S / (t1 - t0)))
    return out


def _column(header: Sequence[str], name: str | None, *, default: int, what: str) -> int:
    if name is None:
        if default >= len(header):
            raise ImportRejected(f"The file has no {what} column.")
        return default
    stripped = [h.strip() for h in header]
    if name in stripped:
        return stripped.index(name)
    raise ImportRejected(
        f"No column {name!r} for the {what}; the columns are {', '.join(stripped)[:200]}."
    )


@for_household
def store_history(
    session: Session,
    *,
    user_id: int,
    plan: HistoryPlan,
    settings: Settings | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> HistoryResult:
    """Store ``plan`` for one user in the caller's transaction (commit it whole, or nothing),
    registering devices it names that do not exist yet; the lateness window does not apply."""
    settings = settings or get_settings()
    started = time.perf_counter()
    result = HistoryResult()
    total = plan.count
    for start in range(0, total, CHUNK):
        end = min(start + CHUNK, total)
        if plan.columns is not None:
            cols = plan.columns
            done = record_reading_columns(
                session,
                user_id=user_id,
                columns=ReadingColumns(
                    cols.device_ids[start:end], cols.ts_us[start:end], cols.power_w[start:end]
                ),
                settings=settings,
                enforce_window=False,
                register=True,
            )
        else:
            done = record_inputs(
                session,
                user_id=user_id,
                values=plan.values[start:end],
                register=True,
                settings=settings,
                enforce_window=False,
            )
        result.accepted += done.accepted
        result.duplicates += done.duplicates
        if progress is not None:
            progress(end, total)
    result.duration_s = time.perf_counter() - started
    return result


__all__ = [
    "CsvOptions",
    "HistoryPlan",
    "HistoryResult",
    "ImportRejected",
    "detect_format",
    "read_history",
    "store_history",
]
