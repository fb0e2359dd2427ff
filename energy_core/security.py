"""Password hashing (bcrypt) and API-key secrets (random, shown once, stored as a hash)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

import bcrypt

from energy_core.errors import CoreError, ErrorKind

KEY_MARK = "emk"
# 8 hex characters after the mark: enough to find the row, and no "_" to confuse the split below.
_PREFIX_BYTES = 4
# 32 bytes = 256 bits of secret, well above the 128 the design asks for.
_SECRET_BYTES = 32
MIN_PASSWORD_LENGTH = 8


class WeakPasswordError(CoreError, ValueError):
    """A new password that breaks the password rule."""

    kind = ErrorKind.invalid
    code = "weak_password"


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password.encode()) > 72:
        raise WeakPasswordError("Passwords may be at most 72 bytes long (a bcrypt limit).")


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12)).decode()


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:
        return False


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
