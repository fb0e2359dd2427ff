"""``energy-monitor``: the command line, a shell beside the API, the scheduler and the app. It
parses arguments, calls energy_core and prints; the run commands start the other shells."""
