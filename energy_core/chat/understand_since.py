"""Reading "since I got the heat pump" as the period from that device's first reading, and
saying when the household's readings begin with it (nothing from before to compare with)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from energy_core.chat.devices import find_devices_in_text
from energy_core.chat.understand_text import VOCABULARY
from energy_core.stats import DeviceRef

SINCE = re.compile(
    r"\bsince (?:i|we|you) (?:got|installed|bought|fitted|put in|added|had|started using) "
    r"(?P<a>.{2,40})|\bsince (?P<b>(?:the|my|our) .{2,40}?) (?:was|were|got|has been|came) "
    r"(?:installed|fitted|put in|added|in)\b",
    re.IGNORECASE,
)
BEFORE_AFTER = re.compile(
    r"\b(more|less|fewer|differen\w*|change\w*|compared?|before|increase\w*)\b"
)


def since_device(
    text: str, devices: Sequence[DeviceRef], *, timezone: datetime.tzinfo
) -> tuple[str, str | None]:
    """``text`` with "since I got <device>" turned into "since <its first reading's day>", and a
    note when the question asks for a change the readings cannot show."""
    found = SINCE.search(text)
    if not found:
        return text, None
    group = "a" if found.group("a") else "b"
    matches = [
        m
        for m in find_devices_in_text(found.group(group), devices, ignore=VOCABULARY)
        if m.exact and len(m.devices) == 1
    ]
    if not matches or matches[0].devices[0].first_at is None:
        return text, None
    device = matches[0].devices[0]
    first = device.first_at.astimezone(timezone)
    end = found.end() if group == "b" else found.start(group) + matches[0].span[1]
    said = f"since {first:%-d %B %Y}"
    note = None
    earliest = min((d.first_at for d in devices if d.first_at), default=device.first_at)
    if BEFORE_AFTER.search(text) and (device.first_at - earliest).days < 1:
        note = (
            f"Your readings begin with the {device.name}'s ({first:%a %-d %b %Y}), so I have "
            "nothing from before it to compare with; here is the figure since then."
        )
    rest = text[: found.start()] + said + text[end:]
    if re.search(r"\b(it|its)\b", rest):
        # "since the heat pump was installed how much has it used": the device stays the subject
        rest += f" the {matches[0].phrase}"
    return rest, note


__all__ = ["since_device"]
