"""The scheduler process (APScheduler 3.x): keeps hourly aggregates current. `energy-monitor scheduler`."""
