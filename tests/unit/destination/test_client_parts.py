"""Pure parts of the destination client: framing, back-off, the mapping onto the proxy's values."""

from __future__ import annotations

import random

import pytest

from mesh.destination_client import (
    Backoff,
    DestinationConfig,
    DestinationView,
    EndpointView,
    FrameDecoder,
    encode,
    to_breaker_config,
    to_resolution,
)
from mesh.destination_client.errors import ProtocolError
from mesh.policy import BreakerSpec, RetrySpec
from mesh.proxy.services import Timeouts


def test_frames_split_anywhere_are_reassembled() -> None:
    data = encode({"type": "hello", "version": 1}) + b"\n" + encode({"id": 2, "type": "gone"})
    for cut in range(len(data) + 1):
        d = FrameDecoder()
        got = d.feed(data[:cut]) + d.feed(data[cut:])
        assert got == [{"type": "hello", "version": 1}, {"id": 2, "type": "gone"}]


@pytest.mark.parametrize(
    ("data", "reason"), [(b"nope\n", "not JSON"), (b"[1]\n", "not a JSON object"), (b"x" * 200, "exceeds")]
)
def test_bad_frames(data: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        FrameDecoder(max_frame=100).feed(data)


def test_backoff_grows_to_its_cap_and_never_below_half() -> None:
    b = Backoff(initial=0.25, maximum=10.0)
    rng = random.Random(7)
    delays = [b.delay(n, rng) for n in range(1, 12)]
    for n, d in enumerate(delays, start=1):
        ceiling = min(10.0, 0.25 * 2 ** (n - 1))
        assert ceiling / 2 <= d <= ceiling
    assert max(delays) <= 10.0


def test_route_config_maps_onto_the_proxys_settings() -> None:
    view = DestinationView(
        "api.shop:8080",
        "shop",
        "api",
        8080,
        ("10.96.0.10:8080",),
        DestinationConfig(False, 2.5, RetrySpec(3, ("5xx", "timeout"), 0.5), BreakerSpec(4, 0.5, 8.0)),
        (EndpointView("10.42.0.5", 8080, "api.shop.x", 45.0, "unknown", (("backend", "shop/api-v1"),)),),
    )
    r = to_resolution(view, Timeouts(request=None, connect=0.7, idle=100.0))
    assert r.service.timeouts == Timeouts(request=2.5, connect=0.7, idle=100.0)
    assert r.service.retry.limit == 3
    assert r.service.retry.retry_on == frozenset({"5xx", "timeout"})
    assert r.service.retry.per_try_timeout == 0.5
    assert r.service.addresses == ("10.96.0.10:8080",)
    assert r.endpoints[0].weight == 45.0
    assert r.endpoints[0].identity == "api.shop.x"
    assert dict(r.endpoints[0].labels)["backend"] == "shop/api-v1"
    breaker = to_breaker_config(view)
    assert breaker is not None
    assert (breaker.consecutive_failures, breaker.min_backoff, breaker.max_backoff) == (4, 0.5, 8.0)


def test_no_route_config_keeps_the_proxy_defaults() -> None:
    r = to_resolution(DestinationView("10.42.0.5:80"), Timeouts(request=9.0))
    assert r.service.timeouts.request == 9.0
    assert r.service.retry.limit == 0
