"""The README's "Connect your devices" snippets do what they say: Home Assistant's rest_command
payload, rendered as Home Assistant renders it, is accepted by the JSON API."""

from __future__ import annotations

import re
import textwrap
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from tests.api.support import auth, reading_count

README = Path(__file__).resolve().parents[2] / "README.md"


def rest_command() -> dict:
    text = README.read_text()
    block = re.search(r"```yaml\n(\s*rest_command:.*?)```", text, re.S)
    assert block, "the README has no rest_command snippet"
    return yaml.safe_load(textwrap.dedent(block.group(1)))["rest_command"]["energy_reading"]


def test_the_rest_command_snippet_posts_a_reading(client, engine, household):
    command = rest_command()
    assert command["url"].endswith("/api/v1/telemetry") and command["method"] == "post"
    now = datetime.now(ZoneInfo("Europe/Berlin"))  # Home Assistant's now() is local and aware
    payload = (
        command["payload"]
        .replace("{{ device }}", "fridge")
        .replace("{{ watts }}", "614.6")
        .replace("{{ now().isoformat() }}", now.isoformat())
    )
    headers = {"Content-Type": command["content_type"], **auth(household.household_key)}
    reply = client.post("/api/v1/telemetry", content=payload, headers=headers)
    assert reply.status_code == 201, reply.text
    assert command["headers"]["Authorization"].startswith("Bearer ")
    assert reading_count(engine) == 1
