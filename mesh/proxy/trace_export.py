"""Sending finished spans to an OpenTelemetry collector (OTLP over HTTP, JSON encoding).

Spans leave in batches about once a second (sooner when a batch is full), over a short-lived plain HTTP/1.1
connection to ``--trace-collector``: the collector is an in-cluster service,
and a span export is too rare to be worth a pooled connection.  A batch the
collector refuses or cannot take in time is dropped and counted; spans are
telemetry, and retrying them would only hold memory while the collector is
down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from .metrics import MetricsStore
from .netio import close_writer
from .services import format_address
from .tracing import Tracer, export_request

log = logging.getLogger(__name__)

OTLP_PATH = "/v1/traces"


class ExportFailed(Exception):
    pass


class TraceExporter:
    def __init__(
        self,
        tracers: Sequence[Tracer],
        collector: tuple[str, int],
        resource: Callable[[], Sequence[tuple[str, str]]],  # asked per batch: the identity may arrive late
        metrics: MetricsStore,
        *,
        interval: float = 1.0,
        batch: int = 512,
        timeout: float = 5.0,
    ) -> None:
        self._tracers = tracers
        self._collector = collector
        self._resource = resource
        self._metrics = metrics
        self._interval = interval
        self._batch = batch
        self._timeout = timeout
        self._wake = asyncio.Event()
        for tracer in tracers:
            tracer.on_batch = self._wake.set

    async def run(self) -> None:
        """Export once a second, or as soon as a tracer holds a full batch."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Send everything buffered now, a batch at a time."""
        for tracer in self._tracers:
            if tracer.dropped:
                self._metrics.count("trace_spans_dropped", (("reason", "buffer_full"),), tracer.dropped)
                tracer.dropped = 0
            while tracer.buffered:
                spans = tracer.take(self._batch)
                body = export_request(spans, self._resource())
                try:
                    async with asyncio.timeout(self._timeout):
                        await self._post(body)
                except (ExportFailed, OSError, TimeoutError) as e:
                    self._metrics.count("trace_spans_dropped", (("reason", "export_failed"),), len(spans))
                    log.warning(
                        "%d spans not exported to %s: %s", len(spans), format_address(*self._collector), e or type(e)
                    )
                    continue
                self._metrics.count("trace_spans_exported", (), len(spans))

    async def _post(self, body: bytes) -> None:
        host, port = self._collector
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(
                b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                % (OTLP_PATH.encode(), format_address(host, port).encode(), len(body), body)
            )
            await writer.drain()
            line = await reader.readline()
        finally:
            await close_writer(writer)
        parts = line.split(b" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise ExportFailed("the collector did not answer with HTTP")
        if not 200 <= int(parts[1]) < 300:
            raise ExportFailed(f"the collector answered {int(parts[1])}")

    async def stop(self, task: asyncio.Task[None] | None) -> None:
        """Stop the periodic loop and send what is left, within the export timeout."""
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._timeout):
                await self.flush()
