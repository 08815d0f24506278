"""``meshfleet trust init`` and ``meshfleet trust status``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509

from fleet.errors import FleetError
from fleet.trust.errors import AnchorExists
from fleet.trust.keystore import Keystore
from fleet.trust.secrets import certificate_of
from mesh.manifests import ISSUER_SECRET
from mesh.pki import (
    certificate_to_pem,
    describe,
    fingerprint,
    generate_private_key,
    issue_trust_anchor,
    parse_bundle,
    write_file_atomic,
)
from mesh.pki.errors import PKIError

EXPIRY_WARNING = timedelta(days=60)

ANCHOR_DIR = "trust-anchors"


def init(repo: Path, keystore: Keystore, *, common_name: str, lifetime: timedelta, now: datetime,
         force: bool = False) -> tuple[Path, Path]:
    """Create an anchor: key into the keystore, certificate into ``<repo>/trust-anchors/``."""
    anchors_dir = repo / ANCHOR_DIR
    existing = sorted(anchors_dir.glob("*.pem")) if anchors_dir.is_dir() else []
    if existing and not force:
        raise AnchorExists(f"{existing[0]}: the fleet already has a trust anchor; rotating it is "
                           "`meshfleet trust rotate`, or pass --force to add another anchor next to it")
    key = generate_private_key()
    cert = issue_trust_anchor(key, common_name=common_name, now=now, lifetime=lifetime)
    key_file = keystore.store(cert, key)  # first: a committed certificate without its key is useless
    anchors_dir.mkdir(parents=True, exist_ok=True)
    cert_file = anchors_dir / f"anchor-{now:%Y%m%d}-{fingerprint(cert)[:8]}.pem"
    write_file_atomic(cert_file, certificate_to_pem(cert).encode(), mode=0o644)
    return cert_file, key_file


@dataclass(frozen=True, slots=True)
class Row:
    kind: str
    name: str
    subject: str
    signed_by: str
    not_after: datetime | None
    note: str

    def days_left(self, now: datetime) -> float | None:
        return None if self.not_after is None else (self.not_after - now).total_seconds() / 86400


def _anchor_rows(repo: Path, keystore: Keystore) -> tuple[list[Row], tuple[x509.Certificate, ...]]:
    rows, anchors = [], []
    for f in sorted((repo / ANCHOR_DIR).glob("*.pem")):
        try:
            certs = parse_bundle(f.read_bytes())
        except PKIError as e:
            rows.append(Row("anchor", f.name, "", "", None, f"unreadable: {e}"))
            continue
        for c in certs:
            anchors.append(c)
            note = "key in keystore" if keystore.has_key(c) else "key not in this keystore"
            rows.append(Row("anchor", f.name, c.subject.rfc4514_string(), "self", c.not_valid_after_utc, note))
    return rows, tuple(anchors)


async def _issuer_rows(repo: Path, anchors: tuple[x509.Certificate, ...], kubeconfig: Path | None) -> list[Row]:
    from fleet.config import DirectoryTree, check_fleet
    from fleet.kube.client import KubeClient
    from fleet.kube.errors import KubeError
    from fleet.kube.kubeconfig import load_access

    cfg, problems = check_fleet(DirectoryTree(repo), now=datetime.now(UTC))
    if cfg is None:
        return [Row("issuer", "-", "", "", None, f"fleet config invalid: {problems[0].format()}")]
    by_fp = {fingerprint(a): a for a in anchors}

    async def one(cluster: str, context: str) -> Row:
        try:
            access = load_access(context, [kubeconfig] if kubeconfig else None)
            async with KubeClient(access, timeout=5) as kube:
                secret = await kube.get("v1", "Secret", ISSUER_SECRET, cfg.mesh.namespace)
        except KubeError as e:
            return Row("issuer", cluster, "", "", None, f"unreachable: {e}")
        cert = certificate_of(secret)
        if cert is None:
            return Row("issuer", cluster, "", "", None, "no issuer yet (the reconciler creates it)")
        signer = next((a for a in by_fp.values() if a.subject == cert.issuer), None)
        signed_by = f"anchor {fingerprint(signer)[:12]}" if signer else "an anchor not in trust-anchors/"
        return Row("issuer", cluster, cert.subject.rfc4514_string(), signed_by, cert.not_valid_after_utc, "")

    return list(await asyncio.gather(*(one(c.name, c.kubeconfig_context) for c in cfg.clusters)))


def _rotation_phase(repo: Path, keystore: Keystore, now: datetime) -> str:
    """The rotation phase the committed repository and the keystore are in, for ``trust status``."""
    from fleet.trust.rotation import classify
    from fleet.trust.rotation_repo import read_committed

    try:
        return classify(read_committed(repo, keystore, now).state).describe()
    except FleetError as e:
        return f"unknown: {e}"


def render_status(rows: list[Row], now: datetime) -> tuple[str, list[str]]:
    header = ("KIND", "NAME", "SUBJECT", "SIGNED BY", "EXPIRES", "DAYS LEFT", "NOTE")
    body, warnings = [], []
    for r in rows:
        days = r.days_left(now)
        body.append((r.kind, r.name, r.subject, r.signed_by,
                     r.not_after.strftime("%Y-%m-%d") if r.not_after else "-",
                     f"{days:.0f}" if days is not None else "-", r.note))
        if days is not None and days < EXPIRY_WARNING.days:
            warnings.append(f"warning: {r.kind} {r.name} expires in {max(days, 0):.0f} days "
                            f"({r.not_after:%Y-%m-%d})")
    widths = [max(len(x) for x in col) for col in zip(header, *body, strict=False)]
    text = "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in (header, *body))
    return text, warnings


def trust_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="meshfleet trust", description="the fleet's trust anchors and issuers")
    sub = p.add_subparsers(dest="action", required=True)
    i = sub.add_parser("init", help="create the fleet's trust anchor (key to the keystore, certificate to Git)")
    i.add_argument("--repo", type=Path, default=Path("."))
    i.add_argument("--keystore", type=Path, default=None)
    i.add_argument("--common-name", default="meshfleet trust anchor")
    i.add_argument("--days", type=int, default=3650, help="lifetime in days (default 3650)")
    i.add_argument("--force", action="store_true", help="add an anchor even if one exists")
    r = sub.add_parser("rotate", help="replace the fleet's trust anchor in three committed phases, "
                                      "waiting for every cluster at each; rerun to resume")
    r.add_argument("--repo", type=Path, default=Path("."))
    r.add_argument("--keystore", type=Path, default=None)
    r.add_argument("--kubeconfig", type=Path, default=None)
    r.add_argument("--wait", type=float, default=600.0, metavar="SECONDS",
                   help="how long each phase may wait for the fleet before giving up (default 600)")
    r.add_argument("--interval", type=float, default=2.0, metavar="SECONDS",
                   help="seconds between looks at the clusters (default 2)")
    r.add_argument("--days", type=int, default=None,
                   help="lifetime of the new anchor in days (default: the old anchor's)")
    s = sub.add_parser("status", help="anchors, every cluster's issuer, what signed it, days left")
    s.add_argument("--repo", type=Path, default=Path("."))
    s.add_argument("--keystore", type=Path, default=None)
    s.add_argument("--kubeconfig", type=Path, default=None)
    args = p.parse_args(argv)
    now = datetime.now(UTC)
    try:
        keystore = Keystore(args.keystore)
        if args.action == "init":
            if args.days < 1:
                p.error("--days must be at least 1")
            cert_file, key_file = init(args.repo, keystore, common_name=args.common_name,
                                       lifetime=timedelta(days=args.days), now=now, force=args.force)
            anchor = parse_bundle(cert_file.read_bytes())[0]
            print(f"trust anchor {describe(anchor)}")
            print(f"  certificate: {cert_file} (commit this)")
            print(f"  private key: {key_file} (mode 0600; never commit it)")
            return 0
        if args.action == "rotate":
            if args.wait <= 0 or args.interval <= 0 or (args.days is not None and args.days < 1):
                p.error("--wait and --interval must be positive, --days at least 1")
            from fleet.trust.rotate import RotateOptions, rotate

            opts = RotateOptions(args.repo, keystore, args.kubeconfig, wait=args.wait, interval=args.interval,
                                 lifetime=timedelta(days=args.days) if args.days else None)
            asyncio.run(rotate(opts, lambda line: print(line, flush=True)))
            return 0
        print(f"rotation: {_rotation_phase(args.repo, keystore, now)}")
        rows, anchors = _anchor_rows(args.repo, keystore)
        rows += asyncio.run(_issuer_rows(args.repo, anchors, args.kubeconfig))
        text, warnings = render_status(rows, now)
        print(text)
        for w in warnings:
            print(w, file=sys.stderr)
        return 0
    except FleetError as e:
        print(f"meshfleet trust {args.action}: {e}", file=sys.stderr)
        return 1
