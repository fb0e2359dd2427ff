"""The service's own health: ``/health`` (the process answers) and ``/ready`` (so does the
database)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from energy_core import __version__
from ingest_api.deps import ApiDep
from ingest_api.errors import database_unavailable, documented, json_response

router = APIRouter(tags=["service"])


@router.get("/health", summary="Liveness: the process answers")
def health() -> dict:
    return {"status": "ok", "version": __version__}


@router.get("/ready", summary="Readiness: the database answers", responses=documented(503))
def ready(api: ApiDep) -> Response:
    try:
        with api.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError:
        return database_unavailable("The database does not answer.")
    return json_response({"status": "ready"})
