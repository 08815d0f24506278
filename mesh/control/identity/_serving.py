"""The identity service's own TLS certificate, issued by itself from the current issuer.

Proxies reach the service by a Service address but verify it as a workload
identity (its ServiceAccount's DNS identity), exactly like any other meshed
peer, so the service needs no certificate from outside the mesh PKI.  It is
re-issued whenever the issuer changes and at 70 % of its life.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cryptography import x509

from mesh.pki import (
    CertificateAuthority,
    Validity,
    WorkloadIdentity,
    certificates_to_pem,
    create_csr,
    generate_private_key,
    issue_leaf,
    parse_csr,
    private_key_to_pem,
)
from mesh.pki import csr_to_pem as _csr_to_pem

from ._tls import load_cert_chain_from_memory, server_context

log = logging.getLogger(__name__)

RENEW_FRACTION = 0.7


class ServingCertificate:
    def __init__(
        self,
        identity: WorkloadIdentity,
        *,
        lifetime: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.identity = identity
        self.context: ssl.SSLContext = server_context()
        self._lifetime = lifetime
        self._clock = clock
        self._key = generate_private_key()
        self._csr = parse_csr(_csr_to_pem(create_csr(self._key, identity)))
        self._leaf: x509.Certificate | None = None
        self._renew_at: datetime | None = None

    @property
    def certificate(self) -> x509.Certificate | None:
        return self._leaf

    def reissue(self, ca: CertificateAuthority) -> None:
        now = self._clock()
        leaf = issue_leaf(ca, self._csr, self.identity, now=now, lifetime=self._lifetime)
        load_cert_chain_from_memory(
            self.context, certificates_to_pem([leaf.certificate, *leaf.chain]), private_key_to_pem(self._key)
        )
        self._leaf = leaf.certificate
        self._renew_at = Validity.of(leaf.certificate).renew_at(RENEW_FRACTION, received_at=now)
        log.info("serving as %s until %s", self.identity.dns_name, leaf.valid_until.isoformat())

    def due(self) -> bool:
        return self._renew_at is None or self._clock() >= self._renew_at
