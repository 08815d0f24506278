"""Loading in-memory certificates and keys into `ssl.SSLContext`s.

`SSLContext.load_cert_chain` only reads files.  The key is written to a
private directory (0700) as a 0600 file, loaded, and the directory removed at
once, so the key exists as a file only for the duration of one call, and on a
memory-backed file system (/dev/shm) wherever there is one.  Loading
into an existing context swaps the certificate for new handshakes without
touching connections already established.
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from pathlib import Path

from mesh.pki import KEY_FILE_MODE, PUBLIC_FILE_MODE, write_file_atomic

_MEMORY_BACKED = Path("/dev/shm")


def load_cert_chain_from_memory(ctx: ssl.SSLContext, chain_pem: bytes, key_pem: bytes) -> None:
    parent = _MEMORY_BACKED if _MEMORY_BACKED.is_dir() and os.access(_MEMORY_BACKED, os.W_OK) else None
    workdir = Path(tempfile.mkdtemp(prefix="meshfleet-tls-", dir=parent))
    try:
        cert_file, key_file = workdir / "tls.crt", workdir / "tls.key"
        write_file_atomic(cert_file, chain_pem, mode=PUBLIC_FILE_MODE)
        write_file_atomic(key_file, key_pem, mode=KEY_FILE_MODE)
        ctx.load_cert_chain(cert_file, key_file)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def server_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx
