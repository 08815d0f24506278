"""The discovery loop: list the cluster's pods, keep Prometheus's target file current.

It polls instead of watching: one small LIST every two seconds against a loopback apiserver
costs nothing, and a poll loop has no watch to re-establish after the apiserver restarts.  It
uses only the standard library, so each cluster's loop stays a small process.  A failed list
is logged once (not every two seconds) and the last good file stays in place, so Prometheus
keeps scraping what it knew.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from fleet.local.prometheus._targets import scrape_targets, targets_document

_PODS = "/api/v1/pods?fieldSelector=status.phase%3DRunning"


class ListFailed(Exception):
    """The apiserver did not answer the pod list with a PodList."""


def _context(ca: Path, cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def list_pods(apiserver: str, ctx: ssl.SSLContext, timeout: float = 5.0) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(apiserver + _PODS, timeout=timeout, context=ctx) as r:  # noqa: S310 - https only
            doc = json.load(r)
    except urllib.error.HTTPError as e:
        raise ListFailed(f"{apiserver}: listing pods answered HTTP {e.code}") from e
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise ListFailed(f"{apiserver}: listing pods failed: {e}") from e
    if not isinstance(doc, dict) or doc.get("kind") != "PodList":
        raise ListFailed(f"{apiserver}: listing pods answered something other than a PodList")
    return doc


def write_atomic(path: Path, text: str) -> None:
    """Prometheus may read the file at any moment: it must only ever see a whole one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def run(apiserver: str, ctx: ssl.SSLContext, out: Path, interval: float) -> None:
    written: str | None = None
    failing: str | None = None
    while True:
        try:
            text = targets_document(scrape_targets(list_pods(apiserver, ctx)))
        except ListFailed as e:
            if str(e) != failing:
                print(f"discovery: {e}; keeping the last targets", file=sys.stderr, flush=True)
            failing = str(e)
        else:
            if failing is not None:
                print("discovery: listing pods works again", file=sys.stderr, flush=True)
            failing = None
            if text != written:
                write_atomic(out, text)
                written = text
        time.sleep(interval)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m fleet.local.prometheus",
                                description="Keep a Prometheus file_sd target file of a cluster's meshfleet proxies.")
    p.add_argument("--apiserver", required=True, help="https://127.0.0.1:PORT")
    p.add_argument("--ca", type=Path, required=True, help="the cluster's CA certificate")
    p.add_argument("--cert", type=Path, required=True, help="client certificate allowed to list pods")
    p.add_argument("--key", type=Path, required=True, help="its private key")
    p.add_argument("--out", type=Path, required=True, help="the target file Prometheus watches")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between pod lists")
    args = p.parse_args(argv)
    try:
        ctx = _context(args.ca, args.cert, args.key)
    except (OSError, ssl.SSLError) as e:
        print(f"discovery: cannot load the client certificate {args.cert}: {e}", file=sys.stderr)
        return 2
    try:
        run(args.apiserver, ctx, args.out, args.interval)
    except KeyboardInterrupt:
        return 0
    return 0
