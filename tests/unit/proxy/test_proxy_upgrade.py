from __future__ import annotations

import asyncio
from pathlib import Path

from mesh.proxy.init_cmd import run_proxy_init
from mesh.proxy.main import run_proxy
from mesh.proxy.settings import parse_settings

from .conftest import Pki
from .harness import running, web_service, write_services


async def echo_after_upgrade(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    assert b"upgrade: echo" in head.lower()
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nhi!")
    await writer.drain()
    while data := await reader.read(1024):
        writer.write(data.upper())
        await writer.drain()
    writer.close()


async def test_upgrade_becomes_a_byte_stream_through_both_proxies(pki: Pki, tmp_path: Path) -> None:
    backend = await asyncio.start_server(echo_after_upgrade, "127.0.0.1", 0)
    backend_port = backend.sockets[0].getsockname()[1]
    async with running(pki.server, None, tmp_path, default_inbound_policy="all-authenticated") as server:
        services = write_services(
            tmp_path / "svc.json",
            [
                web_service(
                    [
                        {
                            "address": f"127.0.0.1:{backend_port}",
                            "identity": pki.server.name,
                            "proxy_port": server.address("inbound")[1],
                        }
                    ]
                )
            ],
        )
        async with running(pki.client, services, tmp_path) as client:
            reader, writer = await asyncio.open_connection(*client.address("outbound"))
            writer.write(
                b"GET /chat HTTP/1.1\r\nHost: web.shop.svc.cluster.local:8080\r\n"
                b"Upgrade: echo\r\nConnection: Upgrade\r\n\r\nearly "
            )
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 101 ")
            assert await asyncio.wait_for(reader.readexactly(3), 5) == b"hi!"
            assert await asyncio.wait_for(reader.readexactly(6), 5) == b"EARLY "
            writer.write(b"raw bytes, not http\r\n\r\n")
            await writer.drain()
            assert await asyncio.wait_for(reader.readexactly(23), 5) == b"RAW BYTES, NOT HTTP\r\n\r\n"
            writer.close()
    backend.close()


def test_settings_come_from_flags_over_environment(monkeypatch: object, tmp_path: Path) -> None:
    import pytest

    mp = monkeypatch
    assert isinstance(mp, pytest.MonkeyPatch)
    mp.setenv("MESHFLEET_PROXY_OUTBOUND_ADDR", "127.0.0.1:5140")
    mp.setenv("MESHFLEET_PROXY_REQUEST_TIMEOUT", "2.5")
    s = parse_settings(["--admin-addr", "127.0.0.1:5191", "--opaque-ports", "3306,5432"])
    assert s.outbound_addr == ("127.0.0.1", 5140)
    assert s.admin_addr == ("127.0.0.1", 5191)
    assert s.inbound_addr == ("0.0.0.0", 4143)
    assert s.timeouts.request == 2.5
    assert s.opaque_ports == frozenset({3306, 5432})


def test_run_proxy_reports_bad_configuration_with_exit_status(capsys: object) -> None:
    assert run_proxy(["--inbound-addr", "nonsense"]) == 2
    assert run_proxy(["--inbound-addr", "127.0.0.1:0"]) == 1  # no identity directory given


def test_proxy_init_dry_run_prints_the_rules(capsys: object) -> None:
    import pytest

    assert isinstance(capsys, pytest.CaptureFixture)
    assert run_proxy_init(["--dry-run", "--proxy-uid", "2102", "--skip-inbound-ports", "22"]) == 0
    out = capsys.readouterr().out
    assert "-A MESHFLEET_INBOUND -p tcp --dport 22 -j RETURN" in out
    assert "--uid-owner 2102" in out
    assert run_proxy_init(["--dry-run", "--skip-outbound-subnets", "not-a-subnet"]) == 1
