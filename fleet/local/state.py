"""Where the local fleet keeps its state, and the record of what is running.

Everything lives under one directory (``$MESHFLEET_LOCAL_STATE``, else
``$XDG_STATE_HOME/meshfleet/local``): per-cluster PKI, etcd data, logs and
kubeconfigs, the merged kubeconfig, and ``fleet.json``, which records each
cluster's ports and processes so that ``down`` and ``status`` work from any
shell.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from fleet.local.commands import ClusterPaths
from fleet.local.errors import FleetStateError
from fleet.local.process import ProcessRecord
from fleet.local.topology import Ports


def default_state_dir() -> Path:
    explicit = os.environ.get("MESHFLEET_LOCAL_STATE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "meshfleet" / "local"


@dataclass(frozen=True, slots=True)
class ClusterRecord:
    name: str
    index: int
    ports: Ports
    processes: tuple[ProcessRecord, ...]
    started_at: float
    # The loopback port of the cluster's Prometheus, when it runs one (see fleet.local.prometheus).
    prometheus_port: int | None = None
    nodes: tuple[str, ...] = ()  # the Nodes its podlets run (none: control plane only)

    @property
    def api_url(self) -> str:
        return f"https://127.0.0.1:{self.ports.apiserver}"

    @property
    def prometheus_url(self) -> str | None:
        return None if self.prometheus_port is None else f"http://127.0.0.1:{self.prometheus_port}"

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "index": self.index,
            "ports": {
                "etcdClient": self.ports.etcd_client,
                "etcdPeer": self.ports.etcd_peer,
                "apiserver": self.ports.apiserver,
                "controllerManager": self.ports.controller_manager,
                "scheduler": self.ports.scheduler,
            },
            "startedAt": self.started_at,
            "processes": [p.to_json() for p in self.processes],
            **({"prometheusPort": self.prometheus_port} if self.prometheus_port is not None else {}),
            **({"nodes": list(self.nodes)} if self.nodes else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ClusterRecord:
        ports = data["ports"]
        procs = data["processes"]
        nodes = data.get("nodes") or []
        assert isinstance(ports, dict)
        assert isinstance(procs, list)
        assert isinstance(nodes, list)
        return cls(
            name=str(data["name"]),
            index=int(str(data["index"])),
            ports=Ports(int(ports["etcdClient"]), int(ports["etcdPeer"]), int(ports["apiserver"]),
                        int(ports["controllerManager"]), int(ports["scheduler"])),
            processes=tuple(ProcessRecord.from_json(p) for p in procs),
            started_at=float(str(data["startedAt"])),
            prometheus_port=int(str(data["prometheusPort"])) if data.get("prometheusPort") is not None else None,
            nodes=tuple(str(n) for n in nodes),
        )


@dataclass(slots=True)
class FleetState:
    """The mutable record behind fleet.json; saved after every change."""

    root: Path
    clusters: dict[str, ClusterRecord] = field(default_factory=dict)
    # Fleet-wide processes started next to the clusters (the watcher of `meshfleet up`).
    services: dict[str, ProcessRecord] = field(default_factory=dict)

    @property
    def file(self) -> Path:
        return self.root / "fleet.json"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    def cluster_paths(self, name: str) -> ClusterPaths:
        return ClusterPaths(self.root / "clusters" / name)

    @classmethod
    def load(cls, root: Path) -> FleetState:
        state = cls(root)
        if not state.file.exists():
            return state
        try:
            data = json.loads(state.file.read_text())
            state.clusters = {c["name"]: ClusterRecord.from_json(c) for c in data["clusters"]}
            state.services = {s["component"]: ProcessRecord.from_json(s) for s in data.get("services", [])}
        except (ValueError, KeyError, TypeError, AssertionError) as e:
            raise FleetStateError(f"{state.file}: not a local fleet record ({e}); remove it to start over") from e
        return state

    def save(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.file.with_suffix(".tmp")
        doc = {"version": 1,
               "clusters": [c.to_json() for c in sorted(self.clusters.values(), key=lambda c: c.index)],
               "services": [s.to_json() for _, s in sorted(self.services.items())]}
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        tmp.replace(self.file)
