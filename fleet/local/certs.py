"""Certificates and keys of one local cluster's control plane.

Each local cluster has its own CA.  The apiserver serves a certificate from it
with IP SANs for loopback and its in-cluster service address, clients (the
admin, the controller-manager, the scheduler, later each node) authenticate
with client certificates from it, and ServiceAccount tokens are signed with a
separate ECDSA key.  Private keys are written with mode 0600 from the moment
the file exists and live only under the local fleet's state directory.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mesh.pki import KEY_FILE_MODE, write_file_atomic

_VALIDITY = dt.timedelta(days=365)


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file that is 0600 from creation on, replacing any old one atomically."""
    write_file_atomic(path, data, mode=KEY_FILE_MODE)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True, slots=True)
class CertPaths:
    cert: Path
    key: Path


class ClusterPKI:
    """The files of one cluster's PKI under ``directory``; created on first use."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    @property
    def ca(self) -> CertPaths:
        return CertPaths(self.dir / "ca.crt", self.dir / "ca.key")

    @property
    def sa_key(self) -> Path:
        return self.dir / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.dir / "sa.pub"

    def pair(self, name: str) -> CertPaths:
        return CertPaths(self.dir / f"{name}.crt", self.dir / f"{name}.key")

    def ensure(self, cluster: str, service_ip: str) -> None:
        """Create whatever is missing; existing material is kept so restarts keep their identity."""
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.ca.cert.exists():
            self._new_ca(cluster)
        if not self.sa_key.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            write_private(self.sa_key, _key_pem(key))
            self.sa_pub.write_bytes(key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        serving_sans: list[x509.GeneralName] = [
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address(service_ip)),
            x509.DNSName("localhost"),
            *(x509.DNSName(n) for n in ("kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                        "kubernetes.default.svc.cluster.local")),
        ]
        self._ensure_leaf("apiserver", "kube-apiserver", (), serving_sans, server=True)
        loopback: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                            x509.DNSName("localhost")]
        self._ensure_leaf("controller-manager-serving", "kube-controller-manager", (), loopback, server=True)
        self._ensure_leaf("scheduler-serving", "kube-scheduler", (), loopback, server=True)
        self._ensure_leaf("admin", "meshfleet-admin", ("system:masters",), [], server=False)
        self._ensure_leaf("controller-manager", "system:kube-controller-manager", (), [], server=False)
        self._ensure_leaf("scheduler", "system:kube-scheduler", (), [], server=False)
        self._ensure_leaf("front-proxy-client", "front-proxy-client", (), [], server=False)

    def client_cert(self, name: str, common_name: str, groups: tuple[str, ...]) -> CertPaths:
        """A client certificate for another user of this cluster (nodes use this)."""
        self._ensure_leaf(name, common_name, groups, [], server=False)
        return self.pair(name)

    def _new_ca(self, cluster: str) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"meshfleet-local-{cluster}-ca")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + 10 * _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        write_private(self.ca.key, _key_pem(key))
        self.ca.cert.write_bytes(_cert_pem(cert))

    def _ensure_leaf(self, file: str, cn: str, groups: tuple[str, ...], sans: list[x509.GeneralName],
                     *, server: bool) -> None:
        paths = self.pair(file)
        if paths.cert.exists() and paths.key.exists():
            return
        ca_cert = x509.load_pem_x509_certificate(self.ca.cert.read_bytes())
        ca_key = serialization.load_pem_private_key(self.ca.key.read_bytes(), password=None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
            + [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        )
        now = dt.datetime.now(dt.UTC)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        write_private(paths.key, _key_pem(key))
        paths.cert.write_bytes(_cert_pem(cert))
