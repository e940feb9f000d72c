from __future__ import annotations

from devplane.sdk.client import Client


async def test_healthz(anon: Client) -> None:
    assert await anon.healthz() == "OK"


async def test_owner_me(owner: Client) -> None:
    me = await owner.me()
    assert me.username == "owner"
    assert [r.value for r in me.roles] == ["owner"]
