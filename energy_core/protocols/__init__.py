"""Parsers of the wire protocols real clients speak (Emoncms input API, InfluxDB line protocol):
pure functions from a request's parts to ``energy_core.inputs.InputValue``s."""
