"""CSRs: what the identity service accepts and what it refuses."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from mesh.pki import WorkloadIdentity, create_csr, csr_to_pem, generate_private_key, parse_csr, public_key_bytes
from mesh.pki.errors import BadCSRSignature, CSRError, MalformedCSR, UnsupportedKey


def _csr_with(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "workload")]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def test_a_p256_csr_round_trips_with_its_key(workload: WorkloadIdentity) -> None:
    key = generate_private_key()
    verified = parse_csr(csr_to_pem(create_csr(key, workload)))
    assert public_key_bytes(verified.public_key) == public_key_bytes(key)
    san = verified.csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [workload.dns_name]


@pytest.mark.parametrize(
    ("make_key", "named"),
    [
        (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), "RSA"),
        (lambda: ec.generate_private_key(ec.SECP384R1()), "secp384r1"),
    ],
)
def test_keys_other_than_p256_are_refused(make_key: object, named: str) -> None:
    with pytest.raises(UnsupportedKey, match=named):
        parse_csr(_csr_with(make_key()))  # type: ignore[operator]


def test_a_csr_whose_signature_does_not_match_is_refused() -> None:
    der = x509.load_pem_x509_csr(_csr_with(generate_private_key())).public_bytes(serialization.Encoding.DER)
    # Change the subject after signing: the signature no longer covers what is there.
    tampered = der.replace(b"workload", b"workloae")
    assert tampered != der
    pem = x509.load_der_x509_csr(tampered).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(BadCSRSignature):
        parse_csr(pem)


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"hello",
        b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
        b"-----BEGIN CERTIFICATE REQUEST-----\n" + b"A" * 20_000 + b"\n-----END CERTIFICATE REQUEST-----\n",
    ],
)
def test_garbage_is_a_malformed_csr(garbage: bytes) -> None:
    with pytest.raises(MalformedCSR):
        parse_csr(garbage)


def test_csr_errors_share_one_base() -> None:
    assert issubclass(UnsupportedKey, CSRError)
    assert issubclass(BadCSRSignature, CSRError)
    assert issubclass(MalformedCSR, CSRError)
