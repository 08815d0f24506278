"""``meshfleet trust rotate``: the thin async shell around ``fleet.trust.rotation``.

Each turn reads the committed repository and the keystore, reads every
cluster back, asks the pure machine for the next step and performs it: a
commit (through Git, like every change of the fleet), Secrets applied
straight to a cluster (issuer keys never enter Git), a wait, or deleting the
retired key.  The reconciler (``meshfleet watch``) carries each commit to
the clusters; this shell only checks that it arrived.  Killed at any point,
it is rerun with the same arguments and carries on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fleet.apply.plan import FIELD_MANAGER
from fleet.kube.client import KubeClient
from fleet.kube.errors import KubeError
from fleet.kube.kubeconfig import load_access
from fleet.trust.errors import RotationError, RotationTimeout
from fleet.trust.keystore import Keystore
from fleet.trust.rotation import (
    ClusterView,
    DeleteOldKey,
    MintIssuers,
    Phase,
    RetireOld,
    Rotation,
    StartRotation,
    WaitFor,
    classify,
    next_step,
)
from fleet.trust.rotation_observe import observe_cluster
from fleet.trust.rotation_repo import Committed, anchor_file_name, check_clean, commit_anchors, read_committed
from fleet.trust.secrets import injector_tls_secret, issuer_secret
from mesh.pki import (
    CertificateAuthority,
    certificate_to_pem,
    describe,
    fingerprint,
    generate_private_key,
    issue_trust_anchor,
)

Report = Callable[[str], None]

WAIT_TEXT = {
    "bundle": "phase 1/3: every cluster to serve the bundle of both anchors",
    "identity": "phase 2/3: every identity service to issue under the new anchor",
    "proxies": "phase 2/3: every proxy to hold a leaf under the new anchor",
    "converge": "phase 3/3: every cluster to serve the bundle of the new anchor only",
}


@dataclass(frozen=True, slots=True)
class RotateOptions:
    repo: Path
    keystore: Keystore
    kubeconfig: Path | None = None
    wait: float = 600.0  # seconds each wait may take before the rotation stops with a timeout
    interval: float = 2.0  # seconds between looks at the fleet
    lifetime: timedelta | None = None  # the new anchor's; default: the old anchor's
    common_name: str = "meshfleet trust anchor"
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


async def _observe(committed: Committed, rotation: Rotation, kubeconfig: Path | None) -> list[ClusterView]:
    cfg = committed.config
    anchors = [a.certificate for a in committed.anchors]  # retiring: an issuer under the old one matches none
    probe = rotation.phase is Phase.BOTH
    return list(await asyncio.gather(*(
        observe_cluster(c, cfg.mesh.namespace, cfg.mesh.trust_domain, anchors, kubeconfig,
                        identity=probe, proxies=probe)
        for c in cfg.clusters)))


def _start(opts: RotateOptions, committed: Committed, now: datetime) -> str:
    old = committed.anchors[0].certificate
    lifetime = opts.lifetime or (old.not_valid_after_utc - old.not_valid_before_utc)
    check_clean(opts.repo)  # before the key exists: a refused commit must not leave an orphan key behind
    key = generate_private_key()
    cert = issue_trust_anchor(key, common_name=opts.common_name, now=now, lifetime=lifetime)
    # The key first: a committed anchor whose key is lost could never sign an issuer.
    opts.keystore.store(cert, key)
    path = anchor_file_name(cert, now)
    commit_anchors(opts.repo, add={path: certificate_to_pem(cert).encode()}, remove=(),
                   message=f"trust: add anchor {fingerprint(cert)[:16]} next to {fingerprint(old)[:16]} "
                           "(rotation phase 1: bundle of both)")
    return f"new anchor {describe(cert)} committed in {path} next to the old one"


def _retire(opts: RotateOptions, committed: Committed, step: RetireOld) -> str:
    add: dict[str, bytes] = {}
    remove: list[str] = []
    files = {a.file for a in committed.anchors if fingerprint(a.certificate) == step.old}
    for file in sorted(files):
        rest = [a for a in committed.anchors if a.file == file and fingerprint(a.certificate) != step.old]
        if rest:
            add[file] = b"".join(a.pem for a in rest)
        else:
            remove.append(file)
    commit_anchors(opts.repo, add=add, remove=tuple(remove),
                   message=f"trust: retire anchor {step.old[:16]}; the bundle holds only {step.new[:16]} "
                           "(rotation phase 3)")
    return f"old anchor {step.old[:16]} removed from the bundle ({', '.join(sorted(files))})"


async def _mint(opts: RotateOptions, committed: Committed, rotation: Rotation, step: MintIssuers,
                now: datetime) -> str:
    anchor = committed.anchor(rotation.new.fingerprint)
    ca = CertificateAuthority(anchor.certificate, opts.keystore.load(anchor.certificate))
    cfg = committed.config
    ns = cfg.mesh.namespace

    async def one(name: str) -> str | None:
        cluster = cfg.cluster(name)
        secrets = [issuer_secret(ca, name, ns, cfg.mesh.trust_domain, cfg.trust_bundle_pem, now),
                   injector_tls_secret(ca, name, ns, now)]
        try:
            async with KubeClient(load_access(cluster.kubeconfig_context,
                                              [opts.kubeconfig] if opts.kubeconfig else None)) as kube:
                for secret in secrets:
                    await kube.apply(secret, FIELD_MANAGER)
        except KubeError as e:
            return f"{name}: {e}"
        return None

    failed = [f for f in await asyncio.gather(*(one(n) for n in step.clusters)) if f is not None]
    if failed:  # a later turn tries again; the wait for the identity services names them if it persists
        return f"phase 2/3: new issuers applied except in: {'; '.join(failed)}"
    return f"phase 2/3: issuers signed by the new anchor applied in {', '.join(step.clusters)}"


async def rotate(opts: RotateOptions, report: Report) -> str:
    """Run (or resume) one rotation to its end; the fingerprint of the fleet's anchor afterwards."""
    waiting: tuple[str, float] | None = None
    last_said = ""
    started = False
    while True:
        now = opts.clock()
        committed = await asyncio.to_thread(read_committed, opts.repo, opts.keystore, now)
        rotation = classify(committed.state)
        views = await _observe(committed, rotation, opts.kubeconfig) if rotation.phase is not Phase.IDLE else []
        step = next_step(rotation, views)
        if not isinstance(step, WaitFor):
            waiting = None
        match step:
            case StartRotation():
                if started:
                    raise RotationError(f"{opts.repo}: the rotation commit is not at the head of the branch; "
                                        "did something else commit to trust-anchors/?")
                started = True
                report(f"phase 1/3: {await asyncio.to_thread(_start, opts, committed, now)}")
            case MintIssuers():
                report(await _mint(opts, committed, rotation, step, now))
                await asyncio.sleep(opts.interval)
            case WaitFor(what=what):
                if waiting is None or waiting[0] != what:
                    waiting = (what, time.monotonic())
                    report(f"waiting for {WAIT_TEXT[what]}")
                elif time.monotonic() - waiting[1] > opts.wait:
                    raise RotationTimeout(WAIT_TEXT[what], opts.wait, step.describe())
                said = step.describe()
                if said != last_said:
                    report(f"  still waiting: {said}")
                    last_said = said
                await asyncio.sleep(opts.interval)
            case RetireOld():
                report(f"phase 3/3: {await asyncio.to_thread(_retire, opts, committed, step)}")
            case DeleteOldKey(old=old):
                opts.keystore.delete_key(old)
                report(f"done: every cluster trusts only anchor {rotation.new.short}; "
                       f"the key of anchor {old[:16]} is deleted from {opts.keystore.path}")
                return rotation.new.fingerprint
