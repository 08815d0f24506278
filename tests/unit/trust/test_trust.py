import base64
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fleet.config import TrustAnchor
from fleet.errors import AnchorExists, KeystoreError
from fleet.trust.cli import Row, init, render_status, trust_main
from fleet.trust.keystore import Keystore
from fleet.trust.secrets import certificate_of, issuer_secret, load_anchor_authority, renewal_reason
from mesh.pki import parse_bundle, verify_chain

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _init(tmp_path: Path) -> tuple[Path, Keystore]:
    repo = tmp_path / "repo"
    repo.mkdir()
    ks = Keystore(tmp_path / "keystore")
    init(repo, ks, common_name="test anchor", lifetime=timedelta(days=365), now=NOW)
    return repo, ks


def test_init_puts_the_key_in_the_keystore_and_only_the_certificate_in_the_repo(tmp_path: Path) -> None:
    repo, ks = _init(tmp_path)
    [cert_file] = list((repo / "trust-anchors").glob("*.pem"))
    anchor = parse_bundle(cert_file.read_bytes())[0]
    key_file = ks.key_file(anchor)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(ks.path.stat().st_mode) == 0o700
    for f in repo.rglob("*"):
        if f.is_file():
            assert b"PRIVATE KEY" not in f.read_bytes(), f
    assert ks.load(anchor).public_key().public_numbers() == anchor.public_key().public_numbers()  # type: ignore[union-attr]


def test_second_init_is_refused_naming_the_existing_anchor(tmp_path: Path) -> None:
    repo, ks = _init(tmp_path)
    with pytest.raises(AnchorExists, match="trust-anchors/anchor-"):
        init(repo, ks, common_name="again", lifetime=timedelta(days=1), now=NOW)


def test_keystore_inside_a_git_work_tree_is_refused(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    with pytest.raises(KeystoreError, match="inside the Git work tree"):
        _init_with(tmp_path, Keystore(tmp_path / "repo" / "keys"))


def _init_with(tmp_path: Path, ks: Keystore) -> None:
    init(tmp_path / "repo", ks, common_name="x", lifetime=timedelta(days=1), now=NOW)


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    repo, ks = _init(tmp_path)
    anchor = parse_bundle(next((repo / "trust-anchors").glob("*.pem")).read_bytes())[0]
    ks.key_file(anchor).chmod(0o644)
    with pytest.raises(KeystoreError, match="chmod 600"):
        ks.load(anchor)


def _anchor(repo: Path) -> TrustAnchor:
    f = next((repo / "trust-anchors").glob("*.pem"))
    return TrustAnchor(f.name, parse_bundle(f.read_bytes())[0], f.read_bytes())


def test_the_keystore_made_by_init_mints_issuers_that_chain_to_the_anchor(tmp_path: Path) -> None:
    repo, ks = _init(tmp_path)
    anchor = _anchor(repo)
    ca = load_anchor_authority(ks.path, [anchor], NOW)
    secret = issuer_secret(ca, "east", "meshfleet", "cluster.local", anchor.pem, NOW)
    assert secret["type"] == "kubernetes.io/tls"
    assert base64.b64decode(secret["data"]["ca.crt"]) == anchor.pem
    issuer = certificate_of(secret)
    assert issuer is not None
    verify_chain(issuer, (anchor.certificate,), now=NOW)
    assert issuer.not_valid_after_utc - issuer.not_valid_before_utc <= timedelta(days=30, minutes=1)
    assert renewal_reason(secret, [anchor], NOW + timedelta(days=19)) is None
    assert renewal_reason(secret, [anchor], NOW + timedelta(days=21)) is not None  # under a third of its life left


def test_a_keystore_without_the_anchors_key_says_so(tmp_path: Path) -> None:
    repo, _ = _init(tmp_path)
    (tmp_path / "empty").mkdir(mode=0o700)
    with pytest.raises(KeystoreError, match="holds no key of a committed"):
        load_anchor_authority(tmp_path / "empty", [_anchor(repo)], NOW)


def test_status_warns_when_something_expires_within_60_days() -> None:
    rows = [Row("anchor", "a.pem", "CN=a", "self", NOW + timedelta(days=3000), ""),
            Row("issuer", "east", "CN=i", "anchor 1234", NOW + timedelta(days=20), "")]
    text, warnings = render_status(rows, NOW)
    assert "east" in text
    assert "3000" in text
    assert warnings == ["warning: issuer east expires in 20 days (2026-12-17)"]


def test_cli_init_then_refuses_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["init", "--repo", str(tmp_path / "r"), "--keystore", str(tmp_path / "k")]
    (tmp_path / "r").mkdir()
    assert trust_main(args) == 0
    out = capsys.readouterr().out
    assert "never commit it" in out
    assert "BEGIN" not in out
    assert trust_main(args) == 1
    assert "already has a trust anchor" in capsys.readouterr().err
