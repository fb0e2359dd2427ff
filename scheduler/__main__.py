"""``python -m scheduler``: what `energy-monitor scheduler` runs."""

import logging

from energy_core.settings import get_settings
from scheduler.main import run

logging.basicConfig(
    level=get_settings().log_level.upper(),
    format="%(asctime)s %(levelname)s %(name)s: %(message)s",
)
# One line per job run from APScheduler is noise; our own job logs what it did.
logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
run()
