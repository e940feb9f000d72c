"""Payload validation of MCP server configs: 400 with `validations` naming the field (issue 3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devplane.sdk.client import Client
from devplane.sdk.mcp import Availability
from tests.api.conftest import assert_envelope
from tests.api.mcp_support import SERVERS, api_key_body, body, headers_body, oauth2_body, request, send


async def _refused(owner: Client, data: Any, field: str) -> dict[str, Any]:
    """POST `data`: 400, the envelope names `field`, and nothing was created."""
    err = assert_envelope(await send(owner, "POST", SERVERS, data), 400)
    assert field in {v["field"] for v in err.get("validations") or []}, err
    assert await owner.mcp_servers() == []
    return err


@pytest.mark.parametrize("value", ["force_on", "default_on", "default_off"])
async def test_availability_values_accepted(owner: Client, value: str) -> None:
    """coder's TestMCPServerConfigsAvailability."""
    created = await owner.create_mcp_server(request(body(availability=value)))
    assert created.availability == Availability(value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("availability", "always_on"),
        ("availability", ""),
        ("transport", "websocket"),
        ("transport", "STREAMABLE_HTTP"),
        ("auth_type", "basic"),
        ("auth_type", ""),
    ],
)
async def test_invalid_enum_values(owner: Client, field: str, value: str) -> None:
    await _refused(owner, body(**{field: value}), field)


@pytest.mark.parametrize("field", ["display_name", "slug", "transport", "url", "auth_type", "availability"])
async def test_required_fields(owner: Client, field: str) -> None:
    data = body()
    del data[field]
    await _refused(owner, data, field)


@pytest.mark.parametrize(
    "slug",
    ["Sentry", "my_server", "a" * 65, "", "   ", "has space", "ümlaut", "dot.ted"],
    ids=["uppercase", "underscore", "65-chars", "empty", "blank", "space", "non-ascii", "dot"],
)
async def test_slug_rules(owner: Client, slug: str) -> None:
    await _refused(owner, body(slug=slug), "slug")


async def test_slug_accepted_forms(owner: Client) -> None:
    for slug in ("a", "a" * 64, "0-9-a-z", "-"):
        assert (await owner.create_mcp_server(request(body(slug=slug)))).slug == slug


@pytest.mark.parametrize("name", ["", "   ", "x" * 129])
async def test_display_name_rules(owner: Client, name: str) -> None:
    await _refused(owner, body(display_name=name), "display_name")


BAD_URLS = [
    "ftp://mcp.example.com/x",
    "/relative/path",
    "mcp.example.com/mcp",
    "http://",
    "https:///no-host",
    "javascript:alert(1)",
    "file:///etc/passwd",
]


@pytest.mark.parametrize(
    ("field", "make"),
    [
        ("url", body),
        ("icon_url", body),
        ("oauth2_auth_url", oauth2_body),
        ("oauth2_token_url", oauth2_body),
        ("oauth2_revocation_url", oauth2_body),
    ],
)
async def test_urls_must_be_absolute_http(owner: Client, field: str, make: Callable[..., dict[str, Any]]) -> None:
    for value in [*BAD_URLS, *([""] if field == "url" else [])]:
        await _refused(owner, make(**{field: value}), field)


async def test_optional_urls_may_be_empty(owner: Client) -> None:
    created = await owner.create_mcp_server(request(body(icon_url="", url="http://127.0.0.1:8080/mcp")))
    assert created.icon_url == ""
    assert created.url == "http://127.0.0.1:8080/mcp"
    with_icon = await owner.create_mcp_server(request(body(icon_url="  https://cdn.example.com/i.svg  ")))
    assert with_icon.icon_url == "https://cdn.example.com/i.svg"


async def test_tool_lists_are_normalized(owner: Client) -> None:
    created = await owner.create_mcp_server(
        request(
            body(
                tool_allow_list=[" search ", "", "search", "fetch", "   ", "fetch "],
                tool_deny_list=["delete_*", "delete_*", " drop "],
            )
        )
    )
    assert created.tool_allow_list == ["search", "fetch"]
    assert created.tool_deny_list == ["delete_*", "drop"]
    assert (await owner.mcp_server(created.id)).tool_allow_list == ["search", "fetch"]


@pytest.mark.parametrize("value", [None, "search", [1, 2], [None]])
async def test_tool_list_wrong_type(owner: Client, value: Any) -> None:
    err = assert_envelope(await send(owner, "POST", SERVERS, body(tool_allow_list=value)), 400)
    assert any(v["field"].startswith("tool_allow_list") for v in err["validations"])


@pytest.mark.parametrize(
    "name",
    ["Bad Header", "X-Ünicode", "X:Colon", "", "Host", "host", "Content-Length", "CONTENT-LENGTH", "X(paren)"],
)
async def test_custom_header_names(owner: Client, name: str) -> None:
    err = await _refused(owner, headers_body(custom_headers={name: "VALUE-NOT-ECHOED"}), "custom_headers")
    # The error may name the header; it never echoes a value.
    assert "VALUE-NOT-ECHOED" not in str(err)


@pytest.mark.parametrize("name", ["Bad Header", "Host", "content-length", "X:y"])
async def test_api_key_header_name(owner: Client, name: str) -> None:
    await _refused(owner, api_key_body(api_key_header=name), "api_key_header")


@pytest.mark.parametrize(
    "value", ["line\r\nX-Injected: 1", "cr\ronly", "lf\nonly", "nul\x00X-Injected", "euro-€-X-Injected"]
)
async def test_custom_header_value_printable_ascii(owner: Client, value: str) -> None:
    err = await _refused(owner, headers_body(custom_headers={"X-Ok": value}), "custom_headers")
    assert "X-Injected" not in str(err)


@pytest.mark.parametrize("value", ["key\r\nX-Injected: 1", "key\nX-Injected", "€-X-Injected"])
async def test_api_key_value_is_a_valid_header_value(owner: Client, value: str) -> None:
    err = await _refused(owner, api_key_body(api_key_value=value), "api_key_value")
    assert "X-Injected" not in str(err)  # a secret: never echoed


async def test_header_values_may_hold_spaces_tabs_and_punctuation(owner: Client) -> None:
    created = await owner.create_mcp_server(request(api_key_body(api_key_value="sk-live_ABC.123 =/+~", slug="key-ok")))
    assert created.has_api_key
    changed = await owner.create_mcp_server(
        request(headers_body(custom_headers={"X-Note": "a b\tc !\"#$%&'()*+,-./:;<=>?@[]^_`{|}~"}, slug="hdr-ok"))
    )
    assert changed.custom_header_names == ["X-Note"]


async def test_custom_header_names_unique_ignoring_case(owner: Client) -> None:
    await _refused(owner, headers_body(custom_headers={"X-Team": "a", "x-team": "b"}), "custom_headers")


async def test_valid_custom_header_names(owner: Client) -> None:
    headers = {"X-Team": "a", "Authorization": "Bearer b", "x_under.score~!#$%&'*+^`|": "c"}
    created = await owner.create_mcp_server(request(headers_body(custom_headers=headers)))
    assert created.custom_header_names == sorted(headers)


@pytest.mark.parametrize("extra", [{"bogus": 1}, {"oauth2_client_secret_key_id": "x"}, {"id": "x"}])
async def test_unknown_fields_are_refused(owner: Client, extra: dict[str, Any]) -> None:
    (name,) = extra
    await _refused(owner, body(**extra), name)


async def test_unknown_field_on_update(owner: Client) -> None:
    created = await owner.create_mcp_server(request(body()))
    err = assert_envelope(await send(owner, "PATCH", f"{SERVERS}/{created.id}", {"bogus": True}), 400)
    assert {v["field"] for v in err["validations"]} == {"bogus"}


@pytest.mark.parametrize("raw", [b"{", b"not json", b'{"slug": "a",}', b""])
async def test_malformed_json(owner: Client, raw: bytes) -> None:
    headers = owner.headers() | {"content-type": "application/json"}
    response = await owner.http.post(SERVERS, content=raw, headers=headers)
    assert_envelope(response, 400)
    created = await owner.create_mcp_server(request(body()))
    patched = await owner.http.patch(f"{SERVERS}/{created.id}", content=raw, headers=headers)
    assert_envelope(patched, 400)


@pytest.mark.parametrize("payload", [[], "string", 42, None])
async def test_body_must_be_an_object(owner: Client, payload: Any) -> None:
    assert_envelope(await send(owner, "POST", SERVERS, payload), 400)


async def test_update_fields_are_validated(owner: Client) -> None:
    created = await owner.create_mcp_server(request(body()))
    path = f"{SERVERS}/{created.id}"
    for field, value in [
        ("slug", "Bad_Slug"),
        ("url", "ftp://x.example.com"),
        ("icon_url", "relative"),
        ("availability", "always_on"),
        ("transport", "ws"),
        ("auth_type", "basic"),
        ("display_name", ""),
    ]:
        err = assert_envelope(await send(owner, "PATCH", path, {field: value}), 400)
        assert field in {v["field"] for v in err["validations"]}, (field, err)
    assert await owner.mcp_server(created.id) == created
