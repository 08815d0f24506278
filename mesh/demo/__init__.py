"""``meshfleet demo-app``: a small HTTP service with configurable latency,
error rate and downstream calls, so one image can play every tier of a call
graph such as web -> api -> backend.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from mesh.demo._config import DemoConfig, Latency, parse_args, parse_latency
from mesh.demo._stats import Stats
from mesh.demo.errors import DemoConfigError, DemoError, DownstreamError

__all__ = ["DemoConfig", "DemoConfigError", "DemoError", "DownstreamError", "Latency", "Stats", "demo_main",
           "parse_args", "parse_latency"]


def demo_main(argv: list[str]) -> int:
    """Run the demo app until SIGTERM, SIGINT or ``--run-for``; then exit with ``--exit-code`` (2 on bad flags).

    With ``--check URL`` it serves nothing: 0 if the URL answers 200, else 1.
    """
    try:
        cfg = parse_args(argv)
    except DemoConfigError as e:
        print(f"meshfleet demo-app: {e}", file=sys.stderr)
        return 2
    if cfg.check is not None:
        from mesh.demo._app import check

        return asyncio.run(check(cfg.check, cfg.downstream_timeout))
    from mesh.demo._app import serve

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(cfg, stop)

    try:
        asyncio.run(run())
    except OSError as e:
        print(f"meshfleet demo-app: cannot listen on {cfg.host}:{cfg.port}: {e}", file=sys.stderr)
        return 1
    return cfg.exit_code
