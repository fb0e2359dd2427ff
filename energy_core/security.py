"""The password rule and password hashing (bcrypt over an HMAC-SHA-256 pre-hash), and API-key
secrets (random, shown once, stored as a hash)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import string
import unicodedata
from functools import lru_cache
from importlib import resources

import bcrypt

from energy_core.errors import CoreError, ErrorKind
from energy_core.settings import get_settings

KEY_MARK = "emk"
# 8 hex characters after the mark: enough to find the row, and no "_" to confuse the split below.
_PREFIX_BYTES = 4
# 32 bytes = 256 bits of secret, well above the 128 the design asks for.
_SECRET_BYTES = 32

# The password rule follows NIST SP 800-63B: a minimum length, no composition rules, any Unicode
# (normalised with NFKC, each code point one character), no truncation, and a check against
# passwords known to be common. A limit far above any passphrase keeps forms sane.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
# Hashes made since passwords are pre-hashed start with this mark; older ones are bcrypt over the
# password itself (and keep working: verify_password tells them apart).
HASH_MARK = "$em-hs256$"
# Not a secret: it only makes the pre-hash specific to this application, so that an unsalted
# SHA-256 of the password leaked elsewhere cannot be tried against our bcrypt hashes.
_PREHASH_KEY = b"energy-monitor password pre-hash v1"
_SERVICE_NAMES = frozenset({"energymonitor", "homeenergymonitor", "energy"})
_EDGE = string.digits + string.punctuation + string.whitespace


class WeakPasswordError(CoreError, ValueError):
    """A new password that breaks the password rule."""

    kind = ErrorKind.invalid
    code = "weak_password"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (Openwall's public-domain list), case-folded."""
    text = (resources.files("energy_core") / "data" / "common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().casefold()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#!")
    )


def _normalized(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def _is_pattern(folded: str) -> bool:
    """A short unit repeated (``aaaaaaaaaaaa``, ``abcabcabcabc``) or a run of consecutive
    characters either way (``123456789012``, ``abcdefghijkl``)."""
    for unit in range(1, 5):
        if len(folded) % unit == 0 and folded[:unit] * (len(folded) // unit) == folded:
            return True
    for run in ("1234567890" * 3, "abcdefghijklmnopqrstuvwxyz"):
        if folded in run or folded in run[::-1]:
            return True
    return False


def check_password_strength(password: str, *, email: str | None = None) -> None:
    """Refuse a new password that is too short or too long, common, a pattern, or the account's
    email or this service's name (NIST SP 800-63B); anything else goes, in any script."""
    normalized = _normalized(password)
    if len(normalized) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(
            f"Passwords need at least {MIN_PASSWORD_LENGTH} characters; a few unrelated words "
            "make a good one."
        )
    if len(normalized) > MAX_PASSWORD_LENGTH:
        raise WeakPasswordError(f"Passwords may have at most {MAX_PASSWORD_LENGTH} characters.")
    folded = normalized.casefold()
    core = folded.strip(_EDGE)  # "Sunshine2026!" is "sunshine" with a year
    letters = "".join(ch for ch in folded if ch.isalnum())
    context = set(_SERVICE_NAMES)
    if email:
        address = email.strip().casefold()
        context |= {address, address.partition("@")[0]}
        context |= {"".join(ch for ch in name if ch.isalnum()) for name in tuple(context)}
    listed = common_passwords()
    if folded in listed or core in listed or _is_pattern(folded):
        raise WeakPasswordError(
            "This password is one of the most common ones (or a simple pattern); attackers try "
            "those first. Choose another, for example a few unrelated words."
        )
    if folded in context or core in context or letters in context:
        raise WeakPasswordError(
            "A password cannot be your email address or the name of this service."
        )


def _prehash(password: str) -> bytes:
    """44 ASCII bytes whatever the password's length: bcrypt reads at most 72 bytes, so it must
    never see the password itself (a long one would be cut, or refused)."""
    digest = hmac.new(_PREHASH_KEY, _normalized(password).encode("utf-8"), hashlib.sha256)
    return base64.b64encode(digest.digest())


def bcrypt_rounds() -> int:
    """The bcrypt cost of new hashes: ``ENERGY_BCRYPT_ROUNDS`` (12 unless set; at least 4)."""
    return get_settings().bcrypt_rounds


def hash_password(password: str) -> str:
    return HASH_MARK + bcrypt.hashpw(_prehash(password), bcrypt.gensalt(bcrypt_rounds())).decode()


def bcrypt_part(password_hash: str) -> str:
    """The plain bcrypt hash (``$2b$...``) inside a stored password hash."""
    return password_hash.removeprefix(HASH_MARK)


def bcrypt_pair(password: str, password_hash: str) -> tuple[str, str]:
    """What a plain bcrypt check (``bcrypt.checkpw(secret, hash)``, as the app's sign-in library
    does it) must compare for ``password_hash``: the secret and the bcrypt hash."""
    if password_hash.startswith(HASH_MARK):
        return _prehash(password).decode("ascii"), bcrypt_part(password_hash)
    return password, password_hash  # made before pre-hashing: bcrypt over the password itself


def verify_password(password: str, password_hash: str) -> bool:
    secret, bcrypt_hash = bcrypt_pair(password, password_hash)
    try:
        return bcrypt.checkpw(secret.encode("utf-8"), bcrypt_hash.encode("ascii"))
    except ValueError:  # a malformed hash, or an old-style check of more than 72 bytes
        return False


def needs_rehash(password_hash: str) -> bool:
    """True for a hash made before pre-hashing (or at a lower cost): rehash at the next sign-in."""
    if not password_hash.startswith(HASH_MARK):
        return True
    cost = password_hash[len(HASH_MARK) :].split("$")[2:3]
    return not cost or not cost[0].isdigit() or int(cost[0]) < bcrypt_rounds()


def new_api_key() -> tuple[str, str, str]:
    """Return ``(key, prefix, key_hash)``. Only the prefix and the hash are ever stored."""
    prefix = f"{KEY_MARK}_{secrets.token_hex(_PREFIX_BYTES)}"
    key = f"{prefix}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    return key, prefix, hash_api_key(key)


# Emoncms clients (emonhub, IoTaWatt) accept nothing but 32 lowercase hex characters as a key.
_EMONCMS_KEY = re.compile(r"[0-9a-f]{32}")
EMONCMS_PREFIX = "hex_"


def new_emoncms_key() -> tuple[str, str, str]:
    """``new_api_key`` shaped for Emoncms clients: 128 random bits as 32 lowercase hex characters.
    The stored prefix shows the key's first four characters and a random tag of its own (the key
    itself has no room for a lookup prefix: such keys are found by their hash)."""
    key = secrets.token_hex(16)
    return key, f"{EMONCMS_PREFIX}{key[:4]}_{secrets.token_hex(4)}", hash_api_key(key)


def is_emoncms_key(key: str) -> bool:
    return _EMONCMS_KEY.fullmatch(key) is not None


def hash_api_key(key: str) -> str:
    # A fast hash is right here: the secret has 256 random bits, so nothing can be brute-forced.
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str | None:
    """The stored lookup prefix of a presented key, or None when it is not shaped like ours."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_MARK or not parts[1] or not parts[2]:
        return None
    return f"{parts[0]}_{parts[1]}"


def api_key_matches(key: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key(key), key_hash)
