"""MCP tool-call metrics in the Prometheus text exposition format (version 0.0.4).

Hand-written rather than prometheus_client: five series families do not justify a dependency,
and its process-global default registry would be shared by every app a test process starts.
Fed by the runtime's recorder (see calllog.fan_out); read by GET /api/v2/metrics.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from devplane.mcp.runtime import CallRecord

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds, 1 ms to 60 s (the default call timeout); +Inf is implied.
BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# Label values come partly from upstreams (JSON-RPC error codes in error_class); cap the series
# so a hostile or buggy upstream cannot grow memory and scrape size without bound.
MAX_SERIES = 2000
OVERFLOW = "other"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Iterable[str], values: Iterable[str]) -> str:
    pairs = ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True))
    return f"{{{pairs}}}" if pairs else ""


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds


class MCPMetrics:
    def __init__(self) -> None:
        self.calls: dict[tuple[str, str], int] = {}
        self.errors: dict[tuple[str, str], int] = {}
        self.durations: dict[str, _Histogram] = {}

    def _bump(self, series: dict[tuple[str, str], int], server: str, label: str) -> None:
        key = (server, label)
        if key not in series and len(series) >= MAX_SERIES:
            key = (server, OVERFLOW)
        series[key] = series.get(key, 0) + 1

    def observe(self, rec: CallRecord) -> None:
        """Count one call (a recorder: synchronous, constant time, no I/O)."""
        server = rec.server_slug
        self._bump(self.calls, server, rec.outcome)
        if rec.outcome != "ok":
            # tool_error carries no class of its own: it is the tool saying no, so name it by outcome.
            self._bump(self.errors, server, rec.error_class or rec.outcome)
        histogram = self.durations.get(server)
        if histogram is None:
            histogram = self.durations.setdefault(
                server if len(self.durations) < MAX_SERIES else OVERFLOW, _Histogram()
            )
        histogram.observe(rec.duration_ms / 1000)

    def render(self, *, sessions_open: int, dropped: Mapping[str, int]) -> str:
        """The exposition text; `sessions_open` and `dropped` are read at scrape time."""
        lines: list[str] = []

        def family(name: str, kind: str, help_text: str) -> None:
            lines.extend((f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"))

        family("devplane_mcp_tool_calls_total", "counter", "MCP tool calls by server and outcome.")
        for (server, outcome), n in sorted(self.calls.items()):
            lines.append(f"devplane_mcp_tool_calls_total{_labels(('server', 'outcome'), (server, outcome))} {n}")
        family("devplane_mcp_tool_call_errors_total", "counter", "MCP tool calls that did not succeed, by class.")
        for (server, error_class), n in sorted(self.errors.items()):
            labels = _labels(("server", "error_class"), (server, error_class))
            lines.append(f"devplane_mcp_tool_call_errors_total{labels} {n}")
        name = "devplane_mcp_tool_call_duration_seconds"
        family(name, "histogram", "MCP tool call latency through devplane, in seconds.")
        for server, histogram in sorted(self.durations.items()):
            cumulative = 0
            for bound, count in zip([*map(_num, BUCKETS), "+Inf"], histogram.counts, strict=True):
                cumulative += count
                lines.append(f"{name}_bucket{_labels(('server', 'le'), (server, bound))} {cumulative}")
            lines.append(f"{name}_sum{_labels(('server',), (server,))} {_num(histogram.total)}")
            lines.append(f"{name}_count{_labels(('server',), (server,))} {cumulative}")
        family("devplane_mcp_pool_sessions_open", "gauge", "Upstream MCP sessions open in this replica's pool.")
        lines.append(f"devplane_mcp_pool_sessions_open {sessions_open}")
        family(
            "devplane_mcp_tool_call_log_dropped_total",
            "counter",
            "Tool-call log rows not written (queue_full: the writer fell behind; write_error; closed).",
        )
        for reason, n in sorted(dropped.items()):
            lines.append(f"devplane_mcp_tool_call_log_dropped_total{_labels(('reason',), (reason,))} {n}")
        return "\n".join(lines) + "\n"
