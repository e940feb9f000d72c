"""One error envelope for everything; bad input is 400/404/405/413, never 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from devplane.config import Settings
from devplane.sdk.client import Client
from tests.api.conftest import assert_envelope, fields_named

VALID_USER = {"email": "new@example.com", "username": "new-user", "password": "New-pass-1234"}


async def _post(owner: Client, path: str, **kw: Any) -> httpx.Response:
    headers = {**owner.headers(), **kw.pop("headers", {})}
    return await owner.http.post(path, headers=headers, **kw)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({**VALID_USER, "email": 123}, {"email"}),
        ({**VALID_USER, "email": "not-an-email"}, {"email"}),
        ({**VALID_USER, "username": ["a"]}, {"username"}),
        ({**VALID_USER, "username": "Has Spaces!"}, {"username"}),
        ({**VALID_USER, "roles": ["wizard"]}, {"roles.0"}),
        ({**VALID_USER, "roles": "owner"}, {"roles"}),
        ({"email": "new@example.com"}, {"username", "password"}),
        ({}, {"email", "username", "password"}),
        ([], {"body"}),
        ("a string", {"body"}),
    ],
    ids=[
        "email-type",
        "email-format",
        "username-type",
        "username-pattern",
        "unknown-enum",
        "roles-not-a-list",
        "missing-fields",
        "empty-object",
        "array",
        "string",
    ],
)
async def test_bad_bodies_are_400_naming_the_field(owner: Client, body: Any, fields: set[str]) -> None:
    response = await _post(owner, "/api/v2/users", json=body)
    assert fields_named(assert_envelope(response, 400)) == fields


@pytest.mark.parametrize(
    "content",
    [b"{", b'{"email": "a@b.c",}', b"\xff\xfe\x00", b"", b"null"],
    ids=["truncated", "trailing-comma", "not-utf8", "empty", "null"],
)
async def test_malformed_json_is_400(owner: Client, content: bytes) -> None:
    response = await _post(owner, "/api/v2/users", content=content, headers={"content-type": "application/json"})
    body = assert_envelope(response, 400)
    assert body.get("validations")
    assert fields_named(body) == {"body"}


async def test_bad_enum_in_patch_and_login(owner: Client) -> None:
    response = await owner.http.patch("/api/v2/users/me", json={"status": "asleep"}, headers=owner.headers())
    assert fields_named(assert_envelope(response, 400)) == {"status"}
    response = await owner.http.post("/api/v2/users/login", json={"email": "x@example.com"})
    assert fields_named(assert_envelope(response, 400)) == {"password"}


async def test_unknown_route_is_404_and_wrong_method_405(anon: Client) -> None:
    for path in ("/api/v2/nope", "/api/v3/users", "/nope", "/api/v2/users/me/keys/x/y"):
        assert_envelope(await anon.http.get(path), 404)
    for method, path in (("PUT", "/healthz"), ("DELETE", "/api/v2/users"), ("PATCH", "/api/v2/audit")):
        response = await anon.http.request(method, path)
        assert_envelope(response, 405)
        assert method not in response.headers.get("allow", "")


async def test_body_over_the_limit_is_413_by_content_length(owner: Client, settings: Settings) -> None:
    big = json.dumps({**VALID_USER, "username": "x" * settings.max_body_bytes}).encode()
    response = await _post(owner, "/api/v2/users", content=big, headers={"content-type": "application/json"})
    assert_envelope(response, 413)
    assert str(settings.max_body_bytes) in response.json()["detail"]


async def test_body_over_the_limit_is_413_when_chunked(owner: Client, settings: Settings) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"email": "a@example.com", "username": "'
        for _ in range(settings.max_body_bytes // 4096 + 2):
            yield b"x" * 4096
        yield b'", "password": "New-pass-1234"}'

    response = await _post(owner, "/api/v2/users", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_envelope(response, 413)
    assert len(await owner.users()) == 1


async def test_body_just_under_the_limit_is_read(owner: Client, settings: Settings) -> None:
    padding = settings.max_body_bytes - len(json.dumps({**VALID_USER, "pad": ""})) - 1
    content = json.dumps({**VALID_USER, "pad": "p" * padding}).encode()
    assert len(content) < settings.max_body_bytes
    response = await _post(owner, "/api/v2/users", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text


WEIRD_REFS = ["%00", "..", "-1", "x" * 3000, "💥", "00000000-0000-0000-0000-000000000000", "%2F%2F"]
WEIRD_BODIES: list[dict[str, Any]] = [
    {"json": None},
    {"json": []},
    {"json": 12},
    {"json": {"email": None, "username": None, "password": None, "roles": None, "status": None}},
    {"json": {"lifetime_seconds": "soon", "name": 5, "roles": [1, 2]}},
    {"json": {"a": [[[[[[[[[[[]]]]]]]]]]]}},
    {"content": b'{"lifetime_seconds": ' + b"9" * 5000 + b"}", "headers": {"content-type": "application/json"}},
    {"content": b'{"lifetime_seconds": NaN, "email": Infinity}', "headers": {"content-type": "application/json"}},
    {"content": b"email=a&password=b", "headers": {"content-type": "application/x-www-form-urlencoded"}},
    {"content": b"\x00\x01binary", "headers": {"content-type": "application/octet-stream"}},
]
WEIRD_QUERIES = [{"limit": "-5"}, {"offset": "1e9"}, {"q": "since:9999-99-99"}, {"q": "\x00"}, {"limit": "1" * 400}]


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(method, path template, answers HTML) for every documented operation."""
    return [
        (method.upper(), path, any("text/html" in r.get("content", {}) for r in op["responses"].values()))
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if not path.endswith("/logout")  # would end the session the fuzzing runs on
    ]


async def test_no_500_for_bad_input_on_any_route(owner: Client) -> None:
    doc = (await owner.http.get("/api/v2/openapi.json")).json()
    seen: list[str] = []
    for method, template, html in _operations(doc):
        refs = WEIRD_REFS if "{" in template else [""]
        for ref in refs:
            path = template
            while "{" in path:
                start, end = path.index("{"), path.index("}")
                path = path[:start] + ref + path[end + 1 :]
            variants = WEIRD_BODIES if method in ("POST", "PUT", "PATCH") else [{"params": q} for q in WEIRD_QUERIES]
            for variant in variants:
                kw = dict(variant)
                headers = {**owner.headers(), **kw.pop("headers", {})}
                response = await owner.http.request(method, path, headers=headers, **kw)
                seen.append(f"{method} {path[:40]} -> {response.status_code}")
                assert response.status_code < 500, f"{method} {path[:80]} {variant}: {response.text[:300]}"
                if response.status_code >= 400 and not html:  # browser pages answer HTML
                    assert_envelope(response, response.status_code)
    assert len(seen) > 100
    assert (await owner.me()).username == "owner"


@pytest.mark.parametrize(
    ("method", "path", "kw"),
    [
        ("GET", "/api/v2/users/a%00b", {}),
        ("DELETE", "/api/v2/users/me/keys/%00", {}),
        ("POST", "/api/v2/users/me/keys", {"json": {"name": "nul\u0000name"}}),
        ("PATCH", "/api/v2/users/me", {"json": {"password": "Nul-\u0000-pass-123", "old_password": "x\u0000"}}),
        ("GET", "/api/v2/audit", {"params": {"q": "username:a\x00b"}}),
    ],
    ids=["path-user", "path-key", "key-name", "password", "query"],
)
async def test_nul_characters_are_400_on_every_database(
    owner: Client, method: str, path: str, kw: dict[str, Any]
) -> None:
    # PostgreSQL text cannot hold U+0000; both databases must answer the same 400, not a 500.
    response = await owner.http.request(method, path, headers=owner.headers(), **kw)
    assert_envelope(response, 400)
    assert (await owner.me()).username == "owner"
