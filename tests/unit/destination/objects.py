"""Kubernetes objects as the API server would send them, built small for tests; and mesh PKI files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mesh.pki import (
    CertificateAuthority,
    IdentityDomain,
    WorkloadIdentity,
    certificates_to_pem,
    create_csr,
    csr_to_pem,
    generate_private_key,
    issue_issuer,
    issue_leaf,
    issue_trust_anchor,
    parse_csr,
    write_file_atomic,
    write_private_key_file,
)

DOMAIN = IdentityDomain(trust_domain="cluster.local", mesh_namespace="meshfleet")
SUFFIX = DOMAIN.dns_suffix


def service(
    name: str, ns: str = "shop", ip: str = "10.96.0.10", ports: tuple[int, ...] = (8080,), **ann: str
) -> dict[str, Any]:
    return {
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "annotations": dict(ann)},
        "spec": {
            "clusterIP": ip,
            "clusterIPs": [ip],
            "ports": [{"name": f"p{p}", "port": p, "targetPort": p, "protocol": "TCP"} for p in ports],
        },
    }


def pod(name: str, ip: str, ns: str = "shop", sa: str = "api", meshed: bool = True, **labels: str) -> dict[str, Any]:
    inits = [{"name": "meshfleet-proxy", "image": "x", "restartPolicy": "Always"}] if meshed else []
    return {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
        "spec": {
            "serviceAccountName": sa,
            "initContainers": inits,
            "containers": [{"name": "app", "image": "x", "ports": [{"name": "http", "containerPort": 8080}]}],
        },
        "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]},
    }


def endpoint_slice(
    service_name: str,
    endpoints: list[tuple[str, str | None, bool]],
    ns: str = "shop",
    port: int = 8080,
    suffix: str = "a",
) -> dict[str, Any]:
    """``endpoints``: (ip, pod name or None, ready)."""
    return {
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service_name}-{suffix}",
            "namespace": ns,
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv4",
        "ports": [{"name": f"p{port}", "port": port, "protocol": "TCP"}],
        "endpoints": [
            {
                "addresses": [ip],
                "conditions": {"ready": ready},
                **({"targetRef": {"kind": "Pod", "name": p, "namespace": ns}} if p else {}),
            }
            for ip, p, ready in endpoints
        ],
    }


def identity_of(sa: str, ns: str = "shop") -> str:
    return f"{sa}.{ns}.{SUFFIX}"


class MeshPKI:
    """A trust anchor and issuer made at test time; leaves written as cert.pem / key.pem (0600)."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        anchor_key = generate_private_key()
        anchor = CertificateAuthority(
            issue_trust_anchor(anchor_key, common_name="anchor", now=now, lifetime=timedelta(days=2)), anchor_key
        )
        issuer_key = generate_private_key()
        cert = issue_issuer(
            issuer_key.public_key(), anchor, trust_domain=DOMAIN.trust_domain, common_name="issuer", now=now
        )
        self.issuer = CertificateAuthority(cert, issuer_key, anchor=anchor.certificate)
        self.bundle = root / "bundle.pem"
        write_file_atomic(self.bundle, certificates_to_pem([anchor.certificate]), mode=0o644)
        self.root = root

    def leaf(self, sa: str, ns: str) -> Path:
        """A directory holding a leaf for ServiceAccount ``ns/sa``."""
        who = WorkloadIdentity(namespace=ns, service_account=sa, domain=DOMAIN)
        key = generate_private_key()
        csr = parse_csr(csr_to_pem(create_csr(key, who)))
        issued = issue_leaf(self.issuer, csr, who, now=datetime.now(UTC))
        d = self.root / f"{ns}-{sa}"
        d.mkdir(exist_ok=True)
        write_private_key_file(d / "key.pem", key)
        write_file_atomic(d / "cert.pem", certificates_to_pem([issued.certificate, *issued.chain]), mode=0o644)
        return d
