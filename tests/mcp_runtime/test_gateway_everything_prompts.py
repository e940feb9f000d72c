"""server-everything's prompts, resources, templates and completion through the gateway.

The TypeScript SDK's reference server (tests/fixtures/node_mcp.py), in both of its HTTP
transports, read by the Python SDK client directly and through devplane's gateway: every
answer equal field for field, apart from the renamed prompt name or resource URI.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import pytest
from mcp import Client as MCPClient
from mcp.client.sse import sse_client
from mcp.types import PromptReference, ResourceTemplateReference

from devplane.sdk.client import Client
from tests.fixtures.node_mcp import EverythingMode, server_everything
from tests.mcp_runtime.conftest import Live, register
from tests.mcp_runtime.test_gateway_prompts import dump, mcp_client

SLUG = "everything"
# Values for the required arguments of server-everything's prompts (others: "1").
PROMPT_ARGUMENTS = {
    "args-prompt": {"city": "Paris", "state": "Texas"},
    "completable-prompt": {"department": "Engineering", "name": "Alice"},
    "resource-prompt": {"resourceType": "Text", "resourceId": "1"},
}


# server-everything's dynamic resources say when they were made ("created at 3:22:13 PM"): the
# one field a second read may change.
CLOCK = re.compile(r"\b\d{1,2}:\d{2}:\d{2}(\s?[AP]M)?\b")


def stable(value: Any, key: str = "") -> Any:
    """`value` with clock times masked, also inside base64 blobs."""
    if isinstance(value, dict):
        return {k: stable(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [stable(v) for v in value]
    if isinstance(value, str) and key == "blob":
        try:
            return "blob:" + CLOCK.sub("<time>", base64.b64decode(value, validate=True).decode("utf-8", "replace"))
        except (binascii.Error, ValueError):
            return value
    if isinstance(value, str):
        return CLOCK.sub("<time>", value)
    return value


def gw_uri(uri: str) -> str:
    return f"devplane+mcp://{SLUG}/{uri}"


def arguments_for(prompt: Any) -> dict[str, str]:
    known = PROMPT_ARGUMENTS.get(prompt.name)
    if known is not None:
        return known
    return {a.name: "1" for a in (prompt.arguments or []) if a.required}


def renamed_contents(result: dict[str, Any]) -> dict[str, Any]:
    return {**result, "contents": [{**c, "uri": gw_uri(c["uri"])} for c in result["contents"]]}


@pytest.mark.parametrize("mode", ["streamableHttp", "sse"])
async def test_server_everything_prompts_and_resources_through_the_gateway(
    live: Live, admin: Client, mode: EverythingMode
) -> None:
    with server_everything(mode) as node:
        transport = "streamable_http" if mode == "streamableHttp" else "sse"
        await register(admin, SLUG, node.url, transport=transport)
        assert admin.token
        async with mcp_client(live.gateway, admin.token) as gw, _direct(node.url, mode) as direct:
            caps = gw.server_capabilities
            assert caps.prompts is not None
            assert caps.resources is not None
            assert caps.completions is not None

            prompts = (await direct.list_prompts()).prompts
            assert prompts, "server-everything offers prompts"
            via = {p.name: dump(p) for p in (await gw.list_prompts()).prompts}
            assert via == {f"{SLUG}__{p.name}": {**dump(p), "name": f"{SLUG}__{p.name}"} for p in prompts}
            for prompt in prompts:
                arguments = arguments_for(prompt)
                expected = stable(dump(await direct.get_prompt(prompt.name, arguments)))
                got = stable(dump(await gw.get_prompt(f"{SLUG}__{prompt.name}", arguments)))
                assert got == expected, prompt.name

            resources = (await direct.list_resources()).resources
            assert resources, "server-everything offers resources"
            listed = {r.uri: dump(r) for r in (await gw.list_resources()).resources}
            assert listed == {gw_uri(r.uri): {**dump(r), "uri": gw_uri(r.uri)} for r in resources}
            for resource in resources:
                expected = stable(renamed_contents(dump(await direct.read_resource(resource.uri))))
                assert stable(dump(await gw.read_resource(gw_uri(resource.uri)))) == expected, resource.uri

            templates = (await direct.list_resource_templates()).resource_templates
            assert templates, "server-everything offers resource templates"
            via_templates = {t.uri_template: dump(t) for t in (await gw.list_resource_templates()).resource_templates}
            assert via_templates == {
                gw_uri(t.uri_template): {**dump(t), "uriTemplate": gw_uri(t.uri_template)} for t in templates
            }
            for template in templates:
                uri = template.uri_template.replace("{resourceId}", "2")
                expected = stable(renamed_contents(dump(await direct.read_resource(uri))))
                assert stable(dump(await gw.read_resource(gw_uri(uri)))) == expected, uri

            argument = {"name": "department", "value": "E"}
            expected = dump(await direct.complete(PromptReference(name="completable-prompt"), argument))
            assert expected["completion"]["values"], "server-everything completes departments"
            ref = PromptReference(name=f"{SLUG}__completable-prompt")
            assert dump(await gw.complete(ref, argument)) == expected
            template_uri = templates[0].uri_template
            argument = {"name": "resourceId", "value": "1"}
            expected = dump(await direct.complete(ResourceTemplateReference(uri=template_uri), argument))
            via_completion = await gw.complete(ResourceTemplateReference(uri=gw_uri(template_uri)), argument)
            assert dump(via_completion) == expected


def _direct(url: str, mode: EverythingMode) -> Any:
    if mode == "streamableHttp":
        return mcp_client(url)
    return MCPClient(sse_client(url, timeout=10.0), mode="legacy")
