"""``energy-monitor ask`` starts quickly: an offline answer never imports the OpenAI SDK, Alembic
(the schema is already at head), the Redis client (none configured) or, on SQLite, psycopg."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from energy_core.db import session_scope
from tests.factories import make_device, make_user

PROBE = """
import json, sys
from energy_cli.main import main
code = main(["ask", "--user", "start@example.com", "--no-history", "What can I ask?"])
heavy = ("openai", "alembic", "redis", "psycopg", "httpx")
print(json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def test_an_offline_ask_loads_no_model_sdk_migration_tool_or_unused_driver(engine):
    with session_scope(engine) as session:
        user = make_user(session, email="start@example.com")
        make_device(session, user=user, device_id="kettle")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENERGY_")}
    env["ENERGY_DATABASE_URL"] = engine.url.render_as_string(hide_password=False)

    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    expected = {"psycopg"} if engine.dialect.name == "postgresql" else set()
    assert set(result["loaded"]) == expected
    assert "I understand" in done.stdout
