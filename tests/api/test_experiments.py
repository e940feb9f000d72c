"""Experiments: listed at /api/v2/experiments; gated routes answer 403 when theirs is off."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from fastapi import FastAPI

from devplane.api import errors
from devplane.api.deps import require_experiment
from devplane.api.state import AppState
from devplane.config import KNOWN_EXPERIMENTS, Settings
from devplane.sdk.client import Client
from devplane.sdk.users import LoginRequest
from tests.api.conftest import assert_envelope, custom_server
from tests.factories import OWNER_EMAIL, OWNER_PASSWORD

OFF = {"message": "Experiment 'agents' is not enabled."}


async def test_enabled_experiments_are_listed(anon: Client, settings: Settings) -> None:
    assert settings.experiments == ["agents"]
    listed = await anon.experiments()
    assert [(e.name, e.description) for e in listed] == [("agents", KNOWN_EXPERIMENTS["agents"])]


@pytest.mark.parametrize(("configured", "expected"), [([], []), (["*"], sorted(KNOWN_EXPERIMENTS))])
async def test_experiment_list_follows_settings(settings: Settings, configured: list[str], expected: list[str]) -> None:
    async with custom_server(settings, experiments=configured) as client:
        assert [e.name for e in await client.experiments()] == expected


def test_unknown_experiment_is_a_settings_error() -> None:
    with pytest.raises(ValueError, match="unknown experiment"):
        Settings(experiments="agents,teleport")  # the env var form


def _tiny_app(state: AppState, experiments: list[str]) -> FastAPI:
    app = FastAPI()
    errors.install(app)
    app.state.devplane = dataclasses.replace(
        state, settings=state.settings.model_copy(update={"experiments": experiments})
    )

    @app.get("/gated", dependencies=[require_experiment("agents")])
    async def gated() -> dict[str, str]:
        return {"ok": "yes"}

    return app


@pytest.mark.parametrize(("experiments", "status"), [([], 403), (["agents"], 200), (["*"], 200)])
async def test_require_experiment_dependency(state: AppState, experiments: list[str], status: int) -> None:
    transport = httpx.ASGITransport(app=_tiny_app(state, experiments))
    async with httpx.AsyncClient(transport=transport, base_url="http://devplane.test") as http:
        response = await http.get("/gated")
    if status == 403:
        assert assert_envelope(response, 403) == OFF
    else:
        assert response.json() == {"ok": "yes"}


async def test_gated_routes_answer_403_when_agents_is_off(owner: Client, settings: Settings) -> None:
    gated = [
        p
        for p, ops in (await owner.http.get("/api/v2/openapi.json")).json()["paths"].items()
        if p.startswith("/api/experimental/") and "get" in ops and "{" not in p
    ]
    assert gated, "no experimental routes to check"
    async with custom_server(settings, experiments=[]) as client:
        await client.login(LoginRequest(email=OWNER_EMAIL, password=OWNER_PASSWORD))
        for path in gated:
            response = await client.http.get(path, headers=client.headers())
            assert assert_envelope(response, 403) == OFF, path
        assert (await client.me()).username == "owner"
