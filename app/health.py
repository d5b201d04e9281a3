"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import Field
from sqlalchemy import Engine

from app.migrating import current_revisions
from app.problems import Problem, ServiceUnavailable
from app.schemas import AppModel

router = APIRouter(tags=["health"])


class Health(AppModel):
    """Probe result."""

    status: str = Field(description="`ok` when the probe passes.", examples=["ok"])


@router.get("/healthz", response_model=Health, summary="Liveness probe")
def healthz() -> Health:
    """200 whenever the process can answer; never touches the database."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="Readiness probe",
    responses={
        503: {
            "model": Problem,
            "description": "Database (or read replica) unreachable or not migrated.",
        }
    },
)
def readyz(request: Request) -> Health:
    """200 when the database, and the read replica if `DATABASE_READ_URL` names one, is
    reachable and migrated to the code's head revision."""
    expected: set[str] = request.app.state.head_revisions
    engines: list[tuple[str, Engine]] = [("database", request.app.state.engine)]
    if request.app.state.read_engine is not request.app.state.engine:
        engines.append(("read replica", request.app.state.read_engine))
    for name, engine in engines:
        try:
            with engine.connect() as connection:
                current = current_revisions(connection)
        except Exception as exc:
            raise ServiceUnavailable(f"The {name} is not reachable.") from exc
        if current != expected:
            raise ServiceUnavailable(
                f"The {name} schema is not at the expected revision; "
                "run `country-positions migrate`."
            )
    return Health(status="ok")
