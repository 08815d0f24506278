"""Local fleet benchmark: `local up` wall time on a warm cache, resident memory, `down` time.

Run: .venv/bin/python bench/local_fleet.py [--clusters 3] [--rounds 3]
Cold build numbers come from bench/cold_build.sh.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from fleet.local import process
from fleet.local.binaries import ensure_binaries
from fleet.local.fleet import LocalFleet
from fleet.local.topology import default_names


def _rss_by_component(fleet: LocalFleet) -> dict[str, int]:
    out: dict[str, int] = {}
    for rec in fleet.processes():
        out[rec.component] = out.get(rec.component, 0) + process.rss_bytes(rec.pid)
    return out


async def one_round(state: Path, clusters: int) -> tuple[float, dict[str, int], float]:
    bins = await asyncio.to_thread(ensure_binaries, lambda _m: None)
    fleet = LocalFleet(state)
    t0 = time.monotonic()
    rows = await fleet.up(default_names(clusters), binaries=bins)
    up = time.monotonic() - t0
    assert all(r.ready for r in rows), rows
    await asyncio.sleep(5)  # let the controllers settle before measuring memory
    rss = _rss_by_component(fleet)
    t1 = time.monotonic()
    await fleet.down()
    return up, rss, time.monotonic() - t1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clusters", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    ups, downs, totals = [], [], []
    last: dict[str, int] = {}
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as d:
            up, rss, down = asyncio.run(one_round(Path(d), args.clusters))
        ups.append(up)
        downs.append(down)
        totals.append(sum(rss.values()))
        last = rss
    mib = 1024 * 1024
    print(f"clusters: {args.clusters}, rounds: {args.rounds}")
    print(f"local up (warm cache): median {statistics.median(ups):.1f}s, max {max(ups):.1f}s")
    print(f"local down:            median {statistics.median(downs):.2f}s, max {max(downs):.2f}s")
    print(f"fleet resident memory: median {statistics.median(totals) / mib:.0f} MiB, "
          f"max {max(totals) / mib:.0f} MiB")
    for comp, b in sorted(last.items()):
        print(f"  {comp:<24} {b / mib / args.clusters:.0f} MiB per cluster")


if __name__ == "__main__":
    main()
