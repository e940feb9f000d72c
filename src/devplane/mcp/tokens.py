"""Token source for oauth2 upstreams: the user's stored token, refreshed when near expiry.

Refresh, single flight and failure marking live in services/mcp_oauth_refresh.py; this maps its
outcomes to the runtime's errors (auth_required vs. a transient upstream error).
"""

from __future__ import annotations

import uuid

from devplane.db.database import Database
from devplane.db.mcp_rows import MCPServerConfigRow
from devplane.errors import DomainError
from devplane.mcp.credentials import TokenSource
from devplane.mcp.errors import AuthRequired, UpstreamError
from devplane.services import mcp_oauth_refresh as refresh


def token_source(db: Database) -> TokenSource:
    async def source(user_id: uuid.UUID, config: MCPServerConfigRow) -> tuple[str, str]:
        try:
            token = await refresh.get_valid_access_token(db, user_id, config.id)
        except refresh.AuthRequired as exc:
            raise AuthRequired(exc.message) from None
        except refresh.TokenRefreshFailed:
            raise UpstreamError("refreshing the OAuth2 token failed; try again shortly") from None
        except DomainError as exc:
            raise AuthRequired(exc.message) from None
        return token.token_type, token.access_token

    return source
