"""The gateway's resource URIs (docs/decisions/0008): unique per server, routable, byte-exact."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devplane.mcp.federation import unwrap_uri, wrap_uri

SLUGS = st.from_regex(r"[a-z0-9-]{1,64}", fullmatch=True)
URIS = st.text(min_size=1, max_size=200).filter(lambda s: s.strip() == s and s != "")


@given(SLUGS, URIS)
def test_wrap_then_unwrap_gives_back_the_slug_and_the_exact_original(slug: str, uri: str) -> None:
    assert unwrap_uri(wrap_uri(slug, uri)) == (slug, uri)


@given(SLUGS, SLUGS, URIS)
def test_two_servers_never_share_a_uri(a: str, b: str, uri: str) -> None:
    if a != b:
        assert wrap_uri(a, uri) != wrap_uri(b, uri)


def test_templates_stay_templates() -> None:
    wrapped = wrap_uri("docs", "file:///{+path}?v={version}")
    assert wrapped == "devplane+mcp://docs/file:///{+path}?v={version}"
    expanded = wrapped.replace("{+path}", "a/b c").replace("{version}", "2")
    assert unwrap_uri(expanded) == ("docs", "file:///a/b c?v=2")


@pytest.mark.parametrize(
    "uri",
    ["file:///x", "devplane+mcp://", "devplane+mcp://slug", "devplane+mcp:///x", "devplane+mcp://slug/", "DEVPLANE"],
)
def test_not_a_gateway_uri(uri: str) -> None:
    assert unwrap_uri(uri) is None
