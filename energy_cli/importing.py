"""``energy-monitor import``: a household's history from a CSV file, an Emoncms feed export or a
line-protocol file, with a preview, a progress bar and the hours it touches rolled up."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from energy_cli.console import CliError, command, engine, household_scope, progress_printer


@contextmanager
def explained(position: str) -> Iterator[None]:
    """A refused file as a CLI error that lists its first problems, each at a ``position`` (the
    file's line, or the reading's number in the import)."""
    from energy_core.errors import CoreError

    try:
        yield
    except CoreError as exc:
        lines = [str(exc)]
        for problem in exc.details[:10]:
            where = f"{position} {problem['index']}" if problem.get("index") is not None else "file"
            lines.append(f"  {where}, {problem.get('field')}: {problem.get('message')}")
        raise CliError("\n".join(lines)) from exc


def cmd_import(args: argparse.Namespace) -> int:
    from energy_core.db import session_scope
    from energy_core.history_import import CsvOptions, detect_format, read_history, store_history
    from energy_core.rollup import rollup_dirty_hours

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"Cannot read {path}: {exc}") from exc
    with household_scope(args.user, read_only=True) as (session, user):
        user_id, timezone = user.id, user.timezone
    fmt = args.format or detect_format(path.name, text)
    with explained("line"):
        plan = read_history(
            text,
            format=fmt,
            options=CsvOptions(
                time_column=args.time_column,
                value_column=args.value_column,
                device=args.device,
                timezone=args.timezone or timezone,
                unit=args.unit,
            ),
            precision=args.precision,
        )
    span = plan.span()
    print(f"{path.name}: {fmt}, {plan.rows:,} rows -> {plan.count:,} readings")
    if span is not None:
        print(f"  from {span[0].isoformat()} to {span[1].isoformat()} (UTC)")
    print(f"  devices: {', '.join(plan.devices())}")
    print("  first readings:")
    for device, ts, power in plan.preview(5):
        print(f"    {ts.isoformat()}  {device}  {power:,.1f} W")
    if args.dry_run:
        print("Dry run: nothing was stored.")
        return 0
    with explained("reading"), session_scope() as session:
        result = store_history(
            session, user_id=user_id, plan=plan, progress=progress_printer("Importing")
        )
    print(
        f"Stored {result.accepted:,} new readings ({result.duplicates:,} already stored) "
        f"in {result.duration_s:.1f} s."
    )
    run = rollup_dirty_hours(engine(), progress=progress_printer("Aggregating hours"))
    if run.skipped:
        print("The scheduler is aggregating right now; it will recompute the imported hours.")
    else:
        print(f"Recomputed {run.hours:,} device-hours in {run.duration_s:.1f} s.")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    imp = command(
        sub,
        "import",
        cmd_import,
        help="import history from a CSV file, an Emoncms feed export or line protocol",
        description="Import readings of the past. CSV: a time column (ISO 8601 or epoch "
        "seconds; times without an offset are in --timezone) and a column per device named by "
        "its header, or one value column for --device. Emoncms feed exports (time,value lines) "
        "need --device. Line-protocol files map points to devices as the InfluxDB API does. "
        "The whole file is stored or nothing; importing it again stores nothing twice; "
        "devices it names are registered.",
    )
    imp.add_argument("file", help="the file to import")
    imp.add_argument("--user", required=True, help="owner's email")
    imp.add_argument("--device", help="the device of a file with one value column")
    imp.add_argument("--format", choices=["csv", "lp"], help="default: from the file")
    imp.add_argument("--time-column", help="header of the time column (default: the first)")
    imp.add_argument("--value-column", help="header of the one value column to import")
    imp.add_argument("--timezone", help="for times without an offset (default: the user's)")
    imp.add_argument(
        "--unit",
        default="W",
        choices=["W", "kW", "Wh", "kWh"],
        help="power in W or kW, or cumulative meter totals in Wh or kWh (default W)",
    )
    imp.add_argument(
        "--precision",
        default="ns",
        choices=["ns", "us", "ms", "s"],
        help="timestamp precision of a line-protocol file (default ns)",
    )
    imp.add_argument(
        "--dry-run", action="store_true", help="show what would be stored, store nothing"
    )
