"""A request through a multicluster gateway: caller's proxy -> gateway -> callee's proxy -> application.

Three proxies on loopback stand for two clusters: the caller's sidecar (its
resolver points the mirrored service at the gateway), the gateway of the
other cluster (its resolver knows that cluster's services), and the callee's
sidecar. Every hop is mutual TLS with its own identity.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest

from mesh.proxy.errors import TransportHeaderError
from mesh.proxy.transport_header import TransportHeader, decode

from .certs import IdentityFiles
from .conftest import Pki
from .harness import Backend, metric_value, ok_behaviour, request, running, scrape, web_service, write_services

REMOTE = "api.shop.svc.cluster.local:8080"


def _mirror_service(gateway_port: int, gateway: IdentityFiles, remote: str = REMOTE) -> dict[str, object]:
    """What destination tells the caller's proxy about a mirror: the gateway, and what to ask it for."""
    return web_service(
        [{"address": "127.0.0.1:8080", "identity": gateway.name, "proxy_port": gateway_port, "remote": remote}]
    )


async def test_http_crosses_the_gateway_with_mtls_on_both_legs(pki: Pki, tmp_path: Path) -> None:
    gateway_id = pki.identity("gateway", "gateway", "mesh")
    backend = await Backend(ok_behaviour).start()
    async with running(pki.server, None, tmp_path, default_inbound_policy="all-authenticated") as server:
        remote_services = write_services(
            tmp_path / "remote.json",
            [
                {
                    **web_service(
                        [
                            {
                                "address": f"127.0.0.1:{backend.port}",
                                "identity": pki.server.name,
                                "proxy_port": server.address("inbound")[1],
                            }
                        ]
                    ),
                    "name": REMOTE,
                    "service": "api",
                }
            ],
        )
        async with running(
            gateway_id, remote_services, tmp_path, mode="gateway", default_inbound_policy="all-authenticated"
        ) as gateway:
            gw_port = gateway.address("inbound")[1]
            local = write_services(tmp_path / "local.json", [_mirror_service(gw_port, gateway_id)])
            async with running(pki.client, local, tmp_path) as client:
                reply = await request(client.address("outbound")[1], "/cart", method="POST", body=b"two apples")
                unknown = write_services(
                    tmp_path / "local2.json",
                    [_mirror_service(gw_port, gateway_id, remote="nothing.shop.svc.cluster.local:8080")],
                )
                async with running(pki.client, unknown, tmp_path) as lost:
                    missing = await request(lost.address("outbound")[1], "/")
                client_metrics = await scrape(client)
                gateway_metrics = await scrape(gateway)
                server_metrics = await scrape(server)
    await backend.stop()

    assert reply.status == 200
    assert reply.body == b"hello /cart two apples"
    assert backend.hits == 1
    # Each leg proves who is on the other end: the caller talks to the gateway, the gateway to the callee.
    assert metric_value(client_metrics, "response_total", direction="outbound", server_id=gateway_id.name) == 1
    assert metric_value(gateway_metrics, "response_total", direction="outbound", server_id=pki.server.name) == 1
    assert metric_value(gateway_metrics, "tcp_open_total", direction="inbound", client_id=pki.client.name) >= 1
    assert metric_value(server_metrics, "request_total", direction="inbound", client_id=gateway_id.name) == 1
    # A service the gateway's cluster does not have: the gateway says so, it does not guess.
    assert missing.status == 503
    assert "nothing.shop.svc.cluster.local:8080" in missing.headers["meshfleet-proxy-error"]


async def _named_preface(port: int, ident: IdentityFiles, pki: Pki, server_name: str, header: bytes) -> bytes:
    """Open mTLS to ``port`` as ``ident``, send ``header`` and a request; what comes back before the close."""
    ctx = ssl.create_default_context(cafile=str(ident.bundle_path))
    ctx.load_cert_chain(ident.cert_path, ident.key_path)
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=server_name)
    writer.write(header + b"GET / HTTP/1.1\r\nHost: api\r\n\r\n")
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass


async def test_a_sidecar_never_forwards_by_name_and_a_gateway_only_does(pki: Pki, tmp_path: Path) -> None:
    gateway_id = pki.identity("gateway", "gateway", "mesh")
    backend = await Backend(ok_behaviour).start()
    async with running(pki.server, None, tmp_path) as sidecar, running(
        gateway_id, None, tmp_path, mode="gateway"
    ) as gateway:
        named = TransportHeader("http1", backend.port, REMOTE).encode()
        plain = TransportHeader("http1", backend.port).encode()
        to_sidecar = await _named_preface(sidecar.address("inbound")[1], pki.client, pki, pki.server.name, named)
        to_gateway = await _named_preface(gateway.address("inbound")[1], pki.client, pki, gateway_id.name, plain)
        sidecar_metrics = await scrape(sidecar)
        gateway_metrics = await scrape(gateway)
    await backend.stop()
    assert to_sidecar == b""
    assert to_gateway == b""
    assert backend.hits == 0
    assert metric_value(sidecar_metrics, "inbound_connections_refused_total", reason="not_a_gateway") == 1
    assert metric_value(gateway_metrics, "inbound_connections_refused_total", reason="no_gateway_target") == 1


def test_the_transport_header_carries_the_gateway_target() -> None:
    header = TransportHeader("opaque", 5432, "db.shop.svc.cluster.local:5432")
    encoded = header.encode()
    assert encoded == b"MFP/1 opaque 5432 db.shop.svc.cluster.local:5432\r\n"
    assert decode(encoded + b"rest") == (header, len(encoded))
    assert decode(b"MFP/1 http1 80\r\n") == (TransportHeader("http1", 80), 16)
    for bad in (b"MFP/1 http1 80 Not_A_Name:80\r\n", b"MFP/1 http1 80 db:99999\r\n", b"MFP/1 http1 80 a:1 b\r\n"):
        with pytest.raises(TransportHeaderError):
            decode(bad)
    with pytest.raises(TransportHeaderError):
        TransportHeader("http1", 80, "db shop:80").encode()
