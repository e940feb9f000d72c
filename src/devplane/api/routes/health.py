"""Liveness, readiness, build info and experiments."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from devplane import __version__
from devplane.api.deps import State
from devplane.config import KNOWN_EXPERIMENTS
from devplane.db import outage
from devplane.sdk.deployment import BuildInfo, Experiment

router = APIRouter()


@router.get("/healthz", response_class=PlainTextResponse, summary="Liveness probe", tags=["General"])
async def healthz() -> str:
    return "OK"


@router.get(
    "/readyz",
    response_class=PlainTextResponse,
    summary="Readiness probe: the database answers",
    description="`OK` when the database answered a read within the database timeout; 503 with "
    "`Retry-After` and the error envelope when it did not. `/healthz` stays a liveness check "
    "(the process serves HTTP) and never touches the database.",
    tags=["General"],
    responses={
        503: {
            # The error envelope is JSON, whatever the success's text/plain (the component is
            # in the document through the other routers' ERROR_RESPONSES).
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Response"}}},
            "description": "The database is unavailable (the error envelope, with Retry-After).",
        }
    },
)
async def readyz(state: State) -> str:
    try:
        await state.db.ping()
    except Exception as exc:
        if isinstance(exc, TimeoutError) or outage.is_unavailable(exc):
            raise outage.DatabaseUnavailable(detail="The readiness check could not read the database.") from None
        raise
    return "OK"


@router.get("/api/v2/buildinfo", summary="Server version and access URL", tags=["General"])
async def buildinfo(state: State) -> BuildInfo:
    return BuildInfo(version=__version__, access_url=state.settings.effective_access_url)


@router.get("/api/v2/experiments", summary="Enabled experiments", tags=["General"])
async def experiments(state: State) -> list[Experiment]:
    return [Experiment(name=n, description=KNOWN_EXPERIMENTS[n]) for n in state.settings.enabled_experiments]
