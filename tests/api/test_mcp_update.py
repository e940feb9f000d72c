"""Cross-field rules (create and update check the merged state) and PATCH semantics (issue 3)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devplane.api.state import AppState
from devplane.sdk.client import Client
from devplane.sdk.mcp import AuthType, MCPServerConfig, UpdateMCPServerConfigRequest
from tests.api.conftest import assert_envelope
from tests.api.mcp_support import (
    API_KEY,
    CLIENT_SECRET,
    HEADER_VALUE,
    SERVERS,
    api_key_body,
    body,
    headers_body,
    oauth2_body,
    request,
    send,
    stored_config,
)


async def _create(owner: Client, data: dict[str, Any]) -> MCPServerConfig:
    return await owner.create_mcp_server(request(data))


async def _patch_refused(owner: Client, config: MCPServerConfig, patch: dict[str, Any], *fields: str) -> None:
    """PATCH is refused with 400 naming `fields`, and GET shows the config unchanged."""
    err = assert_envelope(await send(owner, "PATCH", f"{SERVERS}/{config.id}", patch), 400)
    assert set(fields) <= {v["field"] for v in err.get("validations") or []}, err
    assert await owner.mcp_server(config.id) == config


# --- cross-field rules on create -------------------------------------------------------------


@pytest.mark.parametrize("missing", ["oauth2_client_id", "oauth2_auth_url", "oauth2_token_url"])
async def test_create_oauth2_needs_client_and_urls(owner: Client, missing: str) -> None:
    err = assert_envelope(await send(owner, "POST", SERVERS, oauth2_body(**{missing: ""})), 400)
    assert err["message"] == "OAuth2 auth type requires oauth2_client_id, oauth2_auth_url, and oauth2_token_url."
    assert {v["field"] for v in err["validations"]} == {missing}
    assert await owner.mcp_servers() == []


async def test_create_oauth2_secret_and_scopes_optional(owner: Client) -> None:
    created = await _create(owner, oauth2_body(oauth2_client_secret="", oauth2_scopes="", oauth2_revocation_url=""))
    assert not created.has_oauth2_secret
    assert created.oauth2_scopes == ""


@pytest.mark.parametrize("missing", ["api_key_header", "api_key_value"])
async def test_create_api_key_needs_header_and_value(owner: Client, missing: str) -> None:
    data = api_key_body()
    del data[missing]
    err = assert_envelope(await send(owner, "POST", SERVERS, data), 400)
    assert {v["field"] for v in err["validations"]} == {missing}
    err = assert_envelope(await send(owner, "POST", SERVERS, api_key_body(**{missing: "  "})), 400)
    assert missing in {v["field"] for v in err["validations"]}


@pytest.mark.parametrize("headers", [None, {}])
async def test_create_custom_headers_needs_one(owner: Client, headers: dict[str, str] | None) -> None:
    data = headers_body()
    if headers is None:
        del data["custom_headers"]
    else:
        data["custom_headers"] = headers
    err = assert_envelope(await send(owner, "POST", SERVERS, data), 400)
    assert {v["field"] for v in err["validations"]} == {"custom_headers"}


@pytest.mark.parametrize(
    ("auth", "foreign"),
    [
        ("none", {"api_key_value": "x"}),
        ("none", {"oauth2_client_id": "x"}),
        ("none", {"custom_headers": {"X-A": "b"}}),
        ("api_key", {"oauth2_client_secret": "x"}),
        ("oauth2", {"custom_headers": {"X-A": "b"}}),
    ],
)
async def test_create_refuses_other_auth_types_fields(owner: Client, auth: str, foreign: dict[str, Any]) -> None:
    make = {"none": body, "api_key": api_key_body, "oauth2": oauth2_body}[auth]
    err = assert_envelope(await send(owner, "POST", SERVERS, make(**foreign)), 400)
    assert set(foreign) <= {v["field"] for v in err["validations"]}


# --- cross-field rules on update (the merged state) -----------------------------------------


@pytest.mark.parametrize("field", ["oauth2_client_id", "oauth2_auth_url", "oauth2_token_url"])
async def test_update_cannot_break_oauth2(owner: Client, field: str) -> None:
    config = await _create(owner, oauth2_body())
    await _patch_refused(owner, config, {field: ""}, field)
    await _patch_refused(owner, config, {field: "", "display_name": "renamed too"}, field)


async def test_update_cannot_break_api_key(owner: Client, state: AppState) -> None:
    config = await _create(owner, api_key_body())
    await _patch_refused(owner, config, {"api_key_value": ""}, "api_key_value")
    await _patch_refused(owner, config, {"api_key_header": ""}, "api_key_header")
    assert (await stored_config(state, config.id)).api_key_value == API_KEY


async def test_update_cannot_break_custom_headers(owner: Client) -> None:
    config = await _create(owner, headers_body())
    await _patch_refused(owner, config, {"custom_headers": {}}, "custom_headers")


async def test_update_to_oauth2_needs_its_fields(owner: Client) -> None:
    config = await _create(owner, body())
    await _patch_refused(owner, config, {"auth_type": "oauth2"}, "oauth2_client_id")
    await _patch_refused(owner, config, {"auth_type": "oauth2", "oauth2_client_id": "c"}, "oauth2_auth_url")
    await _patch_refused(owner, config, {"auth_type": "api_key", "api_key_header": "X-Key"}, "api_key_value")
    await _patch_refused(owner, config, {"auth_type": "custom_headers"}, "custom_headers")
    fields = {k: v for k, v in oauth2_body().items() if k.startswith(("oauth2_", "auth_type"))}
    updated = await owner.update_mcp_server(config.id, UpdateMCPServerConfigRequest.model_validate(fields))
    assert updated.auth_type is AuthType.OAUTH2
    assert updated.has_oauth2_secret


async def test_update_refuses_other_auth_types_fields(owner: Client) -> None:
    config = await _create(owner, api_key_body())
    await _patch_refused(owner, config, {"oauth2_client_id": "c"}, "oauth2_client_id")
    await _patch_refused(owner, config, {"custom_headers": {"X-A": "b"}}, "custom_headers")


# --- PATCH semantics ---------------------------------------------------------------------


async def test_absent_fields_are_kept(owner: Client, state: AppState) -> None:
    config = await _create(owner, oauth2_body(tool_allow_list=["a", "b"], description="keep me"))
    updated = await owner.update_mcp_server(config.id, UpdateMCPServerConfigRequest(display_name="Renamed"))
    expected = config.model_dump(exclude={"display_name", "updated_at"})
    assert updated.model_dump(exclude={"display_name", "updated_at"}) == expected
    assert (await stored_config(state, config.id)).oauth2_client_secret == CLIENT_SECRET
    # An empty PATCH changes nothing either.
    assert (await owner.update_mcp_server(config.id, UpdateMCPServerConfigRequest())).has_oauth2_secret


async def test_lists_and_headers_replace_whole(owner: Client, state: AppState) -> None:
    config = await _create(owner, headers_body(tool_allow_list=["a", "b"], tool_deny_list=["x"]))
    patch = {"tool_allow_list": ["c", " c ", ""], "tool_deny_list": [], "custom_headers": {"X-New": "fresh"}}
    updated = await owner.update_mcp_server(config.id, UpdateMCPServerConfigRequest.model_validate(patch))
    assert updated.tool_allow_list == ["c"]
    assert updated.tool_deny_list == []
    assert updated.custom_header_names == ["X-New"]
    assert json.loads((await stored_config(state, config.id)).custom_headers) == {"X-New": "fresh"}


async def test_secret_sent_empty_is_cleared(owner: Client, state: AppState) -> None:
    config = await _create(owner, oauth2_body())
    updated = await owner.update_mcp_server(config.id, UpdateMCPServerConfigRequest(oauth2_client_secret=""))
    assert updated.has_oauth2_secret is False
    row = await stored_config(state, config.id)
    assert row.oauth2_client_secret == ""
    assert row.oauth2_client_secret_key_id is None
    again = await owner.update_mcp_server(config.id, UpdateMCPServerConfigRequest(oauth2_client_secret="new"))
    assert again.has_oauth2_secret is True
    assert (await stored_config(state, config.id)).oauth2_client_secret == "new"


async def test_secret_replaced(owner: Client, state: AppState) -> None:
    config = await _create(owner, api_key_body())
    await owner.update_mcp_server(config.id, UpdateMCPServerConfigRequest(api_key_value="rotated-key"))
    assert (await stored_config(state, config.id)).api_key_value == "rotated-key"


@pytest.mark.parametrize(
    "field",
    ["display_name", "slug", "url", "transport", "auth_type", "oauth2_client_secret", "custom_headers",
     "tool_allow_list", "enabled", "availability", "description"],
)  # fmt: skip
async def test_null_is_refused(owner: Client, field: str) -> None:
    config = await _create(owner, oauth2_body())
    await _patch_refused(owner, config, {field: None}, field)


@pytest.mark.parametrize(
    ("start", "patch", "cleared"),
    [
        pytest.param(api_key_body, {"auth_type": "none"}, {"has_api_key": False, "api_key_header": ""}, id="key-none"),
        pytest.param(
            oauth2_body,
            {"auth_type": "none"},
            {"has_oauth2_secret": False, "oauth2_client_id": "", "oauth2_auth_url": "", "oauth2_scopes": ""},
            id="oauth2-none",
        ),
        pytest.param(
            headers_body,
            {"auth_type": "api_key", "api_key_header": "X-Key", "api_key_value": "k"},
            {"has_custom_headers": False, "custom_header_names": [], "has_api_key": True},
            id="headers-key",
        ),
        pytest.param(
            oauth2_body,
            {"auth_type": "custom_headers", "custom_headers": {"X-A": "b"}},
            {"has_oauth2_secret": False, "oauth2_token_url": "", "oauth2_revocation_url": "", "has_api_key": False},
            id="oauth2-headers",
        ),
        pytest.param(
            api_key_body,
            {k: v for k, v in oauth2_body().items() if k.startswith(("oauth2_", "auth_type"))},
            {"has_api_key": False, "api_key_header": "", "has_oauth2_secret": True},
            id="key-oauth2",
        ),
    ],
)
async def test_auth_type_change_clears_other_types(
    owner: Client, state: AppState, start: Any, patch: dict[str, Any], cleared: dict[str, Any]
) -> None:
    config = await _create(owner, start())
    updated = (await send(owner, "PATCH", f"{SERVERS}/{config.id}", patch)).json()
    assert {k: updated[k] for k in cleared} == cleared, updated
    row = await stored_config(state, config.id)
    new_auth = patch["auth_type"]
    if new_auth != "oauth2":
        assert (row.oauth2_client_secret, row.oauth2_client_secret_key_id) == ("", None)
    if new_auth != "api_key":
        assert (row.api_key_value, row.api_key_value_key_id) == ("", None)
    if new_auth != "custom_headers":
        assert json.loads(row.custom_headers) == {}
        assert HEADER_VALUE not in row.custom_headers


async def test_same_auth_type_clears_nothing(owner: Client) -> None:
    config = await _create(owner, api_key_body())
    updated = await owner.update_mcp_server(config.id, UpdateMCPServerConfigRequest(auth_type=AuthType.API_KEY))
    assert updated.has_api_key
    assert updated.api_key_header == "X-Api-Key"


async def test_switching_back_does_not_restore_secrets(owner: Client) -> None:
    config = await _create(owner, api_key_body())
    await owner.update_mcp_server(config.id, UpdateMCPServerConfigRequest(auth_type=AuthType.NONE))
    await _patch_refused(
        owner, await owner.mcp_server(config.id), {"auth_type": "api_key", "api_key_header": "X"}, "api_key_value"
    )
