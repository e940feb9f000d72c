"""What the OpenAPI document says beyond FastAPI's own generation: the body-size limit's 413 on
every operation that takes a body, and links from each create to what it created.

The 413 comes from BodyLimitMiddleware, before any route, so no route declares it; a client
or fuzzer must still find it documented (schemathesis's status_code_conformance).

Links: a create is a POST answering 201 whose body has an `id`; the operations on the created thing
are those under `<create path>/{param}` (get, patch, put, delete, and sub-resources). Deriving
the links from the paths, instead of declaring them per route, keeps them complete as routes
are added: a client generator or a stateful fuzzer (schemathesis, in tests/fuzz) follows them
from a create to its reads and writes with the id the create answered.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI

_METHODS = ("get", "put", "patch", "delete", "post")
_PARAM = re.compile(r"^\{([^}/]+)\}")


def _operation_id(operation: dict[str, Any]) -> str:
    return str(operation.get("operationId", ""))


def _answers_id(schema: dict[str, Any], response: dict[str, Any]) -> bool:
    body = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = str(body.get("$ref", ""))
    if ref.startswith("#/components/schemas/"):
        body = schema.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
    return "id" in body.get("properties", {})


def _link_name(method: str, path: str) -> str:
    words = re.sub(r"[{}]", "", path).strip("/").replace("/", "_").replace("-", "_")
    return f"{method}_{words}"


def add_create_links(schema: dict[str, Any]) -> None:
    paths: dict[str, dict[str, Any]] = schema.get("paths", {})
    for create_path, operations in paths.items():
        create = operations.get("post")
        if not isinstance(create, dict) or not _answers_id(schema, create.get("responses", {}).get("201", {})):
            continue
        links: dict[str, Any] = {}
        prefix = create_path.rstrip("/") + "/"
        for path, targets in paths.items():
            if not path.startswith(prefix):
                continue
            match = _PARAM.match(path[len(prefix) :])
            if match is None:
                continue
            for method in _METHODS:
                target = targets.get(method)
                if isinstance(target, dict) and _operation_id(target):
                    links[_link_name(method, path[len(prefix) - 1 :])] = {
                        "operationId": _operation_id(target),
                        "parameters": {match.group(1): "$response.body#/id"},
                        "description": f"The created resource's id as `{match.group(1)}`.",
                    }
        if links:
            create["responses"]["201"].setdefault("links", {}).update(links)


def document_body_limit(schema: dict[str, Any]) -> None:
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault(
                    "413",
                    {
                        "description": "The request body is larger than the server's limit (DEVPLANE_MAX_BODY_BYTES).",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Response"}}},
                    },
                )


def install(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            document_body_limit(schema)
            add_create_links(schema)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema
