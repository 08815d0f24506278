"""Health verdicts, the status document (read back with the dashboard's own parser), secrets and the state file."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fleet.apply.plan import ObjectRef
from fleet.config import TrustAnchor
from fleet.errors import KeystoreError
from fleet.reconcile import machine
from fleet.reconcile.backoff import Backoff
from fleet.reconcile.errors import RolloutStateError
from fleet.reconcile.health import assess
from fleet.reconcile.model import ClusterState, ClusterStatus, Health
from fleet.reconcile.progress import lines
from fleet.reconcile.rollout_state import RolloutStateFile
from fleet.reconcile.status import document, entry_from_object, status_object, table
from fleet.trust.secrets import (
    injector_tls_secret,
    issuer_secret,
    load_anchor_authority,
    renewal_reason,
    secrets_to_renew,
)
from tui.status.document import parse_status
from tui.status.model import ClusterState as TuiState

NOW = datetime.now(UTC)
REV = "d" * 40


def deployment(name: str, available: int, generation: int = 1, observed: int = 1, stuck: bool = False
               ) -> dict[str, Any]:
    conditions = [{"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "too slow"}] if stuck else []
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "mesh", "generation": generation},
            "spec": {"replicas": 1},
            "status": {"observedGeneration": observed, "updatedReplicas": 1, "availableReplicas": available,
                       "conditions": conditions}}


def test_health_ready_progressing_degraded() -> None:
    desired = [deployment("identity", 0), deployment("injector", 0)]
    refs = [ObjectRef.of(o) for o in desired]
    ready = assess(desired, {refs[0]: deployment("identity", 1), refs[1]: deployment("injector", 1)})
    assert ready.state is ClusterState.READY
    assert ready.control_plane_ready
    starting = assess(desired, {refs[0]: deployment("identity", 1), refs[1]: deployment("injector", 0)})
    assert starting.state is ClusterState.PROGRESSING
    assert starting.message == "Deployment mesh/injector: 0/1 available, 1/1 updated"
    stuck = assess(desired, {refs[0]: deployment("identity", 0, stuck=True), refs[1]: deployment("injector", 1)})
    assert stuck.state is ClusterState.DEGRADED
    gone = assess(desired, {refs[0]: None, refs[1]: deployment("injector", 1)})
    assert gone.state is ClusterState.DEGRADED
    assert "Deployment mesh/identity is missing" in gone.message
    no_issuer = assess(desired, {refs[0]: deployment("identity", 1), refs[1]: deployment("injector", 1)},
                       missing_secrets=["identity-issuer"])
    assert no_issuer.state is ClusterState.DEGRADED


def test_health_counts_meshed_pods() -> None:
    pods = [{"spec": {"containers": [{"name": "app"}, {"name": "meshfleet-proxy"}]}, "status": {"phase": "Running"}},
            {"spec": {"containers": [{"name": "app"}]}, "status": {"phase": "Running"}},
            {"spec": {"containers": [{"name": "meshfleet-proxy"}]}, "status": {"phase": "Succeeded"}}]
    health = assess([], {}, pods=pods)
    assert (health.meshed_pods, health.total_pods) == (1, 2)



def test_the_mesh_namespace_does_not_count_against_meshing() -> None:
    """The control plane and the gateway run without a sidecar by design: a fully meshed demo is 2/2."""
    def pod(ns: str, proxy: bool) -> dict[str, object]:
        containers = [{"name": "app"}, *([{"name": "meshfleet-proxy"}] if proxy else [])]
        return {"metadata": {"namespace": ns}, "spec": {"containers": containers}, "status": {"phase": "Running"}}

    pods = [pod("demo", True), pod("demo", True), pod("meshfleet", False), pod("meshfleet", False)]
    health = assess([], {}, pods=pods, mesh_namespace="meshfleet")
    assert (health.meshed_pods, health.total_pods) == (2, 2)


def _anchor(tmp: Path | None = None, days: int = 365) -> tuple[TrustAnchor, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "unit anchor")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - timedelta(days=1))
            .not_valid_after(NOW + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    if tmp is not None:
        fd = os.open(tmp / "anchor.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return TrustAnchor("trust-anchors/root.crt", cert, pem), key


def test_status_document_is_what_the_dashboard_reads() -> None:
    anchor, _ = _anchor()
    ready = machine.applied(ClusterStatus("east"), REV, Health(ClusterState.READY, "ok", True), NOW)
    down = machine.unreachable(ClusterStatus("west"), REV, "https://127.0.0.1:1: unreachable", NOW, Backoff())
    doc = document([down, ready], {}, [anchor], NOW)
    parsed = parse_status(doc)
    east, west = parsed.clusters
    assert (east.name, east.state, east.applied_revision, east.in_sync) == ("east", TuiState.READY, REV, True)
    assert (west.name, west.state, west.reachable) == ("west", TuiState.UNREACHABLE, False)
    assert west.events[0].reason == "Unreachable"
    assert len(parsed.anchors[0].fingerprint) == 64


def test_status_object_round_trips_and_renders_as_a_table() -> None:
    status = machine.applied(ClusterStatus("east"), REV, Health(ClusterState.PROGRESSING, "starting", False), NOW)
    entry = entry_from_object(status_object(status))
    assert entry is not None
    assert (entry["name"], entry["state"], entry["appliedRevision"]) == ("east", "Progressing", REV)
    assert entry_from_object({"data": {"status.json": "{not json"}}) is None
    text = table([entry])
    assert text.splitlines()[0].split() == ["CLUSTER", "STATE", "APPLIED", "TARGET", "LAST", "SYNC", "MESSAGE"]
    assert text.splitlines()[1].split()[:4] == ["east", "Progressing", REV[:12], REV[:12]]


def test_keystore_finds_the_anchor_key_and_refuses_loose_modes(tmp_path: Path) -> None:
    anchor, _ = _anchor(tmp_path)
    ca = load_anchor_authority(tmp_path, [anchor], NOW)
    assert ca.certificate == anchor.certificate
    other, _ = _anchor()
    with pytest.raises(KeystoreError, match="holds no key of a committed trust anchor"):
        load_anchor_authority(tmp_path, [other], NOW)
    with pytest.raises(KeystoreError, match="MESHFLEET_KEYSTORE"):
        load_anchor_authority(None, [anchor], NOW)
    (tmp_path / "anchor.key").chmod(0o644)
    with pytest.raises(KeystoreError, match="must be 0600") as e:
        load_anchor_authority(tmp_path, [anchor], NOW)
    assert "PRIVATE" not in str(e.value)


def test_minted_secrets_chain_to_the_anchor_and_are_kept_until_due(tmp_path: Path) -> None:
    anchor, _ = _anchor(tmp_path)
    ca = load_anchor_authority(tmp_path, [anchor], NOW)
    issuer = issuer_secret(ca, "east", "mesh", "cluster.local", anchor.pem, NOW)
    tls = injector_tls_secret(ca, "east", "mesh", NOW)
    assert secrets_to_renew({"identity-issuer": issuer, "injector-tls": tls}, [anchor], NOW) == {}
    assert secrets_to_renew({"identity-issuer": issuer}, [anchor], NOW) == {"injector-tls": "missing"}
    assert renewal_reason(issuer, [anchor], NOW + timedelta(days=25)) is not None  # under a third of 30 days left
    other, _ = _anchor()
    assert renewal_reason(issuer, [other], NOW) == "does not chain to a committed trust anchor"
    assert set(issuer["data"]) == {"ca.crt", "tls.crt", "tls.key"}


def test_rollout_state_file_pause_resume(tmp_path: Path) -> None:
    state_file = RolloutStateFile(tmp_path / "state")
    assert not state_file.load().paused
    assert state_file.set_paused(True).paused
    assert state_file.load().paused
    resumed = state_file.set_paused(False)
    assert not resumed.paused
    assert resumed.halted is None
    (tmp_path / "state" / "rollout.json").write_text("[not an object")
    with pytest.raises(RolloutStateError, match="unreadable rollout state"):
        state_file.load()


def test_progress_lines_one_per_cluster_in_name_order() -> None:
    statuses = {"west": ClusterStatus("west", ClusterState.FAILED, message="422"),
                "east": ClusterStatus("east", ClusterState.READY, applied_revision=REV)}
    out = lines(statuses)
    assert out[0].startswith("✓ east  Ready")
    assert REV[:12] in out[0]
    assert out[1].startswith("✗ west  Failed")
    assert out[1].endswith("422")
