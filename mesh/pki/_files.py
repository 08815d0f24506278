"""Atomic file writes with the final mode set at creation time.

A key file must never exist, even for an instant, with a mode wider than 0600,
so the temporary file is created with `O_CREAT | O_EXCL` and mode 0600 and then
renamed over the destination; no chmod ever follows.  Readers see either the
old content or the new content, never a torn file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from ._keys import PrivateKey, private_key_to_pem
from .errors import KeyFileError, PKIError

KEY_FILE_MODE = 0o600
PUBLIC_FILE_MODE = 0o644


def write_file_atomic(path: Path, data: bytes, *, mode: int) -> None:
    """Write `data` to `path` via a sibling temporary file created with `mode`, then rename it."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    except OSError as e:
        raise PKIError(f"{path}: cannot create a temporary file next to it: {e.strerror}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise PKIError(f"{path}: cannot write: {e.strerror}") from e


def write_private_key_file(path: Path, key: PrivateKey) -> None:
    """Write `key` as PKCS#8 PEM to `path`, mode 0600 from the moment the file exists."""
    try:
        write_file_atomic(path, private_key_to_pem(key), mode=KEY_FILE_MODE)
    except PKIError as e:
        raise KeyFileError(str(e)) from e.__cause__
