"""The gateway's prompts, resources, templates and completion, against Python SDK upstreams.

Every answer through the gateway is compared with what a direct SDK client gets from the same
upstream: equal field for field, apart from the renamed prompt name or resource URI.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client as MCPClient
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import PromptReference, ResourceTemplateReference

from devplane.sdk.client import Client
from devplane.sdk.mcp import UpdateMCPServerConfigRequest
from tests.fixtures.mcp_prompts import BLOB_URI, NOTE_URI, PIXEL, TEMPLATE_URI, furnish
from tests.fixtures.mcp_servers import GarbageServer, UpstreamMCPServer
from tests.mcp_runtime.conftest import Live, register
from tests.mcp_runtime.helpers import Farm, member, new_chat

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
ACCEPT = {"Accept": "application/json, text/event-stream"}


@asynccontextmanager
async def mcp_client(url: str, token: str | None = None) -> AsyncIterator[MCPClient]:
    """The official SDK client, 2025 handshake, on the gateway (with a token) or an upstream."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0)) as http,
        MCPClient(streamable_http_client(url, http_client=http), mode="legacy") as client,
    ):
        yield client


def dump(model: Any) -> dict[str, Any]:
    body: dict[str, Any] = model.model_dump(by_alias=True, mode="json", exclude_none=True)
    return body


def furnished(tag: str) -> UpstreamMCPServer:
    server = UpstreamMCPServer()
    furnish(server, tag)
    return server


async def rpc(live: Live, token: str, method: str, params: dict[str, Any], query: str = "") -> dict[str, Any]:
    """One raw JSON-RPC request to the gateway (stateless: no initialize needed)."""
    url = f"{live.gateway}?{query}" if query else live.gateway
    async with httpx.AsyncClient(timeout=30.0) as http:
        response = await http.post(
            url,
            json={"jsonrpc": "2.0", "id": 7, "method": method, "params": params},
            headers={"Authorization": f"Bearer {token}", **ACCEPT},
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["id"] == 7
    return body


async def test_prompts_resources_and_completion_equal_a_direct_client_apart_from_names(
    farm: Farm, live: Live, admin: Client
) -> None:
    alpha, beta = farm.add(furnished("a:")), farm.add(furnished("b:"))
    await register(admin, "alpha", alpha.url)
    await register(admin, "beta", beta.url)
    assert admin.token
    async with mcp_client(live.gateway, admin.token) as gw, mcp_client(beta.url) as direct:
        caps = gw.server_capabilities
        assert caps.prompts is not None
        assert caps.completions is not None
        assert caps.resources is not None
        assert caps.resources.subscribe is False

        # prompts/list: both servers' prompts, renamed like tools, otherwise the upstream's own.
        listed = {p.name: dump(p) for p in (await gw.list_prompts()).prompts}
        assert set(listed) == {"alpha__greet", "alpha__summary", "beta__greet", "beta__summary"}
        for prompt in (await direct.list_prompts()).prompts:
            assert listed[f"beta__{prompt.name}"] == {**dump(prompt), "name": f"beta__{prompt.name}"}

        # prompts/get: routed to the owner, the result as the upstream gave it.
        got = await gw.get_prompt("beta__greet", {"name": "Ada"})
        assert dump(got) == dump(await direct.get_prompt("greet", {"name": "Ada"}))
        assert "b:Hello, Ada!" in str(dump(got))
        assert "a:Hello, Ada!" in str(dump(await gw.get_prompt("alpha__greet", {"name": "Ada"})))

        # resources/list and resources/read, in devplane+mcp://<slug>/<original> URIs.
        resources = {r.uri: dump(r) for r in (await gw.list_resources()).resources}
        assert f"devplane+mcp://alpha/{NOTE_URI}" in resources
        for resource in (await direct.list_resources()).resources:
            wrapped = f"devplane+mcp://beta/{resource.uri}"
            assert resources[wrapped] == {**dump(resource), "uri": wrapped}
            via_gateway = dump(await gw.read_resource(wrapped))
            direct_read = dump(await direct.read_resource(resource.uri))
            direct_read["contents"] = [{**c, "uri": f"devplane+mcp://beta/{c['uri']}"} for c in direct_read["contents"]]
            assert via_gateway == direct_read
        blob = (await gw.read_resource(f"devplane+mcp://alpha/{BLOB_URI}")).contents[0]
        assert base64.b64decode(getattr(blob, "blob", "")) == PIXEL

        # resources/templates/list: still a usable template; its expansion reads the right server.
        templates = {t.uri_template: dump(t) for t in (await gw.list_resource_templates()).resource_templates}
        wrapped_template = f"devplane+mcp://alpha/{TEMPLATE_URI}"
        direct_template = (await direct.list_resource_templates()).resource_templates[0]
        assert templates[f"devplane+mcp://beta/{TEMPLATE_URI}"] == {
            **dump(direct_template),
            "uriTemplate": f"devplane+mcp://beta/{TEMPLATE_URI}",
        }
        expanded = wrapped_template.replace("{name}", "teal")
        swatch = (await gw.read_resource(expanded)).contents[0]
        assert getattr(swatch, "text", None) == "a:swatch of teal"
        assert swatch.uri == expanded

        # completion/complete, for a prompt argument and for a template variable.
        completed = await gw.complete(PromptReference(name="alpha__greet"), {"name": "name", "value": "x"})
        assert completed.completion.values == ["a:x-ada", "a:x-bob"]
        direct_completed = await direct.complete(PromptReference(name="greet"), {"name": "name", "value": "x"})
        via = await gw.complete(PromptReference(name="beta__greet"), {"name": "name", "value": "x"})
        assert dump(via) == dump(direct_completed)
        colours = await gw.complete(ResourceTemplateReference(uri=wrapped_template), {"name": "name", "value": "g"})
        assert colours.completion.values == ["green", "grey"]

        # Errors: clear, JSON-RPC, naming the server when it is the server's.
        with pytest.raises(MCPError, match="Unknown prompt 'alpha__nope'"):
            await gw.get_prompt("alpha__nope")
        with pytest.raises(MCPError, match="Unknown resource"):
            await gw.read_resource("devplane+mcp://gamma/note://static/readme")
        with pytest.raises(MCPError, match="Unknown resource"):
            await gw.read_resource(NOTE_URI)  # an upstream's own URI is not the gateway's
        with pytest.raises(MCPError, match="MCP server 'alpha'"):
            await gw.read_resource("devplane+mcp://alpha/note://static/missing")


async def test_prompt_list_changed_reaches_the_gateway_list(farm: Farm, live: Live, admin: Client) -> None:
    alpha = farm.add(furnished(""))
    await register(admin, "alpha", alpha.url)
    assert admin.token
    async with mcp_client(live.gateway, admin.token) as gw:
        assert "alpha__later" not in {p.name for p in (await gw.list_prompts()).prompts}  # now cached
        await gw.call_tool("alpha__add_prompt", {})
        names: set[str] = set()
        for _ in range(50):  # the notification arrives on the upstream's GET stream, soon
            names = {p.name for p in (await gw.list_prompts()).prompts}
            if "alpha__later" in names:
                break
            await asyncio.sleep(0.1)
        assert "alpha__later" in names
        assert (await gw.get_prompt("alpha__later")).messages[0].content.text == "later"  # type: ignore[union-attr]


async def test_governance_a_server_the_caller_may_not_use_contributes_nothing(
    farm: Farm, live: Live, admin: Client
) -> None:
    up = farm.add(furnished(""))
    usual = await register(admin, "usual", up.url)
    optional = await register(admin, "optional", up.url, availability="default_off")
    bob = await member(admin, "bob")
    async with bob:
        assert bob.token
        async with mcp_client(live.gateway, bob.token) as gw:
            assert {p.name.split("__")[0] for p in (await gw.list_prompts()).prompts} == {"usual"}
            assert {r.uri.split("/")[2] for r in (await gw.list_resources()).resources} == {"usual"}
            with pytest.raises(MCPError, match="Unknown prompt"):
                await gw.get_prompt("optional__greet", {"name": "x"})
            with pytest.raises(MCPError, match="Unknown resource"):
                await gw.read_resource(f"devplane+mcp://optional/{NOTE_URI}")
            with pytest.raises(MCPError, match="Unknown prompt"):
                await gw.complete(PromptReference(name="optional__greet"), {"name": "name", "value": ""})
        # Selected by slug: offered.
        async with mcp_client(f"{live.gateway}?servers=optional", bob.token) as gw:
            assert {p.name.split("__")[0] for p in (await gw.list_prompts()).prompts} == {"usual", "optional"}
            assert "Hello, x!" in str(dump(await gw.get_prompt("optional__greet", {"name": "x"})))
        # A chat's selection: exactly its servers.
        chat = await new_chat(bob, [optional.id])
        async with mcp_client(f"{live.gateway}?chat_id={chat.id}", bob.token) as gw:
            assert {t.uri_template.split("/")[2] for t in (await gw.list_resource_templates()).resource_templates} == {
                "optional"
            }

        # Disabled: gone at once, for lists, gets and reads.
        body = await rpc(live, bob.token, "prompts/list", {})
        assert any(p["name"].startswith("usual__") for p in body["result"]["prompts"])
        await admin.update_mcp_server(usual.id, UpdateMCPServerConfigRequest(enabled=False))
        assert (await rpc(live, bob.token, "prompts/list", {}))["result"]["prompts"] == []
        assert (await rpc(live, bob.token, "resources/list", {}))["result"]["resources"] == []
        got = await rpc(live, bob.token, "prompts/get", {"name": "usual__greet", "arguments": {"name": "x"}})
        assert "Unknown prompt" in got["error"]["message"]
        read = await rpc(live, bob.token, "resources/read", {"uri": f"devplane+mcp://usual/{NOTE_URI}"})
        assert "Unknown resource" in read["error"]["message"]


async def test_initialize_announces_exactly_what_is_served(farm: Farm, live: Live, admin: Client) -> None:
    assert admin.token
    # No server: tools only.
    body = await rpc(live, admin.token, "initialize", INITIALIZE["params"])  # type: ignore[arg-type]
    assert body["result"]["capabilities"] == {"tools": {"listChanged": False}}
    # The SDK's MCPServer always offers prompts and resources, but completion only with a handler.
    plain = farm.add(UpstreamMCPServer())
    await register(admin, "plain", plain.url)
    caps = (await rpc(live, admin.token, "initialize", INITIALIZE["params"]))["result"]["capabilities"]  # type: ignore[arg-type]
    assert set(caps) == {"tools", "prompts", "resources"}
    rich = farm.add(furnished(""))
    await register(admin, "rich", rich.url, availability="default_off")
    caps = (await rpc(live, admin.token, "initialize", INITIALIZE["params"]))["result"]["capabilities"]  # type: ignore[arg-type]
    assert "completions" not in caps  # not selected: not the caller's
    caps = (await rpc(live, admin.token, "initialize", INITIALIZE["params"], "servers=rich"))["result"][  # type: ignore[arg-type]
        "capabilities"
    ]
    assert caps["completions"] == {}
    assert caps["prompts"] == {"listChanged": False}


async def test_failures_force_on_fails_closed_others_contribute_nothing(
    farm: Farm, live: Live, admin: Client, unused_tcp_port: int
) -> None:
    up = farm.add(furnished(""))
    await register(admin, "good", up.url)
    dead = f"http://127.0.0.1:{unused_tcp_port}/mcp"
    await register(admin, "gone", dead)
    assert admin.token
    body = await rpc(live, admin.token, "prompts/list", {})
    assert {p["name"].split("__")[0] for p in body["result"]["prompts"]} == {"good"}
    init = await rpc(live, admin.token, "initialize", INITIALIZE["params"])  # type: ignore[arg-type]
    assert "prompts" in init["result"]["capabilities"]  # the dead server does not fail initialize
    failed = await rpc(live, admin.token, "resources/read", {"uri": f"devplane+mcp://gone/{NOTE_URI}"})
    assert failed["error"]["code"] == -32603
    assert "MCP server 'gone' failed" in failed["error"]["message"]
    await register(admin, "required", dead, availability="force_on")
    for method in ("prompts/list", "resources/list", "resources/templates/list"):
        closed = await rpc(live, admin.token, method, {})
        assert "error" in closed, closed
        assert "MCP server 'required' is required by an administrator" in closed["error"]["message"]


@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        ("prompts/list", {"cursor": "abc"}, "cursor"),
        ("prompts/get", {}, "name"),
        ("prompts/get", {"name": "x__y", "arguments": {"a": 1}}, "arguments"),
        ("resources/read", {"uri": 5}, "uri"),
        ("completion/complete", {"ref": {"type": "ref/tool"}}, "ref"),
        ("completion/complete", {"ref": {"type": "ref/prompt", "name": "x"}, "argument": {"name": "a"}}, "value"),
        (
            "completion/complete",
            {"ref": {"type": "ref/prompt", "name": "x"}, "argument": {"name": "a", "value": ""}, "context": []},
            "context",
        ),
    ],
)
async def test_bad_params_are_invalid_params_naming_the_field(
    live: Live, admin: Client, method: str, params: dict[str, Any], field: str
) -> None:
    assert admin.token
    body = await rpc(live, admin.token, method, params)
    assert body["error"]["code"] == -32602
    assert field in body["error"]["message"]


async def test_unknown_chat_is_404_for_federated_methods(live: Live, admin: Client) -> None:
    assert admin.token
    async with httpx.AsyncClient(timeout=30.0) as http:
        response = await http.post(
            f"{live.gateway}?chat_id={uuid.uuid4()}",
            json={"jsonrpc": "2.0", "id": 1, "method": "prompts/list"},
            headers={"Authorization": f"Bearer {admin.token}", **ACCEPT},
        )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "variant",
    [
        {"transport": "sse"},
        {"stateless": True},
        {"json_response": True},
        {"stateless": True, "json_response": True},
    ],
    ids=["sse", "stateless", "json", "stateless-json"],
)
async def test_every_upstream_transport_variant_serves_prompts_and_resources(
    farm: Farm, live: Live, admin: Client, variant: dict[str, Any]
) -> None:
    up = UpstreamMCPServer(**variant)
    furnish(up, "v:")
    farm.add(up)
    await register(admin, "var", up.url, transport=variant.get("transport", "streamable_http"))
    assert admin.token
    async with mcp_client(live.gateway, admin.token) as gw:
        assert "v:Hello, Vi!" in str(dump(await gw.get_prompt("var__greet", {"name": "Vi"})))
        note = (await gw.read_resource(f"devplane+mcp://var/{NOTE_URI}")).contents[0]
        assert getattr(note, "text", None) == "v:Read me first."
        completed = await gw.complete(
            ResourceTemplateReference(uri=f"devplane+mcp://var/{TEMPLATE_URI}"), {"name": "name", "value": "r"}
        )
        assert completed.completion.values == ["red"]


async def test_a_hung_server_does_not_hold_initialize_or_lists(farm: Farm, live: Live, admin: Client) -> None:
    good = farm.add(furnished(""))
    hung = farm.add(GarbageServer("hang"))
    await register(admin, "good", good.url)
    await register(admin, "hung", hung.url)
    assert admin.token
    init = await rpc(live, admin.token, "initialize", INITIALIZE["params"])  # type: ignore[arg-type]
    assert set(init["result"]["capabilities"]) == {"tools", "prompts", "resources", "completions"}
    listed = await rpc(live, admin.token, "prompts/list", {})
    assert {p["name"].split("__")[0] for p in listed["result"]["prompts"]} == {"good"}
    failed = await rpc(live, admin.token, "resources/read", {"uri": f"devplane+mcp://hung/{NOTE_URI}"})
    assert "MCP server 'hung' failed" in failed["error"]["message"]
