from __future__ import annotations

import re

from mesh.proxy.interception import InterceptionConfig, build_rules
from mesh.proxy.metrics import LATENCY_BUCKETS_MS, MetricsStore, exposition, traffic_labels
from mesh.proxy.netio import ByteCount

LINKERD_BUCKETS = [1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500,
                   1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000]  # fmt: skip


def test_exposition_uses_linkerd_names_labels_and_buckets() -> None:
    store = MetricsStore()
    out = traffic_labels(
        direction="outbound",
        authority="web.shop.svc.cluster.local:8080",
        peer_identity="web.shop.serviceaccount.identity.mesh.local",
        dst_namespace="shop",
        dst_service="web",
    )
    inbound = traffic_labels(direction="inbound", peer_identity="app.shop.serviceaccount.identity.mesh.local")
    store.request(out)
    store.response(out, 503, 7.0, failed=True)
    store.request(inbound)
    store.response(inbound, 200, 0.4, failed=False)
    count = ByteCount()
    token = store.tcp_opened(out, count)
    count.read, count.written = 60, 40
    live = exposition(store).decode()
    assert re.search(r"^tcp_read_bytes_total\{.*\} 60\.0$", live, re.M)  # visible before the close
    assert re.search(r"^tcp_open_connections\{.*\} 1\.0$", live, re.M)
    count.read = 100
    store.tcp_closed(token)
    text = exposition(store).decode()

    assert re.search(
        r'^request_total\{.*direction="outbound".*server_id="web\.shop\.serviceaccount.*tls="true"', text, re.M
    )
    assert re.search(r'^request_total\{.*client_id="app\.shop\.serviceaccount.*direction="inbound"', text, re.M)
    assert re.search(r'^response_total\{.*classification="failure".*status_code="503"', text, re.M)
    assert 'dst_namespace="shop"' in text
    assert 'dst_service="web"' in text
    buckets = [
        m.group(1)
        for m in re.finditer(r'^response_latency_ms_bucket\{.*direction="outbound".*le="([^"]+)"', text, re.M)
    ]
    assert buckets == [str(b) for b in LINKERD_BUCKETS] + ["+Inf"]
    assert list(LATENCY_BUCKETS_MS) == LINKERD_BUCKETS
    assert re.search(r'^response_latency_ms_bucket\{.*direction="outbound".*le="5",.*\} 0\.0$', text, re.M)
    assert re.search(r'^response_latency_ms_bucket\{.*direction="outbound".*le="10",.*\} 1\.0$', text, re.M)
    assert re.search(r'^response_latency_ms_count\{.*direction="inbound".*\} 1\.0$', text, re.M)
    for name in ("tcp_open_total", "tcp_close_total", "tcp_read_bytes_total", "tcp_write_bytes_total"):
        assert re.search(rf"^{name}\{{", text, re.M), name
    assert re.search(r"^tcp_open_connections\{.*\} 0\.0$", text, re.M)
    assert re.search(r"^tcp_read_bytes_total\{.*\} 100\.0$", text, re.M)
    assert "_created" not in text


def test_plaintext_peer_is_labelled_no_identity() -> None:
    labels = dict(traffic_labels(direction="inbound", peer_identity=None))
    assert labels["tls"] == "no_identity"
    assert "client_id" not in labels


def test_interception_rules_cover_the_contract() -> None:
    rules = build_rules(
        InterceptionConfig(
            proxy_uid=2102,
            skip_inbound_ports=frozenset({22}),
            skip_outbound_ports=frozenset({443}),
            skip_outbound_subnets=("10.9.0.0/16", "fd00::/8"),
        )
    ).restore_input.splitlines()
    assert rules[0] == "*nat"
    assert rules[-1] == "COMMIT"
    for port in (22, 4190, 4191):
        assert f"-A MESHFLEET_INBOUND -p tcp --dport {port} -j RETURN" in rules
    assert "-A MESHFLEET_IN_REDIRECT -p tcp -j REDIRECT --to-ports 4143" in rules
    assert "-A MESHFLEET_OUT_REDIRECT -p tcp -j REDIRECT --to-ports 4140" in rules
    assert "-A MESHFLEET_OUTPUT -m owner --uid-owner 2102 -j RETURN" in rules
    assert "-A MESHFLEET_OUTPUT -o lo -j RETURN" in rules
    assert "-A MESHFLEET_OUTPUT -p tcp --dport 443 -j RETURN" in rules
    assert "-A MESHFLEET_OUTPUT -d 10.9.0.0/16 -j RETURN" in rules
    assert not any("fd00::/8" in r for r in rules)  # other family
    # every exclusion comes before the catch-all redirect
    redirect_at = rules.index("-A MESHFLEET_OUTPUT -p tcp -j MESHFLEET_OUT_REDIRECT")
    assert all(i < redirect_at for i, r in enumerate(rules) if r.startswith("-A MESHFLEET_OUTPUT") and "RETURN" in r)
    # chains are flushed before being refilled, so re-running replaces instead of duplicating
    assert rules.index("-F MESHFLEET_OUTPUT") < rules.index("-A MESHFLEET_OUTPUT -o lo -j RETURN")


def test_ipv6_rules_use_ipv6_loopback_and_subnets() -> None:
    config = InterceptionConfig(proxy_uid=1, skip_outbound_subnets=("10.9.0.0/16", "fd00::/8"))
    rules = build_rules(config, ipv6=True).restore_input
    assert "-d ::1/128 -j RETURN" in rules
    assert "-d fd00::/8 -j RETURN" in rules
    assert "10.9.0.0/16" not in rules
