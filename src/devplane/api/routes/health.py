"""Liveness, build info and experiments."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from devplane import __version__
from devplane.api.deps import State
from devplane.config import KNOWN_EXPERIMENTS
from devplane.sdk.deployment import BuildInfo, Experiment

router = APIRouter()


@router.get("/healthz", response_class=PlainTextResponse, summary="Liveness probe", tags=["General"])
async def healthz() -> str:
    return "OK"


@router.get("/api/v2/buildinfo", summary="Server version and access URL", tags=["General"])
async def buildinfo(state: State) -> BuildInfo:
    return BuildInfo(version=__version__, access_url=state.settings.effective_access_url)


@router.get("/api/v2/experiments", summary="Enabled experiments", tags=["General"])
async def experiments(state: State) -> list[Experiment]:
    return [Experiment(name=n, description=KNOWN_EXPERIMENTS[n]) for n in state.settings.enabled_experiments]
