"""Read one cluster back for a rotation: bundle copies, issuer, a fresh leaf, and every proxy's leaf.

Everything goes through the cluster's API server, so it works wherever
``meshfleet reconcile`` works:

- the ``trust-anchors`` ConfigMaps of every namespace (the mesh's and the
  copies meshed namespaces mount);
- the issuer Secret, and which anchor signed it;
- a throwaway certificate from the identity service, asked for through the
  API server's service proxy with a short-lived token of the identity
  service's own ServiceAccount: what the service *serves*, not what the
  Secret says it should;
- each meshed pod's ``identity_cert_anchor_info`` metric, read through the
  API server's pod proxy from the proxy's admin port.

Nothing here decides anything; ``fleet.trust.rotation`` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from fleet.config import ClusterConfig
from fleet.kube.client import KubeClient
from fleet.kube.errors import KubeError
from fleet.kube.kubeconfig import load_access
from fleet.trust.rotation import ClusterView, ProxyView
from fleet.trust.secrets import certificate_of
from mesh.manifests import ADMIN_PORTS, ISSUER_SECRET, PROXY_ADMIN_PORT, TRUST_BUNDLE_CONFIGMAP, TRUST_BUNDLE_KEY
from mesh.pki import (
    IdentityDomain,
    WorkloadIdentity,
    create_csr,
    csr_to_pem,
    fingerprint,
    generate_private_key,
    parse_bundle,
)
from mesh.pki.errors import PKIError

IDENTITY_SERVICE = "identity"  # the identity Deployment, its Service and its ServiceAccount
IDENTITY_PORT = 8080
IDENTITY_ANNOTATION = "meshfleet.io/identity"  # set by the injector on every pod it gives a proxy
TOKEN_AUDIENCE = "identity.meshfleet.io"
ANCHOR_METRIC = "identity_cert_anchor_info"
CERTIFY_PATH = "/v1/certify"


def signing_anchor(cert: x509.Certificate, anchors: Sequence[x509.Certificate]) -> str | None:
    """Fingerprint of the anchor in ``anchors`` that directly signed ``cert``, if any."""
    for anchor in anchors:
        try:
            cert.verify_directly_issued_by(anchor)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return fingerprint(anchor)
    return None


def anchor_of_metrics(text: str) -> str | None:
    """The ``anchor`` label of the proxy's ``identity_cert_anchor_info`` sample whose value is 1."""
    for line in text.splitlines():
        if not line.startswith(ANCHOR_METRIC + "{"):
            continue
        labels, _, value = line[len(ANCHOR_METRIC) + 1:].rpartition("} ")
        if value.strip() not in ("1", "1.0"):
            continue
        for part in labels.split(","):
            key, _, quoted = part.partition("=")
            if key.strip() == "anchor":
                return quoted.strip().strip('"')
    return None


async def _bundles(kube: KubeClient) -> tuple[tuple[str, frozenset[str]], ...]:
    doc = await kube.request("GET", "/api/v1/configmaps",
                             params={"fieldSelector": f"metadata.name={TRUST_BUNDLE_CONFIGMAP}"},
                             what=f"list ConfigMaps {TRUST_BUNDLE_CONFIGMAP}")
    out = []
    for item in doc.get("items", []):
        pem = (item.get("data") or {}).get(TRUST_BUNDLE_KEY, "")
        try:
            fps = frozenset(fingerprint(c) for c in parse_bundle(pem.encode()))
        except PKIError:
            fps = frozenset()
        out.append((str(item["metadata"]["namespace"]), fps))
    return tuple(sorted(out))


async def _identity_probe(kube: KubeClient, namespace: str, trust_domain: str,
                          anchors: Sequence[x509.Certificate]) -> tuple[str | None, str | None]:
    """(anchor of a leaf the identity service issues now, or None; why not)."""
    review: dict[str, Any] = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                              "spec": {"audiences": [TOKEN_AUDIENCE], "expirationSeconds": 600}}
    try:
        got = await kube.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{IDENTITY_SERVICE}/token",
                                 body=review, what=f"token for ServiceAccount {namespace}/{IDENTITY_SERVICE}")
        token = got["status"]["token"]
    except (KubeError, KeyError, TypeError) as e:
        return None, f"cannot get a token to ask it: {e}"
    who = WorkloadIdentity(namespace, IDENTITY_SERVICE, IdentityDomain(trust_domain, namespace))
    key = generate_private_key()  # thrown away with the leaf: only its chain is looked at
    body = {"identity": who.dns_name, "csr": csr_to_pem(create_csr(key, who)), "token": token}
    path = f"/api/v1/namespaces/{namespace}/services/https:{IDENTITY_SERVICE}:{IDENTITY_PORT}/proxy{CERTIFY_PATH}"
    try:
        answer = await kube.request("POST", path, body=body, what="certify through the service proxy")
        chain = [x509.load_pem_x509_certificate(str(c).encode()) for c in answer.get("chain", [])]
    except (KubeError, ValueError) as e:
        return None, f"certify failed: {e}"
    if not chain:
        return None, "certify answered without a chain"
    return signing_anchor(chain[-1], anchors), None


# Control-plane pods that hold a workload certificate of their own, and the port of their metrics.
_CONTROL_PLANE_HOLDERS = {"destination": ADMIN_PORTS["destination"], "gateway": PROXY_ADMIN_PORT}


def leaf_metrics_port(pod: dict[str, Any], mesh_namespace: str) -> int | None:
    """Where a running pod reports the anchor of its leaf certificate; None if it holds none.

    Meshed pods report it on their proxy's admin port; in the mesh namespace
    the destination service and the gateways renew leaves of their own, and
    a rotation must not drop the old anchor before they have moved either.
    """
    meta, status = pod.get("metadata", {}), pod.get("status", {})
    if meta.get("deletionTimestamp") or status.get("phase") != "Running":
        return None
    if IDENTITY_ANNOTATION in (meta.get("annotations") or {}):
        return PROXY_ADMIN_PORT
    if meta.get("namespace") == mesh_namespace:
        return _CONTROL_PLANE_HOLDERS.get((meta.get("labels") or {}).get("app.kubernetes.io/name", ""))
    return None


async def _leaf_metrics(kube: KubeClient, ns: str, name: str, port: int) -> str:
    """A pod's metrics page through the API server; on failure a line saying why (it holds no metric)."""
    try:
        return await kube.get_text(f"/api/v1/namespaces/{ns}/pods/{name}:{port}/proxy/metrics")
    except KubeError as e:
        return f"unreachable: {e}"


async def _proxies(kube: KubeClient, mesh_namespace: str) -> tuple[ProxyView, ...]:
    holders = [(p, port) for p in await kube.list("v1", "Pod")
               if (port := leaf_metrics_port(p, mesh_namespace)) is not None]

    async def one(pod: dict[str, Any], port: int) -> ProxyView:
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        text = await _leaf_metrics(kube, ns, name, port)
        anchor = anchor_of_metrics(text)
        error = None if anchor else f"its proxy reports no {ANCHOR_METRIC} ({text[:80].strip() or 'empty'})"
        return ProxyView(f"{ns}/{name}", anchor, error)

    return tuple(sorted(await asyncio.gather(*(one(p, port) for p, port in holders)), key=lambda v: v.pod))


async def observe_cluster(cluster: ClusterConfig, namespace: str, trust_domain: str,
                          anchors: Sequence[x509.Certificate], kubeconfig: Path | None, *,
                          identity: bool, proxies: bool, request_timeout: float = 10.0) -> ClusterView:
    """Everything rotation needs from one cluster; ``identity``/``proxies`` skip the costlier probes."""
    try:
        access = load_access(cluster.kubeconfig_context, [kubeconfig] if kubeconfig else None)
        async with KubeClient(access, timeout=request_timeout) as kube:
            bundles = await _bundles(kube)
            issuer = certificate_of(await kube.get("v1", "Secret", ISSUER_SECRET, namespace))
            issuer_anchor = signing_anchor(issuer, anchors) if issuer is not None else None
            identity_anchor: str | None = None
            identity_error: str | None = "not asked yet"
            if identity:
                identity_anchor, identity_error = await _identity_probe(kube, namespace, trust_domain, anchors)
            seen: tuple[ProxyView, ...] = ()
            if proxies:
                seen = await _proxies(kube, namespace)
    except KubeError as e:
        return ClusterView(cluster.name, error=f"unreachable or refusing: {e}")
    return ClusterView(cluster.name, None, bundles, issuer_anchor, identity_anchor, identity_error, seen)
