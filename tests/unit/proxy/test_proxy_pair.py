from __future__ import annotations

import asyncio
from pathlib import Path

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


async def test_proxy_pair_forwards_over_mtls_with_identities_in_metrics(pki: Pki, tmp_path: Path) -> None:
    backend = await Backend(ok_behaviour).start()
    async with running(pki.server, None, tmp_path, default_inbound_policy="all-authenticated") as server:
        services = write_services(
            tmp_path / "svc.json",
            [
                web_service(
                    [
                        {
                            "address": f"127.0.0.1:{backend.port}",
                            "identity": pki.server.name,
                            "proxy_port": server.address("inbound")[1],
                        }
                    ]
                )
            ],
        )
        async with running(pki.client, services, tmp_path) as client:
            out_port = client.address("outbound")[1]
            reply = await request(out_port, "/greet", method="POST", body=b"payload")
            assert reply.status == 200
            assert reply.body == b"hello /greet payload"
            keep = KeepAliveClient(out_port)
            for i in range(20):
                assert (await asyncio.to_thread(keep.get, f"/{i}")).status == 200
            keep.close()

            client_metrics = await scrape(client)
            server_metrics = await scrape(server)
    await backend.stop()

    assert (
        metric_value(
            client_metrics,
            "request_total",
            direction="outbound",
            tls="true",
            server_id=pki.server.name,
            authority="web.shop.svc.cluster.local:8080",
            dst_namespace="shop",
            dst_service="web",
        )
        == 21
    )
    assert (
        metric_value(
            client_metrics, "response_total", direction="outbound", status_code="200", classification="success"
        )
        == 21
    )
    assert (
        metric_value(server_metrics, "request_total", direction="inbound", tls="true", client_id=pki.client.name) == 21
    )
    assert (
        metric_value(server_metrics, "response_latency_ms_count", direction="inbound", client_id=pki.client.name) == 21
    )
    # Pooled: one mTLS connection carried every request, not one handshake each.
    assert metric_value(server_metrics, "tcp_open_total", direction="inbound", peer="src", tls="true") == 1
    assert metric_value(client_metrics, "tcp_open_total", direction="outbound", peer="dst", tls="true") == 1
    assert metric_value(client_metrics, "tcp_write_bytes_total", direction="outbound", peer="dst") > 0
    assert metric_value_plain(client_metrics, "identity_cert_expiration_timestamp_seconds") == (
        pki.client.not_after.timestamp()
    )


async def test_plaintext_to_inbound_is_refused_when_policy_requires_identity(pki: Pki, tmp_path: Path) -> None:
    async with running(pki.server, None, tmp_path, default_inbound_policy="all-authenticated") as server:
        reply = await request(server.address("inbound")[1], "/", host="web")
        assert reply.status == 403
        assert reply.headers["meshfleet-proxy-error"] == "unauthenticated"
        text = await scrape(server)
    assert metric_value(text, "inbound_connections_refused_total", reason="unauthenticated") == 1


async def test_peer_certificate_from_another_anchor_is_refused_and_counted(pki: Pki, tmp_path: Path) -> None:
    from .certs import make_ca

    rogue_anchor = make_ca("rogue anchor")
    rogue_issuer = make_ca("rogue issuer", rogue_anchor)
    from .certs import make_identity

    impostor = make_identity(tmp_path / "impostor", rogue_issuer, rogue_anchor, "web", "shop")
    backend = await Backend(ok_behaviour).start()
    async with running(impostor, None, tmp_path, default_inbound_policy="all-authenticated") as server:
        services = write_services(
            tmp_path / "svc.json",
            [
                web_service(
                    [
                        {
                            "address": f"127.0.0.1:{backend.port}",
                            "identity": pki.server.name,
                            "proxy_port": server.address("inbound")[1],
                        }
                    ]
                )
            ],
        )
        async with running(pki.client, services, tmp_path) as client:
            reply = await request(client.address("outbound")[1], "/")
            client_metrics = await scrape(client)
            server_metrics = await scrape(server)
    await backend.stop()
    assert reply.status == 502
    assert "identity" in reply.headers["meshfleet-proxy-error"]
    assert backend.hits == 0
    assert metric_value(client_metrics, "tls_handshake_errors_total", direction="outbound") >= 1
    assert metric_value(server_metrics, "tls_handshake_errors_total", direction="inbound") >= 1


async def test_peer_with_the_wrong_identity_is_refused(pki: Pki, tmp_path: Path) -> None:
    other = pki.identity("other", "billing")
    backend = await Backend(ok_behaviour).start()
    async with running(other, None, tmp_path) as server:
        services = write_services(
            tmp_path / "svc.json",
            [
                web_service(
                    [
                        {
                            "address": f"127.0.0.1:{backend.port}",
                            "identity": pki.server.name,  # destination expects web, the peer is billing
                            "proxy_port": server.address("inbound")[1],
                        }
                    ]
                )
            ],
        )
        async with running(pki.client, services, tmp_path) as client:
            reply = await request(client.address("outbound")[1], "/")
            client_metrics = await scrape(client)
    await backend.stop()
    assert reply.status == 502
    assert backend.hits == 0
    # The peer does not take TLS addressed to another identity, so the client's handshake fails.
    assert metric_value(client_metrics, "tls_handshake_errors_total", direction="outbound") == 1
    assert "peer identity refused" in reply.headers["meshfleet-proxy-error"]


def metric_value_plain(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} missing")
