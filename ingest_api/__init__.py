"""The ingest API (FastAPI): a thin HTTP shell over energy_core. Start it with `energy-monitor api`."""
