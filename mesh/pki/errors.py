"""Everything `mesh.pki` raises.

    PKIError
    ├── PrivateKeyError           a private key could not be read, generated or written
    │   └── KeyFileError          writing a key file failed (exists, permissions, disk)
    ├── CSRError                  a certificate signing request is unusable
    │   ├── MalformedCSR          not a PEM CSR at all
    │   ├── UnsupportedKey        its key is not ECDSA P-256
    │   └── BadCSRSignature       its self-signature does not verify
    ├── CertificateError          a certificate is unusable for what it was offered for
    │   ├── MalformedCertificate  not a PEM certificate
    │   ├── NotACertificateAuthority
    │   ├── CertificateExpired    outside its validity window (expired or not yet valid)
    │   ├── KeyMismatch           the private key is not the certificate's key
    │   └── UntrustedChain        no path to any trust anchor
    ├── BundleError               a trust bundle is unusable
    │   └── PrivateKeyInBundle    a bundle (meant to be public) contains a private key
    └── IdentityNameError         an identity name or SPIFFE ID does not parse

Messages name the certificate (subject and short fingerprint) or the input and
the reason.  They never quote key material: key bytes never reach an exception.
"""

from __future__ import annotations


class PKIError(Exception):
    """Root of every error raised by `mesh.pki`."""


class PrivateKeyError(PKIError):
    """A private key could not be read, generated or written."""


class KeyFileError(PrivateKeyError):
    """A key file could not be written (it already exists, or the file system refused)."""


class CSRError(PKIError):
    """A certificate signing request is unusable."""


class MalformedCSR(CSRError):
    """The input is not a PEM-encoded PKCS#10 request."""


class UnsupportedKey(CSRError):
    """The request's public key is not ECDSA on P-256, the only key type the mesh accepts."""


class BadCSRSignature(CSRError):
    """The request's signature does not verify with its own public key (proof of possession failed)."""


class CertificateError(PKIError):
    """A certificate is unusable for what it was offered for."""


class MalformedCertificate(CertificateError):
    """The input is not a PEM-encoded X.509 certificate."""


class NotACertificateAuthority(CertificateError):
    """A certificate offered as an issuer or anchor is not a CA (basicConstraints cA=false or absent)."""


class CertificateExpired(CertificateError):
    """A certificate is outside its validity window: expired, or not valid yet."""


class KeyMismatch(CertificateError):
    """The private key offered with a certificate is not the key the certificate certifies."""


class UntrustedChain(CertificateError):
    """No chain of valid signatures leads from the certificate to a trust anchor."""


class BundleError(PKIError):
    """A trust bundle is empty, unparsable, or holds something that is not an anchor."""


class PrivateKeyInBundle(BundleError):
    """A bundle, which is public by definition, contains a PEM private key block."""


class IdentityNameError(PKIError):
    """An identity DNS name, SPIFFE ID or ServiceAccount username does not parse."""
