"""``meshfleet tui``: flags, then either the Textual app or one ``--once`` print."""

from __future__ import annotations

import argparse
import asyncio
import sys

from tui.data import FleetCollector
from tui.errors import UsageError
from tui.status import JsonDocumentSource


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="meshfleet tui", description="Fleet-wide health and golden metrics.")
    p.add_argument("--status", metavar="PATH|URL", help="fleet status document written by the reconciler")
    p.add_argument("--once", action="store_true", help="print the fleet overview once and exit")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output of --once")
    p.add_argument("--refresh", type=float, default=2.0, metavar="SECONDS",
                   help="seconds between refreshes (and between the two scrapes of --once)")
    p.add_argument("--cluster-metrics", action="append", default=[], metavar="NAME=URL",
                   help="scrape this proxy /metrics URL for cluster NAME (repeatable)")
    return p


def scrape_targets(pairs: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, url = pair.partition("=")
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise UsageError(f"--cluster-metrics {pair!r}: expected NAME=http(s)://HOST:PORT/metrics")
        out.setdefault(name, []).append(url)
    return out


def tui_main(argv: list[str]) -> int:
    """Entry point of ``meshfleet tui``; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        targets = scrape_targets(args.cluster_metrics)
        if args.refresh <= 0:
            raise UsageError("--refresh: must be a positive number of seconds")
        if args.status is None and not targets:
            raise UsageError("--status or --cluster-metrics: give at least one source")
    except UsageError as e:
        print(f"meshfleet tui: {e}", file=sys.stderr)
        return 2
    time_limit = max(0.2, min(1.5, args.refresh * 0.75))
    collector = FleetCollector(JsonDocumentSource(args.status) if args.status else None, targets,
                               time_limit=time_limit)
    if args.once:
        from tui.once import collect_once, render

        view = asyncio.run(collect_once(collector, args.refresh))
        sys.stdout.write(render(view, args.format))
        return 1 if view.status_error and view.status is None else 0
    from tui.app.app import FleetApp

    FleetApp(collector, refresh_s=args.refresh).run()
    return 0
