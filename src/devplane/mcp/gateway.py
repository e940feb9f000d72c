"""The MCP gateway: devplane itself as an MCP server (streamable HTTP) over the user's tools.

A lean ASGI endpoint, not the SDK's server transport (docs/decisions/0005): it answers
initialize/ping/tools/list itself and forwards tools/call to the pooled upstream session,
parsing only method, id and tool name. Stateless: no Mcp-Session-Id, no GET stream; answers are
JSON unless the client asked for progress over SSE. Governance is the runtime's, as in chats.
Prompts, resources and completion are federated by mcp/federation.py (docs/decisions/0008).
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import parse_qs

import structlog
from starlette.types import Receive, Scope, Send

from devplane import __version__, fastjson
from devplane.authz.authorizer import Subject
from devplane.db.mcp_rows import MCPServerConfigRow
from devplane.errors import DomainError
from devplane.mcp.errors import AuthRequired, MCPRuntimeError, ToolNotAllowed, UpstreamTimeout
from devplane.mcp.federation import KINDS, LIST_METHODS, Federation, FederationError
from devplane.mcp.federation_params import FEDERATED_METHODS, federated_params
from devplane.mcp.gateway_oauth2 import GatewayOAuth2
from devplane.mcp.runtime import ForcedServerUnavailable, MCPRuntime
from devplane.mcp.tokencache import CachedIdentity, TokenCache

log = structlog.get_logger(__name__)

SUPPORTED_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
MAX_BODY = 4 * 1024 * 1024
CHAT_CACHE_SECONDS = 2.0

INTERNAL_ERROR_BODY = {
    "message": "An internal error occurred.",
    "detail": "The server logged the details; report the request id.",
}

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = -32700, -32600, -32601, -32602, -32603


class _HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self.status, self.message, self.headers = status, message, headers or {}


def _rpc_error(msg_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}


def _error_result(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": True}


class Gateway:
    def __init__(
        self,
        runtime: MCPRuntime,
        tokens: TokenCache,
        *,
        experiment_enabled: bool,
        access_url: str,
        oauth2: GatewayOAuth2 | None = None,
    ) -> None:
        self.oauth2 = oauth2  # issue 12: set when devplane is the gateway's OAuth2 authorization server
        self.runtime = runtime
        self.tokens = tokens
        self.experiment_enabled = experiment_enabled
        self.access_url = access_url
        self._chats: dict[tuple[uuid.UUID, uuid.UUID], tuple[list[uuid.UUID], float]] = {}
        self.federation = Federation(runtime)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.oauth2 is not None:  # issue 12: CORS for browser clients; a preflight needs no token
            if scope["method"] == "OPTIONS":
                await self.oauth2.preflight(send)
                return
            send = self.oauth2.with_cors(send)
        try:
            if not self.experiment_enabled:
                raise _HTTPError(403, "Experiment 'agents' is not enabled.")
            if scope["method"] != "POST":
                # Stateless server: no standalone SSE stream, no session to delete.
                raise _HTTPError(405, "The MCP gateway accepts POST only.", {"Allow": "POST"})
            identity = await self._identify(headers)
            body = await _read_body(receive)
            query = parse_qs(scope.get("query_string", b"").decode())
            await self._handle(identity, query, headers, body, send)
        except _HTTPError as exc:
            await _send_json(send, exc.status, {"message": exc.message}, exc.headers)
        except Exception as exc:
            # A bug, or the database gone while a token is checked (a tool call's own failures
            # are JSON-RPC answers and never get here; nothing has been sent yet). The rest of
            # the API answers the same (api/errors.py); the exception's text stays in the log.
            log.error("mcp.gateway.unhandled", error=type(exc).__name__, exc_info=exc)
            await _send_json(send, 500, INTERNAL_ERROR_BODY)

    async def _identify(self, headers: dict[str, str]) -> CachedIdentity:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else headers.get("devplane-session-token", "").strip()
        oauth2 = self.oauth2
        if not token:
            challenge = oauth2.challenge(token_sent=False) if oauth2 else 'Bearer realm="devplane"'
            raise _HTTPError(
                401, "Send a devplane token as 'Authorization: Bearer <token>'.", {"WWW-Authenticate": challenge}
            )
        invalid = oauth2.challenge(token_sent=True) if oauth2 else 'Bearer error="invalid_token"'
        try:
            identity = await self.tokens.identify(token)
        except DomainError as exc:
            raise _HTTPError(401, exc.message, {"WWW-Authenticate": invalid}) from None
        # issue 12: an OAuth access token is good only for the resource it was issued for.
        if identity.oauth2_app_id is not None and (
            oauth2 is None or not oauth2.accepts(identity.oauth2_app_id, identity.audience)
        ):
            raise _HTTPError(401, "This token was issued for another resource.", {"WWW-Authenticate": invalid})
        return identity

    async def _configs(self, identity: CachedIdentity, query: dict[str, list[str]]) -> list[MCPServerConfigRow]:
        chat_ids = query.get("chat_id")
        if chat_ids:
            try:
                chat_id = uuid.UUID(chat_ids[0])
            except ValueError:
                raise _HTTPError(400, "chat_id must be a UUID.") from None
            return await self.runtime.effective_configs(await self._chat_selection(identity.actor, chat_id))
        slugs = [s.strip() for v in query.get("servers", []) for s in v.split(",") if s.strip()]
        return await self.runtime.gateway_configs(slugs)

    async def _chat_selection(self, actor: Subject, chat_id: uuid.UUID) -> list[uuid.UUID]:
        assert actor.user_id is not None
        key = (actor.user_id, chat_id)
        hit = self._chats.get(key)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        try:
            async with self.runtime.db.read_session() as tx:
                chat = await tx.store(actor).get_chat_by_id(chat_id)
        except DomainError:
            raise _HTTPError(404, "Chat not found.") from None
        selection = list(chat.mcp_server_ids)
        self._chats[key] = (selection, time.monotonic() + CHAT_CACHE_SECONDS)
        return selection

    async def _handle(
        self, identity: CachedIdentity, query: dict[str, list[str]], headers: dict[str, str], body: bytes, send: Send
    ) -> None:
        try:
            message = fastjson.loads(body)
        except ValueError:
            await _send_json(send, 400, _rpc_error(None, PARSE_ERROR, "Parse error: body is not JSON."))
            return
        if (
            not isinstance(message, dict)
            or message.get("jsonrpc") != "2.0"
            or not isinstance(message.get("method"), str)
        ):
            await _send_json(send, 400, _rpc_error(None, INVALID_REQUEST, "Invalid JSON-RPC request."))
            return
        method, msg_id = message["method"], message.get("id")
        if "id" not in message:  # a notification: accepted, nothing to answer
            await _send_empty(send, 202)
            return
        raw_params = message.get("params")
        params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
        if method == "tools/call":
            await self._call(identity, query, headers, msg_id, params, send)
            return
        await _send_json(send, 200, await self._answer(identity, query, method, msg_id, params))

    async def _answer(
        self, identity: CachedIdentity, query: dict[str, list[str]], method: str, msg_id: Any, params: dict[str, Any]
    ) -> dict[str, Any]:
        if method == "initialize":
            requested = params.get("protocolVersion")
            version = requested if requested in SUPPORTED_VERSIONS else SUPPORTED_VERSIONS[0]
            assert identity.actor.user_id is not None
            configs = await self._configs(identity, query)
            return {
                "jsonrpc": "2.0",
                "id": msg_id,
                "result": {
                    "protocolVersion": version,
                    "capabilities": await self.federation.capabilities(identity.actor.user_id, configs),
                    "serverInfo": {"name": "devplane", "version": __version__},
                    "instructions": (
                        "Tools, prompts and resources from the MCP servers your devplane administrators "
                        "allow you to use."
                    ),
                },
            }
        if method == "ping":
            return {"jsonrpc": "2.0", "id": msg_id, "result": {}}
        if method == "tools/list":
            assert identity.actor.user_id is not None
            try:
                catalog = await self.runtime.catalog(identity.actor.user_id, await self._configs(identity, query))
            except ForcedServerUnavailable as exc:
                return _rpc_error(msg_id, INTERNAL_ERROR, exc.reason)
            return {"jsonrpc": "2.0", "id": msg_id, "result": {"tools": [t.definition for t in catalog.tools]}}
        # --- prompts, resources and completion (issue 8; mcp/federation.py) ---
        if method in FEDERATED_METHODS:
            return await self._federated(identity, query, method, msg_id, params)
        # server/discover lands here too: SDK 2.x clients then fall back to initialize.
        return _rpc_error(msg_id, METHOD_NOT_FOUND, f"Method not found: {method}")

    async def _call(
        self,
        identity: CachedIdentity,
        query: dict[str, list[str]],
        headers: dict[str, str],
        msg_id: Any,
        params: dict[str, Any],
        send: Send,
    ) -> None:
        name, arguments = params.get("name"), params.get("arguments")
        if not isinstance(name, str) or (arguments is not None and not isinstance(arguments, dict)):
            await _send_json(
                send, 200, _rpc_error(msg_id, INVALID_PARAMS, "tools/call needs a name and object arguments.")
            )
            return
        meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else None
        stream = meta is not None and "progressToken" in meta and "text/event-stream" in headers.get("accept", "")
        assert identity.actor.user_id is not None
        chat_id = _chat_id(query)
        configs = await self._configs(identity, query)
        if stream:
            await _start_sse(send)

            async def progress(note: dict[str, Any]) -> None:
                event = {"jsonrpc": "2.0", "method": "notifications/progress", "params": note}
                await _send_event(send, event)

            # The upstream's log messages about this call ride on the same stream. The gateway
            # is stateless (no logging/setLevel to remember), so this is the one way to ask.
            async def log_message(note: dict[str, Any]) -> None:
                await _send_event(send, {"jsonrpc": "2.0", "method": "notifications/message", "params": note})

        try:
            message = await self.runtime.call(
                identity.actor.user_id,
                configs,
                name,
                arguments,
                meta=meta,
                progress=progress if stream else None,
                chat_id=chat_id,
                log_message=log_message if stream else None,
                oauth2_app_id=identity.oauth2_app_id,
            )
            # Only the outcome is taken from the upstream: the id is the client's own again.
            outcome = {"error": message["error"]} if "error" in message else {"result": message.get("result")}
            reply: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, **outcome}
        except ToolNotAllowed as exc:
            reply = _rpc_error(msg_id, INVALID_PARAMS, exc.reason)
        except ForcedServerUnavailable as exc:
            reply = _rpc_error(msg_id, INTERNAL_ERROR, exc.reason)
        except AuthRequired as exc:
            reply = {
                "jsonrpc": "2.0",
                "id": msg_id,
                "result": _error_result(
                    f"Authentication required for this tool's MCP server: {exc.reason}. "
                    f"Connect your account in devplane ({self.access_url})."
                ),
            }
        except UpstreamTimeout as exc:
            reply = {"jsonrpc": "2.0", "id": msg_id, "result": _error_result(f"The tool timed out: {exc.reason}.")}
        except MCPRuntimeError as exc:
            reply = {
                "jsonrpc": "2.0",
                "id": msg_id,
                "result": _error_result(f"The tool's MCP server failed: {exc.reason}."),
            }
        except Exception as exc:
            # A bug, not an upstream failure: still one JSON-RPC answer (an SSE response may have
            # started already, so an ASGI error would cut the client's stream with no reply).
            log.exception("mcp.gateway.call_failed", error=type(exc).__name__)
            reply = _rpc_error(msg_id, INTERNAL_ERROR, "Internal error while calling the tool.")
        if stream:
            await _send_event(send, reply, last=True)
        else:
            await _send_json(send, 200, reply)

    # --- prompts, resources and completion (issue 8) -------------------------------------
    async def _federated(
        self, identity: CachedIdentity, query: dict[str, list[str]], method: str, msg_id: Any, params: dict[str, Any]
    ) -> dict[str, Any]:
        assert identity.actor.user_id is not None
        user_id = identity.actor.user_id
        try:
            request = federated_params(method, params)
            configs = await self._configs(identity, query)
            if method in LIST_METHODS:
                kind = LIST_METHODS[method]
                items = await self.federation.listing(user_id, configs, kind)
                result: dict[str, Any] = {KINDS[kind][1]: items}
            elif method == "prompts/get":
                result = await self.federation.get_prompt(user_id, configs, request["name"], request["arguments"])
            elif method == "resources/read":
                result = await self.federation.read_resource(user_id, configs, request["uri"])
            else:
                ref, argument, context = request["ref"], request["argument"], request["context"]
                result = await self.federation.complete(user_id, configs, ref, argument, context)
        except FederationError as exc:
            return _rpc_error(msg_id, exc.code, exc.message)
        except ForcedServerUnavailable as exc:
            return _rpc_error(msg_id, INTERNAL_ERROR, exc.reason)
        except _HTTPError:
            raise
        except Exception as exc:
            log.exception("mcp.gateway.federated_failed", method=method, error=type(exc).__name__)
            return _rpc_error(msg_id, INTERNAL_ERROR, f"Internal error while answering {method}.")
        return {"jsonrpc": "2.0", "id": msg_id, "result": result}


def _chat_id(query: dict[str, list[str]]) -> uuid.UUID | None:
    try:
        return uuid.UUID(query["chat_id"][0]) if query.get("chat_id") else None
    except ValueError:
        return None


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _HTTPError(413, "Request body too large.")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send_json(send: Send, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    raw = fastjson.dumps(payload)
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()), *extra],
        }
    )
    await send({"type": "http.response.body", "body": raw})


async def _send_empty(send: Send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


async def _start_sse(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-store")],
        }
    )


async def _send_event(send: Send, payload: dict[str, Any], *, last: bool = False) -> None:
    data = b"event: message\ndata: " + fastjson.dumps(payload) + b"\n\n"
    await send({"type": "http.response.body", "body": data, "more_body": not last})
