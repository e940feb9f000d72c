"""Every integer the API accepts is bounded, in the document and at the edge (issue 9).

An unbounded integer reaches the database driver, where SQLite raises OverflowError past
2**63 - 1: a 500 instead of a 400. The document check walks every parameter and every request
body schema, so a new route cannot reintroduce one.
"""

from __future__ import annotations

from typing import Any

import pytest

from devplane.sdk.client import Client
from devplane.sdk.paging import MAX_LIMIT, MAX_OFFSET

HUGE = 11982685585986094628864  # the value schemathesis found (issue 9)


def _integers(schema: Any, schemas: dict[str, Any], where: str, seen: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """(location, schema) of every integer schema reachable from `schema`."""
    if not isinstance(schema, dict):
        return []
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[1]
        if name in seen:
            return []
        return _integers(schemas.get(name, {}), schemas, f"{where}<{name}>", seen | {name})
    found = [(where, schema)] if schema.get("type") == "integer" else []
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, sub in enumerate(schema.get(key, [])):
            found += _integers(sub, schemas, f"{where}.{key}[{i}]", seen)
    for key in ("items", "additionalProperties"):
        found += _integers(schema.get(key), schemas, f"{where}.{key}", seen)
    for name, sub in schema.get("properties", {}).items():
        found += _integers(sub, schemas, f"{where}.{name}", seen)
    return found


async def test_every_integer_input_is_bounded(anon: Client) -> None:
    doc: dict[str, Any] = (await anon.http.get("/api/v2/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    inputs: list[tuple[str, dict[str, Any]]] = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            name = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                inputs += _integers(param.get("schema"), schemas, f"{name} {param['in']} {param['name']}", set())
            for media, body in op.get("requestBody", {}).get("content", {}).items():
                inputs += _integers(body.get("schema"), schemas, f"{name} body ({media})", set())
    assert any("offset" in where for where, _ in inputs), "the walk found no paging parameter"
    unbounded = [
        where
        for where, schema in inputs
        if ("minimum" not in schema and "exclusiveMinimum" not in schema)
        or ("maximum" not in schema and "exclusiveMaximum" not in schema)
    ]
    assert not unbounded, "integer inputs without both bounds:\n" + "\n".join(unbounded)


@pytest.mark.parametrize("path", ["/api/v2/audit", "/api/experimental/mcp/tool-calls"])
@pytest.mark.parametrize(
    ("param", "value"),
    [("offset", HUGE), ("offset", -HUGE), ("offset", MAX_OFFSET + 1), ("limit", HUGE), ("limit", MAX_LIMIT + 1)],
)
async def test_out_of_range_paging_is_a_400_naming_the_parameter(
    owner: Client, path: str, param: str, value: int
) -> None:
    response = await owner.http.get(path, params={param: str(value)}, headers=owner.headers())
    assert response.status_code == 400, response.text
    assert [v["field"] for v in response.json()["validations"]] == [param]


@pytest.mark.parametrize("path", ["/api/v2/audit", "/api/experimental/mcp/tool-calls"])
async def test_paging_at_its_bounds_is_accepted(owner: Client, path: str) -> None:
    response = await owner.http.get(
        path, params={"offset": str(MAX_OFFSET), "limit": str(MAX_LIMIT)}, headers=owner.headers()
    )
    assert response.status_code == 200, response.text
    assert response.json()["count"] >= 0


async def test_out_of_range_body_integer_is_a_400_naming_the_field(owner: Client) -> None:
    response = await owner.http.post("/api/v2/users/me/keys", json={"lifetime_seconds": HUGE}, headers=owner.headers())
    assert response.status_code == 400, response.text
    assert [v["field"] for v in response.json()["validations"]] == ["lifetime_seconds"]


def test_documented_password_bounds_are_the_enforced_ones() -> None:
    from devplane.crypto.passwords import MAX_LENGTH, MIN_LENGTH
    from devplane.sdk.users import CreateUserRequest

    prop = CreateUserRequest.model_json_schema()["properties"]["password"]
    assert (prop["minLength"], prop["maxLength"]) == (MIN_LENGTH, MAX_LENGTH)


async def test_patch_fields_are_documented_as_not_nullable(anon: Client) -> None:
    """The MCP config PATCH refuses null ("omit the field"), so its document must not offer it."""
    doc: dict[str, Any] = (await anon.http.get("/api/v2/openapi.json")).json()
    props = doc["components"]["schemas"]["UpdateMCPServerConfigRequest"]["properties"]
    nullable = [n for n, p in props.items() if {"type": "null"} in p.get("anyOf", []) or p.get("type") == "null"]
    assert props
    assert not nullable, nullable
