"""The trust-anchor rotation as a pure state machine: observed state in, the next step out.

A rotation moves the fleet from anchor OLD to anchor NEW in three committed
states, each gated on what the clusters report::

    idle          trust-anchors/ = {OLD}            -> StartRotation: new key, commit {OLD, NEW}
    both          trust-anchors/ = {OLD, NEW}
                  every cluster holds {OLD, NEW}?   no  -> WaitFor("bundle", lagging clusters)
                  every issuer signed by NEW?       no  -> MintIssuers(clusters)
                  identity issues under NEW?        no  -> WaitFor("identity", lagging clusters)
                  every proxy's leaf under NEW?     no  -> WaitFor("proxies", lagging pods)
                                                    yes -> RetireOld: commit {NEW}
    retiring      trust-anchors/ = {NEW}, the commit before held {OLD, NEW}, OLD's key still kept
                  every cluster holds {NEW} only and
                  every issuer signed by NEW?       no  -> WaitFor("converge", lagging clusters)
                                                    yes -> DeleteOldKey

Where the rotation stands is read from the repository's commits and the
keystore (``classify``), never from a file of the process that ran it, so a
rerun after a crash carries on from the same place.  Which anchor is new is
decided by issue time (``notBefore``): rotation always moves to the newest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from fleet.trust.errors import RotationRefused


@dataclass(frozen=True, slots=True)
class Anchor:
    """A committed anchor as rotation sees it: which file, which certificate, whether its key is at hand."""

    file: str
    fingerprint: str
    not_before: datetime
    has_key: bool

    @property
    def short(self) -> str:
        return self.fingerprint[:16]


class Phase(StrEnum):
    IDLE = "idle"
    BOTH = "both"  # phases 1 and 2: the bundle holds the old and the new anchor
    RETIRING = "retiring"  # phase 3: the bundle holds the new anchor only; the old key is still kept


@dataclass(frozen=True, slots=True)
class RepoState:
    """The committed bundle, the bundle of the newest earlier commit that differed, and the keystore."""

    anchors: tuple[Anchor, ...]
    previous: tuple[str, ...] = ()  # fingerprints of the earlier bundle (empty if none differed)
    previous_has_key: tuple[str, ...] = ()  # those of ``previous`` whose key is still in the keystore


@dataclass(frozen=True, slots=True)
class Rotation:
    phase: Phase
    new: Anchor
    old: str | None = None  # fingerprint of the anchor being replaced (None when idle)

    def describe(self) -> str:
        if self.phase is Phase.IDLE:
            return f"no rotation in progress (anchor {self.new.short})"
        old = (self.old or "")[:16]
        if self.phase is Phase.BOTH:
            return (f"rotation from anchor {old} to {self.new.short}: both anchors committed "
                    "(issuers move to the new anchor once every cluster trusts both)")
        return (f"rotation from anchor {old} to {self.new.short}: old anchor removed from the bundle; "
                "its key is deleted once every cluster trusts only the new one")


def classify(repo: RepoState) -> Rotation:
    """The rotation phase the repository and keystore are in, or RotationRefused saying what is wrong."""
    anchors = repo.anchors
    if not anchors:
        raise RotationRefused("trust-anchors/: no trust anchor is committed; run `meshfleet trust init` first")
    if len(anchors) == 1:
        (only,) = anchors
        old = [fp for fp in repo.previous if fp != only.fingerprint]
        came_from_both = only.fingerprint in repo.previous and len(repo.previous) == 2
        if came_from_both and old and old[0] in repo.previous_has_key:
            return Rotation(Phase.RETIRING, only, old[0])
        return Rotation(Phase.IDLE, only)
    if len(anchors) > 2:
        files = ", ".join(sorted({a.file for a in anchors}))
        raise RotationRefused(f"trust-anchors/: {len(anchors)} anchors are committed ({files}); rotation "
                              "understands one (no rotation) or two (old and new); remove the ones not in use")
    first, second = sorted(anchors, key=lambda a: a.not_before)
    if first.not_before == second.not_before:
        raise RotationRefused(f"{first.file}, {second.file}: both anchors have notBefore "
                              f"{first.not_before.isoformat()}; rotation cannot tell which one is new")
    if not second.has_key:
        raise RotationRefused(f"{second.file}: field notBefore makes anchor {second.short} the new one, "
                              "but the keystore holds no key for it; rotation needs it to sign the issuers "
                              "(point --keystore or MESHFLEET_KEYSTORE at the keystore that has it)")
    return Rotation(Phase.BOTH, second, first.fingerprint)


# -- what the clusters report ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProxyView:
    pod: str  # namespace/name
    anchor: str | None  # fingerprint of the anchor its leaf chains to; None if unknown
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ClusterView:
    """One cluster, read back: the bundle copies it serves, its issuer, a fresh leaf, its proxies."""

    name: str
    error: str | None = None  # unreachable or refusing: nothing else is known
    bundles: tuple[tuple[str, frozenset[str]], ...] = ()  # (namespace, anchor fingerprints) per ConfigMap
    issuer_anchor: str | None = None  # anchor that signed the issuer Secret
    identity_anchor: str | None = None  # anchor of the leaf the identity service just issued
    identity_error: str | None = None
    proxies: tuple[ProxyView, ...] = ()


def _bundle_lag(view: ClusterView, want: frozenset[str]) -> str | None:
    if view.error is not None:
        return view.error
    if not view.bundles:
        return "no trust-anchors ConfigMap yet"
    wrong = [ns for ns, fps in view.bundles if fps != want]
    if wrong:
        return f"trust-anchors ConfigMap in {', '.join(wrong)} does not hold the committed bundle yet"
    return None


def _identity_lag(view: ClusterView, new: str) -> str | None:
    if view.identity_anchor == new:
        return None
    if view.identity_error is not None:
        return f"identity service: {view.identity_error}"
    return "identity service still issues leaves that chain to another anchor"


# -- the next step ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartRotation:
    """Make a new anchor (key into the keystore) and commit the bundle {old, new}."""

    old: str


@dataclass(frozen=True, slots=True)
class MintIssuers:
    """Sign a new issuer (and the injector's serving certificate) with the new anchor in each cluster."""

    clusters: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WaitFor:
    """Nothing to do but wait for the clusters; ``lagging`` says who and why."""

    what: str  # bundle | identity | proxies | converge
    lagging: tuple[tuple[str, str], ...]  # (cluster or cluster:pod, reason)

    def describe(self) -> str:
        return "; ".join(f"{who}: {why}" for who, why in self.lagging)


@dataclass(frozen=True, slots=True)
class RetireOld:
    """Commit the bundle holding only the new anchor."""

    old: str
    new: str


@dataclass(frozen=True, slots=True)
class DeleteOldKey:
    old: str


Step = StartRotation | MintIssuers | WaitFor | RetireOld | DeleteOldKey


def next_step(rotation: Rotation, clusters: Sequence[ClusterView]) -> Step:
    """What to do next, given the phase and what every cluster reports."""
    if rotation.phase is Phase.IDLE:
        return StartRotation(rotation.new.fingerprint)
    assert rotation.old is not None
    new = rotation.new.fingerprint
    if rotation.phase is Phase.BOTH:
        want = frozenset({rotation.old, new})
        lag = [(c.name, why) for c in clusters if (why := _bundle_lag(c, want)) is not None]
        if lag:
            return WaitFor("bundle", tuple(lag))
        stale = tuple(c.name for c in clusters if c.issuer_anchor != new)
        if stale:
            return MintIssuers(stale)
        lag = [(c.name, why) for c in clusters if (why := _identity_lag(c, new)) is not None]
        if lag:
            return WaitFor("identity", tuple(lag))
        lag = [(f"{c.name}:{p.pod}", p.error or "leaf chains to the old anchor; waiting for its renewal")
               for c in clusters for p in c.proxies if p.anchor != new]
        if lag:
            return WaitFor("proxies", tuple(lag))
        return RetireOld(rotation.old, new)
    want = frozenset({new})
    lag = [(c.name, why) for c in clusters if (why := _bundle_lag(c, want)) is not None]
    lag += [(c.name, "issuer is not signed by the new anchor") for c in clusters
            if c.error is None and c.issuer_anchor != new]
    if lag:
        return WaitFor("converge", tuple(lag))
    return DeleteOldKey(rotation.old)
