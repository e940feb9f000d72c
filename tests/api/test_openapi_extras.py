"""The OpenAPI document's additions (api/openapi_extras.py): links from creates, the 413."""

from __future__ import annotations

from typing import Any

from devplane.sdk.client import Client


async def _doc(anon: Client) -> dict[str, Any]:
    doc: dict[str, Any] = (await anon.http.get("/api/v2/openapi.json")).json()
    return doc


def _operation_ids(doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        op["operationId"]: (m, p) for p, ops in doc["paths"].items() for m, op in ops.items() if "operationId" in op
    }


async def test_creates_link_to_get_patch_and_delete(anon: Client) -> None:
    doc = await _doc(anon)
    ids = _operation_ids(doc)
    expected = {
        ("/api/v2/users", "user"): {"get", "patch", "delete"},
        ("/api/experimental/mcp/servers", "server_id"): {"get", "patch", "delete"},
        ("/api/experimental/chats", "chat_id"): {"get"},
    }
    for (path, param), methods in expected.items():
        links = doc["paths"][path]["post"]["responses"]["201"]["links"]
        targets = {ids[link["operationId"]] for link in links.values()}
        for method in methods:
            assert (method, f"{path}/{{{param}}}") in targets, (path, method, targets)
        for link in links.values():
            assert link["parameters"] == {param: "$response.body#/id"}
            method, target = ids[link["operationId"]]
            assert target.startswith(f"{path}/{{{param}}}")


async def test_creates_without_an_id_have_no_links(anon: Client) -> None:
    doc = await _doc(anon)
    # The API key create answers only the token: nothing to link with.
    assert "links" not in doc["paths"]["/api/v2/users/{user}/keys"]["post"]["responses"]["201"]


async def test_every_operation_with_a_body_documents_413(anon: Client) -> None:
    doc = await _doc(anon)
    with_body = [(m, p, op) for p, ops in doc["paths"].items() for m, op in ops.items() if "requestBody" in op]
    assert len(with_body) > 5
    missing = [f"{m.upper()} {p}" for m, p, op in with_body if "413" not in op["responses"]]
    assert not missing, missing


async def test_the_413_is_what_the_server_answers(owner: Client) -> None:
    response = await owner.http.post(
        "/api/experimental/chats", content=b"x" * (2 * 1024 * 1024), headers=owner.headers()
    )
    assert response.status_code == 413
    assert response.json()["message"]
