"""One live session to an upstream MCP server, for one (config, credential).

The official SDK does what it is good at: the initialize handshake, version negotiation,
paginated tools/list, and the notification stream (tools/list_changed). The per-call path does
not go through it: `tools/call` is forwarded as raw JSON-RPC over pooled keep-alive connections
(mcp/http1.py) to the SDK's already-initialised session (same Mcp-Session-Id), parsing only what
it must. That is docs/decisions/0005 and 0006; SSE upstreams use the SDK for calls too, since
their answers arrive on the event stream the SDK owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import ssl
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import httpx2
import mcp_types as types
import structlog
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from devplane import fastjson
from devplane.mcp.errors import AuthRequired, SessionExpired, UpstreamError, UpstreamTimeout
from devplane.mcp.http1 import ConnectFailed, HTTPClientError, HTTPPool, Response, Target, encode_headers

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
        self._request_head: bytes | None = None  # the pass-through's request line and fixed headers
        # Federation (prompts/resources): list results by kind, with when they were fetched.
        self._lists: dict[str, tuple[list[dict[str, Any]], float]] = {}

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
    async def call_tool(self, params: dict[str, Any], progress: Progress | None = None) -> dict[str, Any]:
        """Forward a tools/call; returns the upstream's JSON-RPC message (result or error)."""
        self.last_used = time.monotonic()
        if self.transport == "sse":
            return await self._call_via_sdk(params, progress)
        return await self._call_passthrough(params, progress)

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

    def _head(self) -> bytes:
        """Request line and headers for every pass-through POST but its Content-Length.

        Built once per session (credentials, session id and protocol version are fixed for its
        life): per call only the length and the body are new.
        """
        if self._request_head is None:
            headers = {
                "Host": self._target.host_header,
                **self._headers,
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": self.protocol_version,
            }
            if self.session_id:
                headers["Mcp-Session-Id"] = self.session_id
            try:
                encoded = encode_headers(headers)
            except ValueError:  # a config saved before header values were validated at the edge
                raise UpstreamError("the server's configured headers are not valid HTTP header values") from None
            self._request_head = f"POST {self._target.path} HTTP/1.1\r\n".encode() + encoded
        return self._request_head

    def _request(self, body: bytes) -> bytes:
        return b"%sContent-Length: %d\r\n\r\n%s" % (self._head(), len(body), body)

    async def _call_passthrough(self, params: dict[str, Any], progress: Progress | None) -> dict[str, Any]:
        if not self.alive:
            raise SessionExpired("upstream session is closed")
        request_id = f"dp-{next(_ids)}"
        body = fastjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params})
        try:
            async with asyncio.timeout(self.call_timeout):
                return await self._post(self._request(body), request_id, progress)
        except TimeoutError:
            # Never retried: the upstream may have started the work. Tell it to stop.
            asyncio.get_running_loop().create_task(self._cancel(request_id))
            raise UpstreamTimeout(f"tool call timed out after {self.call_timeout:g}s") from None
        except ConnectFailed as exc:
            self._dead = True  # no connection, so nothing was sent: the caller may retry on a new session
            raise SessionExpired(f"upstream connection failed: {exc}") from None
        except HTTPClientError as exc:
            self._dead = True
            raise UpstreamError(f"upstream connection failed: {exc}") from None

    async def _post(self, request: bytes, request_id: str, progress: Progress | None) -> dict[str, Any]:
        response = await self._http.request(self._target, request, connect_timeout=self.connect_timeout)
        try:
            if response.status == 404 and self.session_id:
                # The upstream forgot the session (restarted, idle-expired) and, per the
                # transport spec, did not process the request: safe to resend on a new session.
                self._dead = True
                raise SessionExpired("upstream session expired")
            if response.status in (401, 403):
                raise AuthRequired(f"upstream rejected the credentials ({response.status})")
            if response.status >= 400:
                raise UpstreamError(f"upstream answered HTTP {response.status}")
            ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype == "application/json":
                raw = await _read_limited(response, self.max_result_bytes)
                return _find_response(_parse_json(raw), request_id)
            if ctype == "text/event-stream":
                # The response event usually arrives just before the stream's end: release()
                # below reads that end in the background, so the connection is reused (closing it
                # cost a new TCP connection per call, for us and for the upstream).
                return await self._read_events(response, request_id, progress)
            raise UpstreamError(f"upstream answered {ctype or 'no content type'}, not MCP JSON-RPC")
        except BaseException:
            response.close()
            raise
        finally:
            response.release(drain_bytes=self.max_result_bytes)  # no-op once closed

    async def _read_events(self, response: Response, request_id: str, progress: Progress | None) -> dict[str, Any]:
        async with contextlib.aclosing(_sse_messages(response, self.max_result_bytes)) as messages:
            async for message in messages:
                if message.get("id") == request_id and ("result" in message or "error" in message):
                    return message
                method = message.get("method")
                if method == "notifications/progress" and progress is not None:
                    await progress(message.get("params") or {})
                elif method == "notifications/tools/list_changed" and self._on_tools_changed is not None:
                    # Servers may send it on the call's own stream (e.g. the tool that changed the set).
                    self._on_tools_changed()
        raise UpstreamError("upstream closed the event stream without a response")

    async def _cancel(self, request_id: str) -> None:
        note = {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": request_id, "reason": "timed out"},
        }
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                response = await self._http.request(
                    self._target, self._request(fastjson.dumps(note)), connect_timeout=self.connect_timeout
                )
                try:
                    async for _ in response.chunks():
                        pass
                finally:
                    response.release()

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


async def _sse_messages(response: Response, limit: int) -> AsyncGenerator[dict[str, Any]]:
    """The JSON-RPC messages of an SSE body, at most `limit` bytes in all.

    One large tool result is one `data:` line: lines are split from the chunks as they come.
    """
    total = 0
    pending = bytearray()
    data: list[bytes | bytearray] = []
    async for chunk in response.chunks():
        total += len(chunk)
        if total > limit:
            raise UpstreamError(f"result larger than {limit} bytes")
        pending += chunk
        if b"\n" not in chunk:
            continue
        *lines, rest = pending.split(b"\n")
        pending = bytearray(rest)
        for raw in lines:
            line = raw.rstrip(b"\r")
            if line.startswith(b"data:"):
                data.append(line[5:].lstrip(b" "))
                continue
            if line or not data:
                continue
            message = _parse_json(b"\n".join(data))
            data = []
            if not isinstance(message, dict):
                raise UpstreamError("upstream sent a malformed event")
            yield message


async def _read_limited(response: Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.chunks():
        size += len(chunk)
        if size > limit:
            raise UpstreamError(f"result larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_json(raw: bytes) -> Any:
    try:
        return fastjson.loads(raw)
    except ValueError:
        raise UpstreamError("upstream answered malformed JSON") from None


def _find_response(payload: Any, request_id: str) -> dict[str, Any]:
    for message in payload if isinstance(payload, list) else [payload]:
        if (
            isinstance(message, dict)
            and message.get("id") == request_id
            and ("result" in message or "error" in message)
        ):
            return message
    raise UpstreamError("upstream answered without a JSON-RPC response to the call")


def _redact(url: str) -> str:
    """Scheme, host and path only: userinfo, query and fragment can carry secrets."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}{parts.path}"
