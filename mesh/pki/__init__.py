"""The mesh's PKI: P-256 keys, CAs, CSRs, leaves, trust bundles, identity names, expiry arithmetic.

Pure functions over `cryptography` objects; the only I/O is the explicit
atomic file writers (`write_private_key_file` writes mode 0600 from creation).
Times are always passed in as timezone-aware UTC datetimes.
"""

from ._authority import load_certificate_authority
from ._bundle import (
    bundle_problems,
    certificate_to_pem,
    certificates_to_pem,
    merge_bundles,
    parse_bundle,
    parse_certificate,
    validate_bundle,
)
from ._csr import VerifiedCSR, create_csr, csr_to_pem, parse_csr
from ._describe import describe, fingerprint
from ._files import KEY_FILE_MODE, PUBLIC_FILE_MODE, write_file_atomic, write_private_key_file
from ._issue import (
    DEFAULT_CLOCK_SKEW_ALLOWANCE,
    DEFAULT_LEAF_LIFETIME,
    CertificateAuthority,
    IssuedLeaf,
    is_ca,
    issue_issuer,
    issue_leaf,
    issue_trust_anchor,
)
from ._keys import (
    PrivateKey,
    PublicKey,
    generate_private_key,
    is_p256,
    key_matches_certificate,
    private_key_from_pem,
    private_key_to_pem,
    public_key_bytes,
)
from ._names import IdentityDomain, WorkloadIdentity
from ._validity import Validity, clamp_not_after, time_left
from ._verify import dns_name_constraints, verify_chain

__all__ = [
    "DEFAULT_CLOCK_SKEW_ALLOWANCE",
    "DEFAULT_LEAF_LIFETIME",
    "KEY_FILE_MODE",
    "PUBLIC_FILE_MODE",
    "CertificateAuthority",
    "IdentityDomain",
    "IssuedLeaf",
    "PrivateKey",
    "PublicKey",
    "Validity",
    "VerifiedCSR",
    "WorkloadIdentity",
    "bundle_problems",
    "certificate_to_pem",
    "certificates_to_pem",
    "clamp_not_after",
    "create_csr",
    "csr_to_pem",
    "describe",
    "dns_name_constraints",
    "fingerprint",
    "generate_private_key",
    "is_ca",
    "is_p256",
    "issue_issuer",
    "issue_leaf",
    "issue_trust_anchor",
    "key_matches_certificate",
    "load_certificate_authority",
    "merge_bundles",
    "parse_bundle",
    "parse_certificate",
    "parse_csr",
    "private_key_from_pem",
    "private_key_to_pem",
    "public_key_bytes",
    "time_left",
    "validate_bundle",
    "verify_chain",
    "write_file_atomic",
    "write_private_key_file",
]
