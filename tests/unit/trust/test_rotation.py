"""The rotation's phase machine, its reading of the repository, and the choices of anchor it depends on."""

from __future__ import annotations

import asyncio
import shutil
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pygit2
import pytest
import yaml

from fleet.trust import rotate as rotate_module
from fleet.trust.cli import init
from fleet.trust.errors import RepositoryBusy, RotationRefused, RotationTimeout
from fleet.trust.keystore import Keystore
from fleet.trust.rotate import RotateOptions, rotate
from fleet.trust.rotation import (
    Anchor,
    ClusterView,
    DeleteOldKey,
    MintIssuers,
    Phase,
    ProxyView,
    RepoState,
    RetireOld,
    Rotation,
    StartRotation,
    WaitFor,
    classify,
    next_step,
)
from fleet.trust.rotation_repo import read_committed
from mesh.identity_client import RenewalPolicy
from mesh.pki import Validity, fingerprint, generate_private_key, issue_trust_anchor, parse_bundle

REPO_ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
OLD = Anchor("trust-anchors/old.pem", "a" * 64, T0, has_key=True)
NEW = Anchor("trust-anchors/new.pem", "b" * 64, T0 + timedelta(days=1), has_key=True)
BOTH = frozenset({OLD.fingerprint, NEW.fingerprint})
ONLY_NEW = frozenset({NEW.fingerprint})


def _view(name: str, bundle: frozenset[str], issuer: str, identity: str | None = None,
          proxies: tuple[str | None, ...] = ()) -> ClusterView:
    return ClusterView(name, None, (("meshfleet", bundle), ("demo", bundle)), issuer, identity, None,
                       tuple(ProxyView(f"demo/p{i}", a) for i, a in enumerate(proxies)))


# -- classify: where the repository stands ---------------------------------------------------------


def test_one_anchor_is_idle_and_the_next_step_is_to_start() -> None:
    rotation = classify(RepoState((OLD,)))
    assert rotation.phase is Phase.IDLE
    assert next_step(rotation, []) == StartRotation(OLD.fingerprint)


def test_two_anchors_mean_both_with_the_later_issued_one_as_new_whatever_the_file_order() -> None:
    for anchors in ((OLD, NEW), (NEW, OLD)):
        rotation = classify(RepoState(anchors))
        assert (rotation.phase, rotation.new, rotation.old) == (Phase.BOTH, NEW, OLD.fingerprint)


def test_one_anchor_after_a_bundle_of_two_with_the_old_key_kept_is_retiring() -> None:
    state = RepoState((NEW,), previous=tuple(sorted(BOTH)), previous_has_key=(OLD.fingerprint, NEW.fingerprint))
    assert classify(state) == Rotation(Phase.RETIRING, NEW, OLD.fingerprint)
    # Once the old key is gone the rotation is over.
    done = RepoState((NEW,), previous=tuple(sorted(BOTH)), previous_has_key=(NEW.fingerprint,))
    assert classify(done).phase is Phase.IDLE


def test_refusals_name_the_files_and_the_field() -> None:
    third = Anchor("trust-anchors/third.pem", "c" * 64, T0 + timedelta(days=2), has_key=True)
    with pytest.raises(RotationRefused, match=r"3 anchors .*new.pem, trust-anchors/old.pem, trust-anchors/third"):
        classify(RepoState((OLD, NEW, third)))
    keyless = Anchor(NEW.file, NEW.fingerprint, NEW.not_before, has_key=False)
    with pytest.raises(RotationRefused, match=r"trust-anchors/new.pem: field notBefore .* no key"):
        classify(RepoState((OLD, keyless)))
    twin = Anchor("trust-anchors/twin.pem", "d" * 64, T0, has_key=True)
    with pytest.raises(RotationRefused, match=r"old.pem, trust-anchors/twin.pem: both anchors have notBefore"):
        classify(RepoState((OLD, twin)))


# -- next_step: gated on every cluster ----------------------------------------------------------------

BOTH_ROTATION = Rotation(Phase.BOTH, NEW, OLD.fingerprint)


def test_issuers_move_only_once_every_cluster_serves_the_bundle_of_both() -> None:
    lagging = ClusterView("beta", None, (("meshfleet", BOTH), ("demo", frozenset({OLD.fingerprint}))),
                          OLD.fingerprint)
    step = next_step(BOTH_ROTATION, [_view("alpha", BOTH, OLD.fingerprint), lagging])
    assert isinstance(step, WaitFor)
    assert step.what == "bundle"
    assert [who for who, _ in step.lagging] == ["beta"]
    assert "demo" in step.describe()
    unreachable = ClusterView("gamma", error="connection refused")
    step = next_step(BOTH_ROTATION, [_view("alpha", BOTH, OLD.fingerprint), unreachable])
    assert isinstance(step, WaitFor)
    assert step.lagging == (("gamma", "connection refused"),)
    step = next_step(BOTH_ROTATION, [_view("alpha", BOTH, OLD.fingerprint), _view("beta", BOTH, NEW.fingerprint)])
    assert step == MintIssuers(("alpha",))


def test_after_the_issuers_wait_for_identity_then_for_every_proxy_then_retire() -> None:
    new = NEW.fingerprint
    step = next_step(BOTH_ROTATION, [_view("alpha", BOTH, new, identity=OLD.fingerprint)])
    assert isinstance(step, WaitFor)
    assert step.what == "identity"
    step = next_step(BOTH_ROTATION, [_view("alpha", BOTH, new, identity=new, proxies=(new, OLD.fingerprint, None))])
    assert isinstance(step, WaitFor)
    assert step.what == "proxies"
    assert [who for who, _ in step.lagging] == ["alpha:demo/p1", "alpha:demo/p2"]
    step = next_step(BOTH_ROTATION, [_view("alpha", BOTH, new, identity=new, proxies=(new, new))])
    assert step == RetireOld(OLD.fingerprint, new)


def test_the_old_key_goes_only_after_every_cluster_serves_the_new_bundle_alone() -> None:
    retiring = Rotation(Phase.RETIRING, NEW, OLD.fingerprint)
    step = next_step(retiring, [_view("alpha", ONLY_NEW, NEW.fingerprint), _view("beta", BOTH, NEW.fingerprint)])
    assert isinstance(step, WaitFor)
    assert (step.what, [who for who, _ in step.lagging]) == ("converge", ["beta"])
    step = next_step(retiring, [_view("alpha", ONLY_NEW, NEW.fingerprint), _view("beta", ONLY_NEW, NEW.fingerprint)])
    assert step == DeleteOldKey(OLD.fingerprint)


# -- the choices the clusters depend on -------------------------------------------------------------


def test_the_keystore_signs_with_the_newest_anchor_whose_key_it_holds(tmp_path: Path) -> None:
    ks = Keystore(tmp_path / "ks")
    older_key, newer_key = generate_private_key(), generate_private_key()
    # The older anchor lives longer: issue time, not expiry, decides which one is new.
    older = issue_trust_anchor(older_key, common_name="old", now=T0, lifetime=timedelta(days=3650))
    newer = issue_trust_anchor(newer_key, common_name="new", now=T0 + timedelta(hours=1), lifetime=timedelta(days=30))
    ks.store(older, older_key)
    ks.store(newer, newer_key)
    now = T0 + timedelta(hours=2)
    assert ks.authority([older, newer], now).certificate == newer
    assert ks.authority([newer, older], now).certificate == newer
    assert ks.delete_key(fingerprint(newer))
    assert ks.authority([older, newer], now).certificate == older


def test_a_leaf_off_the_newest_anchor_is_renewed_within_the_recheck_not_at_70_percent() -> None:
    policy = RenewalPolicy()
    validity = Validity(T0, T0 + timedelta(hours=24))
    on = policy.delay(validity, received_at=T0, now=T0)
    off = policy.delay(validity, received_at=T0, now=T0, on_newest_anchor=False)
    assert on == pytest.approx(0.7 * 24 * 3600)
    assert off == pytest.approx(policy.off_anchor_recheck)


# -- the repository and the shell ------------------------------------------------------------------


def _fleet_repo(tmp_path: Path) -> tuple[Path, Keystore]:
    root = tmp_path / "fleet"
    root.mkdir()
    shutil.copy(REPO_ROOT / "fleet.yaml", root / "fleet.yaml")
    (root / "clusters").mkdir()
    (root / "clusters" / "alpha.yaml").write_text(yaml.safe_dump({
        "apiVersion": "meshfleet.io/v1alpha1", "kind": "Cluster", "metadata": {"name": "alpha"},
        "spec": {"kubeconfigContext": "alpha", "network": {"podCIDR": "10.101.0.0/16",
                                                            "serviceCIDR": "10.201.0.0/16"}}}))
    fleet = yaml.safe_load((root / "fleet.yaml").read_text())
    fleet["spec"]["rollout"] = {"waves": [["alpha"]]}
    (root / "fleet.yaml").write_text(yaml.safe_dump(fleet))
    ks = Keystore(tmp_path / "keystore")
    init(root, ks, common_name="old anchor", lifetime=timedelta(days=365), now=datetime.now(UTC) - timedelta(hours=1))
    repo = pygit2.init_repository(str(root), initial_head="main")
    repo.index.add_all()
    repo.index.write()
    sig = pygit2.Signature("Platform Team", "platform@example.com")
    repo.create_commit("HEAD", sig, sig, "the fleet", repo.index.write_tree(), [])
    return root, ks


class _FakeFleet:
    """A fleet that applies every commit at once: it reports exactly what is committed, issuers as minted."""

    def __init__(self) -> None:
        self.issuer: str | None = None
        self.observed: list[Phase] = []

    async def observe(self, committed, rotation, kubeconfig):  # type: ignore[no-untyped-def]
        self.observed.append(rotation.phase)
        fps = frozenset(fingerprint(a.certificate) for a in committed.anchors)
        issuer = self.issuer or rotation.old
        return [ClusterView("alpha", None, (("meshfleet", fps),), issuer, issuer, None,
                            (ProxyView("demo/web", issuer),))]

    async def mint(self, opts, committed, rotation, step, now):  # type: ignore[no-untyped-def]
        self.issuer = rotation.new.fingerprint
        return "minted"


def _head_anchors(root: Path) -> set[str]:
    repo = pygit2.Repository(str(root))
    tree = repo.head.peel(pygit2.Commit).tree / "trust-anchors"
    return {fingerprint(c) for e in tree if e.name.endswith(".pem") for c in parse_bundle(repo[e.id].data)}


def test_a_full_rotation_commits_three_states_and_keeps_keys_out_of_git(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, ks = _fleet_repo(tmp_path)
    old = _head_anchors(root)
    fake = _FakeFleet()
    monkeypatch.setattr(rotate_module, "_observe", fake.observe)
    monkeypatch.setattr(rotate_module, "_mint", fake.mint)
    lines: list[str] = []
    new = asyncio.run(rotate(RotateOptions(root, ks, interval=0.01), lines.append))
    assert _head_anchors(root) == {new}
    assert new not in old
    repo = pygit2.Repository(str(root))
    messages = [c.message for c in repo.walk(repo.head.target)]
    assert len(messages) == 3  # the fleet, both anchors, the new one only
    assert "phase 1" in messages[1]
    assert "phase 3" in messages[0]
    assert [p.name for p in sorted(ks.path.iterdir())] == [ks.key_file_for(new).name]  # the old key is gone
    assert stat.S_IMODE(ks.key_file_for(new).stat().st_mode) == 0o600
    for commit in repo.walk(repo.head.target):
        for path in ("trust-anchors",):
            for entry in commit.tree / path:
                assert b"PRIVATE KEY" not in repo[entry.id].data
    assert not any("PRIVATE" in line for line in lines)
    assert lines[-1].startswith("done:")


def test_a_rerun_resumes_from_what_is_committed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, ks = _fleet_repo(tmp_path)
    fake = _FakeFleet()
    monkeypatch.setattr(rotate_module, "_observe", fake.observe)
    monkeypatch.setattr(rotate_module, "_mint", fake.mint)

    def crash(*args: object) -> str:
        raise KeyboardInterrupt  # killed right before committing the bundle of the new anchor alone

    monkeypatch.setattr(rotate_module, "_retire", crash)
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(rotate(RotateOptions(root, ks, interval=0.01), lambda _: None))
    assert len(_head_anchors(root)) == 2
    assert classify(read_committed(root, ks, datetime.now(UTC)).state).phase is Phase.BOTH
    monkeypatch.undo()
    monkeypatch.setattr(rotate_module, "_observe", fake.observe)
    monkeypatch.setattr(rotate_module, "_mint", fake.mint)
    new = asyncio.run(rotate(RotateOptions(root, ks, interval=0.01), lambda _: None))
    assert _head_anchors(root) == {new}
    repo = pygit2.Repository(str(root))
    assert len(list(repo.walk(repo.head.target))) == 3  # no second new anchor: it carried on


def test_a_wait_that_runs_out_names_the_lagging_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, ks = _fleet_repo(tmp_path)

    async def stuck(committed, rotation, kubeconfig):  # type: ignore[no-untyped-def]
        return [ClusterView("alpha", None, (("meshfleet", frozenset({rotation.old})),), rotation.old)]

    monkeypatch.setattr(rotate_module, "_observe", stuck)
    with pytest.raises(RotationTimeout, match=r"bundle of both anchors: alpha: trust-anchors ConfigMap in meshfleet"):
        asyncio.run(rotate(RotateOptions(root, ks, wait=0.2, interval=0.05), lambda _: None))


def test_uncommitted_anchor_changes_are_refused(tmp_path: Path) -> None:
    root, ks = _fleet_repo(tmp_path)
    (root / "trust-anchors" / "stray.pem").write_text("not yet committed\n")
    with pytest.raises(RepositoryBusy, match=r"trust-anchors/stray.pem"):
        asyncio.run(rotate(RotateOptions(root, ks, interval=0.01), lambda _: None))
    assert list(ks.path.iterdir()) == [ks.key_file_for(next(iter(_head_anchors(root))))]  # no orphan key
    assert list(ks.path.iterdir()) == [ks.key_file_for(next(iter(_head_anchors(root))))]  # no orphan key


# -- how a proxy and the fleet tell which anchor a leaf is under ------------------------------------


def test_a_proxy_names_the_anchor_its_leaf_is_under_and_knows_the_newest() -> None:
    from mesh.identity_client import Credentials
    from mesh.identity_client._client import anchor_of, newest_anchor
    from mesh.pki import CertificateAuthority, issue_issuer

    old_key, new_key = generate_private_key(), generate_private_key()
    old = issue_trust_anchor(old_key, common_name="same name", now=T0)
    new = issue_trust_anchor(new_key, common_name="same name", now=T0 + timedelta(minutes=5))
    issuer = issue_issuer(generate_private_key().public_key(), CertificateAuthority(new, new_key),
                          trust_domain="cluster.local", common_name="issuer", now=T0 + timedelta(minutes=6))
    creds = Credentials(certificate=issuer, chain=(issuer,), received_at=T0)
    # Same subject on both anchors: only the signature tells them apart.
    assert anchor_of(creds, (old, new)) == new
    assert anchor_of(creds, (old,)) is None
    assert newest_anchor((new, old)) == new


def test_the_fleet_reads_the_anchor_from_a_proxys_metrics() -> None:
    from fleet.trust.rotation_observe import anchor_of_metrics

    text = ('# HELP identity_cert_anchor_info x\n# TYPE identity_cert_anchor_info gauge\n'
            'identity_cert_anchor_info{anchor="' + "b" * 64 + '"} 1.0\nrequest_total{direction="inbound"} 3.0\n')
    assert anchor_of_metrics(text) == "b" * 64
    assert anchor_of_metrics("request_total 3.0\n") is None


def test_status_shows_the_rotation_phase_and_rotate_refuses_a_bundle_of_three(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fleet.trust.cli import _rotation_phase, trust_main

    root, ks = _fleet_repo(tmp_path)
    assert _rotation_phase(root, ks, datetime.now(UTC)).startswith("no rotation in progress (anchor ")
    for n in (1, 2):
        init(root, ks, common_name=f"extra {n}", lifetime=timedelta(days=30),
             now=datetime.now(UTC) - timedelta(minutes=10 * n), force=True)
    repo = pygit2.Repository(str(root))
    repo.index.add_all()
    repo.index.write()
    sig = pygit2.Signature("Platform Team", "platform@example.com")
    repo.create_commit("HEAD", sig, sig, "three anchors", repo.index.write_tree(), [repo.head.target])
    assert "unknown: trust-anchors/: 3 anchors are committed" in _rotation_phase(root, ks, datetime.now(UTC))
    assert trust_main(["rotate", "--repo", str(root), "--keystore", str(ks.path)]) == 1
    err = capsys.readouterr().err
    assert "meshfleet trust rotate: trust-anchors/: 3 anchors are committed" in err
    assert "PRIVATE" not in err
