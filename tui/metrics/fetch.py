"""Thin aiohttp shells: scrape a proxy's /metrics, ask Prometheus for rates.

All parsing and math is elsewhere; here foreign errors become :mod:`tui.errors` classes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import aiohttp

from tui.errors import EndpointUnreachable, ExpositionInvalid
from tui.metrics.exposition import parse_exposition
from tui.metrics.promql import rate_queries, vector_rates
from tui.metrics.samples import Rate, Scrape

MAX_BODY = 32 * 1024 * 1024  # a runaway endpoint must not eat the dashboard's memory


async def _get(session: aiohttp.ClientSession, url: str, time_limit: float,
               params: dict[str, str] | None = None) -> bytes:
    try:
        async with session.get(url, params=params, timeout=aiohttp.ClientTimeout(total=time_limit)) as resp:
            body = await resp.content.read(MAX_BODY + 1)
            if resp.status != 200 and not (resp.status in (400, 422) and params is not None):
                # Prometheus explains 400/422 in a JSON body that the parser turns into a message.
                raise EndpointUnreachable(f"{url}: HTTP {resp.status}")
    except TimeoutError as e:
        raise EndpointUnreachable(f"{url}: timed out after {time_limit:g}s") from e
    except aiohttp.ClientConnectorError as e:
        raise EndpointUnreachable(f"{url}: {e.os_error.strerror or e.os_error}") from e
    except aiohttp.ClientError as e:
        raise EndpointUnreachable(f"{url}: {e or type(e).__name__}") from e
    if len(body) > MAX_BODY:
        raise EndpointUnreachable(f"{url}: answer larger than {MAX_BODY} bytes")
    return body


async def scrape(session: aiohttp.ClientSession, url: str, time_limit: float,
                 clock: Callable[[], float] = time.monotonic) -> Scrape:
    """One scrape of a proxy's /metrics; each sample gets ``instance=<host:port>``."""
    body = await _get(session, url, time_limit)
    at = clock()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ExpositionInvalid(f"{url}: not UTF-8 text") from e
    instance = urlsplit(url).netloc or url
    return Scrape(at, parse_exposition(text, url, extra=(("instance", instance),)))


async def prometheus_rates(session: aiohttp.ClientSession, base_url: str, time_limit: float,
                           window: str = "1m") -> tuple[Rate, ...]:
    """All rates a cluster's screens need, from its Prometheus HTTP API (queries run together)."""
    endpoint = base_url.rstrip("/") + "/api/v1/query"
    queries = rate_queries(window)
    bodies = await asyncio.gather(*(_get(session, endpoint, time_limit, {"query": q.promql}) for q in queries))
    out: list[Rate] = []
    for q, body in zip(queries, bodies, strict=True):
        out.extend(vector_rates(q, body, base_url))
    return tuple(out)
