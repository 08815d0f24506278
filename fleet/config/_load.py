"""Turn a fleet tree into a validated ``FleetConfig``, or into every problem it has.

The order is: parse each file (positions kept), refuse credentials, check
each file against its schema and its own field rules, then check the files
against each other (names, links, networks, waves) and the trust anchors.
Checks run on whatever parts are well-formed, so one mistake does not hide
the next: the user fixes a revision in one round.  Pure given the tree and
the time; reading goes through ``FileTree``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from fleet.config._anchors import ANCHOR_DIR, check_anchors
from fleet.config._credentials import find_credentials
from fleet.config._model import (
    BUILTIN_SETTINGS,
    DEFAULT_MESH_NAMESPACE,
    DEFAULT_TRUST_DOMAIN,
    ClusterConfig,
    DriftMode,
    FleetConfig,
    InboundPolicy,
    IPNetwork,
    LogLevel,
    MeshSettings,
    Network,
    ResourceAmounts,
    Resources,
    Settings,
    Wave,
)
from fleet.config._problem import Problem
from fleet.config._schema import CLUSTER_SCHEMA, FLEET_SCHEMA, validate
from fleet.config._tree import FileTree
from fleet.config._values import address_problem, parse_cidr, parse_duration
from fleet.config._versions import SUPPORTED_MESH_VERSIONS
from fleet.config._yamldoc import Document, Path, format_path, parse
from fleet.errors import InvalidConfig

FLEET_FILE = "fleet.yaml"
CLUSTER_DIR = "clusters"
CLUSTER_SUFFIXES = (".yaml", ".yml")
DEFAULT_WAVE_TIMEOUT = timedelta(minutes=10)

_NETWORK = ("spec", "network")
_CIDR_FIELDS = ("podCIDR", "serviceCIDR")


@dataclass(slots=True)
class _Cluster:
    """What could be read of one cluster file, well-formed or not."""

    file: str
    stem: str
    doc: Document | None
    valid: bool = False
    cidrs: dict[str, IPNetwork] = field(default_factory=dict)

    @property
    def name(self) -> str:
        written = self.doc.get(("metadata", "name")) if self.doc else None
        return written if isinstance(written, str) else self.stem


def _credential_problems(doc: Document) -> tuple[list[Problem], frozenset[Path]]:
    found = list(find_credentials(doc.value))
    problems = [doc.problem(path, reason, key=True) for path, reason in found]
    return problems, frozenset(path for path, _ in found)


def _schema_problems(doc: Document, schema: str) -> list[Problem]:
    problems, skip = _credential_problems(doc)
    return problems + validate(doc, schema, skip=skip)


def _ha_problems(doc: Document, settings: Path, effective: Settings, written: dict[str, Any]) -> list[Problem]:
    if not (effective.ha and effective.replicas < 2):
        return []
    where = "replicas" if "replicas" in written else "ha"
    return [doc.problem((*settings, where), f"ha needs at least 2 replicas, but replicas is {effective.replicas}")]


# -- settings --------------------------------------------------------------------------------------------


def _amounts(base: ResourceAmounts, raw: dict[str, Any] | None) -> ResourceAmounts:
    if not raw:
        return base
    cpu, memory = raw.get("cpu"), raw.get("memory")
    return ResourceAmounts(
        cpu=base.cpu if cpu is None else str(cpu),
        memory=base.memory if memory is None else str(memory),
    )


def merge_settings(base: Settings, raw: dict[str, Any] | None) -> Settings:
    """``base`` with the fields written in ``raw`` (schema-valid settings) replacing its own."""
    if not raw:
        return base
    resources = raw.get("resources") or {}
    return Settings(
        replicas=raw.get("replicas", base.replicas),
        ha=raw.get("ha", base.ha),
        demo=raw.get("demo", base.demo),
        resources=Resources(
            requests=_amounts(base.resources.requests, resources.get("requests")),
            limits=_amounts(base.resources.limits, resources.get("limits")),
        ),
        log_level=LogLevel(raw.get("logLevel", base.log_level)),
        default_inbound_policy=InboundPolicy(raw.get("defaultInboundPolicy", base.default_inbound_policy)),
        drift=DriftMode(raw.get("drift", base.drift)),
    )


# -- one file at a time ------------------------------------------------------------------------------------


def _check_fleet_file(doc: Document) -> tuple[list[Problem], bool]:
    problems = _schema_problems(doc, FLEET_SCHEMA)
    valid = not problems
    version = doc.get(("spec", "mesh", "version"))
    if isinstance(version, str) and version not in SUPPORTED_MESH_VERSIONS:
        supported = ", ".join(SUPPORTED_MESH_VERSIONS)
        reason = f"{version!r} is not a supported mesh version (supported: {supported})"
        problems.append(doc.problem(("spec", "mesh", "version"), reason))
    for path in _duration_paths(doc):
        text = doc.get(path)
        if isinstance(text, str) and not any(p.field == format_path(path) for p in problems):
            if parse_duration(text) <= timedelta(0):
                problems.append(doc.problem(path, f"{text!r} must be longer than 0s"))
    defaults = doc.get(("spec", "defaults"))
    if valid and isinstance(defaults, dict):
        effective = merge_settings(BUILTIN_SETTINGS, defaults)
        problems += _ha_problems(doc, ("spec", "defaults"), effective, defaults)
    return problems, valid


def _duration_paths(doc: Document) -> Iterator[Path]:
    yield ("spec", "rollout", "waveTimeout")
    waves = doc.get(("spec", "rollout", "waves"))
    if isinstance(waves, list):
        for index, wave in enumerate(waves):
            if isinstance(wave, dict):
                yield ("spec", "rollout", "waves", index, "timeout")


def _check_cluster_file(cluster: _Cluster, defaults: Settings | None) -> list[Problem]:
    doc = cluster.doc
    assert doc is not None
    problems = _schema_problems(doc, CLUSTER_SCHEMA)
    cluster.valid = not problems
    name = doc.get(("metadata", "name"))
    if isinstance(name, str) and name != cluster.stem:
        reason = f"{name!r} does not match the file name; expected {cluster.stem!r}"
        problems.append(doc.problem(("metadata", "name"), reason))
    for key in _CIDR_FIELDS:
        text = doc.get((*_NETWORK, key))
        if isinstance(text, str):
            parsed = parse_cidr(text)
            if isinstance(parsed, str):
                problems.append(doc.problem((*_NETWORK, key), parsed))
            else:
                cluster.cidrs[key] = parsed
    pod, service = cluster.cidrs.get("podCIDR"), cluster.cidrs.get("serviceCIDR")
    if pod is not None and service is not None and _overlap(pod, service):
        reason = f"{str(service)!r} overlaps spec.network.podCIDR {str(pod)!r}"
        problems.append(doc.problem((*_NETWORK, "serviceCIDR"), reason))
    gateway = doc.get((*_NETWORK, "gatewayAddress"))
    if isinstance(gateway, str):
        reason_or_none = address_problem(gateway)
        if reason_or_none is not None:
            problems.append(doc.problem((*_NETWORK, "gatewayAddress"), reason_or_none))
    overrides = doc.get(("spec", "overrides"))
    if isinstance(overrides, dict) and "drift" in overrides and doc.get(("spec", "drift")) is not None:
        reason = "is also set in spec.overrides.drift; set it in one place"
        problems.append(doc.problem(("spec", "drift"), reason))
    if cluster.valid and defaults is not None and isinstance(overrides, dict):
        effective = merge_settings(defaults, overrides)
        problems += _ha_problems(doc, ("spec", "overrides"), effective, overrides)
    return problems


def _overlap(a: IPNetwork, b: IPNetwork) -> bool:
    return a.version == b.version and a.overlaps(b)


# -- across files ----------------------------------------------------------------------------------------


def _at(doc: Document, path: Path) -> str:
    line, column = doc.position(path)
    return f"{doc.file}:{line}:{column}"


def _name_problems(clusters: list[_Cluster]) -> list[Problem]:
    problems: list[Problem] = []
    first: dict[str, _Cluster] = {}
    for cluster in clusters:
        if cluster.doc is None:
            continue
        earlier = first.setdefault(cluster.name, cluster)
        if earlier is not cluster and earlier.doc is not None:
            where = _at(earlier.doc, ("metadata", "name"))
            reason = f"{cluster.name!r} is also the name of the cluster in {where}"
            problems.append(cluster.doc.problem(("metadata", "name"), reason))
    return problems


def _link_problems(clusters: list[_Cluster]) -> list[Problem]:
    problems: list[Problem] = []
    names = {cluster.name for cluster in clusters}
    by_name = {cluster.name: cluster for cluster in clusters}
    linked: set[tuple[str, str]] = set()
    for cluster in clusters:
        doc = cluster.doc
        links = doc.get(("spec", "links")) if doc else None
        if doc is None or not isinstance(links, list):
            continue
        for index, link in enumerate(links):
            if not isinstance(link, str):
                continue
            path = ("spec", "links", index)
            if link == cluster.name:
                problems.append(doc.problem(path, "a cluster cannot link to itself"))
            elif link not in names:
                known = ", ".join(sorted(names))
                problems.append(doc.problem(path, f"{link!r} is not a cluster of this fleet (clusters: {known})"))
            else:
                linked.add((cluster.name, link))
    for source, target in sorted(linked):
        if (target, source) in linked and target < source:
            continue  # a mutual link is checked once, from the first name
        problems += _network_overlaps(by_name[source], by_name[target])
    return problems


def _network_overlaps(cluster: _Cluster, peer: _Cluster) -> list[Problem]:
    problems: list[Problem] = []
    if cluster.doc is None or peer.doc is None:
        return problems  # an unreadable file was reported already; it has no networks to compare
    for mine, theirs in itertools.product(_CIDR_FIELDS, _CIDR_FIELDS):
        a, b = cluster.cidrs.get(mine), peer.cidrs.get(theirs)
        if a is not None and b is not None and _overlap(a, b):
            where = _at(peer.doc, (*_NETWORK, theirs))
            reason = (
                f"{str(a)!r} overlaps {theirs} {str(b)!r} of linked cluster {peer.name!r} ({where}); "
                "linked clusters need disjoint networks"
            )
            problems.append(cluster.doc.problem((*_NETWORK, mine), reason))
    return problems


def _wave_problems(doc: Document, clusters: list[_Cluster]) -> list[Problem]:
    waves = doc.get(("spec", "rollout", "waves"))
    if not isinstance(waves, list):
        return []
    names = {cluster.name: cluster for cluster in clusters}
    problems: list[Problem] = []
    placed: dict[str, Path] = {}
    complete = True
    for index, wave in enumerate(waves):
        base: Path = ("spec", "rollout", "waves", index)
        members = wave.get("clusters") if isinstance(wave, dict) else wave
        if isinstance(wave, dict):
            base = (*base, "clusters")
        if not isinstance(members, list):
            complete = False  # already a schema problem; "in no wave" would only repeat it
            continue
        for position, name in enumerate(members):
            if not isinstance(name, str):
                complete = False
                continue
            path = (*base, position)
            if name not in names:
                known = ", ".join(sorted(names))
                problems.append(doc.problem(path, f"{name!r} is not a cluster of this fleet (clusters: {known})"))
            elif name in placed:
                reason = f"{name!r} is already in {format_path(placed[name])}; a cluster rolls out in one wave"
                problems.append(doc.problem(path, reason))
            else:
                placed[name] = path
    for name, cluster in sorted(names.items()):
        if complete and name not in placed:
            reason = f"cluster {name!r} ({cluster.file}) is in no wave; every cluster rolls out in exactly one"
            problems.append(doc.problem(("spec", "rollout", "waves"), reason))
    return problems


# -- building the result ------------------------------------------------------------------------------------


def _build_cluster(cluster: _Cluster, defaults: Settings) -> ClusterConfig:
    assert cluster.doc is not None
    spec = cluster.doc.value["spec"]
    settings = merge_settings(defaults, spec.get("overrides"))
    if "drift" in spec:
        settings = replace(settings, drift=DriftMode(spec["drift"]))
    return ClusterConfig(
        name=cluster.name,
        file=cluster.file,
        kubeconfig_context=spec["kubeconfigContext"],
        network=Network(
            pod_cidr=cluster.cidrs["podCIDR"],
            service_cidr=cluster.cidrs["serviceCIDR"],
            gateway_address=spec["network"].get("gatewayAddress"),
        ),
        links=tuple(spec.get("links", ())),
        prometheus=spec.get("prometheus"),
        settings=settings,
    )


def _build_waves(rollout: dict[str, Any], names: list[str]) -> tuple[Wave, ...]:
    timeout = parse_duration(rollout["waveTimeout"]) if "waveTimeout" in rollout else DEFAULT_WAVE_TIMEOUT
    if "waves" not in rollout:
        return (Wave(tuple(sorted(names)), timeout),)
    waves: list[Wave] = []
    for wave in rollout["waves"]:
        if isinstance(wave, dict):
            own = parse_duration(wave["timeout"]) if "timeout" in wave else timeout
            waves.append(Wave(tuple(wave["clusters"]), own))
        else:
            waves.append(Wave(tuple(wave), timeout))
    return tuple(waves)


def check_fleet(tree: FileTree, *, now: datetime) -> tuple[FleetConfig | None, tuple[Problem, ...]]:
    """The configuration of ``tree`` and no problems, or None and every problem found, sorted."""
    problems: list[Problem] = []

    fleet_doc: Document | None = None
    fleet_valid = False
    raw = tree.read(FLEET_FILE)
    if raw is None:
        problems.append(Problem(FLEET_FILE, reason="not found; a fleet repository has fleet.yaml at its root"))
    else:
        fleet_doc, found = parse(FLEET_FILE, raw)
        problems += found
        if fleet_doc is not None:
            found, fleet_valid = _check_fleet_file(fleet_doc)
            problems += found
    defaults = (
        merge_settings(BUILTIN_SETTINGS, fleet_doc.get(("spec", "defaults")))
        if fleet_valid and fleet_doc is not None
        else None
    )

    clusters: list[_Cluster] = []
    for name in tree.list(CLUSTER_DIR):
        stem, dot, suffix = name.rpartition(".")
        if not dot or f".{suffix}" not in CLUSTER_SUFFIXES:
            continue
        file = f"{CLUSTER_DIR}/{name}"
        doc, found = parse(file, tree.read(file) or b"")
        problems += found
        cluster = _Cluster(file, stem, doc)
        clusters.append(cluster)
        if doc is not None:
            problems += _check_cluster_file(cluster, defaults)
    if not clusters:
        problems.append(Problem(f"{CLUSTER_DIR}/", reason="no cluster files; add clusters/<name>.yaml"))
    problems += _name_problems(clusters)
    problems += _link_problems(clusters)
    if fleet_doc is not None:
        problems += _wave_problems(fleet_doc, clusters)

    anchor_files = {f"{ANCHOR_DIR}/{name}": tree.read(f"{ANCHOR_DIR}/{name}") or b"" for name in tree.list(ANCHOR_DIR)}
    anchors = check_anchors(anchor_files, now)
    problems += anchors.problems

    if problems or fleet_doc is None or defaults is None:
        return None, tuple(sorted(set(problems)))
    spec = fleet_doc.value["spec"]
    mesh = spec["mesh"]
    built = tuple(_build_cluster(cluster, defaults) for cluster in sorted(clusters, key=lambda c: c.name))
    config = FleetConfig(
        name=fleet_doc.value["metadata"]["name"],
        mesh=MeshSettings(
            version=mesh["version"],
            trust_domain=mesh.get("trustDomain", DEFAULT_TRUST_DOMAIN),
            namespace=mesh.get("namespace", DEFAULT_MESH_NAMESPACE),
        ),
        defaults=defaults,
        waves=_build_waves(spec.get("rollout", {}), [cluster.name for cluster in built]),
        clusters=built,
        trust_anchors=anchors.anchors,
    )
    return config, ()


def load_fleet(tree: FileTree, *, now: datetime) -> FleetConfig:
    """The configuration of ``tree``; raises InvalidConfig carrying every problem when it has any."""
    config, problems = check_fleet(tree, now=now)
    if config is None:
        raise InvalidConfig(problems)
    return config
