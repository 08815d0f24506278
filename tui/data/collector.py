"""The fleet overview on every refresh; one cluster's workloads only when a screen asks.

A refresh asks each cluster for its cluster-wide figures only (one small Prometheus query, or
one scrape per proxy), so its cost grows with the number of clusters, not with workloads.  The
per-workload breakdown of one cluster, or the routes, pods and callers of one workload, are
fetched by :meth:`FleetCollector.detail` while a drill-down screen shows them.

A cluster that is slow or dead costs at most ``time_limit`` seconds and never delays the other
rows: every request carries its own time limit and clusters are fetched side by side.  Failures
become that cluster's ``metrics_error``; its last good metrics stay on screen with their age.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import aiohttp

from tui.data.model import ClusterDetail, ClusterView, FleetView, MetricsSource
from tui.errors import MetricsError, StatusError
from tui.metrics import (
    ClusterMetrics,
    GoldenSignals,
    Rate,
    Scrape,
    golden,
    overview_query,
    rate_queries,
    rates_between,
    summarize,
    workloads_query,
)
from tui.metrics.fetch import prometheus_query, prometheus_rates, scrape
from tui.status import ClusterStatus, FleetStatus, StatusSource

HISTORY = 30  # sparkline points: one minute at the default 2 s refresh
DETAILS_KEPT = 8  # last good drill-down readings kept for going back and forth between screens

Workload = tuple[str, str]  # (namespace, deployment)


class FleetFeed(Protocol):
    """What the app needs from the data layer (tests substitute fixed data)."""

    async def refresh(self) -> FleetView: ...

    async def detail(self, cluster: str, workload: Workload | None = None) -> ClusterDetail: ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class _ClusterMemory:
    scrapes: dict[str, Scrape] = field(default_factory=dict)
    # Rates of the latest scrape round of a directly scraped cluster: its drill-down is computed
    # from them on demand, so a refresh does no per-workload work.
    rates: tuple[Rate, ...] | None = None
    metrics: GoldenSignals | None = None
    metrics_at: float | None = None
    rps: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))
    success: deque[float | None] = field(default_factory=lambda: deque(maxlen=HISTORY))


@dataclass(frozen=True, slots=True)
class _Source:
    kind: MetricsSource
    prometheus: str | None
    urls: tuple[str, ...]


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
        self._overview = overview_query(window)
        self._clock = clock
        self._wall = wall
        self._session: aiohttp.ClientSession | None = None
        self._status: FleetStatus | None = None
        self._status_at: float | None = None
        self._memory: dict[str, _ClusterMemory] = {}
        self._details: OrderedDict[tuple[str, Workload | None], tuple[ClusterMetrics, float]] = OrderedDict()

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

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    # --- the overview ----------------------------------------------------------------------
    async def refresh(self) -> FleetView:
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

    def _source_of(self, name: str, status: ClusterStatus | None) -> _Source:
        urls = self._targets.get(name) or (status.proxy_metrics_urls if status else ())
        prom = None if name in self._targets or status is None else status.prometheus_url
        kind = MetricsSource.PROMETHEUS if prom else MetricsSource.PROXIES if urls else MetricsSource.NONE
        return _Source(kind, prom, tuple(urls))

    async def _cluster(self, name: str, status: ClusterStatus | None) -> ClusterView:
        mem = self._memory.setdefault(name, _ClusterMemory())
        src = self._source_of(name, status)
        error: str | None = None
        fresh: GoldenSignals | None = None
        try:
            if src.prometheus:
                # Every series of the overview answer is inbound already (the query selects it).
                fresh = golden(await prometheus_query(self._http(), src.prometheus, self._overview,
                                                      self._time_limit))
            elif src.urls:
                rates, error = await self._scrape_all(mem, src.urls)
                if rates is not None:
                    mem.rates = rates
                    fresh = golden(r for r in rates if r.label("direction") == "inbound")
        except MetricsError as e:
            error = str(e)
        if fresh is not None:
            mem.metrics, mem.metrics_at = fresh, self._clock()
            mem.rps.append(fresh.rps)
            mem.success.append(fresh.success_rate)
        return ClusterView(
            name=name,
            status=status,
            metrics_source=src.kind,
            metrics=mem.metrics,
            metrics_error=error,
            metrics_age_s=None if mem.metrics_at is None else self._clock() - mem.metrics_at,
            rps_history=tuple(mem.rps),
            success_history=tuple(mem.success),
        )

    async def _scrape_all(self, mem: _ClusterMemory, urls: Sequence[str]) -> tuple[tuple[Rate, ...] | None,
                                                                                    str | None]:
        session = self._http()

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
        return (tuple(rates) if got_rates else None), error

    # --- drill-down, on demand -------------------------------------------------------------
    async def detail(self, cluster: str, workload: Workload | None = None) -> ClusterDetail:
        """``cluster``'s workloads (and ``workload``'s routes, pods and callers, if given).

        With Prometheus this sends one query sized to the screen; for a cluster scraped directly
        it reuses the rates of the latest refresh, so it never takes a scrape window away from it.
        """
        status = self._status.cluster(cluster) if self._status else None
        src = self._source_of(cluster, status)
        key = (cluster, workload)
        error: str | None = None
        fresh: ClusterMetrics | None = None
        try:
            if src.prometheus:
                fresh = summarize(await self._prometheus_detail(src.prometheus, workload))
            elif src.urls:
                rates = self._memory.get(cluster, _ClusterMemory()).rates
                if rates is not None:
                    fresh = summarize(rates if workload is None else
                                      (r for r in rates if (r.label("namespace"), r.label("deployment")) == workload))
            else:
                error = "no metrics source"
        except MetricsError as e:
            error = str(e)
        if fresh is not None:
            self._details[key] = (fresh, self._clock())
        if key in self._details:
            self._details.move_to_end(key)
        while len(self._details) > DETAILS_KEPT:
            self._details.popitem(last=False)
        kept = self._details.get(key)
        return ClusterDetail(
            cluster=cluster,
            workload=workload,
            metrics_source=src.kind,
            metrics=kept[0] if kept else None,
            error=error,
            age_s=None if kept is None else self._clock() - kept[1],
        )

    async def _prometheus_detail(self, base_url: str, workload: Workload | None) -> tuple[Rate, ...]:
        if workload is None:
            return await prometheus_query(self._http(), base_url, workloads_query(self._window), self._time_limit)
        return await prometheus_rates(self._http(), base_url, rate_queries(self._window, workload), self._time_limit)
