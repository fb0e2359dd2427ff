"""Finding the user's devices and rooms from words: exact ids and names, rooms, types and their
everyday names ("washer", "the car", "solar panels"), and small typos.

Only ever searches the devices it is given, which are the signed-in user's: a reference to any
other device simply matches nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from energy_core.stats.selection import DeviceRef

# Everyday names of device types (the demo's and the usual ones).
TYPE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "fridge": ("fridge", "refrigerator", "freezer", "fridge freezer"),
    "router": ("router", "broadband", "wifi", "wi-fi", "internet", "modem"),
    "washing_machine": ("washing machine", "washer", "laundry", "washing"),
    "dishwasher": ("dishwasher", "dish washer"),
    "lighting": ("lights", "lighting", "lamps", "light"),
    "ev_charger": (
        "ev charger",
        "ev",
        "car charger",
        "electric car",
        "electric vehicle",
        "car",
        "wallbox",
        "tesla",
    ),
    "heat_pump": ("heat pump", "heating", "heatpump", "hp", "ashp", "air source heat pump"),
    "solar": ("solar", "solar panels", "panels", "pv", "inverter", "solar inverter"),
    "battery": ("battery", "home battery", "powerwall"),
    "tv": ("tv", "television"),
    "oven": ("oven", "cooker", "stove"),
    "kettle": ("kettle",),
    "dryer": ("dryer", "tumble dryer"),
}
# Words that never identify a device on their own, however close a name comes to them.
STOPWORDS = frozenset(
    """
    a about after all also am an and any are as at be been before between by can compare could
    day days did do does done during each else energy ever for from get give had has have hour
    hours how i in is it its kwh last least less list make many me more most much my night of
    off on or our over past per power previous show since so than that the their them then
    these this those to today too top total use used uses using usage was watt watts we week
    weeks were what when where which while who why will with would year years yesterday you your
    month months morning evening afternoon overnight consumption consume consumed cost costs
    spend spent device devices appliance appliances thing things room rooms house home household
    whole same much many average peak draw drawn running run now currently right status online
    offline biggest largest highest lowest smallest compared versus against week's month's
    electricity electric bill money price expensive cheap cheapest first second which one ones
    """.split()
)
FUZZY_THRESHOLD = 0.84


def fold(text: str) -> str:
    """Lower case, accents and punctuation removed, single spaces: how names are compared."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"[_\-/]+", " ", text)
    text = re.sub(r"[^\w\s']+", " ", text)
    text = text.replace("'s", "")
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Match:
    devices: tuple[DeviceRef, ...]
    room: str | None  # set when the words named a room rather than one device
    span: tuple[int, int]  # where in the folded text
    score: float  # 1.0 for the exact words of a name; less for a near miss (a typo)
    phrase: str = ""  # the words as the user wrote them (folded)
    plural: bool = False  # "lights", "all the fridges": every device the words name

    @property
    def exact(self) -> bool:
        return self.score >= 1.0

    @property
    def ambiguous(self) -> bool:
        """One thing asked for ("the fridge") that several devices answer to."""
        return self.room is None and len(self.devices) > 1 and not self.plural


def _aliases(device: DeviceRef) -> list[str]:
    names = [fold(device.name), fold(device.device_id)]
    names += [fold(s) for s in TYPE_SYNONYMS.get(device.type, (device.type,))]
    if device.location:
        location = fold(device.location)
        # "the kitchen fridge", "living room lights"
        names += [f"{location} {fold(s)}" for s in TYPE_SYNONYMS.get(device.type, ())]
    return [n for n in dict.fromkeys(names) if n and n not in STOPWORDS]


def _word_positions(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0), m.start(), m.end()) for m in re.finditer(r"\w+", text)]


def find_devices_in_text(
    text: str, devices: Sequence[DeviceRef], *, ignore: frozenset[str] = frozenset()
) -> list[Match]:
    """Devices and rooms named in a sentence, in order of appearance.

    Exact phrases win; then single words within a small edit distance of a name's words.
    A type shared by several devices ("lights" with two lamps) names all of them.
    """
    folded = fold(text)
    taken = [False] * len(folded)
    found: list[Match] = []

    def claim(lo: int, hi: int) -> bool:
        if any(taken[lo:hi]):
            return False
        for i in range(lo, hi):
            taken[i] = True
        return True

    # 1. Exact phrases: device names, ids, rooms, type synonyms; longest first.
    phrases: list[tuple[str, tuple[DeviceRef, ...], str | None]] = []
    for device in devices:
        for alias in _aliases(device):
            phrases.append((alias, (device,), None))
    rooms: dict[str, list[DeviceRef]] = {}
    for device in devices:
        if device.location:
            rooms.setdefault(device.location, []).append(device)
    for room, members in rooms.items():
        folded_room = fold(room)
        if folded_room and folded_room not in STOPWORDS:
            phrases.append((folded_room, tuple(members), room))
    by_phrase: dict[tuple[str, str | None], list[DeviceRef]] = {}
    for phrase, members, room in phrases:
        bucket = by_phrase.setdefault((phrase, room), [])
        bucket.extend(d for d in members if d not in bucket)
    for (phrase, room), members in sorted(by_phrase.items(), key=lambda kv: -len(kv[0][0])):
        if room is None and len(members) > 1:
            # A device whose own name holds the words beats one that is only of their type:
            # "the freezer" is the Garage freezer, not also the Kitchen fridge.
            named = [d for d in members if _holds(fold(d.name), phrase)]
            members = named or members
        for m in re.finditer(rf"(?<!\w){re.escape(phrase)}(e?s)?(?!\w)", folded):
            if claim(*m.span()):
                plural = bool(m.group(1)) or phrase.endswith("s") or _all_before(folded, m.start())
                found.append(Match(tuple(members), room, m.span(), 1.0, m.group(0), plural))

    # 2. Single-word typos ("frdge", "washng"): compare each unclaimed word with name words.
    vocabulary: dict[str, set[DeviceRef]] = {}
    for device in devices:
        for alias in _aliases(device):
            for word in alias.split():
                if len(word) >= 3 and word not in STOPWORDS:
                    vocabulary.setdefault(word, set()).add(device)
    for word, lo, hi in _word_positions(folded):
        if len(word) < 3 or word in STOPWORDS or word in ignore or any(taken[lo:hi]):
            continue
        if len(word) == 3 and word not in vocabulary:
            continue  # three letters are too few to guess from: "tub" only as it is
        best, best_score = None, 0.0
        for candidate in vocabulary:
            score = SequenceMatcher(None, word, candidate).ratio()
            if score > best_score:
                best, best_score = candidate, score
        if best is not None and best_score >= FUZZY_THRESHOLD and claim(lo, hi):
            members = tuple(sorted(vocabulary[best], key=lambda d: d.name))
            # One word of a longer name ("pump" of "heat pump") is a near miss too, unless it is
            # the last word of the name, alone after "the/my/our" ("the pump").
            alone = re.search(r"\b(the|my|our)\s+$", folded[:lo]) is not None
            heads = {fold(d.name).split()[-1] for d in members}
            score = 1.0 if best_score >= 1.0 and alone and word in heads else min(best_score, 0.99)
            found.append(Match(members, None, (lo, hi), score, word))
    found.sort(key=lambda m: m.span[0])
    return found


def _holds(name: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", name) is not None


def _all_before(text: str, at: int) -> bool:
    return re.search(r"\b(all|both|every|each)( of)?( the| my| our)?\s*$", text[:at]) is not None


class UnknownDeviceError(LookupError):
    """A device or room reference that matches none of the user's devices."""


def resolve_reference(reference: str, devices: Sequence[DeviceRef]) -> list[DeviceRef]:
    """The devices one reference (an id, a name, a room, a type, or close to one) names.

    Raises UnknownDeviceError listing what the user does have, so the caller can ask again.
    """
    wanted = fold(reference)
    if not wanted:
        raise UnknownDeviceError("An empty device name matches nothing.")
    for key in (
        lambda d: fold(d.device_id),
        lambda d: fold(d.name),
    ):
        exact = [d for d in devices if key(d) == wanted]
        if exact:
            return exact
    room = [d for d in devices if d.location and fold(d.location) == wanted]
    if room:
        return room
    matches = find_devices_in_text(reference, devices)
    folded = fold(reference)
    covered = [False] * len(folded)
    for match in matches:
        for i in range(*match.span):
            covered[i] = True
    # Every word must belong to a name: "Bob's secret freezer" is not the Kitchen fridge.
    leftover = [
        m.group(0)
        for m in re.finditer(r"\w+", folded)
        if not any(covered[m.start() : m.end()]) and m.group(0) not in STOPWORDS
    ]
    if matches and all(m.exact for m in matches) and not leftover:
        out: list[DeviceRef] = []
        for match in matches:
            out.extend(d for d in match.devices if d not in out)
        return out
    # A near miss is offered, never assumed.
    near = [d.name for m in matches for d in m.devices]
    hint = f" Did you mean {' or '.join(dict.fromkeys(near))}?" if near else ""
    names = ", ".join(f"{d.name} ({d.device_id})" for d in devices) or "none yet"
    raise UnknownDeviceError(
        f"No device or room of yours matches {reference!r}.{hint} Your devices: {names}."
    )


__all__ = [
    "Match",
    "STOPWORDS",
    "UnknownDeviceError",
    "find_devices_in_text",
    "fold",
    "resolve_reference",
]
