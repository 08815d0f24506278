from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

from mesh.proxy.breaker import BreakerConfig

from .conftest import Pki
from .harness import (
    Backend,
    KeepAliveClient,
    metric_value,
    ok_behaviour,
    request,
    running,
    scrape,
    web_service,
    write_services,
)


def endpoint(backend: Backend, identity: str | None = None, proxy_port: int | None = None) -> dict[str, object]:
    ep: dict[str, object] = {"address": f"127.0.0.1:{backend.port}"}
    if identity:
        ep["identity"] = identity
        ep["proxy_port"] = proxy_port
    return ep


async def sequential(port: int, n: int) -> list[int]:
    client = KeepAliveClient(port)
    try:
        return [(await asyncio.to_thread(client.get, f"/{i}")).status for i in range(n)]
    finally:
        client.close()


async def test_thirty_percent_failures_are_retried_to_success(pki: Pki, tmp_path: Path) -> None:
    async def flaky(method: str, path: str, body: bytes, n: int) -> tuple[int, bytes]:
        return (503, b"busy") if n % 10 in (1, 4, 7) else (200, b"ok")

    backend = await Backend(flaky).start()
    async with running(pki.server, None, tmp_path) as server:
        services = write_services(
            tmp_path / "svc.json",
            [
                web_service(
                    [endpoint(backend, pki.server.name, server.address("inbound")[1])],
                    retry={"limit": 3, "on": ["gateway-error", "connect-failure"]},
                )
            ],
        )
        async with running(pki.client, services, tmp_path, breaker=BreakerConfig(consecutive_failures=50)) as client:
            statuses = await sequential(client.address("outbound")[1], 300)
            text = await scrape(client)
    await backend.stop()
    assert statuses.count(200) / len(statuses) >= 0.99
    retries = metric_value(text, "retries_total")
    assert 80 <= retries <= 0.2 * 300 + 100  # about 90 failures were retried, inside the budget
    assert backend.hits == 300 + retries


async def test_dead_backend_sees_no_more_load_than_the_budget_allows(pki: Pki, tmp_path: Path) -> None:
    async def broken(method: str, path: str, body: bytes, n: int) -> tuple[int, bytes]:
        return 503, b"down"

    backend = await Backend(broken).start()
    services = write_services(
        tmp_path / "svc.json",
        [web_service([endpoint(backend)], retry={"limit": 3, "on": ["gateway-error"]})],
    )
    requests = 400
    async with running(None, services, tmp_path, breaker=BreakerConfig(consecutive_failures=10_000)) as client:
        statuses = await sequential(client.address("outbound")[1], requests)
    await backend.stop()
    assert set(statuses) == {503}
    # Unbudgeted, limit 3 would mean 4x. The budget allows 20 % plus 10/s over 10 s.
    assert backend.hits <= requests * 1.2 + 100
    assert backend.hits < requests * 2


async def test_request_timeout_answers_504_on_time(pki: Pki, tmp_path: Path) -> None:
    async def slow(method: str, path: str, body: bytes, n: int) -> tuple[int, bytes]:
        await asyncio.sleep(3)
        return 200, b"late"

    backend = await Backend(slow).start()
    services = write_services(tmp_path / "svc.json", [web_service([endpoint(backend)], timeouts={"request": 0.3})])
    async with running(None, services, tmp_path) as client:
        started = time.monotonic()
        reply = await request(client.address("outbound")[1], "/")
        elapsed = time.monotonic() - started
        text = await scrape(client)
    await backend.stop()
    assert reply.status == 504
    assert "timeout" in reply.headers["meshfleet-proxy-error"]
    assert 0.25 <= elapsed < 1.5
    assert metric_value(text, "response_total", status_code="504", classification="failure") == 1


async def test_breaker_ejects_a_failing_endpoint_then_readmits_it(pki: Pki, tmp_path: Path) -> None:
    healthy = {"bad": False}

    async def sometimes(method: str, path: str, body: bytes, n: int) -> tuple[int, bytes]:
        return (200, b"ok") if healthy["bad"] else (500, b"broken")

    async def steady_but_slower(method: str, path: str, body: bytes, n: int) -> tuple[int, bytes]:
        await asyncio.sleep(0.02)
        return 200, b"ok"

    bad = await Backend(sometimes).start()
    good = await Backend(steady_but_slower).start()
    services = write_services(tmp_path / "svc.json", [web_service([endpoint(bad), endpoint(good)])])
    breaker = BreakerConfig(consecutive_failures=3, min_backoff=1.0, max_backoff=1.0, jitter=0.0)
    async with running(None, services, tmp_path, breaker=breaker) as client:
        port = client.address("outbound")[1]
        await sequential(port, 10)
        assert bad.hits == 3  # ejected after three failures in a row
        text = await scrape(client)
        assert metric_value(text, "outbound_balancer_endpoints", endpoint_state="ejected") == 1
        assert (
            metric_value(text, "outbound_endpoint_breaker_state", target_addr=f"127.0.0.1:{bad.port}", state="open")
            == 1
        )
        statuses = await sequential(port, 10)
        assert set(statuses) == {200}
        assert bad.hits == 3

        healthy["bad"] = True
        await asyncio.sleep(1.0)
        await sequential(port, 60)
        text = await scrape(client)
    await bad.stop()
    await good.stop()
    # The probe succeeded and the endpoint, now the faster one, takes most traffic again.
    assert bad.hits > 3 + 30
    assert metric_value(text, "outbound_balancer_endpoints", endpoint_state="ready") == 2


async def test_all_endpoints_ejected_fails_fast_with_503(tmp_path: Path) -> None:
    async def broken(method: str, path: str, body: bytes, n: int) -> tuple[int, bytes]:
        return 500, b"no"

    backend = await Backend(broken).start()
    services = write_services(tmp_path / "svc.json", [web_service([endpoint(backend)])])
    breaker = BreakerConfig(consecutive_failures=2, min_backoff=30, max_backoff=30)
    async with running(None, services, tmp_path, breaker=breaker) as client:
        statuses = await sequential(client.address("outbound")[1], 5)
        reply = await request(client.address("outbound")[1], "/")
    await backend.stop()
    assert statuses == [500, 500, 503, 503, 503]
    assert backend.hits == 2
    assert reply.status == 503
    assert "ejected" in reply.headers["meshfleet-proxy-error"]


async def test_connection_refused_is_retried_elsewhere_or_502(tmp_path: Path) -> None:
    good = await Backend(ok_behaviour).start()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    dead = {"address": f"127.0.0.1:{dead_port}"}
    services = write_services(
        tmp_path / "svc.json",
        [
            web_service([dead, endpoint(good)], retry={"limit": 2, "on": ["connect-failure"]}),
            {"name": "solo.shop.svc.cluster.local:80", "endpoints": [dead]},
        ],
    )
    async with running(None, services, tmp_path) as client:
        port = client.address("outbound")[1]
        statuses = await sequential(port, 20)
        solo = await request(port, "/", host="solo.shop.svc.cluster.local")
    await good.stop()
    assert set(statuses) == {200}
    assert solo.status == 502
    assert "connect failed" in solo.headers["meshfleet-proxy-error"]


async def test_slow_endpoint_receives_fewer_requests(tmp_path: Path) -> None:
    async def slow(method: str, path: str, body: bytes, n: int) -> tuple[int, bytes]:
        await asyncio.sleep(0.05)
        return 200, b"slow"

    fast_a = await Backend(ok_behaviour).start()
    fast_b = await Backend(ok_behaviour).start()
    slow_backend = await Backend(slow).start()
    services = write_services(
        tmp_path / "svc.json", [web_service([endpoint(fast_a), endpoint(fast_b), endpoint(slow_backend)])]
    )
    async with running(None, services, tmp_path) as client:
        await sequential(client.address("outbound")[1], 150)
    for b in (fast_a, fast_b, slow_backend):
        await b.stop()
    assert slow_backend.hits < 0.15 * 150
    assert fast_a.hits + fast_b.hits > 0.85 * 150


async def test_malformed_request_gets_400_and_close(tmp_path: Path) -> None:
    async with running(None, None, tmp_path) as client:
        reader, writer = await asyncio.open_connection(*client.address("outbound"))
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        text = await scrape(client)
    assert data.startswith(b"HTTP/1.1 400 ")
    assert b"Connection: close" in data
    assert metric_value(text, "http_bad_requests_total", direction="outbound") == 1


async def test_slow_loris_is_cut_off(tmp_path: Path) -> None:
    async with running(None, None, tmp_path, head_timeout=0.3) as client:
        reader, writer = await asyncio.open_connection(*client.address("outbound"))
        writer.write(b"GET / HTTP/1.1\r\n")
        started = time.monotonic()
        closed_after = None
        for _ in range(40):
            await asyncio.sleep(0.05)
            try:
                writer.write(b"X")
                await writer.drain()
            except (ConnectionError, OSError):
                closed_after = time.monotonic() - started
                break
            if reader.at_eof() or (await _eof_soon(reader)):
                closed_after = time.monotonic() - started
                break
        writer.close()
    assert closed_after is not None
    assert closed_after < 1.5


async def _eof_soon(reader: asyncio.StreamReader) -> bool:
    try:
        data = await asyncio.wait_for(reader.read(100), 0.01)
    except TimeoutError:
        return False
    except ConnectionError:  # the proxy reset the connection: closed just as well
        return True
    return data == b""


async def test_admin_endpoints_and_graceful_shutdown(pki: Pki, tmp_path: Path) -> None:
    async def slowish(method: str, path: str, body: bytes, n: int) -> tuple[int, bytes]:
        await asyncio.sleep(0.4)
        return 200, b"done"

    backend = await Backend(slowish).start()
    services = write_services(tmp_path / "svc.json", [web_service([endpoint(backend)])])
    async with running(None, services, tmp_path) as bare:
        assert (await request(bare.address("admin")[1], "/ready", host="a")).status == 503
        assert (await request(bare.address("admin")[1], "/live", host="a")).status == 200
    async with running(pki.client, services, tmp_path) as client:
        admin = client.address("admin")[1]
        assert (await request(admin, "/ready", host="a")).status == 200
        assert (await request(admin, "/nope", host="a")).status == 404
        assert (await request(admin, "/shutdown", host="a")).status == 405
        in_flight = asyncio.ensure_future(request(client.address("outbound")[1], "/slow"))
        await asyncio.sleep(0.1)
        assert (await request(admin, "/shutdown", host="a", method="POST")).status == 202
        reply = await in_flight
        await asyncio.wait_for(client.wait_stopped(), 5)
        assert reply.status == 200
        assert reply.body == b"done"
        try:
            await request(admin, "/live", host="a")
            refused = False
        except OSError:
            refused = True
        assert refused
    await backend.stop()


async def test_a_probe_cut_short_by_the_request_timeout_does_not_eject_the_endpoint_for_good(tmp_path: Path) -> None:
    """The only endpoint fails, is ejected, and its probe runs into the request deadline; once it
    recovers, requests reach it again instead of every one being refused with 503."""
    healthy = asyncio.Event()

    async def behaviour(method: str, path: str, body: bytes, n: int) -> tuple[int, bytes]:
        if n <= 2:
            return 500, b"broken"
        if not healthy.is_set():
            await asyncio.sleep(2)  # the probe: slower than the request timeout
        return 200, b"fine"

    backend = await Backend(behaviour).start()
    services = write_services(
        tmp_path / "svc.json",
        [web_service([{"address": f"127.0.0.1:{backend.port}"}], timeouts={"request": 0.3})],
    )
    config = BreakerConfig(consecutive_failures=2, min_backoff=0.1, max_backoff=0.2, jitter=0.0)
    async with running(None, services, tmp_path, breaker=config) as client:
        port = client.address("outbound")[1]
        assert [(await request(port, "/")).status for _ in range(2)] == [500, 500]
        await asyncio.sleep(0.15)
        probe = await request(port, "/")
        assert probe.status == 504  # the probe ran into the deadline
        healthy.set()
        await asyncio.sleep(0.15)
        statuses = [(await request(port, "/")).status for _ in range(3)]
    await backend.stop()
    assert statuses == [200, 200, 200]
