"""The proxy's identity client: a key made on start-up, a leaf kept fresh, a trust bundle kept current.

    start()  key -> <dir>/key.pem (0600), CSR, trust bundle loaded
    run()    certify -> <dir>/cert.pem; sleep until 70 % of the leaf's life; repeat.
             On failure: back off and retry, keeping the current leaf (it is still valid).
             Meanwhile the trust bundle file is polled; a valid change is loaded and announced.

The key never leaves the process except into its 0600 file, which the proxy's
TLS contexts load.  Callbacks let the proxy rebuild its SSL contexts when the
leaf or the bundle changes, without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from prometheus_client import CollectorRegistry

from mesh.pki import (
    PUBLIC_FILE_MODE,
    Validity,
    WorkloadIdentity,
    create_csr,
    csr_to_pem,
    fingerprint,
    generate_private_key,
    parse_bundle,
    validate_bundle,
    write_file_atomic,
    write_private_key_file,
)
from mesh.pki.errors import PKIError

from . import _http
from ._metrics import ClientMetrics
from ._protocol import CERTIFY_PATH, Credentials, read_answer, request_body
from ._schedule import Backoff, RenewalPolicy
from .errors import BadAnswer, CertifyError, ConfigError, Refused, TokenUnavailable, TransportError

log = logging.getLogger(__name__)

KEY_FILE = "key.pem"
CERT_FILE = "cert.pem"


@dataclass(frozen=True, slots=True)
class ClientConfig:
    identity: WorkloadIdentity
    # Where the identity service listens, and the identity its certificate must carry.
    address: tuple[str, int]
    server_name: str
    token_file: Path
    trust_bundle_file: Path
    # Memory-backed (tmpfs) in a pod: the key never touches a persistent disk.
    directory: Path
    renewal: RenewalPolicy = field(default_factory=RenewalPolicy)
    backoff: Backoff = field(default_factory=Backoff)
    bundle_poll_interval: float = 1.0
    request_timeout: float = 10.0


def _identity_service_context(bundle_pem: bytes) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=bundle_pem.decode("ascii"))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def anchor_of(creds: Credentials, anchors: tuple[x509.Certificate, ...]) -> x509.Certificate | None:
    """The anchor that signed the top of the leaf's chain (the issuer), or None if none of ``anchors`` did."""
    top = creds.chain[-1] if creds.chain else creds.certificate
    for anchor in anchors:
        try:
            top.verify_directly_issued_by(anchor)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return anchor
    return None


def newest_anchor(anchors: tuple[x509.Certificate, ...]) -> x509.Certificate | None:
    """The anchor issued last: where a rotation is heading."""
    return max(anchors, key=lambda a: a.not_valid_before_utc, default=None)


def _failure_reason(e: CertifyError) -> str:
    if isinstance(e, Refused):
        return e.code
    if isinstance(e, TransportError):
        return "transport"
    if isinstance(e, TokenUnavailable):
        return "token"
    if isinstance(e, BadAnswer):
        return "bad-answer"
    return "other"


class IdentityClient:
    def __init__(
        self,
        config: ClientConfig,
        registry: CollectorRegistry,
        *,
        on_certificate: Callable[[Credentials], None] | None = None,
        on_bundle: Callable[[tuple[x509.Certificate, ...]], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.metrics = ClientMetrics(registry)
        self._on_certificate = on_certificate
        self._on_bundle = on_bundle
        self._clock = clock
        self._key = generate_private_key()
        self._csr_pem = csr_to_pem(create_csr(self._key, config.identity))
        self._credentials: Credentials | None = None
        self._bundle_pem = b""
        self._anchors: tuple[x509.Certificate, ...] = ()
        self._tls: ssl.SSLContext | None = None
        self._ready = asyncio.Event()
        self._bundle_changed = asyncio.Event()

    # --- state -------------------------------------------------------------------------

    @property
    def key_path(self) -> Path:
        return self.config.directory / KEY_FILE

    @property
    def cert_path(self) -> Path:
        return self.config.directory / CERT_FILE

    @property
    def credentials(self) -> Credentials | None:
        """The leaf in use, or None before the first success."""
        return self._credentials

    @property
    def anchors(self) -> tuple[x509.Certificate, ...]:
        return self._anchors

    async def wait_ready(self) -> Credentials:
        await self._ready.wait()
        assert self._credentials is not None
        return self._credentials

    # --- start-up ----------------------------------------------------------------------

    def start(self) -> None:
        """Write the key (0600) and load the trust bundle; raise ConfigError if either is impossible."""
        try:
            write_private_key_file(self.key_path, self._key)
        except PKIError as e:
            raise ConfigError(str(e)) from e
        if not self._load_bundle():
            raise ConfigError(f"{self.config.trust_bundle_file}: no usable trust bundle")

    # --- trust bundle ------------------------------------------------------------------

    def _load_bundle(self) -> bool:
        """Load the bundle file if it changed and is valid; True if the bundle in use is now current."""
        path = self.config.trust_bundle_file
        try:
            pem = path.read_bytes()
        except OSError as e:
            log.warning("trust bundle %s unreadable, keeping the current one: %s", path, e.strerror)
            return bool(self._anchors)
        if pem == self._bundle_pem:
            return True
        try:
            anchors = parse_bundle(pem)
            validate_bundle(anchors, self._clock())
            tls = _identity_service_context(pem)
        except (PKIError, ssl.SSLError, ValueError) as e:
            log.warning("trust bundle %s refused, keeping the current one: %s", path, e)
            self._bundle_pem = pem  # Do not re-report the same bad content every poll.
            return bool(self._anchors)
        first = not self._anchors
        self._bundle_pem, self._anchors, self._tls = pem, anchors, tls
        if not first:
            self.metrics.bundle_reloads.inc()
            log.info("trust bundle reloaded: %d anchor(s)", len(anchors))
            if self._on_bundle is not None:
                self._on_bundle(anchors)
        return True

    async def watch_bundle(self) -> None:
        while True:
            await asyncio.sleep(self.config.bundle_poll_interval)
            before = self._anchors
            await asyncio.to_thread(self._load_bundle)
            if self._anchors != before:
                self._bundle_changed.set()  # a newer anchor may bring the next renewal forward

    # --- certify -----------------------------------------------------------------------

    def _read_token(self) -> str:
        try:
            token = self.config.token_file.read_text().strip()
        except OSError as e:
            raise TokenUnavailable(f"{self.config.token_file}: {e.strerror}") from e
        if not token:
            raise TokenUnavailable(f"{self.config.token_file} is empty")
        return token

    async def refresh_once(self) -> Credentials:
        """One certify exchange; on success the new leaf is written, announced and in use."""
        assert self._tls is not None, "start() first"
        token = await asyncio.to_thread(self._read_token)
        host, port = self.config.address
        resp = await _http.post(
            host,
            port,
            CERTIFY_PATH,
            request_body(self.config.identity, self._csr_pem, token),
            ssl_context=self._tls,
            server_name=self.config.server_name,
            within=self.config.request_timeout,
        )
        creds = read_answer(
            resp, key=self._key, identity=self.config.identity, anchors=self._anchors, now=self._clock()
        )
        try:
            await asyncio.to_thread(write_file_atomic, self.cert_path, creds.chain_pem(), mode=PUBLIC_FILE_MODE)
        except PKIError as e:
            raise BadAnswer(f"cannot store the certificate: {e}") from e
        self._credentials = creds
        self.metrics.refreshes.inc()
        self.metrics.expiration.set(creds.valid_until.timestamp())
        anchor = anchor_of(creds, self._anchors)
        self.metrics.anchor.clear()
        if anchor is not None:
            self.metrics.anchor.labels(anchor=fingerprint(anchor)).set(1)
        self._ready.set()
        log.info("certificate for %s valid until %s", self.config.identity.dns_name, creds.valid_until.isoformat())
        if self._on_certificate is not None:
            self._on_certificate(creds)
        return creds

    def next_renewal_delay(self) -> float:
        creds = self._credentials
        assert creds is not None
        newest = newest_anchor(self._anchors)
        on_newest = newest is None or anchor_of(creds, (newest,)) is not None
        return self.config.renewal.delay(
            Validity.of(creds.certificate), received_at=creds.received_at, now=self._clock(), on_newest_anchor=on_newest
        )

    async def _sleep(self, delay: float) -> bool:
        """Sleep ``delay`` seconds; True if a changed trust bundle cut it short."""
        self._bundle_changed.clear()
        try:
            await asyncio.wait_for(self._bundle_changed.wait(), delay)
        except TimeoutError:
            return False
        return True

    async def keep_fresh(self) -> None:
        """Renew forever: at the policy's time after a success, with backoff after a failure."""
        attempt = 0
        while True:
            try:
                await self.refresh_once()
            except CertifyError as e:
                attempt += 1
                delay = self.config.backoff.delay(attempt, retry_after=e.retry_after)
                self.metrics.failures.labels(reason=_failure_reason(e)).inc()
                held = self._credentials
                keeping = "no certificate yet"
                if held is not None:
                    keeping = f"keeping the certificate valid until {held.valid_until.isoformat()}"
                log.warning("certify failed (attempt %d): %s; %s; retrying in %.1fs", attempt, e, keeping, delay)
            else:
                attempt = 0
                delay = self.next_renewal_delay()
            # A bundle change while a good leaf is held re-plans the renewal (it may now be due soon).
            while await self._sleep(delay) and attempt == 0:
                delay = self.next_renewal_delay()

    async def run(self) -> None:
        """start() must have succeeded.  Runs until cancelled."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.keep_fresh(), name="identity-renew")
            tg.create_task(self.watch_bundle(), name="identity-bundle")
