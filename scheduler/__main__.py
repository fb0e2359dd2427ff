"""``python -m scheduler``: what `energy-monitor scheduler` runs."""

import logging

from energy_core.settings import get_settings
from scheduler.main import run

logging.basicConfig(
    level=get_settings().log_level.upper(),
    format="%(asctime)s %(levelname)s %(name)s: %(message)s",
)
run()
