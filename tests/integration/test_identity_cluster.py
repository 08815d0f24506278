"""The identity service against a real kube-apiserver: TokenRequest mints tokens, TokenReview judges them."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from kubernetes import client
from kubernetes import config as kube_config
from prometheus_client import CollectorRegistry

from mesh.control.identity import (
    CachingTokenReviewer,
    IdentityService,
    KubeApi,
    KubernetesTokenReviewer,
    ServiceConfig,
    load_kubeconfig,
)
from mesh.identity_client import Backoff, ClientConfig, IdentityClient, RenewalPolicy
from mesh.pki import (
    CertificateAuthority,
    IdentityDomain,
    WorkloadIdentity,
    certificates_to_pem,
    create_csr,
    csr_to_pem,
    generate_private_key,
    issue_issuer,
    issue_trust_anchor,
    verify_chain,
    write_file_atomic,
    write_private_key_file,
)

pytestmark = pytest.mark.cluster

AUDIENCE = "identity.meshfleet.io"
DOMAIN = IdentityDomain(trust_domain="cluster.local", mesh_namespace="meshfleet")


@dataclass
class Cluster:
    kubeconfig: Path
    core: client.CoreV1Api
    namespace: str

    def service_account(self, name: str) -> WorkloadIdentity:
        self.core.create_namespaced_service_account(self.namespace, {"metadata": {"name": name}})
        return WorkloadIdentity(namespace=self.namespace, service_account=name, domain=DOMAIN)

    def token(self, who: WorkloadIdentity, audience: str = AUDIENCE, seconds: int = 600) -> str:
        """A bound token from the TokenRequest API, as a projected volume would hold it."""
        request = {"spec": {"audiences": [audience], "expirationSeconds": seconds}}
        answer = self.core.create_namespaced_service_account_token(who.service_account, who.namespace, request)
        return str(answer.status.token)


@pytest.fixture
def cluster(local_fleet: Any) -> Iterator[Cluster]:
    name = next(iter(local_fleet.clusters))
    kubeconfig = Path(local_fleet.clusters[name].kubeconfig)
    core = client.CoreV1Api(kube_config.new_client_from_config(config_file=str(kubeconfig)))
    namespace = f"id-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": namespace}})
    # The namespace controller would create it too; do not depend on its timing.
    deadline = time.monotonic() + 30
    while True:
        try:
            core.read_namespace(namespace)
            break
        except client.ApiException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        yield Cluster(kubeconfig, core, namespace)
    finally:
        core.delete_namespace(namespace)


@dataclass
class Running:
    service: IdentityService
    anchor: CertificateAuthority
    issuer: CertificateAuthority
    anchors_file: Path


@contextlib.asynccontextmanager
async def identity_service(cluster: Cluster, tmp_path: Path, *, cache_seconds: float = 10.0) -> AsyncIterator[Running]:
    now = datetime.now(UTC)
    anchor_key = generate_private_key()
    anchor = CertificateAuthority(issue_trust_anchor(anchor_key, common_name="anchor", now=now), anchor_key)
    issuer_key = generate_private_key()
    issuer_cert = issue_issuer(
        issuer_key.public_key(), anchor, trust_domain=DOMAIN.trust_domain, common_name="issuer", now=now
    )
    issuer = CertificateAuthority(issuer_cert, issuer_key, anchor=anchor.certificate)
    issuer_dir = tmp_path / "issuer"
    issuer_dir.mkdir()
    write_file_atomic(issuer_dir / "tls.crt", certificates_to_pem([issuer_cert]), mode=0o644)
    write_private_key_file(issuer_dir / "tls.key", issuer_key)
    anchors_file = issuer_dir / "ca.crt"
    write_file_atomic(anchors_file, certificates_to_pem([anchor.certificate]), mode=0o644)

    api = KubeApi(load_kubeconfig(cluster.kubeconfig))
    config = ServiceConfig(
        issuer_dir=issuer_dir,
        trust_anchors=anchors_file,
        domain=DOMAIN,
        listen=("127.0.0.1", 0),
        rate_per_second=100.0,
        rate_burst=100,
        poll_interval=0.2,
    )
    reviewer = CachingTokenReviewer(KubernetesTokenReviewer(api), max_ttl=cache_seconds)
    service = IdentityService(config, reviewer, registry=CollectorRegistry())
    await service.start()
    try:
        yield Running(service, anchor, issuer, anchors_file)
    finally:
        await service.stop()
        await api.close()


async def certify(running: Running, who: WorkloadIdentity, token: str) -> tuple[int, dict[str, Any]]:
    key = generate_private_key()
    body = {"identity": who.dns_name, "csr": csr_to_pem(create_csr(key, who)), "token": token}
    ctx = ssl.create_default_context(cadata=certificates_to_pem([running.anchor.certificate]).decode())
    async with aiohttp.ClientSession() as s:
        async with s.post(
            f"https://127.0.0.1:{running.service.port}/v1/certify",
            json=body,
            ssl=ctx,
            server_hostname=running.service.config.self_identity.dns_name,
        ) as resp:
            return resp.status, await resp.json()


async def test_a_service_account_token_buys_a_24h_leaf(cluster: Cluster, tmp_path: Path) -> None:
    web = cluster.service_account("web")
    async with identity_service(cluster, tmp_path) as running:
        status, answer = await certify(running, web, cluster.token(web))
    assert status == 200, answer
    leaf = x509.load_pem_x509_certificate(answer["certificate"].encode())
    chain = [x509.load_pem_x509_certificate(c.encode()) for c in answer["chain"]]
    path = verify_chain(leaf, [running.anchor.certificate], intermediates=chain, now=datetime.now(UTC))
    assert path == (leaf, running.issuer.certificate, running.anchor.certificate)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert list(san) == [
        x509.DNSName(web.dns_name),
        x509.UniformResourceIdentifier(f"spiffe://cluster.local/ns/{cluster.namespace}/sa/web"),
    ]
    assert abs(leaf.not_valid_after_utc - datetime.now(UTC) - timedelta(hours=24)) < timedelta(minutes=1)


async def test_refusals_from_a_real_api_server(cluster: Cluster, tmp_path: Path) -> None:
    web, db = cluster.service_account("web"), cluster.service_account("db")
    async with identity_service(cluster, tmp_path) as running:
        wrong_audience = cluster.token(web, audience="https://example.invalid")
        assert (await certify(running, web, wrong_audience))[1]["error"] == "wrong-audience"
        forged = cluster.token(web)[:-4] + "AAAA"
        status, answer = await certify(running, web, forged)
        assert (status, answer["error"]) == (401, "token-rejected")
        status, answer = await certify(running, db, cluster.token(web))
        assert (status, answer["error"]) == (403, "identity-mismatch")


async def test_a_token_is_refused_once_its_service_account_is_deleted(cluster: Cluster, tmp_path: Path) -> None:
    web = cluster.service_account("web")
    token = cluster.token(web)
    async with identity_service(cluster, tmp_path, cache_seconds=1.0) as running:
        assert (await certify(running, web, token))[0] == 200
        cluster.core.delete_namespaced_service_account("web", cluster.namespace)
        # kube-apiserver itself caches successful authentications for 10 s, and
        # our cache for 1 s here: within that the old verdict may still stand.
        deadline = time.monotonic() + 30
        while True:
            status, answer = await certify(running, web, token)
            if status != 200 or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)
    assert (status, answer.get("error")) == (401, "token-rejected")


async def test_the_proxy_client_gets_and_renews_a_certificate(cluster: Cluster, tmp_path: Path) -> None:
    web = cluster.service_account("web")
    token_file = tmp_path / "token"
    token_file.write_text(cluster.token(web))
    async with identity_service(cluster, tmp_path) as running:
        (tmp_path / "proxy").mkdir()
        config = ClientConfig(
            identity=web,
            address=("127.0.0.1", running.service.port),
            server_name=running.service.config.self_identity.dns_name,
            token_file=token_file,
            trust_bundle_file=running.anchors_file,
            directory=tmp_path / "proxy",
            renewal=RenewalPolicy(min_delay=0.5, max_delay=0.5),
            backoff=Backoff(base=0.1, cap=0.5),
            bundle_poll_interval=0.2,
        )
        registry = CollectorRegistry()
        renewed = asyncio.Event()
        seen: list[object] = []

        def on_certificate(creds: object) -> None:
            seen.append(creds)
            if len(seen) >= 2:
                renewed.set()

        proxy = IdentityClient(config, registry, on_certificate=on_certificate)
        proxy.start()
        task = asyncio.create_task(proxy.run())
        try:
            first = await asyncio.wait_for(proxy.wait_ready(), 10)
            await asyncio.wait_for(renewed.wait(), 10)
            assert proxy.credentials != first
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert (registry.get_sample_value("identity_cert_refresh_total") or 0) >= 2
