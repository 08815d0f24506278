"""``--once``: refresh, print the fleet overview, exit (no terminal UI)."""

from __future__ import annotations

import asyncio
import json

from tui.data import FleetCollector, FleetView
from tui.present.overview import overview_records, overview_table
from tui.present.table import render_text


def render(view: FleetView, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(overview_records(view), indent=2, sort_keys=True) + "\n"
    header = f"fleet status: {view.status_origin or 'none'}"
    if view.status_error:
        header += f"  ✗ {view.status_error}"
    return header + "\n" + render_text(overview_table(view))


async def collect_once(collector: FleetCollector, gap: float) -> FleetView:
    """One view; when proxies are scraped directly, two scrapes ``gap`` seconds apart give rates."""
    try:
        view = await collector.refresh()
        if collector.needs_two_scrapes:
            await asyncio.sleep(gap)
            view = await collector.refresh()
        return view
    finally:
        await collector.aclose()
