"""The issuer in use, loaded from files as a Kubernetes Secret volume mounts them, and kept current.

The Secret (`tls.crt`, `tls.key`, `ca.crt`) and the trust-anchor bundle are
polled.  Kubelet swaps a Secret volume atomically, but files rewritten by hand
may be caught half-way, so a change is acted on only once two reads a moment
apart agree.  A new issuer is used from the next request on; a bad one is
refused with a reason, and the one in use keeps serving.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mesh.pki import CertificateAuthority, describe, load_certificate_authority, parse_bundle
from mesh.pki.errors import (
    BundleError,
    CertificateExpired,
    KeyMismatch,
    MalformedCertificate,
    NotACertificateAuthority,
    PKIError,
    PrivateKeyError,
    UntrustedChain,
)

from ._metrics import IdentityMetrics
from .errors import IssuerRejected

log = logging.getLogger(__name__)

CERT_FILE, KEY_FILE, CA_FILE = "tls.crt", "tls.key", "ca.crt"

EventPoster = Callable[[str, str], Awaitable[None]]
"""`await poster(reason, message)`: records a Kubernetes Event (or anything else) about a refusal."""

_REASONS: tuple[tuple[type[PKIError], str], ...] = (
    (PrivateKeyError, "unreadable"),
    (MalformedCertificate, "unreadable"),
    (NotACertificateAuthority, "not-a-ca"),
    (CertificateExpired, "expired"),
    (KeyMismatch, "key-mismatch"),
    (UntrustedChain, "untrusted"),
)


@dataclass(frozen=True, slots=True)
class IssuerFiles:
    cert: bytes
    key: bytes = field(repr=False)
    anchors: bytes

    @property
    def digest(self) -> bytes:
        h = hashlib.sha256()
        for part in (self.cert, self.key, self.anchors):
            h.update(len(part).to_bytes(8, "big"))
            h.update(part)
        return h.digest()


def read_issuer_files(issuer_dir: Path, anchors_path: Path) -> IssuerFiles:
    try:
        return IssuerFiles(
            cert=(issuer_dir / CERT_FILE).read_bytes(),
            key=(issuer_dir / KEY_FILE).read_bytes(),
            anchors=anchors_path.read_bytes(),
        )
    except OSError as e:
        raise IssuerRejected("unreadable", f"{e.filename}: {e.strerror}") from e


def evaluate_issuer(files: IssuerFiles, now: datetime) -> CertificateAuthority:
    """The CA the files describe, or IssuerRejected with a reason label and an explanation."""
    try:
        anchors = parse_bundle(files.anchors)
    except BundleError as e:
        raise IssuerRejected("bad-anchors", f"trust anchors: {e}") from e
    try:
        return load_certificate_authority(files.cert, files.key, anchors, now=now, source="issuer")
    except PKIError as e:
        reason = next((label for cls, label in _REASONS if isinstance(e, cls)), "invalid")
        raise IssuerRejected(reason, str(e)) from e


class IssuerWatcher:
    def __init__(
        self,
        issuer_dir: Path,
        anchors_path: Path,
        *,
        metrics: IdentityMetrics,
        post_event: EventPoster | None = None,
        interval: float = 1.0,
        settle: float = 0.2,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._issuer_dir = issuer_dir
        self._anchors_path = anchors_path
        self._metrics = metrics
        self._post_event = post_event
        self._interval = interval
        self._settle = settle
        self._clock = clock
        self._current: CertificateAuthority | None = None
        self._seen: bytes | None = None
        self._listeners: list[Callable[[CertificateAuthority], None]] = []
        metrics.track_issuer(lambda: None if self._current is None else self._current.certificate)

    @property
    def current(self) -> CertificateAuthority | None:
        return self._current

    def on_change(self, listener: Callable[[CertificateAuthority], None]) -> None:
        """Call `listener(new_issuer)` each time a new issuer is adopted."""
        self._listeners.append(listener)

    async def poll_once(self) -> None:
        """Read the files; adopt or refuse them if they changed since the last decision."""
        try:
            files = await self._read_settled()
        except IssuerRejected as e:
            marker = f"unreadable:{e.message}".encode()
            if marker != self._seen:
                self._seen = marker
                await self._refuse(e)
            return
        if files is None:
            return
        self._seen = files.digest
        try:
            issuer = evaluate_issuer(files, self._clock())
        except IssuerRejected as e:
            await self._refuse(e)
            return
        self._adopt(issuer)

    async def _read_settled(self) -> IssuerFiles | None:
        """The files if they changed since the last decision and stayed put for `settle` seconds."""
        files = await asyncio.to_thread(read_issuer_files, self._issuer_dir, self._anchors_path)
        if files.digest == self._seen:
            return None
        await asyncio.sleep(self._settle)
        again = await asyncio.to_thread(read_issuer_files, self._issuer_dir, self._anchors_path)
        return files if again.digest == files.digest else None

    def _adopt(self, issuer: CertificateAuthority) -> None:
        previous = self._current
        self._current = issuer
        self._metrics.issuer_updates.inc()
        log.info(
            "issuer in use: %s, valid until %s%s",
            describe(issuer.certificate),
            issuer.certificate.not_valid_after_utc.isoformat(),
            "" if previous is None else f" (replaces {describe(previous.certificate)})",
        )
        for listener in self._listeners:
            listener(issuer)

    async def _refuse(self, e: IssuerRejected) -> None:
        self._metrics.issuer_rejections.labels(reason=e.reason).inc()
        kept = "no issuer is in use" if self._current is None else f"keeping {describe(self._current.certificate)}"
        log.warning("issuer refused (%s): %s; %s", e.reason, e.message, kept)
        if self._post_event is not None:
            try:
                await self._post_event("IssuerRejected", f"issuer refused ({e.reason}): {e.message}; {kept}")
            except Exception:  # noqa: BLE001 - a failing reporter must not stop issuer reloads
                log.exception("could not report the refused issuer")

    async def run(self) -> None:
        while True:
            await self.poll_once()
            await asyncio.sleep(self._interval)
