"""The OpenAPI document is complete (every route, summary, response and error models); docs serve."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute

import devplane.api.routes
from devplane.sdk.client import Client
from devplane.sdk.errors import ValidationError

# Routes that take no input and need no token: they cannot answer an envelope error.
NO_ERRORS = {("GET", "/healthz"), ("GET", "/api/v2/buildinfo"), ("GET", "/api/v2/experiments")}
NO_ERRORS |= {("GET", "/readyz")}  # issue 9: its only error is 503 (the database away)
METHODS = {"get", "post", "put", "patch", "delete"}
# OAuth2 protocol endpoints (issue 12) answer RFC 6749 error bodies, which OAuth clients parse,
# instead of the envelope (still the envelope for their 404 while the provider is off).
OAUTH_PROTOCOL_PREFIXES = ("/oauth2/", "/.well-known/")
OAUTH_ERROR_REF = "#/components/schemas/OAuth2ErrorBody"


def _html(op: dict[str, Any]) -> bool:
    # Browser pages (the OAuth2 callback) answer HTML, errors included.
    return any("text/html" in r.get("content", {}) for c, r in op["responses"].items() if c.startswith("2"))


def _ref(schema: dict[str, Any]) -> str:
    return str(schema.get("$ref") or schema.get("items", {}).get("$ref") or "")


async def _doc(anon: Client) -> dict[str, Any]:
    response = await anon.http.get("/api/v2/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


def _declared_routes() -> set[tuple[str, str]]:
    """Every route of every router in devplane.api.routes (whether or not the app includes it)."""
    routes = set()
    package = devplane.api.routes
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for router in [v for v in vars(module).values() if isinstance(v, APIRouter)]:
            for route in router.routes:
                if isinstance(route, APIRoute):
                    routes |= {(method, route.path) for method in route.methods or ()}
    return routes


async def test_every_route_is_documented(anon: Client) -> None:
    doc = await _doc(anon)
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops if m in METHODS}
    declared = _declared_routes()
    assert ("POST", "/api/v2/users/login") in declared
    assert declared == documented


async def test_operations_have_summaries_and_response_models(anon: Client) -> None:
    doc = await _doc(anon)
    schemas = doc["components"]["schemas"]
    problems = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            name = f"{method.upper()} {path}"
            if not op.get("summary"):
                problems.append(f"{name}: no summary")
            responses: dict[str, Any] = op["responses"]
            ok = [code for code in responses if code.startswith(("2", "3"))]
            if len(ok) != 1:
                problems.append(f"{name}: expected one success response, got {ok}")
                continue
            code = ok[0]
            content = responses[code].get("content", {})
            if code not in ("204", "307") and not content:
                problems.append(f"{name}: success response {code} has no content model")
            json_schema = content.get("application/json", {}).get("schema")
            if json_schema is not None and not (_ref(json_schema) or json_schema.get("type")):
                problems.append(f"{name}: success schema is untyped: {json_schema}")
            if "422" in responses:
                problems.append(f"{name}: documents 422, but validation errors are 400")
            if (method.upper(), path) not in NO_ERRORS and not _html(op):
                errors = [c for c in responses if c.startswith("4")]
                if not errors:
                    problems.append(f"{name}: no error responses")
                for c in errors:
                    ref = _ref(responses[c].get("content", {}).get("application/json", {}).get("schema", {}))
                    oauth = path.startswith(OAUTH_PROTOCOL_PREFIXES) and ref == OAUTH_ERROR_REF
                    if ref != "#/components/schemas/Response" and not oauth:
                        problems.append(f"{name}: {c} is not the error envelope")
    assert not problems, "\n".join(problems)
    assert "HTTPValidationError" not in schemas


def _bodies(doc: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(operation, status, media type, schema) of every documented response body."""
    return [
        (f"{method.upper()} {path}", code, media, body.get("schema", {}))
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        for code, response in op["responses"].items()
        for media, body in response.get("content", {}).items()
    ]


async def test_every_body_is_documented_as_what_it_is(anon: Client) -> None:
    """An HTML body is a string; the JSON error envelope is never documented as HTML."""
    problems = []
    for name, code, media, schema in _bodies(await _doc(anon)):
        if media == "text/html" and schema != {"type": "string"}:
            problems.append(f"{name}: {code} text/html has schema {schema}")
        if _ref(schema) == "#/components/schemas/Response" and media != "application/json":
            problems.append(f"{name}: {code} documents the JSON envelope as {media}")
    assert not problems, "\n".join(problems)


async def test_oauth2_callback_documents_its_html_pages(anon: Client) -> None:
    doc = await _doc(anon)
    responses = doc["paths"]["/api/experimental/mcp/servers/{server_id}/oauth2/callback"]["get"]["responses"]
    assert set(responses) == {"200", "400", "401", "403", "404", "502", "503"}
    html = {"text/html": {"schema": {"type": "string"}}}
    for code in ("200", "400", "401", "404", "502"):
        assert responses[code]["content"] == html, code
        assert responses[code]["description"], code
    # Only the experiment gate answers JSON (the envelope), like every experimental route.
    envelope = {"application/json": {"schema": {"$ref": "#/components/schemas/Response"}}}
    assert responses["403"]["content"] == envelope
    assert "Response" in doc["components"]["schemas"]


async def test_error_envelope_schema_is_ours(anon: Client) -> None:
    schemas = (await _doc(anon))["components"]["schemas"]
    envelope = schemas["Response"]
    assert set(envelope["properties"]) == {"message", "detail", "validations"}
    assert envelope["required"] == ["message"]
    item = envelope["properties"]["validations"]["anyOf"][0]["items"]["$ref"].rsplit("/", 1)[1]
    assert set(schemas[item]["properties"]) == set(ValidationError.model_fields) == {"field", "detail"}


async def test_interactive_docs_are_served(anon: Client) -> None:
    response = await anon.http.get("/api/v2/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/api/v2/openapi.json" in response.text
