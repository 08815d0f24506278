"""The proxy's view of its identity: certificate material and TLS contexts.

The proxy needs only the current certificate chain, the private key's
path and the trust bundle, plus a call when any of them changes. Whatever
obtains them (the identity client, or files mounted by something else)
implements ``IdentitySource``; ``FileIdentitySource`` watches files.

The certificate is inspected with the ``ssl`` module's decoder rather than
``cryptography`` on purpose: loading ``cryptography.x509`` costs about 8 MiB
of resident memory in every pod of the fleet.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .errors import IdentityError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IdentityMaterial:
    name: str  # our identity: the DNS SAN peers check
    cert_chain_pem: bytes  # leaf first, then intermediates
    key_path: Path
    trust_bundle_pem: bytes
    not_after: float | None = None  # leaf expiry, seconds since the epoch


Listener = Callable[[IdentityMaterial], None]


class IdentitySource(Protocol):
    def current(self) -> IdentityMaterial | None: ...

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` on every change; returns an unsubscribe function."""
        ...


def describe_leaf(chain_pem: bytes) -> tuple[list[str], float | None]:
    """(DNS SANs, notAfter epoch) of the first certificate in ``chain_pem``."""
    end = chain_pem.find(b"-----END CERTIFICATE-----")
    if end < 0:
        raise IdentityError("certificate chain holds no PEM certificate")
    leaf = chain_pem[: end + len(b"-----END CERTIFICATE-----")] + b"\n"
    decoder: Any = getattr(getattr(ssl, "_ssl", None), "_test_decode_cert", None)
    if decoder is None:
        return [], None
    with tempfile.NamedTemporaryFile(suffix=".pem") as fh:
        fh.write(leaf)
        fh.flush()
        try:
            info = decoder(fh.name)
        except (ssl.SSLError, OSError) as e:
            raise IdentityError("leaf certificate cannot be decoded") from e
    names = [value for kind, value in info.get("subjectAltName", ()) if kind == "DNS"]
    not_after = info.get("notAfter")
    # cert_time_to_seconds reads the GMT timestamp as UTC and returns epoch seconds.
    expiry = float(ssl.cert_time_to_seconds(not_after)) if not_after else None
    return names, expiry


def peer_identity(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> str | None:
    """The first DNS SAN of a verified peer certificate."""
    if ssl_object is None:
        return None
    cert: Any = ssl_object.getpeercert()
    if not cert:
        return None
    for entry in cert.get("subjectAltName", ()):
        if entry[0] == "DNS":
            return str(entry[1])
    return None


class TlsContexts:
    """TLS 1.3 contexts built from one ``IdentityMaterial``."""

    def __init__(self, material: IdentityMaterial) -> None:
        self.material = material
        self.server = self._build(ssl.PROTOCOL_TLS_SERVER)
        self.client = self._build(ssl.PROTOCOL_TLS_CLIENT)

    def _build(self, protocol: int) -> ssl.SSLContext:
        ctx = ssl.SSLContext(protocol)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.verify_mode = ssl.CERT_REQUIRED
        if protocol == ssl.PROTOCOL_TLS_CLIENT:
            ctx.check_hostname = True  # the peer's DNS SAN must equal the identity we expect
        try:
            ctx.load_verify_locations(cadata=self.material.trust_bundle_pem.decode("ascii"))
        except (ssl.SSLError, ValueError, UnicodeDecodeError) as e:
            raise IdentityError("trust bundle is not usable PEM") from e
        # load_cert_chain only reads files; the chain is public, so a private
        # temporary copy is fine. The key is read from its own 0600 file.
        fd, chain_path = tempfile.mkstemp(prefix="meshfleet-chain-", suffix=".pem")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(self.material.cert_chain_pem)
            ctx.load_cert_chain(chain_path, str(self.material.key_path))
        except (ssl.SSLError, OSError) as e:
            # Never echo the key or its contents; the path is enough to act on.
            raise IdentityError(f"certificate chain or key at {self.material.key_path} is not usable") from e
        finally:
            os.unlink(chain_path)
        return ctx


class FileIdentitySource:
    """Identity from files: a chain PEM, a key file and a trust bundle, polled for changes."""

    def __init__(self, cert_path: Path, key_path: Path, bundle_path: Path, name: str | None = None) -> None:
        self._cert = cert_path
        self._key = key_path
        self._bundle = bundle_path
        self._name = name
        self._listeners: list[Listener] = []
        self._material: IdentityMaterial | None = None
        self._stamp: tuple[float, ...] | None = None

    def current(self) -> IdentityMaterial | None:
        return self._material

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _file_stamp(self) -> tuple[float, ...] | None:
        try:
            return tuple(os.stat(p).st_mtime for p in (self._cert, self._key, self._bundle))
        except OSError:
            return None

    def refresh(self) -> bool:
        """Load the files if they changed; returns whether new material is in force."""
        stamp = self._file_stamp()
        if stamp is None or stamp == self._stamp:
            return False
        try:
            chain = self._cert.read_bytes()
            bundle = self._bundle.read_bytes()
            names, expiry = describe_leaf(chain)
            name = self._name or (names[0] if names else None)
            if name is None:
                raise IdentityError(f"{self._cert}: leaf has no DNS SAN and no identity name was given")
            material = IdentityMaterial(name, chain, self._key, bundle, expiry)
            TlsContexts(material)  # refuse material that does not load before announcing it
        except (OSError, IdentityError) as e:
            log.warning("identity files not usable yet: %s", e)
            return False
        self._stamp = stamp
        self._material = material
        for listener in list(self._listeners):
            listener(material)
        return True

    async def watch(self, interval: float = 1.0) -> None:
        while True:
            self.refresh()
            await asyncio.sleep(interval)
