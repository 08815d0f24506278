"""Thin aiohttp shells: scrape a proxy's /metrics, ask Prometheus a query.

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
from tui.metrics.promql import CombinedQuery, RateQuery, combined_rates, vector_rates
from tui.metrics.samples import Rate, Scrape

MAX_BODY = 32 * 1024 * 1024  # a runaway endpoint must not eat the dashboard's memory


def _too_large(url: str, limit: int) -> EndpointUnreachable:
    return EndpointUnreachable(f"{url}: answer larger than {limit} bytes")


async def _read_body(resp: aiohttp.ClientResponse, url: str, limit: int) -> bytes:
    """The whole body, or :class:`EndpointUnreachable` as soon as it exceeds ``limit``.

    ``StreamReader.read(n)`` returns whatever is buffered (often 64-128 KiB), not ``n`` bytes,
    so the body is read chunk by chunk to its end while counting.
    """
    if resp.content_length is not None and resp.content_length > limit:
        raise _too_large(url, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise _too_large(url, limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def _get(session: aiohttp.ClientSession, url: str, time_limit: float,
               params: dict[str, str] | None = None, max_body: int = MAX_BODY) -> bytes:
    try:
        async with session.get(url, params=params, timeout=aiohttp.ClientTimeout(total=time_limit)) as resp:
            if resp.status != 200 and not (resp.status in (400, 422) and params is not None):
                # Prometheus explains 400/422 in a JSON body that the parser turns into a message.
                raise EndpointUnreachable(f"{url}: HTTP {resp.status}")
            return await _read_body(resp, url, max_body)
    except TimeoutError as e:
        raise EndpointUnreachable(f"{url}: timed out after {time_limit:g}s") from e
    except aiohttp.ClientConnectorError as e:
        raise EndpointUnreachable(f"{url}: {e.os_error.strerror or e.os_error}") from e
    except aiohttp.ClientError as e:
        raise EndpointUnreachable(f"{url}: {e or type(e).__name__}") from e


async def scrape(session: aiohttp.ClientSession, url: str, time_limit: float,
                 clock: Callable[[], float] = time.monotonic, max_body: int = MAX_BODY) -> Scrape:
    """One scrape of a proxy's /metrics; each sample gets ``instance=<host:port>``."""
    body = await _get(session, url, time_limit, max_body=max_body)
    at = clock()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ExpositionInvalid(f"{url}: not UTF-8 text") from e
    instance = urlsplit(url).netloc or url
    return Scrape(at, parse_exposition(text, url, extra=(("instance", instance),)))


def _endpoint(base_url: str) -> str:
    return base_url.rstrip("/") + "/api/v1/query"


async def prometheus_query(session: aiohttp.ClientSession, base_url: str, query: CombinedQuery,
                           time_limit: float, max_body: int = MAX_BODY) -> tuple[Rate, ...]:
    """One combined query to a cluster's Prometheus HTTP API, read back as rates."""
    body = await _get(session, _endpoint(base_url), time_limit, {"query": query.promql}, max_body)
    return combined_rates(query, body, base_url)


async def prometheus_rates(session: aiohttp.ClientSession, base_url: str, queries: tuple[RateQuery, ...],
                           time_limit: float, max_body: int = MAX_BODY) -> tuple[Rate, ...]:
    """Several plain queries (see :func:`~tui.metrics.promql.rate_queries`) run together."""
    endpoint = _endpoint(base_url)
    bodies = await asyncio.gather(*(_get(session, endpoint, time_limit, {"query": q.promql}, max_body)
                                    for q in queries))
    out: list[Rate] = []
    for q, body in zip(queries, bodies, strict=True):
        out.extend(vector_rates(q, body, base_url))
    return tuple(out)
