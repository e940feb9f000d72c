"""The pass-through's streamable HTTP client: one tools/call, end to end (docs/decisions/0007).

Streamable HTTP revisions 2025-03-26, 2025-06-18 and 2025-11-25, with the protocol version and
session id that the SDK session negotiated (the caller builds the request heads once per
session). What a server may do with a call, and what we do about it:

- answer JSON, a single message or a batch: the response with our id is taken;
- answer an event stream (parsed by devplane.mcp.sse, so priming events, comments, CR line
  ends and the rest of the WHATWG rules hold): progress and log notifications go to the
  caller's listeners, tools/list_changed to the session;
- send requests on the call's stream: answered at once by a POST back, so a call never hangs
  on them. `ping` gets a result; anything else (sampling, elicitation, roots) gets a JSON-RPC
  error, since devplane's client declares none of those capabilities;
- end the stream before the response (2025-11-25 servers may, and have the client poll):
  resumed with GET + Last-Event-ID after the server's `retry` delay, until the response arrives
  or the caller's call timeout (the caller bounds the whole call).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from devplane import fastjson
from devplane.mcp.errors import AuthRequired, SessionExpired, UpstreamError
from devplane.mcp.http1 import HTTPPool, Response, Target, encode_headers
from devplane.mcp.sse import EventStreamParser

log = structlog.get_logger(__name__)

Notify = Callable[[dict[str, Any]], Awaitable[None]]

DEFAULT_RETRY_SECONDS = 1.0  # the TypeScript SDK client's initial reconnection delay
MAX_RETRY_SECONDS = 30.0  # a server's `retry:` above this is capped (the call timeout bounds it anyway)
MAX_RESUMES = 100  # bounded even if the server keeps ending the stream with nothing new
ANSWER_TIMEOUT = 5.0  # a POST back (answer to a server request, cancel notification)
METHOD_NOT_FOUND = -32601


@dataclass(frozen=True, slots=True)
class Listeners:
    """Where a call's notifications go: each gets the notification's params."""

    progress: Notify | None = None
    log: Notify | None = None
    tools_changed: Callable[[], None] | None = None


@dataclass(slots=True)
class _CallState:
    request_id: str
    limit: int
    received: int = 0
    last_event_id: str = ""
    retry: float = DEFAULT_RETRY_SECONDS
    answered: set[str] | None = None  # server requests answered on this call (made when one comes)


class PassThrough:
    """Sends one session's calls. `post_head` and `get_head` are request lines plus fixed headers."""

    def __init__(
        self,
        *,
        http: HTTPPool,
        target: Target,
        post_head: bytes,
        get_head: bytes,
        has_session: bool,
        connect_timeout: float,
        max_result_bytes: int,
    ) -> None:
        self._http = http
        self._target = target
        self._post_head = post_head
        self._get_head = get_head
        self._has_session = has_session
        self._connect_timeout = connect_timeout
        self._limit = max_result_bytes

    def post(self, body: bytes) -> bytes:
        return b"%sContent-Length: %d\r\n\r\n%s" % (self._post_head, len(body), body)

    def _get(self, last_event_id: str) -> bytes:
        try:
            extra = encode_headers({"Last-Event-ID": last_event_id})
        except ValueError:
            raise UpstreamError("upstream sent an event id that is not a valid header value") from None
        return self._get_head + extra + b"\r\n"

    async def call(self, request_id: str, body: bytes, listeners: Listeners) -> dict[str, Any]:
        """POST one request and return the JSON-RPC response to it (result or error).

        Raises SessionExpired only when the request was certainly not processed (the upstream
        forgot the session and said so with 404 before doing anything).
        """
        state = _CallState(request_id, self._limit)
        response = await self._http.request(self._target, self.post(body), connect_timeout=self._connect_timeout)
        try:
            if response.status == 404 and self._has_session:
                # The upstream forgot the session (restarted, idle-expired) and, per the
                # transport spec, did not process the request: safe to resend on a new session.
                raise SessionExpired("upstream session expired")
            self._check_status(response)
            ctype = _content_type(response)
            if ctype == "application/json":
                raw = await _read_limited(response, self._limit)
                return _find_response(_parse_json(raw), request_id)
            if ctype != "text/event-stream":
                raise UpstreamError(f"upstream answered {ctype or 'no content type'}, not MCP JSON-RPC")
            # The response event usually arrives just before the stream's end: release() below
            # reads that end in the background, so the connection is reused.
            found = await self._read_stream(response, state, listeners)
        except BaseException:
            response.close()
            raise
        finally:
            response.release(drain_bytes=self._limit)  # no-op once closed
        if found is not None:
            return found
        return await self._resume(state, listeners)

    def _check_status(self, response: Response) -> None:
        if response.status in (401, 403):
            raise AuthRequired(f"upstream rejected the credentials ({response.status})")
        if response.status == 202:
            raise UpstreamError("upstream answered 202 Accepted to a request, with no response")
        if response.status >= 400 or response.status < 200:
            raise UpstreamError(f"upstream answered HTTP {response.status}")

    async def _resume(self, state: _CallState, listeners: Listeners) -> dict[str, Any]:
        if not state.last_event_id:
            raise UpstreamError("upstream closed the event stream without a response")
        for _ in range(MAX_RESUMES):
            await asyncio.sleep(state.retry)
            response = await self._http.request(
                self._target, self._get(state.last_event_id), connect_timeout=self._connect_timeout
            )
            try:
                if response.status == 405:
                    raise UpstreamError("upstream ended the event stream early and does not offer resuming it")
                if response.status == 404:
                    # Never SessionExpired here: the call was sent, it may have been processed.
                    raise UpstreamError("upstream forgot the session while the call was in progress")
                self._check_status(response)
                if _content_type(response) != "text/event-stream":
                    raise UpstreamError("upstream answered a resume without an event stream")
                found = await self._read_stream(response, state, listeners)
            except BaseException:
                response.close()
                raise
            finally:
                response.release(drain_bytes=self._limit)
            if found is not None:
                return found
        raise UpstreamError(f"upstream ended the event stream {MAX_RESUMES} times without a response")

    async def _read_stream(self, response: Response, state: _CallState, listeners: Listeners) -> dict[str, Any] | None:
        parser = EventStreamParser()
        parser.last_event_id = state.last_event_id  # a resumed stream without ids keeps ours
        try:
            async for chunk in response.chunks():
                state.received += len(chunk)
                if state.received > state.limit:
                    raise UpstreamError(f"result larger than {state.limit} bytes")
                for event in parser.feed(chunk):
                    if event.type != "message" or not event.data.strip():
                        continue  # another event type is not ours; whitespace is no message
                    payload = _parse_json(event.data)
                    for message in payload if isinstance(payload, list) else [payload]:
                        if not isinstance(message, dict):
                            raise UpstreamError("upstream sent a malformed event")
                        if await self._on_message(message, state, listeners):
                            return message
        finally:
            state.last_event_id = parser.last_event_id
            if parser.retry_ms is not None:
                state.retry = min(parser.retry_ms / 1000, MAX_RETRY_SECONDS)
        return None

    async def _on_message(self, message: dict[str, Any], state: _CallState, listeners: Listeners) -> bool:
        """Handle one message from the call's stream; True when it is the call's response."""
        method = message.get("method")
        if not isinstance(method, str):
            return message.get("id") == state.request_id and ("result" in message or "error" in message)
        if "id" in message:
            await self._answer(message, method, state)
            return False
        params = message.get("params")
        note = params if isinstance(params, dict) else {}
        if method == "notifications/progress" and listeners.progress is not None:
            await listeners.progress(note)
        elif method == "notifications/message" and listeners.log is not None:
            await listeners.log(note)
        elif method == "notifications/tools/list_changed" and listeners.tools_changed is not None:
            # Servers may send it on the call's own stream (e.g. the tool that changed the set).
            listeners.tools_changed()
        return False

    async def _answer(self, request: dict[str, Any], method: str, state: _CallState) -> None:
        """Answer a server's request at once, so the server is never left waiting on us."""
        key = fastjson.dumps(request["id"]).decode()
        if state.answered is None:
            state.answered = set()
        elif key in state.answered:
            return  # replayed after a resume: answered already
        state.answered.add(key)
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request["id"]}
        if method == "ping":
            reply["result"] = {}
        else:
            reply["error"] = {
                "code": METHOD_NOT_FOUND,
                "message": f"{method[:100]} is not supported: devplane's MCP client does not offer sampling, "
                "elicitation or roots, and declares no such capability",
            }
        await self.send_and_forget(fastjson.dumps(reply))

    async def send_and_forget(self, body: bytes) -> None:
        """POST a message that needs no answer (a response, a notification); failures are logged only."""
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT):
                response = await self._http.request(
                    self._target, self.post(body), connect_timeout=self._connect_timeout
                )
                try:
                    async for _ in response.chunks():
                        pass
                finally:
                    response.release()
            if response.status >= 400:
                log.info("mcp.upstream.post_back_refused", status=response.status)
        except Exception as exc:
            log.info("mcp.upstream.post_back_failed", error=type(exc).__name__)


def _content_type(response: Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


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
