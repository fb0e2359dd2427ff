"""``python -m energy_cli``: the same as the ``energy-monitor`` command."""

import sys

from energy_cli.main import main

sys.exit(main())
