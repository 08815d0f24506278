"""The watcher's HTTP endpoints: the status document, Prometheus metrics, and the Git webhook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from fleet.reconcile.metrics import ReconcileMetrics
from fleet.source import WebhookSecret, create_webhook_app

STATUS_PATH = "/status"
METRICS_PATH = "/metrics"


def create_app(document: Callable[[], dict[str, Any]], metrics: ReconcileMetrics,
               secret: WebhookSecret | None, on_push: Callable[[], None]) -> web.Application:
    app = create_webhook_app(secret, on_push) if secret is not None else web.Application()

    async def status(_request: web.Request) -> web.Response:
        return web.json_response(document())

    async def prometheus(_request: web.Request) -> web.Response:
        return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app.router.add_get(STATUS_PATH, status)
    app.router.add_get(METRICS_PATH, prometheus)
    app.router.add_get("/healthz", healthz)
    return app
