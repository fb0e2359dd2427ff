"""Named alternative tariffs: documents a household keeps to compare its own tariff with ("what
would the Night saver tariff have cost me?"), never used to price anything of its own
(docs/tariffs.md, "What if")."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, func, select

from energy_core.household_scope import for_household
from energy_core.models import TariffAlternative
from energy_core.tariffs import TariffError, validate_tariff

MAX_NAME = 80
MAX_ALTERNATIVES = 20


@dataclass(frozen=True)
class Alternative:
    name: str
    spec: dict


def _clean_name(name: Any) -> str:
    cleaned = " ".join(name.split()) if isinstance(name, str) else ""
    if not cleaned or len(cleaned) > MAX_NAME or not re.search(r"[A-Za-z0-9]", cleaned):
        raise TariffError(
            f"An alternative tariff needs a name of 1 to {MAX_NAME} characters with a letter or "
            "digit, such as 'Night saver'."
        )
    return cleaned


def _find(session: Session, user_id: int, name: str) -> TariffAlternative | None:
    return session.exec(
        select(TariffAlternative).where(
            TariffAlternative.user_id == user_id,
            func.lower(TariffAlternative.name) == name.lower(),
        )
    ).first()


@for_household
def save_alternative(session: Session, *, user_id: int, name: str, document: Any) -> Alternative:
    """Keep ``document`` under ``name`` (one with the same name, in any case, is replaced)."""
    cleaned = _clean_name(name)
    spec = validate_tariff(document)
    row = _find(session, user_id, cleaned)
    if row is None:
        count = session.exec(select(func.count()).where(TariffAlternative.user_id == user_id)).one()
        if count >= MAX_ALTERNATIVES:
            raise TariffError(
                f"A household keeps at most {MAX_ALTERNATIVES} alternative tariffs; delete one."
            )
        row = TariffAlternative(user_id=user_id, name=cleaned, spec="")
    row.name = cleaned
    row.spec = json.dumps(spec, sort_keys=True)
    session.add(row)
    session.flush()
    return Alternative(cleaned, spec)


@for_household
def list_alternatives(session: Session, *, user_id: int) -> list[Alternative]:
    rows = session.exec(
        select(TariffAlternative)
        .where(TariffAlternative.user_id == user_id)
        .order_by(col(TariffAlternative.name))
    ).all()
    return [Alternative(row.name, json.loads(row.spec)) for row in rows]


@for_household
def delete_alternative(session: Session, *, user_id: int, name: str) -> bool:
    result = session.exec(
        delete(TariffAlternative).where(
            col(TariffAlternative.user_id) == user_id,
            func.lower(TariffAlternative.name) == " ".join(name.split()).lower(),
        )
    )
    return bool(result.rowcount)


__all__ = [
    "Alternative",
    "delete_alternative",
    "list_alternatives",
    "save_alternative",
]
