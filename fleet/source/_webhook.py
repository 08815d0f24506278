"""The HTTP endpoint Git hosts call on push; a verified call makes the watcher sync at once.

The handler only verifies and triggers: the fetch itself happens in the
watcher, so a burst of pushes causes at most one extra sync, and a slow
fetch never holds the Git host's request open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web

from fleet.source._signatures import WebhookSecret, verify

DEFAULT_WEBHOOK_PATH = "/hooks/git"
# GitHub sends payloads up to 25 MB; the signature covers the whole body, so all of it is read.
MAX_BODY_BYTES = 25 * 1024 * 1024

log = logging.getLogger(__name__)


def create_webhook_app(
    secret: WebhookSecret,
    on_push: Callable[[], None],
    *,
    path: str = DEFAULT_WEBHOOK_PATH,
) -> web.Application:
    """An aiohttp application answering POST ``path``: 202 and ``on_push()`` if signed, else 401."""

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        verdict = verify(request.headers, body, secret)
        if not verdict.accepted:
            log.warning("webhook from %s refused: %s", request.remote, verdict.reason)
            return web.json_response({"error": verdict.reason}, status=401)
        log.info("webhook from %s accepted (%s); syncing", request.remote, verdict.provider)
        on_push()
        return web.json_response({"status": "sync triggered", "provider": str(verdict.provider)}, status=202)

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post(path, receive)
    return app


class WebhookServer:
    """The webhook application served on ``host:port`` (port 0 picks a free one; see ``port``)."""

    def __init__(self, app: web.Application, host: str = "127.0.0.1", port: int = 0) -> None:
        self._runner = web.AppRunner(app, access_log=None)
        self._host = host
        self._port = port
        self.port = port

    async def start(self) -> int:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.port

    async def close(self) -> None:
        await self._runner.cleanup()
