"""Schema migrations: Alembic, with the scripts shipped inside the package.

Every command runs ``upgrade_database`` first. Importing Alembic and loading its scripts costs
about 0.2 s, so a database already at the head revision is recognised without them: the
revisions are read from the scripts' source (``revision`` and ``down_revision``) and compared
with the database's ``alembic_version``. Anything unexpected leaves the work to Alembic.
"""

from __future__ import annotations

import ast
import logging
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _assigned(tree: ast.Module, name: str) -> object:
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == name:
            return ast.literal_eval(node.value) if node.value is not None else None
        targets = node.targets if isinstance(node, ast.Assign) else ()
        if any(getattr(t, "id", None) == name for t in targets):
            return ast.literal_eval(node.value)
    raise LookupError(name)


@lru_cache(maxsize=1)
def script_heads() -> frozenset[str] | None:
    """The head revisions of the shipped scripts, read from their source; None if a script does
    not declare its revisions as plain literals (Alembic then decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            revision = _assigned(tree, "revision")
            down = _assigned(tree, "down_revision")
        except (SyntaxError, ValueError, LookupError):
            return None
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        downs = down if isinstance(down, tuple | list) else (down,)
        parents.update(d for d in downs if isinstance(d, str))
    return frozenset(revisions - parents) or None


def database_revisions(engine: Engine) -> frozenset[str]:
    """The revisions ``alembic_version`` holds; empty for a database without one."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:
        return frozenset()
    return frozenset(rows)


def is_at_head(engine: Engine) -> bool:
    heads = script_heads()
    return heads is not None and database_revisions(engine) == heads


def upgrade_database(engine: Engine, *, revision: str = "head") -> None:
    """Bring the schema up to ``revision``; safe to run on every start."""
    if revision == "head" and is_at_head(engine):
        log.debug("database schema is at head")
        return
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    log.info("database schema is at %s", revision)
