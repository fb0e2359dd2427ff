"""The records the library hands to shells (statuses, summaries, listings) are copied from rows
or figures field by field; this is that copy, so a record names its fields once."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

R = TypeVar("R")


def record_of(cls: type[R], source: object, **values: Any) -> R:
    """A ``cls`` (a dataclass) holding ``values``, and for each of its other fields the
    attribute of ``source`` of the same name."""
    copied = {f.name: getattr(source, f.name) for f in fields(cls) if f.name not in values}
    return cls(**copied, **values)
