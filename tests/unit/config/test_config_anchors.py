"""Trust anchors: every committed certificate must be a current CA; keys never belong there."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from config_files import FLEET, NOW, MakeCert, WriteFleet, cluster_yaml

from fleet.config import DirectoryTree, check_fleet, load_fleet


def problems_with(write_fleet: WriteFleet, anchors: dict[str, bytes]) -> list[str]:
    root = write_fleet(FLEET, {"east.yaml": cluster_yaml("east", 0)}, anchors=anchors)
    config, problems = check_fleet(DirectoryTree(root), now=NOW)
    assert config is None
    return [problem.format() for problem in problems]


def test_expired_anchor_is_refused_even_next_to_a_valid_one(write_fleet: WriteFleet, make_cert: MakeCert) -> None:
    expired = make_cert("old root", not_before=NOW - timedelta(days=800), not_after=NOW - timedelta(days=1))
    valid = make_cert("new root")
    bundle = valid + expired
    line = len(valid.splitlines()) + 1
    assert problems_with(write_fleet, {"bundle.pem": bundle}) == [
        f"trust-anchors/bundle.pem:{line}:1: certificate 'CN=old root' expired at "
        f"{(NOW - timedelta(days=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}",
    ]


def test_only_anchor_expired_also_leaves_the_fleet_without_one(write_fleet: WriteFleet, make_cert: MakeCert) -> None:
    expired = make_cert("old root", not_before=NOW - timedelta(days=10), not_after=NOW - timedelta(seconds=1))
    assert problems_with(write_fleet, {"root.crt": expired}) == [
        "trust-anchors/: no valid, unexpired CA certificate; the fleet needs at least one trust anchor",
        "trust-anchors/root.crt:1:1: certificate 'CN=old root' expired at "
        f"{(NOW - timedelta(seconds=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}",
    ]


def test_not_yet_valid_anchor(write_fleet: WriteFleet, make_cert: MakeCert) -> None:
    future = make_cert("future root", not_before=NOW + timedelta(days=2))
    problems = problems_with(write_fleet, {"root.crt": future})
    assert problems[1] == (
        "trust-anchors/root.crt:1:1: certificate 'CN=future root' is not valid before "
        f"{(NOW + timedelta(days=2)).strftime('%Y-%m-%dT%H:%M:%SZ')}"
    )


def test_non_ca_anchor(write_fleet: WriteFleet, make_cert: MakeCert) -> None:
    leaf = make_cert("web.example", ca=False)
    assert problems_with(write_fleet, {"root.crt": make_cert(), "leaf.crt": leaf}) == [
        "trust-anchors/leaf.crt:1:1: certificate 'CN=web.example' is not a CA certificate "
        "(basicConstraints CA:TRUE is missing)",
    ]


def test_malformed_anchor_and_a_file_without_certificates(write_fleet: WriteFleet, make_cert: MakeCert) -> None:
    broken = b"# the second block is truncated\n" + make_cert()[:200] + b"\n-----END CERTIFICATE-----\n"
    assert problems_with(write_fleet, {"root.crt": make_cert(), "broken.crt": broken, "empty.pem": b"\n"}) == [
        "trust-anchors/broken.crt:2:1: malformed certificate: its DER data cannot be parsed",
        "trust-anchors/empty.pem:1:1: contains no PEM certificate",
    ]


def test_private_key_in_trust_anchors_is_refused_without_echoing_it(
    write_fleet: WriteFleet, make_cert: MakeCert
) -> None:
    key = b"-----BEGIN " + b"PRIVATE KEY-----\nTOPSECRETBYTES\n-----END PRIVATE KEY-----\n"  # split: no marker in Git
    problems = problems_with(write_fleet, {"root.crt": make_cert(), "root.key": key})
    assert problems == [
        "trust-anchors/root.key:1:1: contains a private key; only public certificates belong in Git "
        "(remove it and rotate it)",
    ]
    assert "TOPSECRET" not in "".join(problems)


def test_every_valid_anchor_is_in_the_bundle_in_file_order(
    write_fleet: WriteFleet, make_cert: MakeCert, tmp_path: Path
) -> None:
    first, second = make_cert("a"), make_cert("b")
    root = write_fleet(FLEET, {"east.yaml": cluster_yaml("east", 0)}, anchors={"2.crt": second, "1.crt": first})
    config = load_fleet(DirectoryTree(root), now=NOW)
    assert [anchor.file for anchor in config.trust_anchors] == ["trust-anchors/1.crt", "trust-anchors/2.crt"]
    assert config.trust_bundle_pem == first + second
