"""The webhook over HTTPS (aiohttp), the namespace lookup it needs, and the admin app."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from ._config import InjectorConfig
from ._patch import compute_injection
from ._review import parse_review, review_response
from .errors import MalformedReview

log = logging.getLogger(__name__)

INJECT_PATH = "/inject"
MAX_BODY = 3 * 1024 * 1024  # the API server's own request limit

NamespaceLookup = Callable[[str], Awaitable[Mapping[str, Any] | None]]
# Makes sure a namespace has the trust bundle a meshed pod mounts; a warning when it may not.
BundleEnsurer = Callable[[str], Awaitable[str | None]]


class InjectorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.reviews = Counter(
            "injector_reviews", "Admission reviews answered, by outcome.", ["outcome"], registry=self.registry
        )
        self.latency = Histogram(
            "injector_review_duration_seconds",
            "Time to answer one admission review.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )


class NamespaceCache:
    """Namespaces change rarely and pods are created in bursts: keep answers for a few seconds."""

    def __init__(self, fetch: NamespaceLookup, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, Mapping[str, Any] | None]] = {}

    async def get(self, name: str) -> Mapping[str, Any] | None:
        hit = self._cache.get(name)
        now = self._clock()
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        value = await self._fetch(name)
        self._cache[name] = (now, value)
        return value


def build_app(
    config: InjectorConfig,
    namespaces: NamespaceLookup,
    metrics: InjectorMetrics,
    ensure_bundle: BundleEnsurer | None = None,
) -> web.Application:
    async def inject(request: web.Request) -> web.Response:
        started = time.perf_counter()
        uid = ""
        try:
            body = await request.read()
            review = parse_review(body)
            uid = review.uid
            warnings: list[str] = []
            try:
                namespace = await namespaces(review.namespace) if review.namespace else None
            except Exception as e:  # any lookup failure must still let the pod through
                namespace = None
                warnings.append(f"meshfleet injector: namespace {review.namespace} unreadable ({type(e).__name__})")
            injection = compute_injection(review.pod, namespace, review.namespace, config)
            warnings.extend(injection.warnings)
            if injection.patch and ensure_bundle is not None and review.namespace:
                try:
                    problem = await ensure_bundle(review.namespace)
                except Exception as e:  # the pod is admitted all the same; the sync loop retries the copy
                    problem = f"trust bundle copy into {review.namespace} failed ({type(e).__name__})"
                if problem:
                    log.warning("pod in %s: %s", review.namespace, problem)
                    warnings.append(f"meshfleet injector: {problem}")
            outcome = "injected" if injection.patch else "skipped"
            if injection.skipped:
                log.debug("pod in %s not injected: %s", review.namespace, injection.skipped)
            answer = review_response(uid, injection.patch, tuple(warnings))
        except MalformedReview as e:
            outcome = "malformed"
            log.warning("admission review allowed unchanged: %s", e.reason)
            answer = review_response(e.uid or uid, (), (f"meshfleet injector: {e.reason}; allowed unchanged",))
        except web.HTTPRequestEntityTooLarge:
            outcome = "malformed"
            answer = review_response(uid, (), ("meshfleet injector: the review is too large; allowed unchanged",))
        metrics.reviews.labels(outcome=outcome).inc()
        metrics.latency.observe(time.perf_counter() - started)
        return web.json_response(answer)

    app = web.Application(client_max_size=MAX_BODY)
    app.add_routes([web.post(INJECT_PATH, inject), *probe_routes(metrics.registry, lambda: True)])
    return app


def probe_routes(registry: CollectorRegistry, ready: Callable[[], bool]) -> list[web.RouteDef]:
    async def live(_: web.Request) -> web.Response:
        return web.Response(text="live\n")

    async def is_ready(_: web.Request) -> web.Response:
        return web.Response(text="ready\n") if ready() else web.Response(text="no certificate\n", status=503)

    async def scrape(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [web.get("/live", live), web.get("/ready", is_ready), web.get("/metrics", scrape)]
