"""Names in a question that should be a device or a room but are none of the household's.

The offline analyst must never answer a question about "the pool pump" with some other figure:
it finds the words that name an appliance (a list of everyday appliance words, and the words
between "the/my/our" and a verb such as "use" or "cost"), and any that match none of the user's
devices, rooms or types come back as unknown names, so the answer can say "You have no device
called 'pool pump'" and list what the user does have.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import get_close_matches

from energy_core.chat.devices import STOPWORDS, TYPE_SYNONYMS, Match, fold
from energy_core.stats import DeviceRef

# Everyday appliance words, whether or not the household has one.
APPLIANCES = frozenset(
    """
    dishwasher pump tub jacuzzi sauna spa tv television telly oven cooker hob stove microwave
    toaster kettle dryer freezer fridge refrigerator boiler immersion heater radiator aircon
    conditioner conditioning dehumidifier humidifier vacuum hoover computer pc laptop printer
    console playstation xbox aquarium tank pond charger car ev battery powerwall solar panels
    inverter lights light lamp lamps lighting router modem washer washing machine heatpump
    shower iron blender mixer speaker speakers projector server nas fan fans garage gate
    doorbell camera cameras alarm thermostat tumble coffee espresso grill airfryer fryer
    treadmill bike scooter wallbox sump greenhouse shed workshop cellar loft attic
    kitchen bedroom bathroom lounge hallway hall office study nursery utility driveway roof
    garden patio basement porch conservatory
    """.split()
)
# Words that can stand before an appliance word as part of its name ("pool pump", "hot tub").
_MODIFIER = re.compile(r"^[a-z][a-z0-9]{1,20}$")
_VERB = (
    r"use|uses|used|using|consume|consumes|consumed|consuming|cost|costs|draw|draws|drew|"
    r"drawing|run|runs|ran|running|doing|generate|generated|produce|produced|online|offline|on|"
    r"working|reporting|take|took|need|needs|eat|eats|burn|burns|burned"
)
_DETERMINED = re.compile(
    rf"\b(?:the|my|our)\s+((?:[a-z0-9][\w-]*\s+){{0,2}}?[a-z0-9][\w-]*?)(?:'s)?\s+(?:{_VERB})\b"
)
_POSSESSIVE = re.compile(r"\b(?:the|my|our)\s+((?:[a-z0-9][\w-]*\s+){0,2}?[a-z0-9][\w-]*)'s\b")
_OF_THE = re.compile(
    r"\b(?:of|for|by|from)\s+(?:the|my|our)\s+((?:[a-z0-9][\w-]*\s+){0,2}?[a-z0-9][\w-]*)"
    r"(?=\s*(?:[?.!,]|$|\s+(?:in|on|at|during|over|for|last|this|yesterday|today|since|from|"
    r"between|compared|versus|vs|and|or|use|used|cost)\b))"
)


def _known_words(devices: Sequence[DeviceRef]) -> set[str]:
    words: set[str] = set()
    for device in devices:
        for text in (device.name, device.device_id, device.location or "", device.type):
            words.update(fold(text).split())
        for synonym in TYPE_SYNONYMS.get(device.type, ()):
            words.update(fold(synonym).split())
    return words


def unknown_names(
    text: str,
    matches: Sequence[Match],
    devices: Sequence[DeviceRef],
    *,
    vocabulary: frozenset[str],
) -> list[str]:
    """Appliance-like names in ``text`` (folded) that no device, room or type of the user's
    answers to, in order of appearance."""
    folded = fold(text)
    taken = [False] * len(folded)
    for match in matches:
        for i in range(*match.span):
            if i < len(taken):
                taken[i] = True
    known = _known_words(devices)
    names: list[tuple[int, str]] = []

    def add(lo: int, hi: int) -> None:
        if any(taken[lo:hi]):
            return
        words = [
            w
            for w in folded[lo:hi].split()
            if (w in APPLIANCES or (w not in STOPWORDS and w not in vocabulary)) and not w.isdigit()
        ]
        if not words or all(w in known for w in words):
            return
        names.append((lo, " ".join(words)))
        for i in range(lo, hi):
            taken[i] = True

    for m in re.finditer(r"[a-z0-9]+", folded):
        word = m.group(0)
        if word not in APPLIANCES or any(taken[m.start() : m.end()]):
            continue
        lo = m.start()
        before = re.search(r"([a-z0-9]+)\s+$", folded[:lo])
        if before and _MODIFIER.match(before.group(1)):
            modifier = before.group(1)
            if modifier not in STOPWORDS and modifier not in vocabulary:
                lo = before.start(1)
        after = re.match(r"\s+([a-z0-9]+)", folded[m.end() :])
        hi = m.end()
        if after and after.group(1) in APPLIANCES:
            hi = m.end() + after.end()
        add(lo, hi)
    for pattern in (_DETERMINED, _POSSESSIVE, _OF_THE):
        for m in pattern.finditer(folded):
            first = m.group(1).split()[0]
            # A name starts right after "the/my/our": "my energy came from" names nothing.
            if first in STOPWORDS or first in vocabulary or first.isdigit():
                continue
            add(*m.span(1))
    names.sort()
    return list(dict.fromkeys(name for _, name in names))


def close_devices(name: str, devices: Sequence[DeviceRef]) -> list[DeviceRef]:
    """The user's devices whose name or words come close to ``name`` (offered, never assumed)."""
    by_word: dict[str, list[DeviceRef]] = {}
    for device in devices:
        for key in [fold(device.name), *fold(device.name).split(), fold(device.device_id)]:
            if len(key) >= 3:
                by_word.setdefault(key, []).append(device)
    out: list[DeviceRef] = []
    for word in [name, *name.split()]:
        if len(word) < 3:
            continue
        for close in get_close_matches(word, list(by_word), n=3, cutoff=0.75):
            out.extend(d for d in by_word[close] if d not in out)
    return out


__all__ = ["APPLIANCES", "close_devices", "unknown_names"]
