"""End-to-end time of ``energy-monitor ask`` on the demo household, as a user runs it: a new
process that starts Python, checks the schema, answers and exits (target: under 1 s).

The demo household is seeded in a SQLite file of its own (30 days, one reading per device a
minute, up to a pinned ``--now``) and rolled up; then each question is asked ``--runs`` times
with the same pinned clock. Wall time is read around each process, CPU time from the operating
system's accounting of the finished child.

Baseline, measured in the same run: a process that only imports the database layer
(``energy_core.db``: SQLAlchemy, SQLModel, the settings), which every command needs.

    python bench/ask.py                  # seed once into bench/.ask/ (kept), then time
    python bench/ask.py --runs 10 --reload

Not a test; never fails on time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DIR = REPO / "bench" / ".ask"
NOW = "2026-11-30T18:00:00Z"
QUESTIONS = (
    "How much did the fridge use yesterday?",
    "What are my peak hours?",
    "Compare this month with last month",
    "What can I ask?",
)


def cli() -> list[str]:
    return [sys.executable, "-m", "energy_cli"]


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, cpu s) of one run of ``command`` to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def seed(env: dict[str, str], days: int) -> None:
    started = time.perf_counter()
    subprocess.run(
        [*cli(), "demo", "seed", "--days", str(days), "--now", NOW],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run([*cli(), "aggregate"], env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"seeded and rolled up {days} days of the demo in {time.perf_counter() - started:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where the SQLite file is")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reload", action="store_true", help="seed the database again")
    args = parser.parse_args()

    if args.reload and args.dir.exists():
        shutil.rmtree(args.dir)
    args.dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENERGY_")}
    env.update(
        ENERGY_DATABASE_URL=f"sqlite:///{args.dir / 'energy.db'}",
        ENERGY_NOW=NOW,
        ENERGY_LOG_LEVEL="WARNING",
    )
    if not (args.dir / "energy.db").exists():
        seed(env, args.days)

    baseline = [sys.executable, "-c", "import energy_core.db"]
    timed(baseline, env)  # warm the file cache
    base = [timed(baseline, env) for _ in range(args.runs)]
    base_wall = statistics.median(w for w, _ in base)
    base_cpu = statistics.median(c for _, c in base)
    print(f"baseline (import energy_core.db): wall {base_wall:.3f} s, cpu {base_cpu:.3f} s")
    print(f"{'question':45} {'wall s':>8} {'cpu s':>8} {'x base':>7}")
    for question in QUESTIONS:
        command = [*cli(), "ask", "--user", "demo@example.com", "--no-history", question]
        timed(command, env)
        runs = [timed(command, env) for _ in range(args.runs)]
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"{question:45} {wall:8.3f} {cpu:8.3f} {wall / base_wall:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
