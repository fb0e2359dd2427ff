"""Settings an administrator changes while the monitor runs (not in the environment): for now,
whether visitors may create their own account, and from which email domains.

Stored as JSON values in the small ``app_settings`` key/value table (migration 0004_app), so a new
setting needs no schema change. Only the typed functions below read or write it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import Column, ForeignKey, Integer, String, Text
from sqlmodel import Field, Session, SQLModel

from energy_core.types import UTCDateTime, utcnow

REGISTRATION_KEY = "registration"
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class AppSetting(SQLModel, table=True):
    __tablename__ = "app_settings"

    key: str = Field(sa_column=Column(String(64), primary_key=True))
    value: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    # Who changed it last; kept when that account is deleted, minus the link.
    updated_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )


@dataclass(frozen=True)
class RegistrationPolicy:
    """Self-registration: off unless an admin turns it on; ``domains`` empty means any domain."""

    enabled: bool = False
    domains: tuple[str, ...] = ()

    def allows(self, email: str) -> bool:
        if not self.enabled:
            return False
        if not self.domains:
            return True
        domain = email.strip().lower().rpartition("@")[2]
        return domain in self.domains


def parse_domains(text: str) -> tuple[str, ...]:
    """Email domains from what an admin typed: separated by commas, spaces or lines, an optional
    leading "@" each. Raises ValueError naming the first one that is not a domain."""
    domains: list[str] = []
    for raw in re.split(r"[\s,;]+", text.strip().lower()):
        domain = raw.removeprefix("@")
        if not domain:
            continue
        if not _DOMAIN.match(domain):
            raise ValueError(f"{raw!r} is not an email domain (for example example.com).")
        if domain not in domains:
            domains.append(domain)
    return tuple(domains)


def get_registration_policy(session: Session) -> RegistrationPolicy:
    row = session.get(AppSetting, REGISTRATION_KEY)
    if row is None:
        return RegistrationPolicy()
    data = orjson.loads(row.value)
    return RegistrationPolicy(
        enabled=bool(data.get("enabled", False)), domains=tuple(data.get("domains", ()))
    )


def set_registration_policy(
    session: Session,
    *,
    enabled: bool,
    domains: tuple[str, ...] | list[str] = (),
    updated_by: int | None = None,
) -> RegistrationPolicy:
    policy = RegistrationPolicy(enabled=enabled, domains=parse_domains(" ".join(domains)))
    row = session.get(AppSetting, REGISTRATION_KEY) or AppSetting(key=REGISTRATION_KEY, value="")
    row.value = orjson.dumps({"enabled": policy.enabled, "domains": list(policy.domains)}).decode()
    row.updated_at = utcnow()
    row.updated_by = updated_by
    session.add(row)
    session.flush()
    return policy
