from __future__ import annotations

import os
from pathlib import Path

from mesh.proxy.identity import FileIdentitySource, IdentityMaterial, TlsContexts, describe_leaf

from .conftest import Pki


def test_leaf_names_and_expiry_are_read_without_cryptography(pki: Pki) -> None:
    names, expiry = describe_leaf(pki.server.cert_path.read_bytes())
    assert names == [pki.server.name]
    assert expiry == pki.server.not_after.timestamp()


def test_file_source_announces_new_material_and_ignores_broken_files(pki: Pki, tmp_path: Path) -> None:
    ident = pki.server
    source = FileIdentitySource(ident.cert_path, ident.key_path, ident.bundle_path)
    seen: list[IdentityMaterial] = []
    source.subscribe(seen.append)
    assert source.refresh()
    assert [m.name for m in seen] == [pki.server.name]
    assert not source.refresh()  # unchanged files: nothing new

    rotated = pki.identity("rotated", "web")  # a new leaf for the same workload
    ident.cert_path.write_bytes(rotated.cert_path.read_bytes())
    ident.key_path.write_bytes(rotated.key_path.read_bytes())
    os.utime(ident.cert_path, (10, 10))
    assert source.refresh()
    assert len(seen) == 2
    assert seen[-1].cert_chain_pem == rotated.cert_path.read_bytes()

    ident.bundle_path.write_bytes(b"not a certificate")
    os.utime(ident.bundle_path, (20, 20))
    assert not source.refresh()
    assert len(seen) == 2
    current = source.current()
    assert current is not None
    assert current.trust_bundle_pem == pki.anchor.pem


def test_contexts_require_tls13_and_peer_certificates(pki: Pki) -> None:
    import ssl

    material = IdentityMaterial(pki.client.name, pki.client.cert_path.read_bytes(), pki.client.key_path, pki.anchor.pem)
    ctx = TlsContexts(material)
    for side in (ctx.server, ctx.client):
        assert side.minimum_version is ssl.TLSVersion.TLSv1_3
        assert side.verify_mode is ssl.CERT_REQUIRED
    assert ctx.client.check_hostname


def test_key_errors_do_not_leak_key_material(pki: Pki, tmp_path: Path) -> None:
    import pytest

    from mesh.proxy.errors import IdentityError

    wrong_key = pki.identity("other", "billing").key_path
    material = IdentityMaterial(pki.client.name, pki.client.cert_path.read_bytes(), wrong_key, pki.anchor.pem)
    with pytest.raises(IdentityError) as info:
        TlsContexts(material)
    assert "PRIVATE KEY" not in str(info.value)
    assert wrong_key.read_text()[40:80] not in str(info.value)
