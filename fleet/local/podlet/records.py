"""What the podlet left on the host, written down before it is created.

A pod's record names its network namespace, veth, IP and the processes of its
containers (PID plus start time, so a recycled PID is never signalled).  After
a crash the next podlet, or ``meshfleet local down``, reads these records and
removes exactly those things: no orphan process, mount or namespace.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fleet.local.podlet import netops, svcrules
from fleet.local.podlet.naming import NodeNetwork


@dataclass(slots=True)
class PodRecord:
    uid: str
    namespace: str
    name: str
    netns: str
    veth: str
    ip: str
    pids: list[tuple[int, int]] = field(default_factory=list)  # (pid, start ticks)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / "record.json.tmp"
        tmp.write_text(json.dumps(asdict(self)))
        tmp.replace(directory / "record.json")

    @classmethod
    def load(cls, directory: Path) -> PodRecord | None:
        try:
            data = json.loads((directory / "record.json").read_text())
            data["pids"] = [tuple(p) for p in data.get("pids", [])]
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None


def start_ticks(pid: int) -> int | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(raw[raw.rindex(")") + 2:].split()[19])


def process_alive(pid: int, ticks: int) -> bool:
    return start_ticks(pid) == ticks


def kill_recorded(pids: list[tuple[int, int]], grace: float = 0.0) -> None:
    """SIGTERM (then SIGKILL) each recorded process group whose leader is still the recorded process."""
    live = [(p, t) for p, t in pids if process_alive(p, t)]
    for sig in ((signal.SIGTERM, signal.SIGKILL) if grace > 0 else (signal.SIGKILL,)):
        for p, _ in live:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p, sig)
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 3.0)
        while live and time.monotonic() < deadline:
            time.sleep(0.05)
            for p, _ in live:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(p, os.WNOHANG)
            live = [(p, t) for p, t in live if process_alive(p, t) and not _zombie(p)]


def _zombie(pid: int) -> bool:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return raw[raw.rindex(")") + 2] in "ZX"


def remove_pod(directory: Path, rec: PodRecord | None) -> None:
    if rec is not None:
        kill_recorded(rec.pids)
        netops.delete_pod_network(rec.netns, rec.veth)
    netops.unmount_all(directory)
    shutil.rmtree(directory, ignore_errors=True)


def node_file(node_dir: Path) -> Path:
    return node_dir / "node.json"


def save_network(node_dir: Path, net: NodeNetwork) -> None:
    node_dir.mkdir(parents=True, exist_ok=True)
    node_file(node_dir).write_text(json.dumps({"podCIDR": net.pod_cidr}))


def cleanup_node(node_dir: Path, keep_network: bool = False) -> list[str]:
    """Remove every pod the records name, then the node's bridge and rules; returns what was removed."""
    removed = []
    pods = node_dir / "pods"
    if pods.is_dir():
        for d in sorted(pods.iterdir()):
            rec = PodRecord.load(d)
            remove_pod(d, rec)
            removed.append(f"pod {rec.namespace}/{rec.name}" if rec else f"pod directory {d.name}")
    netops.unmount_all(node_dir)
    if not keep_network:
        try:
            cidr = json.loads(node_file(node_dir).read_text())["podCIDR"]
        except (OSError, ValueError, KeyError):
            return removed
        net = NodeNetwork(cidr)
        netops.remove_service_rules(svcrules.Chains(net.chain_prefix))
        netops.remove_bridge(net)
        node_file(node_dir).unlink(missing_ok=True)
        removed.append(f"bridge {net.bridge}")
    return removed
