"""One refresh of the whole fleet: status, then every cluster's metrics concurrently.

A cluster that is slow or dead costs at most ``time_limit`` seconds and never delays the other
rows: every request carries its own time limit and clusters are fetched side by side.  Failures
become that cluster's ``metrics_error``; its last good metrics stay on screen with their age.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import aiohttp

from tui.data.model import ClusterView, FleetView, MetricsSource
from tui.errors import MetricsError, StatusError
from tui.metrics import ClusterMetrics, Rate, Scrape, rates_between, summarize
from tui.metrics.fetch import prometheus_rates, scrape
from tui.status import ClusterStatus, FleetStatus, StatusSource

HISTORY = 30  # sparkline points: one minute at the default 2 s refresh


class FleetFeed(Protocol):
    """What the app needs from the data layer (tests substitute fixed data)."""

    async def refresh(self) -> FleetView: ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class _ClusterMemory:
    scrapes: dict[str, Scrape] = field(default_factory=dict)
    metrics: ClusterMetrics | None = None
    metrics_at: float | None = None
    rps: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))
    success: deque[float | None] = field(default_factory=lambda: deque(maxlen=HISTORY))


class FleetCollector:
    """Keeps what successive refreshes need (previous scrapes, last good data, history)."""

    def __init__(
        self,
        source: StatusSource | None,
        scrape_targets: Mapping[str, Sequence[str]] | None = None,
        *,
        time_limit: float = 1.5,
        window: str = "1m",
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._source = source
        # Names given on the command line win over the status document's URLs.
        self._targets = {k: tuple(v) for k, v in (scrape_targets or {}).items()}
        self._time_limit = time_limit
        self._window = window
        self._clock = clock
        self._wall = wall
        self._session: aiohttp.ClientSession | None = None
        self._status: FleetStatus | None = None
        self._status_at: float | None = None
        self._memory: dict[str, _ClusterMemory] = {}

    @property
    def needs_two_scrapes(self) -> bool:
        """True if some cluster is scraped directly (its first refresh yields no rates)."""
        if self._targets:
            return True
        return self._status is not None and any(
            c.prometheus_url is None and c.proxy_metrics_urls for c in self._status.clusters)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def refresh(self) -> FleetView:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        status_error = await self._refresh_status()
        statuses = {c.name: c for c in self._status.clusters} if self._status else {}
        names = list(statuses) + [n for n in self._targets if n not in statuses]
        views = await asyncio.gather(*(self._cluster(n, statuses.get(n)) for n in names))
        now = self._clock()
        return FleetView(
            now=self._wall(),
            status_origin=self._source.origin if self._source else None,
            status=self._status,
            status_error=status_error,
            status_age_s=None if self._status_at is None else now - self._status_at,
            clusters=tuple(views),
        )

    async def _refresh_status(self) -> str | None:
        if self._source is None:
            return None
        try:
            async with asyncio.timeout(self._time_limit):
                self._status = await self._source.fetch()
        except StatusError as e:
            return str(e)
        except TimeoutError:
            return f"{self._source.origin}: timed out after {self._time_limit:g}s"
        self._status_at = self._clock()
        return None

    async def _cluster(self, name: str, status: ClusterStatus | None) -> ClusterView:
        mem = self._memory.setdefault(name, _ClusterMemory())
        urls = self._targets.get(name) or (status.proxy_metrics_urls if status else ())
        prom = None if name in self._targets or status is None else status.prometheus_url
        source = MetricsSource.PROMETHEUS if prom else MetricsSource.PROXIES if urls else MetricsSource.NONE
        error: str | None = None
        try:
            if prom:
                assert self._session is not None
                fresh: ClusterMetrics | None = summarize(
                    await prometheus_rates(self._session, prom, self._time_limit, self._window))
            elif urls:
                fresh, error = await self._scrape_all(mem, urls)
            else:
                fresh = None
        except MetricsError as e:
            fresh, error = None, str(e)
        if fresh is not None:
            mem.metrics, mem.metrics_at = fresh, self._clock()
            mem.rps.append(fresh.inbound.rps)
            mem.success.append(fresh.inbound.success_rate)
        return ClusterView(
            name=name,
            status=status,
            metrics_source=source,
            metrics=mem.metrics,
            metrics_error=error,
            metrics_age_s=None if mem.metrics_at is None else self._clock() - mem.metrics_at,
            rps_history=tuple(mem.rps),
            success_history=tuple(mem.success),
        )

    async def _scrape_all(self, mem: _ClusterMemory, urls: Sequence[str]) -> tuple[ClusterMetrics | None, str | None]:
        assert self._session is not None
        session = self._session

        async def one(url: str) -> Scrape | MetricsError:
            try:
                return await scrape(session, url, self._time_limit, self._clock)
            except MetricsError as e:
                return e

        results = await asyncio.gather(*(one(u) for u in urls))
        errors = [r for r in results if isinstance(r, MetricsError)]
        rates: list[Rate] = []
        got_rates = False
        for url, result in zip(urls, results, strict=True):
            if isinstance(result, MetricsError):
                continue
            prev = mem.scrapes.get(url)
            if prev is not None and result.at > prev.at:
                rates.extend(rates_between(prev, result))
                got_rates = True
            mem.scrapes[url] = result
        error = None
        if errors:
            error = str(errors[0]) if len(errors) == 1 and len(urls) == 1 else \
                f"{len(errors)} of {len(urls)} proxies failed; first: {errors[0]}"
        return (summarize(rates) if got_rates else None), error
