import random
import socket

import aiohttp
import pytest
from aiohttp import web

from mesh.demo import DemoConfigError, Latency, Stats, parse_args, parse_latency
from mesh.demo._app import make_app


def test_latency_distributions_parse_and_sample_within_bounds() -> None:
    rng = random.Random(7)
    assert parse_latency("fixed:20").sample_ms(rng) == 20
    uni = parse_latency("uniform:5-50")
    assert all(5 <= uni.sample_ms(rng) <= 50 for _ in range(200))
    assert all(parse_latency("normal:30,10").sample_ms(rng) >= 0 for _ in range(200))
    mean = sum(parse_latency("exp:25").sample_ms(rng) for _ in range(4000)) / 4000
    assert 20 < mean < 30
    for bad, why in (("gauss:3", "kind"), ("uniform:9-1", "upper bound"), ("fixed:x", "not a distribution"),
                     ("fixed:-1", "negative")):
        with pytest.raises(DemoConfigError, match=why):
            parse_latency(bad)


def test_flags() -> None:
    cfg = parse_args(["--name", "api", "--port", "9000", "--latency", "uniform:1-2", "--error-rate", "0.25",
                      "--downstream", "http://backend/", "--downstream", "http://cache/"])
    assert (cfg.name, cfg.port, cfg.error_rate) == ("api", 9000, 0.25)
    assert cfg.latency == Latency("uniform", 1, 2)
    assert cfg.downstream == ("http://backend/", "http://cache/")
    with pytest.raises(SystemExit):
        parse_args(["--error-rate", "2"])


def test_stats_quantiles() -> None:
    s = Stats()
    for i in range(1, 101):
        s.record(200 if i % 10 else 500, float(i))
    snap = s.snapshot()
    assert snap["requests"] == 100
    assert snap["byStatus"] == {"200": 90, "500": 10}
    assert snap["latencyMs"] == {"p50": 50.0, "p90": 90.0, "p99": 99.0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _serve(args: list[str], seed: int = 1) -> tuple[web.AppRunner, str]:
    port = _free_port()
    runner = web.AppRunner(make_app(parse_args(["--host", "127.0.0.1", "--port", str(port), *args]),
                                    random.Random(seed)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def test_a_call_chain_of_three_tiers_from_one_app() -> None:
    backend, b_url = await _serve(["--name", "backend"])
    api, a_url = await _serve(["--name", "api", "--downstream", b_url + "/"])
    web_, w_url = await _serve(["--name", "web", "--downstream", a_url + "/"])
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(w_url + "/") as r:
                body = await r.json()
            assert r.status == 200
            assert body["service"] == "web"
            assert body["downstream"][0]["service"] == "api"
            assert body["downstream"][0]["downstream"][0]["service"] == "backend"
            async with s.get(a_url + "/stats") as r:
                assert (await r.json())["requests"] == 1
    finally:
        for r in (web_, api, backend):
            await r.cleanup()


async def test_errors_downstream_failures_and_health_toggle() -> None:
    failing, f_url = await _serve(["--name", "f", "--error-rate", "1"])
    caller, c_url = await _serve(["--name", "c", "--downstream", f_url + "/"])
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(f_url + "/") as r:
                assert r.status == 500
            async with s.get(c_url + "/") as r:
                assert r.status == 502
            async with s.get(c_url + "/healthz") as r:
                assert r.status == 200
            async with s.post(c_url + "/healthz?healthy=false") as r:
                assert r.status == 503
            async with s.get(c_url + "/healthz") as r:
                assert r.status == 503
            async with s.post(c_url + "/healthz?healthy=true") as r:
                assert r.status == 200
    finally:
        await caller.cleanup()
        await failing.cleanup()
