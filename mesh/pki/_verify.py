"""Chain verification against a trust bundle, for leaves and for issuers alike.

TLS stacks verify leaves, but the mesh also needs to ask "does this *issuer*
chain to the anchors?" (before an identity service adopts a new issuer, before
a rotation step proceeds).  This walks issuer links upward, checking at each
step the signature, validity at `now`, cA, pathLen and DNS name constraints,
and returns the path it found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from ._describe import describe, fingerprint
from ._issue import is_ca
from .errors import CertificateExpired, UntrustedChain

MAX_PATH_LENGTH = 6


def verify_chain(
    cert: x509.Certificate,
    anchors: Iterable[x509.Certificate],
    *,
    now: datetime,
    intermediates: Iterable[x509.Certificate] = (),
) -> tuple[x509.Certificate, ...]:
    """The path `cert`, ..., anchor, or raise why there is none.

    Raises CertificateExpired if `cert` itself is outside its validity window,
    UntrustedChain if no valid path to any anchor exists.
    """
    _check_time(cert, now)
    anchor_list = list(anchors)
    anchor_fps = {fingerprint(a) for a in anchor_list}
    if fingerprint(cert) in anchor_fps:
        return (cert,)
    candidates = anchor_list + [c for c in intermediates if fingerprint(c) not in anchor_fps]
    reasons: list[str] = []
    path = _extend((cert,), candidates, anchor_fps, now, reasons)
    if path is None:
        why = "; ".join(dict.fromkeys(reasons)) or (f"no anchor or intermediate named {cert.issuer.rfc4514_string()}")
        raise UntrustedChain(f"{describe(cert)} does not chain to the trust anchors: {why}")
    return path


def _check_time(cert: x509.Certificate, now: datetime) -> None:
    if now > cert.not_valid_after_utc:
        raise CertificateExpired(f"{describe(cert)} expired at {cert.not_valid_after_utc.isoformat()}")
    if now < cert.not_valid_before_utc:
        raise CertificateExpired(f"{describe(cert)} is not valid before {cert.not_valid_before_utc.isoformat()}")


def _extend(
    path: tuple[x509.Certificate, ...],
    candidates: Sequence[x509.Certificate],
    anchor_fps: set[str],
    now: datetime,
    reasons: list[str],
) -> tuple[x509.Certificate, ...] | None:
    if len(path) > MAX_PATH_LENGTH:
        reasons.append(f"path longer than {MAX_PATH_LENGTH}")
        return None
    child = path[-1]
    in_path = {fingerprint(c) for c in path}
    for parent in candidates:
        if parent.subject != child.issuer or fingerprint(parent) in in_path:
            continue
        problem = _link_problem(child, parent, path, now)
        if problem:
            reasons.append(problem)
            continue
        extended = (*path, parent)
        if fingerprint(parent) in anchor_fps:
            return extended
        found = _extend(extended, candidates, anchor_fps, now, reasons)
        if found is not None:
            return found
    return None


def _link_problem(
    child: x509.Certificate, parent: x509.Certificate, path: tuple[x509.Certificate, ...], now: datetime
) -> str | None:
    """Why `parent` cannot be the issuer of `child` at the top of `path`, or None if it can."""
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return f"{describe(child)} is not signed by {describe(parent)}"
    if not is_ca(parent):
        return f"{describe(parent)} is not a CA"
    if not parent.not_valid_before_utc <= now <= parent.not_valid_after_utc:
        return f"{describe(parent)} is outside its validity window"
    bc = parent.extensions.get_extension_for_class(x509.BasicConstraints).value
    # CAs strictly between `parent` and the certificate being verified.
    below = len(path) - 1
    if bc.path_length is not None and below > bc.path_length:
        return f"{describe(parent)} allows {bc.path_length} CA(s) below it, the path has {below}"
    try:
        nc = parent.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return None
    for cert in path:
        for name in _dns_names(cert):
            if not _dns_allowed(name, nc):
                return f"{describe(parent)} does not permit the name {name!r} in {describe(cert)}"
    return None


def _dns_names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return san.get_values_for_type(x509.DNSName)


def _dns_matches(name: str, constraint: str) -> bool:
    name, constraint = name.lower().rstrip("."), constraint.lower()
    if constraint.startswith("."):
        return name.endswith(constraint)
    return name == constraint or name.endswith("." + constraint)


def _dns_allowed(name: str, nc: x509.NameConstraints) -> bool:
    excluded = [g.value for g in nc.excluded_subtrees or () if isinstance(g, x509.DNSName)]
    if any(_dns_matches(name, c) for c in excluded):
        return False
    permitted = [g.value for g in nc.permitted_subtrees or () if isinstance(g, x509.DNSName)]
    return not permitted or any(_dns_matches(name, c) for c in permitted)


def dns_name_constraints(cert: x509.Certificate) -> tuple[str, ...]:
    """The permitted DNS subtrees of a CA certificate (empty if unconstrained)."""
    try:
        nc = cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(g.value for g in nc.permitted_subtrees or () if isinstance(g, x509.DNSName))
