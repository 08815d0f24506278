"""The anchor keystore: private keys of the fleet's trust anchors, outside any repository.

The keystore is a directory (mode 0700) holding one key file per anchor (mode
0600), named by the anchor certificate's SHA-256 fingerprint so the matching
key for a committed certificate is found without any index.  Its location is
``--keystore``, else ``$MESHFLEET_KEYSTORE``, else
``$XDG_CONFIG_HOME/meshfleet/keystore``.  A keystore inside a Git work tree is
refused: keys never enter Git.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from cryptography import x509

from fleet.trust.errors import KeystoreError
from mesh.pki import (
    CertificateAuthority,
    PrivateKey,
    fingerprint,
    key_matches_certificate,
    private_key_from_pem,
    write_private_key_file,
)
from mesh.pki.errors import PKIError


def default_keystore() -> Path:
    explicit = os.environ.get("MESHFLEET_KEYSTORE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "meshfleet" / "keystore"


def _inside_git_work_tree(path: Path) -> Path | None:
    for p in (path, *path.parents):
        if (p / ".git").exists():
            return p
    return None


class Keystore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = (path or default_keystore()).absolute()

    def _check_location(self) -> None:
        repo = _inside_git_work_tree(self.path)
        if repo is not None:
            raise KeystoreError(f"keystore {self.path} is inside the Git work tree {repo}; "
                                "anchor keys must live outside any repository (set MESHFLEET_KEYSTORE)")

    def key_file(self, anchor: x509.Certificate) -> Path:
        return self.key_file_for(fingerprint(anchor))

    def key_file_for(self, anchor_fingerprint: str) -> Path:
        return self.path / f"anchor-{anchor_fingerprint[:32]}.key"

    def delete_key(self, anchor_fingerprint: str) -> bool:
        """Remove the key of a retired anchor; False if it was not there."""
        try:
            self.key_file_for(anchor_fingerprint).unlink()
        except FileNotFoundError:
            return False
        except OSError as e:
            raise KeystoreError(f"keystore {self.path}: cannot delete the key of anchor "
                                f"{anchor_fingerprint[:16]}: {e.strerror or e}") from e
        return True

    def store(self, anchor: x509.Certificate, key: PrivateKey) -> Path:
        self._check_location()
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.path, 0o700)
        file = self.key_file(anchor)
        write_private_key_file(file, key)
        return file

    def has_key(self, anchor: x509.Certificate) -> bool:
        return self.key_file(anchor).exists()

    def load(self, anchor: x509.Certificate) -> PrivateKey:
        file = self.key_file(anchor)
        try:
            mode = file.stat().st_mode & 0o777
            data = file.read_bytes()
        except FileNotFoundError:
            raise KeystoreError(f"keystore {self.path} has no key for trust anchor {fingerprint(anchor)}; "
                                "run `meshfleet trust init` on the machine that holds it, or point "
                                "MESHFLEET_KEYSTORE at that keystore") from None
        if mode & 0o077:
            raise KeystoreError(f"{file} is readable by others (mode {mode:o}); chmod 600 it")
        key = private_key_from_pem(data, source=str(file))
        if not key_matches_certificate(key, anchor):
            raise KeystoreError(f"{file} does not hold the key of trust anchor {fingerprint(anchor)}")
        return key

    def authority(self, anchors: Sequence[x509.Certificate], now: datetime) -> CertificateAuthority:
        """The CA of the newest current anchor (latest notBefore) whose key this keystore holds.

        Newest by issue time, so once a rotation's new anchor is committed every
        issuer minted from then on chains to it.  Any PEM key file in the
        directory counts, not only the ones ``store`` named, so a keystore
        filled by hand works too.
        """
        try:
            files = sorted(p for p in self.path.iterdir() if p.suffix in (".key", ".pem") and p.is_file())
        except OSError as e:
            raise KeystoreError(f"anchor keystore {self.path}: cannot be read: {e.strerror or e}") from e
        newest_first = sorted(anchors, key=lambda a: (a.not_valid_before_utc, a.not_valid_after_utc), reverse=True)
        found: list[tuple[x509.Certificate, PrivateKey]] = []
        for path in files:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise KeystoreError(f"anchor key {path} has mode {mode:o}; it must be 0600 (owner only)")
            try:
                key = private_key_from_pem(path.read_bytes(), source=str(path))
            except (OSError, PKIError):
                continue  # not a key of ours; naming it would not help find the right one
            found += [(a, key) for a in newest_first if a.not_valid_after_utc > now and key_matches_certificate(key, a)]
        if found:
            # Whichever file holds it, the newest anchor's key wins over older ones read first.
            anchor, key = min(found, key=lambda f: newest_first.index(f[0]))
            return CertificateAuthority(anchor, key)
        raise KeystoreError(f"anchor keystore {self.path} holds no key of a committed trust anchor that is current")
