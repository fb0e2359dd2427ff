"""A series' device figures as columns: one array per field of ``Figure``, a row per device and
a column per period, kept as the read summed them.

Callers that want a table (History's frames and its CSV downloads, the read API's hourly
figures) take the columns of the metrics they show (``FigureTable.metrics``), computed with the
same arithmetic as ``Figure``'s properties, element by element, so every value is equal to the
figure's. A ``Figure`` object is made only where a caller asks for one (``DeviceFigures``): a
month by day of 500 devices is 15,000 of them, and making them cost more than the read.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat

import numpy as np

from energy_core.stats.figures import Figure
from energy_core.stats.selection import DeviceRef

# Figure's fields after start, end and device_id, in their order: the table's fields.
FIELDS = (
    "consumed_wh",
    "generated_wh",
    "counted_s",
    "imported_wh",
    "exported_wh",
    "cost_value",
    "grid_s",
    "grid_metered",
    "covered_s",
    "span_s",
    "duration_s",
    "members",
    "min_w",
    "min_at",
    "max_w",
    "max_at",
    "sample_count",
)

# The metrics a table may hold, each Figure's property (or field) of the same name.
METRICS = (
    "has_data",
    "consumption_wh",
    "generation_wh",
    "net_wh",
    "energy_wh",
    "import_wh",
    "export_wh",
    "cost",
    "coverage",
    "covered_time_s",
    "avg_w",
    "avg_generation_w",
    "avg_net_w",
    "min_w",
    "min_at",
    "max_w",
    "max_at",
    "sample_count",
)


@dataclass(frozen=True)
class FigureTable:
    """The figures of every (device, period) of a series: ``fields`` maps each field of
    ``Figure`` (``FIELDS``) to an array with a row per device (``device_ids``) and a column per
    period (``starts``/``ends``); NaN where a float field is None (``min_w``, ``max_w``), and
    object arrays of instants or None for ``min_at``/``max_at``."""

    starts: list[datetime]
    ends: list[datetime]
    device_ids: list[str]
    fields: dict[str, np.ndarray]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.device_ids), len(self.starts)

    def metric(self, name: str) -> np.ndarray:
        """The metric ``name`` (``METRICS``) of every cell, devices by rows: floats with NaN
        where the figure's is None, booleans, integers, or instants (objects, None)."""
        if name not in METRICS:
            raise KeyError(name)
        f = self.fields
        if name in ("min_w", "max_w", "min_at", "max_at", "sample_count"):
            return f[name]
        if name == "has_data":
            return f["covered_s"] > 0
        counted = f["counted_s"] > 0
        if name == "consumption_wh":
            return np.where(counted, f["consumed_wh"], np.nan)
        if name == "generation_wh":
            return np.where(counted, f["generated_wh"], np.nan)
        if name in ("net_wh", "energy_wh"):
            return np.where(counted, f["consumed_wh"] - f["generated_wh"], np.nan)
        grid = f["grid_s"] > 0
        if name == "import_wh":
            return np.where(grid, f["imported_wh"], np.nan)
        if name == "export_wh":
            return np.where(grid, f["exported_wh"], np.nan)
        if name == "cost":
            return np.where(grid, f["cost_value"], np.nan)
        if name == "coverage":
            return self._coverage()
        time_s = self._covered_time_s()
        if name == "covered_time_s":
            return time_s
        averaged = (time_s != 0) & counted
        with np.errstate(divide="ignore", invalid="ignore"):
            if name == "avg_w":
                value = f["consumed_wh"] * 3600.0 / time_s
            elif name == "avg_generation_w":
                value = f["generated_wh"] * 3600.0 / time_s
            else:  # avg_net_w
                value = (f["consumed_wh"] - f["generated_wh"]) * 3600.0 / time_s
        return np.where(averaged, value, np.nan)

    def _coverage(self) -> np.ndarray:
        span = self.fields["span_s"]
        took = span > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.minimum(self.fields["covered_s"] / span, 1.0)
        return np.where(took, share, np.nan)

    def _covered_time_s(self) -> np.ndarray:
        coverage = self._coverage()
        f = self.fields
        several = f["duration_s"] * coverage
        return np.where(
            np.isnan(coverage), 0.0, np.where(f["members"] <= 1, f["covered_s"], several)
        )

    def columns(self, names: Sequence[str]) -> dict[str, np.ndarray]:
        """``period_start``, ``period_end``, ``device_id`` and the metrics ``names``, one value
        per (period, device), period by period and devices in the selection's order (as
        ``Series.rows`` gives the figures)."""
        devices, periods = self.shape
        out: dict[str, np.ndarray] = {
            "period_start": np.repeat(np.array(self.starts, dtype=object), devices),
            "period_end": np.repeat(np.array(self.ends, dtype=object), devices),
            "device_id": np.tile(np.array(self.device_ids, dtype=object), periods),
        }
        for name in names:
            out[name] = self.metric(name).T.ravel()
        return out


# The fields that ``Figure.add`` adds up: all but the extremes (taken, not added), whether the
# grid is metered, and the period's own length and members.
_NOT_ADDED = {"grid_metered", "duration_s", "members", "min_w", "min_at", "max_w", "max_at"}
_ADDED = tuple(name for name in FIELDS if name not in _NOT_ADDED)


def over_periods(table: FigureTable, start: datetime, end: datetime) -> FigureTable:
    """Each device of ``table`` over all its periods together, as one period ``[start, end)``:
    what adding the device's figures one period after the other into a figure of its own gives
    (``Series.device_total``), with the same floating-point sums (each period's column added to
    the running sums in order, starting from zero), duration added likewise, members the most of
    any period, and the lowest and highest reading kept as ``Figure.take_extremes`` keeps them
    (a strictly lower or higher one wins; of equal ones the one read first)."""
    f = table.fields
    devices, periods = table.shape
    out: dict[str, np.ndarray] = {}
    for name in _ADDED:
        values = f[name]
        running = np.zeros(devices, dtype=values.dtype)
        for i in range(periods):
            running = running + values[:, i]
        out[name] = running
    out["grid_metered"] = (
        f["grid_metered"].any(axis=1) if periods else np.zeros(devices, dtype=bool)
    )
    duration = 0.0
    for value in f["duration_s"][0].tolist() if devices else []:
        duration += value
    out["duration_s"] = np.full(devices, duration)
    out["members"] = f["members"].max(axis=1) if periods else np.zeros(devices, dtype=np.int64)
    for end_name, beyond in (("min", np.less), ("max", np.greater)):
        watts = np.full(devices, np.nan)
        at = np.full(devices, None, dtype=object)
        for i in range(periods):
            value, when = f[f"{end_name}_w"][:, i], f[f"{end_name}_at"][:, i]
            read = ~np.isnan(value)
            wins = read & (np.isnan(watts) | beyond(value, watts))
            for j in np.flatnonzero(read & (value == watts)).tolist():
                earlier = when[j] is not None and (at[j] is None or when[j] < at[j])
                wins[j] = earlier
            watts = np.where(wins, value, watts)
            at[wins] = when[wins]
        out[f"{end_name}_w"], out[f"{end_name}_at"] = watts, at
    fields = {name: out[name].reshape(-1, 1) for name in FIELDS}
    return FigureTable([start], [end], list(table.device_ids), fields)


def as_list(values: np.ndarray) -> list:
    """The values as Python objects, NaN as None (as a figure holds them)."""
    if values.dtype.kind == "f" and np.isnan(values).any():
        shown = values.astype(object)
        shown[np.isnan(values)] = None
        return shown.tolist()
    return values.tolist()


def figure_table(
    devices: Sequence[DeviceRef],
    starts: list[datetime],
    ends: list[datetime],
    columns: Sequence,
    durations: list[float],
) -> FigureTable:
    """The table of ``columns`` (``FIELDS`` in order, devices by rows): float, integer and
    boolean arrays as they are, the extremes' instants as {(row, period): instant}, and None
    for ``duration_s`` (``durations``: each period's, the same for every device)."""
    shape = (len(devices), len(starts))
    fields: dict[str, np.ndarray] = {}
    for name, column in zip(FIELDS, columns, strict=True):
        if column is None:
            column = np.broadcast_to(np.array(durations, dtype=float), shape)
        elif isinstance(column, dict):
            found = np.full(shape, None, dtype=object)
            for cell, at in column.items():
                found[cell] = at
            column = found
        fields[name] = column
    return FigureTable(starts, ends, [d.device_id for d in devices], fields)


class DeviceFigures(Mapping[str, list[Figure]]):
    """Each device's figures per period, by device id (a read-only mapping), made from the table
    when a device's are first asked for: many reads want only the devices together (profiles,
    alerts, the Live page's totals), and a table wants none."""

    def __init__(self, table: FigureTable) -> None:
        self.table = table
        self._row = {device_id: j for j, device_id in enumerate(table.device_ids)}
        self._made: dict[str, list[Figure]] = {}
        self._totals: tuple[tuple[datetime, datetime], list[list]] | None = None

    def __getitem__(self, device_id: str) -> list[Figure]:
        figures = self._made.get(device_id)
        if figures is None:
            j = self._row[device_id]
            self._make({device_id: 0}, self._lists(slice(j, j + 1)))
            figures = self._made[device_id]
        return figures

    def totals(self, start: datetime, end: datetime) -> list[Figure]:
        """Each device over all the periods (``over_periods``), as new figures: a caller may
        complete one (when its extremes were read) without changing another's."""
        fields = self._total_fields(start, end)
        return list(map(Figure, repeat(start), repeat(end), self.table.device_ids, *fields))

    def total(self, device_id: str, start: datetime, end: datetime) -> Figure:
        j = self._row[device_id]
        fields = self._total_fields(start, end)
        return Figure(start, end, device_id, *(values[j] for values in fields))

    def _total_fields(self, start: datetime, end: datetime) -> list[list]:
        """The totals' fields as lists, worked out once per range."""
        key = (start, end)
        if self._totals is None or self._totals[0] != key:
            totals = over_periods(self.table, start, end)
            self._totals = (key, [as_list(totals.fields[name][:, 0]) for name in FIELDS])
        return self._totals[1]

    def make_all(self) -> None:
        """Every device's figures at once (each field converted in one go)."""
        if len(self._made) < len(self._row):
            with _in_bulk():
                self._make(self._row, self._lists(slice(None)))

    def _make(self, rows: dict[str, int], fields: list[list]) -> None:
        table = self.table
        for device_id, j in rows.items():
            if device_id not in self._made:
                self._made[device_id] = list(
                    map(
                        Figure,
                        table.starts,
                        table.ends,
                        repeat(device_id),
                        *(f[j] for f in fields),
                    )
                )

    def _lists(self, rows: slice) -> list[list]:
        """Every field of the rows ``rows`` as lists (NaN as None)."""
        return [as_list(self.table.fields[name][rows]) for name in FIELDS]

    def __contains__(self, device_id: object) -> bool:
        return device_id in self._row

    def __iter__(self) -> Iterator[str]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)


@contextmanager
def _in_bulk() -> Iterator[None]:
    """Objects made in bulk without the cycle collector running in between: a month by day of
    500 devices is 15k figures, and every 700 of them started a collection that walked the young
    objects (and now and then every object of the process), about a third of the time it took to
    make them. Figures hold no cycles; the collector runs as usual once they are made. Left alone
    where the process has switched it off."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


__all__ = [
    "FIELDS",
    "METRICS",
    "DeviceFigures",
    "FigureTable",
    "as_list",
    "figure_table",
    "over_periods",
]
