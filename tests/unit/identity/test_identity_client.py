"""The proxy's identity client against a real identity service on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from identity_fixtures import DOMAIN, Env, make_anchor, running_env, wait_for
from prometheus_client import CollectorRegistry

from mesh.control.identity import IdentityService
from mesh.identity_client import Backoff, ClientConfig, Credentials, IdentityClient, RenewalPolicy
from mesh.identity_client.errors import ConfigError
from mesh.pki import (
    WorkloadIdentity,
    certificates_to_pem,
    key_matches_certificate,
    parse_bundle,
    private_key_from_pem,
    verify_chain,
    write_file_atomic,
)

WEB = WorkloadIdentity(namespace="shop", service_account="web", domain=DOMAIN)
LEAF_SECONDS = 3


@dataclasses.dataclass
class Proxy:
    client: IdentityClient
    registry: CollectorRegistry
    bundle_file: Path
    certificates: list[Credentials]
    bundles: list[tuple[x509.Certificate, ...]]

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float:
        return self.registry.get_sample_value(name, labels or {}) or 0.0


@pytest.fixture
async def short_env(tmp_path: Path) -> AsyncIterator[Env]:
    async with running_env(
        tmp_path, leaf_lifetime=timedelta(seconds=LEAF_SECONDS), rate_per_second=100.0, rate_burst=100
    ) as env:
        yield env


@contextlib.asynccontextmanager
async def running_proxy(env: Env, tmp_path: Path) -> AsyncIterator[Proxy]:
    token_file = tmp_path / "token"
    token_file.write_text(env.reviewer.allow(WEB))
    bundle_file = tmp_path / "bundle.pem"
    write_file_atomic(bundle_file, env.anchors_file.read_bytes(), mode=0o644)
    (tmp_path / "identity").mkdir()
    config = ClientConfig(
        identity=WEB,
        address=("127.0.0.1", env.service.port),
        server_name=env.server_name,
        token_file=token_file,
        trust_bundle_file=bundle_file,
        directory=tmp_path / "identity",
        renewal=RenewalPolicy(min_delay=0.2),
        backoff=Backoff(base=0.05, cap=0.2),
        bundle_poll_interval=0.05,
        request_timeout=2.0,
    )
    registry = CollectorRegistry()
    certificates: list[Credentials] = []
    bundles: list[tuple[x509.Certificate, ...]] = []
    client = IdentityClient(config, registry, on_certificate=certificates.append, on_bundle=bundles.append)
    client.start()
    task = asyncio.create_task(client.run())
    try:
        yield Proxy(client, registry, bundle_file, certificates, bundles)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_first_certificate_is_written_with_a_0600_key(short_env: Env, tmp_path: Path) -> None:
    async with running_proxy(short_env, tmp_path) as proxy:
        creds = await asyncio.wait_for(proxy.client.wait_ready(), 5)
        key_path, cert_path = proxy.client.key_path, proxy.client.cert_path
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
        key = private_key_from_pem(key_path.read_bytes())
        on_disk = x509.load_pem_x509_certificates(cert_path.read_bytes())
        assert on_disk == [creds.certificate, short_env.issuer.certificate]
        assert key_matches_certificate(key, creds.certificate)
        verify_chain(
            creds.certificate, [short_env.anchor.certificate], intermediates=creds.chain, now=datetime.now(UTC)
        )
        assert proxy.metric("identity_cert_refresh_total") == 1
        assert proxy.metric("identity_cert_expiration_timestamp_seconds") == creds.valid_until.timestamp()


async def test_the_client_renews_before_expiry(short_env: Env, tmp_path: Path) -> None:
    async with running_proxy(short_env, tmp_path) as proxy:
        first = await asyncio.wait_for(proxy.client.wait_ready(), 5)
        await wait_for(lambda: len(proxy.certificates) >= 2, seconds=LEAF_SECONDS + 3)
        second = proxy.certificates[1]
        assert second.certificate != first.certificate
        # Renewed while the first leaf was still valid, around 70 % of its usable life.
        assert second.received_at < first.valid_until
        assert second.received_at >= first.received_at + timedelta(seconds=LEAF_SECONDS * 0.4)
        assert proxy.metric("identity_cert_refresh_total") >= 2
        assert proxy.metric("identity_cert_expiration_timestamp_seconds") >= second.valid_until.timestamp()


async def test_the_client_keeps_its_certificate_while_the_service_is_down(
    short_env: Env, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_proxy(short_env, tmp_path) as proxy:
        held = await asyncio.wait_for(proxy.client.wait_ready(), 5)
        port = short_env.service.port
        await short_env.service.stop()

        await wait_for(lambda: proxy.metric("identity_cert_refresh_failures_total", {"reason": "transport"}) >= 3)
        assert proxy.client.credentials == held
        assert x509.load_pem_x509_certificates(proxy.client.cert_path.read_bytes())[0] == held.certificate

        # The service comes back on the same address; the client recovers on its own.
        config = dataclasses.replace(short_env.service.config, listen=("127.0.0.1", port), admin_listen=None)
        short_env.service = IdentityService(config, short_env.reviewer, registry=CollectorRegistry())
        await short_env.service.start()
        await wait_for(lambda: proxy.client.credentials != held, seconds=5)
        assert proxy.metric("identity_cert_refresh_total") >= 2
    assert "keeping the certificate valid until" in caplog.text
    assert "PRIVATE KEY" not in caplog.text


async def test_a_503_from_an_unreachable_api_server_keeps_the_certificate(short_env: Env, tmp_path: Path) -> None:
    async with running_proxy(short_env, tmp_path) as proxy:
        held = await asyncio.wait_for(proxy.client.wait_ready(), 5)
        short_env.reviewer.down = True
        await wait_for(lambda: proxy.metric("identity_cert_refresh_failures_total", {"reason": "api-unavailable"}) >= 1)
        assert proxy.client.credentials == held
        short_env.reviewer.down = False
        await wait_for(lambda: proxy.client.credentials != held, seconds=5)


async def test_a_changed_trust_bundle_is_picked_up_and_a_bad_one_ignored(short_env: Env, tmp_path: Path) -> None:
    async with running_proxy(short_env, tmp_path) as proxy:
        await asyncio.wait_for(proxy.client.wait_ready(), 5)
        new_anchor = make_anchor("anchor-2")
        both = certificates_to_pem([short_env.anchor.certificate, new_anchor.certificate])
        write_file_atomic(proxy.bundle_file, both, mode=0o644)
        await wait_for(lambda: len(proxy.bundles) == 1)
        assert proxy.bundles[0] == parse_bundle(both)
        assert proxy.client.anchors == parse_bundle(both)
        assert proxy.metric("identity_trust_bundle_reloads_total") == 1

        write_file_atomic(proxy.bundle_file, b"garbage", mode=0o644)
        await asyncio.sleep(0.3)
        assert proxy.client.anchors == parse_bundle(both)
        assert len(proxy.bundles) == 1


def test_a_missing_trust_bundle_stops_start_up(tmp_path: Path) -> None:
    config = ClientConfig(
        identity=WEB,
        address=("127.0.0.1", 1),
        server_name="x",
        token_file=tmp_path / "token",
        trust_bundle_file=tmp_path / "absent.pem",
        directory=tmp_path,
    )
    with pytest.raises(ConfigError, match="absent.pem"):
        IdentityClient(config, CollectorRegistry()).start()


def test_importing_the_client_loads_neither_aiohttp_nor_kubernetes() -> None:
    code = (
        "import sys, mesh.identity_client\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'kubernetes', 'yaml')"
        " or m.startswith('mesh.control'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
