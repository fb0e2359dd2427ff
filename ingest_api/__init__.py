"""The ingest API (FastAPI): a thin HTTP shell over energy_core; `energy-monitor api` runs it."""
