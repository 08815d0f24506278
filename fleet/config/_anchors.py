"""Check the public trust-anchor certificates committed under ``trust-anchors/``.

Every committed certificate must be a usable CA at the time of the check:
one expired or malformed anchor refuses the revision, because a bundle the
fleet would distribute must not contain certificates that fail handshakes.
Each PEM block is parsed on its own so a problem points at its own line.
Any private key found in the directory is reported without echoing it.
Pure: takes file contents and the current time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from fleet.config._model import TrustAnchor
from fleet.config._problem import Problem
from mesh.pki import parse_bundle
from mesh.pki.errors import PKIError

ANCHOR_DIR = "trust-anchors"
CERTIFICATE_SUFFIXES = (".crt", ".pem", ".cert")

_BLOCK = re.compile(
    rb"^-----BEGIN (?P<label>[A-Z0-9 ]+)-----\r?\n.*?^-----END (?P=label)-----[ \t]*(\r?\n|\Z)",
    re.MULTILINE | re.DOTALL,
)
_PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")


@dataclass(frozen=True, slots=True)
class AnchorCheck:
    anchors: tuple[TrustAnchor, ...]
    problems: tuple[Problem, ...]


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _subject(certificate: x509.Certificate) -> str:
    try:
        return certificate.subject.rfc4514_string() or "(empty subject)"
    except ValueError:
        return "(unreadable subject)"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _certificate_problem(certificate: x509.Certificate, now: datetime) -> str | None:
    subject = _subject(certificate)
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = constraints.ca
    except x509.ExtensionNotFound:
        is_ca = False
    except ValueError:
        return f"certificate {subject!r} has malformed extensions"
    if not is_ca:
        return f"certificate {subject!r} is not a CA certificate (basicConstraints CA:TRUE is missing)"
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.key_cert_sign:
            return f"certificate {subject!r} may not sign certificates (keyUsage lacks keyCertSign)"
    except x509.ExtensionNotFound:
        pass
    if now >= certificate.not_valid_after_utc:
        return f"certificate {subject!r} expired at {_stamp(certificate.not_valid_after_utc)}"
    if now < certificate.not_valid_before_utc:
        return f"certificate {subject!r} is not valid before {_stamp(certificate.not_valid_before_utc)}"
    return None


def _check_file(file: str, data: bytes, now: datetime) -> tuple[list[TrustAnchor], list[Problem]]:
    anchors: list[TrustAnchor] = []
    problems: list[Problem] = []
    blocks = list(_BLOCK.finditer(data))
    if not blocks:
        problems.append(Problem(file, 1, 1, "", "contains no PEM certificate"))
    for block in blocks:
        line = _line_of(data, block.start())
        label = block.group("label").decode("ascii")
        if label != "CERTIFICATE":
            problems.append(Problem(file, line, 1, "", f"unexpected PEM block {label!r}; expected CERTIFICATE"))
            continue
        pem = block.group(0) if block.group(0).endswith(b"\n") else block.group(0) + b"\n"
        try:
            (certificate,) = parse_bundle(pem)
        except PKIError:
            problems.append(Problem(file, line, 1, "", "malformed certificate: its DER data cannot be parsed"))
            continue
        reason = _certificate_problem(certificate, now)
        if reason is not None:
            problems.append(Problem(file, line, 1, "", reason))
        else:
            anchors.append(TrustAnchor(file, certificate, pem))
    return anchors, problems


def check_anchors(files: Mapping[str, bytes], now: datetime) -> AnchorCheck:
    """Valid anchors and every problem among ``files`` (path -> contents) of ``trust-anchors/``."""
    anchors: list[TrustAnchor] = []
    problems: list[Problem] = []
    for file, data in sorted(files.items()):
        private = _PRIVATE_KEY.search(data)
        if private is not None:
            line = _line_of(data, private.start())
            reason = "contains a private key; only public certificates belong in Git (remove it and rotate it)"
            problems.append(Problem(file, line, 1, "", reason))
            continue
        if not file.endswith(CERTIFICATE_SUFFIXES):
            continue
        found, file_problems = _check_file(file, data, now)
        anchors.extend(found)
        problems.extend(file_problems)
    if not anchors:
        reason = "no valid, unexpired CA certificate; the fleet needs at least one trust anchor"
        problems.append(Problem(f"{ANCHOR_DIR}/", 0, 0, "", reason))
    return AnchorCheck(tuple(anchors), tuple(problems))
