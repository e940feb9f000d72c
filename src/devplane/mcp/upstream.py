"""One live session to an upstream MCP server, for one (config, credential).

The official SDK does what it is good at: the initialize handshake, version negotiation,
paginated tools/list, and the notification stream (tools/list_changed). The per-call path does
not go through it: `tools/call` is forwarded as raw JSON-RPC over pooled keep-alive connections
(mcp/http1.py, mcp/passthrough.py) to the SDK's already-initialised session (same
Mcp-Session-Id and protocol version), parsing only what it must. That is docs/decisions/0005,
0006 and 0007; legacy SSE upstreams use the SDK for calls too, since their answers arrive on the
event stream the SDK owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
import mcp_types as types
import structlog
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from devplane import fastjson
from devplane.mcp.errors import AuthRequired, SessionExpired, UpstreamError, UpstreamTimeout
from devplane.mcp.http1 import ConnectFailed, HTTPClientError, HTTPPool, Target, encode_headers
from devplane.mcp.passthrough import Listeners, PassThrough

log = structlog.get_logger(__name__)

Progress = Callable[[dict[str, Any]], Awaitable[None]]
_ids = itertools.count(1)


_ssl_lock = threading.Lock()


@functools.cache
def _build_ssl_context() -> ssl.SSLContext:
    return httpx2.create_ssl_context()


async def shared_ssl_context() -> ssl.SSLContext:
    """The shared context, built off the event loop the first time (see `_ssl_context`)."""
    return await asyncio.to_thread(_ssl_context)


def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every upstream client; call it in a worker thread.

    httpx builds a new one per client by default, and loading the CA bundle takes 50-250 ms of
    CPU: on the event loop, every new upstream session stalled the whole server that long (ten
    cold servers in a catalog took 2 s instead of 0.2 s). The lock makes it one build even when
    many sessions connect at once.
    """
    with _ssl_lock:
        return _build_ssl_context()


def _client_factory(verify: ssl.SSLContext) -> Callable[..., httpx2.AsyncClient]:
    """The SDK's SSE client factory (same timeouts and headers), with the shared TLS context."""

    def factory(
        headers: dict[str, str] | None = None, timeout: httpx2.Timeout | None = None, auth: httpx2.Auth | None = None
    ) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(headers=headers, timeout=timeout, auth=auth, verify=verify)

    return factory


def _unwrap(exc: BaseException) -> BaseException:
    """The SDK surfaces failures as nested ExceptionGroups; find the first real cause."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def describe(exc: BaseException) -> str:
    """A short reason for status reports: the exception type and a trimmed message, no headers."""
    inner = _unwrap(exc)
    text = str(inner).splitlines()[0].rstrip(" .") if str(inner) else ""
    return f"{type(inner).__name__}: {text}"[:200] if text else type(inner).__name__


class UpstreamSession:
    def __init__(
        self,
        *,
        url: str,
        transport: str,
        headers: dict[str, str],
        http: HTTPPool,
        connect_timeout: float,
        call_timeout: float,
        max_result_bytes: int,
        on_tools_changed: Callable[[], None] | None = None,
    ) -> None:
        self.url = url
        self.transport = transport
        self._headers = headers  # credentials: never logged
        self._http = http
        self.connect_timeout = connect_timeout
        self.call_timeout = call_timeout
        self.max_result_bytes = max_result_bytes
        self._on_tools_changed = on_tools_changed
        self.session_id: str | None = None
        self.protocol_version = ""
        self.last_used = time.monotonic()
        self._client: Client | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._dead = False
        self._target = Target.parse(url)
        self._pt: PassThrough | None = None  # built at the first call (see _passthrough)
        # Federation (prompts/resources): list results by kind, with when they were fetched.
        self._lists: dict[str, tuple[list[dict[str, Any]], float]] = {}
        self._listeners = Listeners(tools_changed=on_tools_changed)

    # --- lifecycle ----------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return not self._dead and self._task is not None and not self._task.done()

    async def connect(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"mcp-upstream {self.url}")
        try:
            await asyncio.wait_for(self._ready.wait(), self.connect_timeout)
        except TimeoutError:
            await self.close()
            raise UpstreamTimeout(f"connect timed out after {self.connect_timeout:g}s") from None
        except asyncio.CancelledError:
            self._task.cancel()  # our caller gave up: do not leave a half-open session behind
            raise
        if self._client is None:
            await self.close()
            raise self._connect_error()

    def _connect_error(self) -> Exception:
        inner = _unwrap(self._error) if self._error else None
        if isinstance(inner, httpx2.HTTPStatusError) and inner.response.status_code in (401, 403):
            return AuthRequired(f"upstream rejected the credentials ({inner.response.status_code})")
        text = str(inner or "")
        if "401" in text or "Unauthorized" in text:
            return AuthRequired("upstream rejected the credentials (401)")
        return UpstreamError(f"connect failed: {describe(inner) if inner else 'unknown'}")

    async def _capture_session(self, response: httpx2.Response) -> None:
        session_id = response.headers.get("mcp-session-id")
        if session_id:
            self.session_id = session_id

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification) and self._on_tools_changed:
            self._on_tools_changed()
        self._forget_lists(message)

    async def _run(self) -> None:
        try:
            timeout = httpx2.Timeout(self.call_timeout, connect=self.connect_timeout, read=300.0)
            verify = await shared_ssl_context()
            async with httpx2.AsyncClient(
                headers=self._headers,
                timeout=timeout,
                verify=verify,
                event_hooks={"response": [self._capture_session]},
            ) as http:
                if self.transport == "sse":
                    transport: Any = sse_client(
                        self.url,
                        headers=self._headers,
                        timeout=self.connect_timeout,
                        sse_read_timeout=300.0,
                        httpx_client_factory=_client_factory(verify),
                    )
                else:
                    transport = streamable_http_client(self.url, http_client=http)
                # Legacy (2025) handshake: a session id the pass-through can reuse, and the
                # notification stream that carries tools/list_changed.
                async with Client(
                    transport,
                    mode="legacy",
                    read_timeout_seconds=self.connect_timeout,
                    message_handler=self._on_message,
                    cache=None,
                ) as client:
                    self.protocol_version = client.protocol_version
                    self._client = client
                    self._ready.set()
                    await self._stop.wait()
        except BaseException as exc:
            self._error = exc
            if not self._ready.is_set():
                log.info("mcp.upstream.connect_failed", url=_redact(self.url), reason=describe(exc))
        finally:
            self._dead = True
            self._client = None
            self._ready.set()

    async def close(self) -> None:
        self._stop.set()
        self._dead = True
        if self._task is not None and not self._task.done():
            if self._client is None:
                # Still in the handshake (connect timed out): nothing to end politely, and a hung
                # upstream would hold us until the SDK's own read timeout.
                self._task.cancel()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 5)
            except (TimeoutError, Exception):
                self._task.cancel()
                with contextlib.suppress(BaseException):
                    await self._task

    # --- catalog ------------------------------------------------------------------------
    async def list_tools(self) -> list[dict[str, Any]]:
        client = self._require()
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        try:
            for _ in range(100):  # bounded: a server that pages forever cannot hang us
                page = await client.list_tools(cursor=cursor)
                tools.extend(t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in page.tools)
                cursor = page.next_cursor
                if cursor is None:
                    break
        except BaseException as exc:
            raise self._map(exc) from None
        self.last_used = time.monotonic()
        return tools

    def _require(self) -> Client:
        if self._client is None or not self.alive:
            raise SessionExpired("upstream session is closed")
        return self._client

    def _map(self, exc: BaseException) -> Exception:
        inner = _unwrap(exc)
        if isinstance(inner, asyncio.CancelledError):
            self._dead = True
            return UpstreamError("upstream session dropped")
        if isinstance(inner, TimeoutError) or getattr(inner, "code", None) == types.REQUEST_TIMEOUT:
            return UpstreamTimeout(f"upstream did not answer within {self.call_timeout:g}s")
        return UpstreamError(describe(inner))

    # --- calls --------------------------------------------------------------------------
    async def call_tool(
        self, params: dict[str, Any], progress: Progress | None = None, log_message: Progress | None = None
    ) -> dict[str, Any]:
        """Forward a tools/call; returns the upstream's JSON-RPC message (result or error).

        `progress` and `log_message` get the params of the progress and logging notifications
        the upstream sends about this call (log messages: streamable HTTP upstreams only).
        """
        self.last_used = time.monotonic()
        if self.transport == "sse":
            return await self._call_via_sdk(params, progress)
        return await self._call_passthrough(params, progress, log_message)

    async def _call_via_sdk(self, params: dict[str, Any], forward: Progress | None) -> dict[str, Any]:
        client = self._require()

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            if forward is not None:
                token = (params.get("_meta") or {}).get("progressToken")
                await forward({"progressToken": token, "progress": progress, "total": total, "message": message})

        try:
            result = await client.call_tool(
                params["name"],
                params.get("arguments") or {},
                read_timeout_seconds=self.call_timeout,
                progress_callback=on_progress,
            )
        except BaseException as exc:
            task = asyncio.current_task()
            if isinstance(exc, asyncio.CancelledError) and task is not None and task.cancelling():
                raise  # our caller was cancelled (client gone): not an upstream failure
            code = getattr(_unwrap(exc), "code", None)
            if code == types.CONNECTION_CLOSED:
                # The SDK's own error, not the upstream's answer: its event stream died (dropped
                # connection, or an event over the SDK's 1 MiB limit). The session is gone.
                raise await self._dropped() from None
            mapped = self._map(exc)
            if isinstance(mapped, UpstreamError) and code is not None:
                err = _unwrap(exc)
                return {"error": {"code": code, "message": str(err)[:500]}}
            raise mapped from None
        body = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        if len(fastjson.dumps(body)) > self.max_result_bytes:
            raise UpstreamError(f"result larger than {self.max_result_bytes} bytes")
        return {"result": body}

    async def _dropped(self) -> UpstreamError:
        self._dead = True
        self._stop.set()
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=1.0)  # let it record why it ended
        cause = f": {describe(self._error)}" if self._error is not None else ""
        return UpstreamError(f"upstream connection closed{cause}")

    def _passthrough(self) -> PassThrough:
        """The pass-through for this session, built once: credentials, session id and protocol
        version are fixed for the session's life, so per call only the length and body are new."""
        if self._pt is None:
            headers = {
                "Host": self._target.host_header,
                **self._headers,
                "MCP-Protocol-Version": self.protocol_version,
            }
            if self.session_id:
                headers["Mcp-Session-Id"] = self.session_id
            post = {**headers, "Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
            try:
                post_head = encode_headers(post)
                get_head = encode_headers({**headers, "Accept": "text/event-stream"})
            except ValueError:  # a config saved before header values were validated at the edge
                raise UpstreamError("the server's configured headers are not valid HTTP header values") from None
            self._pt = PassThrough(
                http=self._http,
                target=self._target,
                post_head=f"POST {self._target.path} HTTP/1.1\r\n".encode() + post_head,
                get_head=f"GET {self._target.path} HTTP/1.1\r\n".encode() + get_head,
                has_session=bool(self.session_id),
                connect_timeout=self.connect_timeout,
                max_result_bytes=self.max_result_bytes,
            )
        return self._pt

    async def _call_passthrough(
        self, params: dict[str, Any], progress: Progress | None, log_message: Progress | None
    ) -> dict[str, Any]:
        if not self.alive:
            raise SessionExpired("upstream session is closed")
        passthrough = self._passthrough()
        request_id = f"dp-{next(_ids)}"
        body = fastjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params})
        if progress is None and log_message is None:
            listeners = self._listeners  # the usual call: nothing per call to build
        else:
            listeners = Listeners(progress=progress, log=log_message, tools_changed=self._on_tools_changed)
        try:
            async with asyncio.timeout(self.call_timeout):
                return await passthrough.call(request_id, body, listeners)
        except TimeoutError:
            # Never retried: the upstream may have started the work. Tell it to stop.
            note = {
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": request_id, "reason": "timed out"},
            }
            task = asyncio.get_running_loop().create_task(passthrough.send_and_forget(fastjson.dumps(note)))
            _background.add(task)
            task.add_done_callback(_background.discard)
            raise UpstreamTimeout(f"tool call timed out after {self.call_timeout:g}s") from None
        except SessionExpired:
            self._dead = True
            raise
        except ConnectFailed as exc:
            self._dead = True  # no connection, so nothing was sent: the caller may retry on a new session
            raise SessionExpired(f"upstream connection failed: {exc}") from None
        except HTTPClientError as exc:
            self._dead = True
            raise UpstreamError(f"upstream connection failed: {exc}") from None

    # --- prompts, resources and completion (gateway federation, issue 8) ------------------
    # Through the SDK session, not the pass-through: they are rare, and the SDK validates the
    # answers. List results are cached here, so per config version and credential, gone with
    # the session when its config changes, and dropped on the server's list_changed.
    def offers(self, capability: str) -> bool:
        """Whether the server announced `prompts`, `resources` or `completions` at initialize."""
        return getattr(self._require().server_capabilities, capability, None) is not None

    def _forget_lists(self, message: Any) -> None:
        if isinstance(message, types.PromptListChangedNotification):
            self._lists.pop("prompts", None)
        elif isinstance(message, types.ResourceListChangedNotification):
            self._lists.pop("resources", None)
            self._lists.pop("templates", None)

    async def list_cached(self, kind: str, ttl: float) -> list[dict[str, Any]]:
        """Every item of `prompts`, `resources` or `templates`, all pages, cached for `ttl` seconds."""
        hit = self._lists.get(kind)
        if hit is not None and time.monotonic() - hit[1] < ttl:
            return hit[0]
        items = await self._list_all(kind)
        self._lists[kind] = (items, time.monotonic())
        return items

    async def _list_all(self, kind: str) -> list[dict[str, Any]]:
        client = self._require()
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        try:
            async with asyncio.timeout(self.call_timeout):
                for _ in range(100):  # bounded: a server that pages forever cannot hang us
                    page: Any
                    if kind == "prompts":
                        page = await client.list_prompts(cursor=cursor)
                        found: list[Any] = list(page.prompts)
                    elif kind == "resources":
                        page = await client.list_resources(cursor=cursor)
                        found = list(page.resources)
                    else:
                        page = await client.list_resource_templates(cursor=cursor)
                        found = list(page.resource_templates)
                    items.extend(_wire(i) for i in found)
                    cursor = page.next_cursor
                    if cursor is None:
                        break
        except BaseException as exc:
            raise await self._sdk_failure(exc) from None
        self.last_used = time.monotonic()
        return items

    async def get_prompt(self, name: str, arguments: dict[str, str] | None) -> dict[str, Any]:
        """prompts/get: {"result": ...} or the upstream's {"error": ...}."""
        return await self._sdk_request(lambda client: client.get_prompt(name, arguments))

    async def read_resource(self, uri: str) -> dict[str, Any]:
        return await self._sdk_request(lambda client: client.read_resource(uri, cache_mode="bypass"))

    async def complete(
        self, ref: dict[str, Any], argument: dict[str, str], context: dict[str, str] | None
    ) -> dict[str, Any]:
        typed: types.PromptReference | types.ResourceTemplateReference = (
            types.PromptReference(name=ref["name"])
            if ref["type"] == "ref/prompt"
            else types.ResourceTemplateReference(uri=ref["uri"])
        )
        return await self._sdk_request(lambda client: client.complete(typed, argument, context))

    async def _sdk_request(self, send: Callable[[Client], Awaitable[Any]]) -> dict[str, Any]:
        client = self._require()
        self.last_used = time.monotonic()
        try:
            async with asyncio.timeout(self.call_timeout):
                result = await send(client)
        except BaseException as exc:
            inner = _unwrap(exc)
            code = getattr(inner, "code", None)
            if code is not None and code not in (types.CONNECTION_CLOSED, types.REQUEST_TIMEOUT):
                # The upstream's own JSON-RPC error (unknown prompt, bad arguments): relayed.
                return {"error": {"code": code, "message": str(inner)[:500]}}
            raise await self._sdk_failure(exc) from None
        body = _wire(result)
        if len(fastjson.dumps(body)) > self.max_result_bytes:
            raise UpstreamError(f"result larger than {self.max_result_bytes} bytes")
        return {"result": body}

    async def _sdk_failure(self, exc: BaseException) -> BaseException:
        task = asyncio.current_task()
        if isinstance(exc, asyncio.CancelledError) and task is not None and task.cancelling():
            return exc  # our caller was cancelled: not an upstream failure
        if getattr(_unwrap(exc), "code", None) == types.CONNECTION_CLOSED:
            return await self._dropped()
        return self._map(exc)


def _wire(model: Any) -> dict[str, Any]:
    """An SDK result as the upstream sent it: no field the SDK only filled with a default
    (2026-era `ttlMs`, `resultType`... would be news to a 2025 gateway client)."""
    body: dict[str, Any] = model.model_dump(by_alias=True, mode="json", exclude_unset=True, exclude_none=True)
    return body


_background: set[asyncio.Task[None]] = set()  # fire-and-forget tasks, referenced until done


def _redact(url: str) -> str:
    """Scheme, host and path only: userinfo, query and fragment can carry secrets."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}{parts.path}"
