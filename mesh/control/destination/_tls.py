"""The stream's TLS: our certificate from an identity directory, client certificates required.

The certificate (``cert.pem``, chain) and key (``key.pem``) are whatever the
identity client keeps in the directory; they are polled and loaded into the
same context when they change, so new handshakes use the new leaf and open
streams are left alone. Clients must present a certificate chaining to the
trust bundle; their identity is the certificate's first DNS SAN.
"""

from __future__ import annotations

import logging
import os
import ssl
from pathlib import Path
from typing import Any

from .errors import ConfigError

log = logging.getLogger(__name__)

CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"


class ServingTls:
    def __init__(self, identity_dir: Path, trust_bundle: Path) -> None:
        self.identity_dir = identity_dir
        self.trust_bundle = trust_bundle
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.verify_mode = ssl.CERT_REQUIRED
        self._stamp: tuple[float, ...] | None = None
        self._bundle_pem = b""
        self.loaded = False

    def _files_stamp(self) -> tuple[float, ...] | None:
        try:
            return tuple(
                os.stat(p).st_mtime_ns
                for p in (self.identity_dir / CERT_FILE, self.identity_dir / KEY_FILE, self.trust_bundle)
            )
        except OSError:
            return None

    def reload(self) -> bool:
        """Load changed files; True when new material is in force. Unusable files keep the old material."""
        stamp = self._files_stamp()
        if stamp is None or stamp == self._stamp:
            return False
        try:
            bundle = self.trust_bundle.read_bytes()
            if bundle != self._bundle_pem:
                # Anchors are only ever added to a live context; a rotation that drops one
                # takes effect for this service at its next restart.
                self.context.load_verify_locations(cadata=bundle.decode("ascii"))
                self._bundle_pem = bundle
            self.context.load_cert_chain(self.identity_dir / CERT_FILE, self.identity_dir / KEY_FILE)
        except (OSError, ssl.SSLError, ValueError, UnicodeDecodeError) as e:
            # Name the files, never their content.
            log.warning("serving certificate in %s not usable yet: %s", self.identity_dir, type(e).__name__)
            return False
        self._stamp = stamp
        self.loaded = True
        log.info("serving certificate loaded from %s", self.identity_dir)
        return True

    def require_loaded(self) -> None:
        if not self.reload() and not self.loaded:
            raise ConfigError(
                f"no usable {CERT_FILE}/{KEY_FILE} in {self.identity_dir} or trust bundle {self.trust_bundle}"
            )


def peer_identity(ssl_object: Any) -> str | None:
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert()
    for kind, value in (cert or {}).get("subjectAltName", ()):
        if kind == "DNS":
            return str(value)
    return None
