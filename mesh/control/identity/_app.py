"""The aiohttp applications: certify over HTTPS, and a plain admin app for probes and metrics."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ._certifier import Certifier
from ._contract import CERTIFY_PATH, MAX_REQUEST_BYTES, error_body, parse_certify_request, success_body
from ._metrics import IdentityMetrics
from .errors import BadRequest, RateLimited, Refusal

log = logging.getLogger(__name__)


Handler = Callable[[web.Request], Awaitable[web.Response]]


def _certify_handler(certifier: Certifier, metrics: IdentityMetrics) -> Handler:
    async def certify(request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge as e:
                raise BadRequest("malformed-request", f"the request body exceeds {MAX_REQUEST_BYTES} bytes") from e
            leaf = await certifier.certify(parse_certify_request(body))
        except Refusal as refusal:
            metrics.refusals.labels(reason=refusal.code).inc()
            log.info("certify refused (%s %s): %s", refusal.status, refusal.code, refusal.message)
            headers = {}
            if isinstance(refusal, RateLimited):
                headers["Retry-After"] = str(max(1, math.ceil(refusal.retry_after)))
            return web.json_response(error_body(refusal), status=refusal.status, headers=headers)
        finally:
            metrics.latency.observe(time.perf_counter() - started)
        metrics.issued.inc()
        return web.json_response(success_body(leaf))

    return certify


def _probe_handlers(ready: Callable[[], bool], metrics: IdentityMetrics) -> list[web.RouteDef]:
    async def live(_: web.Request) -> web.Response:
        return web.Response(text="live\n")

    async def is_ready(_: web.Request) -> web.Response:
        if ready():
            return web.Response(text="ready\n")
        return web.Response(text="no valid issuer loaded\n", status=503)

    async def scrape(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [web.get("/live", live), web.get("/ready", is_ready), web.get("/metrics", scrape)]


def build_app(certifier: Certifier, metrics: IdentityMetrics, ready: Callable[[], bool]) -> web.Application:
    """The HTTPS application: certify, plus the probes so a single port is enough when wanted."""
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app.add_routes([web.post(CERTIFY_PATH, _certify_handler(certifier, metrics)), *_probe_handlers(ready, metrics)])
    return app


def build_admin_app(metrics: IdentityMetrics, ready: Callable[[], bool]) -> web.Application:
    """Plain HTTP: /metrics, /ready, /live for Prometheus and kubelet; never certify (tokens stay on TLS)."""
    app = web.Application()
    app.add_routes(_probe_handlers(ready, metrics))
    return app
