"""The scheduler process (APScheduler 3.x): keeps the hourly aggregates current."""
