"""The tool-call log's background writer, and the recorder fan-out the runtime calls.

`MCPRuntime.call` hands every `CallRecord` to its recorder synchronously, on the hot path. So
`ToolCallLog.record` only enqueues (never awaits, never blocks); when the bounded queue is full
the record is dropped and counted, because a slow database must never slow a tool call. A flush
loop writes batches (up to `batch_size` rows, or whatever arrived within `interval` seconds) in
one system transaction each. Records hold sizes only: arguments and results never get here.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import Callable

import structlog

from devplane.db.database import Database
from devplane.db.mcp_rows import MCPToolCallRow
from devplane.mcp.runtime import CallRecord, Recorder

log = structlog.get_logger(__name__)

# Why a record was not written; the metric devplane_mcp_tool_call_log_dropped_total{reason}.
DROP_REASONS = ("queue_full", "write_error", "closed")


def fan_out(*recorders: Callable[[CallRecord], None]) -> Recorder:
    """One recorder that calls each of `recorders`. A failing one is logged and skipped: the
    runtime calls its recorder in a `finally`, where an exception would replace the call's result."""

    def record(rec: CallRecord) -> None:
        for recorder in recorders:
            try:
                recorder(rec)
            except Exception as exc:
                log.warning("mcp.call_recorder_failed", recorder=repr(recorder), error=type(exc).__name__)

    return record


def to_row(rec: CallRecord) -> MCPToolCallRow:
    return MCPToolCallRow(
        id=uuid.uuid4(),
        created_at=dt.datetime.fromtimestamp(rec.started_at, dt.UTC),
        user_id=rec.user_id,
        chat_id=rec.chat_id,
        mcp_server_config_id=rec.config_id,
        server_slug=rec.server_slug,
        tool=rec.tool,
        duration_ms=rec.duration_ms,
        outcome=rec.outcome,
        error_class=rec.error_class,
        arguments_bytes=rec.arguments_bytes,
        result_bytes=rec.result_bytes,
        oauth2_app_id=rec.oauth2_app_id,
    )


class ToolCallLog:
    def __init__(self, db: Database, *, max_queue: int = 10_000, batch_size: int = 500, interval: float = 0.5) -> None:
        self.db = db
        self.batch_size = batch_size
        self.interval = interval
        self.dropped: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)
        self.written = 0
        self._queue: asyncio.Queue[CallRecord] = asyncio.Queue(max_queue)
        self._enough = asyncio.Event()  # a full batch is waiting: flush before the interval ends
        self._task: asyncio.Task[None] | None = None
        self._writing: asyncio.Task[None] | None = None
        self._held: list[CallRecord] = []
        self._closed = False

    # --- hot path ----------------------------------------------------------------------------
    def record(self, rec: CallRecord) -> None:
        """Enqueue one call, or drop and count it. Never blocks; safe to call before `start()`."""
        if self._closed:
            self.dropped["closed"] += 1
            return
        try:
            self._queue.put_nowait(rec)
        except asyncio.QueueFull:
            self.dropped["queue_full"] += 1
            return
        if self._queue.qsize() >= self.batch_size:
            self._enough.set()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    # --- background ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="mcp-tool-call-log")

    async def _run(self) -> None:
        while True:
            # Held on self while waiting: close() cancels this loop and still writes it.
            self._held = [await self._queue.get()]
            if self._queue.qsize() + 1 < self.batch_size:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.interval):
                        await self._enough.wait()
            self._enough.clear()
            batch, self._held = [*self._held, *self._take(self.batch_size - 1)], []
            # Shielded: close() cancels this loop, but lets a batch already being written finish.
            self._writing = asyncio.ensure_future(self._write(batch))
            await asyncio.shield(self._writing)

    def _take(self, limit: int) -> list[CallRecord]:
        taken: list[CallRecord] = []
        while len(taken) < limit:
            try:
                taken.append(self._queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        return taken

    async def _write(self, batch: list[CallRecord]) -> None:
        try:
            async with self.db.transaction() as tx:
                await tx.system("write tool-call log").insert_mcp_tool_calls([to_row(r) for r in batch])
        except Exception as exc:
            # No retry: the log is best effort, and a retry loop could grow without bound.
            self.dropped["write_error"] += len(batch)
            log.warning("mcp.tool_call_log.write_failed", rows=len(batch), error=type(exc).__name__)
        else:
            self.written += len(batch)

    async def flush(self) -> None:
        """Write everything queued now (tests, shutdown)."""
        while batch := self._take(self.batch_size):
            await self._write(batch)

    async def close(self) -> None:
        """Stop the loop, finish the batch in flight, write what is still queued."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._writing is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._writing
        held, self._held = self._held, []
        if held:
            await self._write(held)
        await self.flush()
