"""Workload identity names: the DNS identity, the SPIFFE ID, and the ServiceAccount behind both.

A workload's identity is its ServiceAccount.  It is written two ways in every
leaf certificate:

    DNS SAN   <sa>.<ns>.serviceaccount.identity.<mesh-namespace>.<trust-domain>
    URI SAN   spiffe://<trust-domain>/ns/<ns>/sa/<sa>

Namespaces are DNS labels (no dots) but ServiceAccount names are DNS
subdomains and may contain dots, so the DNS form is split from the right: the
last label before the suffix is the namespace, everything before it the
ServiceAccount.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from .errors import IdentityNameError

SERVICE_ACCOUNT_USER_PREFIX = "system:serviceaccount:"
SPIFFE_SCHEME = "spiffe://"

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SUBDOMAIN_MAX = 253
_CN_MAX = 64


def _check_label(value: str, what: str) -> None:
    if not _LABEL.match(value):
        raise IdentityNameError(f"{what} {value!r} is not a DNS label (1-63 of a-z, 0-9 and '-')")


def _check_subdomain(value: str, what: str) -> None:
    if not value or len(value) > _SUBDOMAIN_MAX:
        raise IdentityNameError(f"{what} {value!r} must be 1-{_SUBDOMAIN_MAX} characters")
    for label in value.split("."):
        if not _LABEL.match(label):
            raise IdentityNameError(f"{what} {value!r} is not a DNS subdomain (label {label!r})")


@dataclass(frozen=True, slots=True)
class IdentityDomain:
    """Where identities live: the fleet's trust domain and the namespace the mesh runs in."""

    trust_domain: str
    mesh_namespace: str

    def __post_init__(self) -> None:
        _check_subdomain(self.trust_domain, "trust domain")
        _check_label(self.mesh_namespace, "mesh namespace")

    @property
    def dns_suffix(self) -> str:
        """The part every DNS identity in this domain ends with (without the leading dot)."""
        return f"serviceaccount.identity.{self.mesh_namespace}.{self.trust_domain}"


@dataclass(frozen=True, slots=True)
class WorkloadIdentity:
    """One ServiceAccount's identity within an identity domain."""

    namespace: str
    service_account: str
    domain: IdentityDomain

    def __post_init__(self) -> None:
        _check_label(self.namespace, "namespace")
        _check_subdomain(self.service_account, "service account")

    @property
    def dns_name(self) -> str:
        return f"{self.service_account}.{self.namespace}.{self.domain.dns_suffix}"

    @property
    def subject(self) -> x509.Name:
        """CN=<dns name> when it fits the 64-character CN limit, else an empty subject.

        With an empty subject RFC 5280 requires the SAN extension to be critical;
        `san_critical` says so.
        """
        if len(self.dns_name) <= _CN_MAX:
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.dns_name)])
        return x509.Name([])

    @property
    def san_critical(self) -> bool:
        return len(self.dns_name) > _CN_MAX

    @property
    def subject_alternative_name(self) -> x509.SubjectAlternativeName:
        """Exactly the two names a leaf carries: the DNS identity and the SPIFFE ID."""
        return x509.SubjectAlternativeName(
            [x509.DNSName(self.dns_name), x509.UniformResourceIdentifier(self.spiffe_id)]
        )

    @property
    def spiffe_id(self) -> str:
        return f"{SPIFFE_SCHEME}{self.domain.trust_domain}/ns/{self.namespace}/sa/{self.service_account}"

    @property
    def service_account_username(self) -> str:
        """The username the Kubernetes API reports for this ServiceAccount's tokens."""
        return f"{SERVICE_ACCOUNT_USER_PREFIX}{self.namespace}:{self.service_account}"

    @classmethod
    def parse_dns(cls, name: str, domain: IdentityDomain) -> WorkloadIdentity:
        """Parse a DNS identity; it must belong to `domain`."""
        suffix = "." + domain.dns_suffix
        if not name.endswith(suffix):
            raise IdentityNameError(f"identity {name!r} is not under {domain.dns_suffix!r}")
        head = name[: -len(suffix)]
        sa, dot, ns = head.rpartition(".")
        if not dot:
            raise IdentityNameError(f"identity {name!r} must be <serviceaccount>.<namespace>.{domain.dns_suffix}")
        return cls(namespace=ns, service_account=sa, domain=domain)

    @classmethod
    def parse_spiffe(cls, uri: str, mesh_namespace: str) -> WorkloadIdentity:
        """Parse `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`.

        The SPIFFE ID does not carry the mesh namespace, so the caller supplies it.
        """
        if not uri.startswith(SPIFFE_SCHEME):
            raise IdentityNameError(f"SPIFFE ID {uri!r} does not start with {SPIFFE_SCHEME!r}")
        trust_domain, _, path = uri[len(SPIFFE_SCHEME) :].partition("/")
        parts = path.split("/")
        if len(parts) != 4 or parts[0] != "ns" or parts[2] != "sa":
            raise IdentityNameError(f"SPIFFE ID {uri!r} is not of the form spiffe://<domain>/ns/<ns>/sa/<sa>")
        return cls(
            namespace=parts[1],
            service_account=parts[3],
            domain=IdentityDomain(trust_domain=trust_domain, mesh_namespace=mesh_namespace),
        )

    @classmethod
    def from_username(cls, username: str, domain: IdentityDomain) -> WorkloadIdentity:
        """The identity of a token whose Kubernetes username is `system:serviceaccount:<ns>:<sa>`."""
        if not username.startswith(SERVICE_ACCOUNT_USER_PREFIX):
            raise IdentityNameError(f"user {username!r} is not a ServiceAccount")
        ns, sep, sa = username[len(SERVICE_ACCOUNT_USER_PREFIX) :].partition(":")
        if not sep:
            raise IdentityNameError(f"user {username!r} is not system:serviceaccount:<namespace>:<name>")
        return cls(namespace=ns, service_account=sa, domain=domain)
