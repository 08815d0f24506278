"""The certify exchange from the client's side (pure): the request body and checking the answer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from mesh.pki import (
    PrivateKey,
    WorkloadIdentity,
    certificates_to_pem,
    key_matches_certificate,
    verify_chain,
)
from mesh.pki.errors import CertificateError

from ._http import HttpResponse
from .errors import BadAnswer, Refused

CERTIFY_PATH = "/v1/certify"
TOKEN_AUDIENCE = "identity.meshfleet.io"


@dataclass(frozen=True, slots=True)
class Credentials:
    """A leaf the client holds, with the chain it presents after it."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    received_at: datetime

    @property
    def valid_until(self) -> datetime:
        return self.certificate.not_valid_after_utc

    def chain_pem(self) -> bytes:
        """Leaf then chain, as `SSLContext.load_cert_chain` expects."""
        return certificates_to_pem([self.certificate, *self.chain])


def request_body(identity: WorkloadIdentity, csr_pem: str, token: str) -> bytes:
    return json.dumps({"identity": identity.dns_name, "csr": csr_pem, "token": token}).encode()


def _retry_after(headers: dict[str, str]) -> float | None:
    try:
        return float(headers["retry-after"])
    except (KeyError, ValueError):
        return None


def read_answer(
    resp: HttpResponse,
    *,
    key: PrivateKey,
    identity: WorkloadIdentity,
    anchors: tuple[x509.Certificate, ...],
    now: datetime,
) -> Credentials:
    """Credentials from a certify answer, or the reason it is unusable.

    The answer is checked as a peer would check it: our key, our identity, a
    chain to our anchors.  A certificate that fails here would fail every
    handshake, so it is better refused than installed.
    """
    try:
        doc = json.loads(resp.body)
    except ValueError:
        doc = None
    if resp.status != 200:
        retry_after = _retry_after(resp.headers)
        if isinstance(doc, dict) and isinstance(doc.get("error"), str):
            raise Refused(resp.status, doc["error"], str(doc.get("message", "")), retry_after=retry_after)
        raise Refused(resp.status, "http-error", f"HTTP {resp.status}", retry_after=retry_after)
    if not isinstance(doc, dict):
        raise BadAnswer("the answer is not a JSON object")
    if not isinstance(doc.get("certificate"), str) or not isinstance(doc.get("chain"), list):
        raise BadAnswer("the answer lacks 'certificate' or 'chain'")
    try:
        leaf = x509.load_pem_x509_certificate(doc["certificate"].encode())
        chain = tuple(x509.load_pem_x509_certificate(str(c).encode()) for c in doc["chain"])
    except ValueError as e:
        raise BadAnswer("the answer holds something that is not a PEM certificate") from e
    if not key_matches_certificate(key, leaf):
        raise BadAnswer("the certificate is not for our key")
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound as e:
        raise BadAnswer("the certificate has no subject alternative names") from e
    if identity.dns_name not in san.get_values_for_type(x509.DNSName):
        raise BadAnswer(f"the certificate does not name {identity.dns_name}")
    try:
        verify_chain(leaf, anchors, intermediates=chain, now=now)
    except CertificateError as e:
        raise BadAnswer(f"the certificate is not trusted: {e}") from e
    return Credentials(certificate=leaf, chain=chain, received_at=now)
