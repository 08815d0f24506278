"""A pod's status document from what the podlet observes of its containers (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Terminated:
    exit_code: int
    reason: str
    started_at: str
    finished_at: str
    message: str = ""

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"exitCode": self.exit_code, "reason": self.reason, "startedAt": self.started_at,
                               "finishedAt": self.finished_at}
        if self.message:
            out["message"] = self.message
        return out


@dataclass(frozen=True, slots=True)
class ContainerView:
    name: str
    image: str
    kind: str  # "init" | "sidecar" | "app"
    state: str  # "waiting" | "running" | "terminated"
    reason: str = ""
    message: str = ""
    started_at: str = ""
    terminated: Terminated | None = None
    last_terminated: Terminated | None = None
    ready: bool = False
    restart_count: int = 0

    def to_api(self) -> dict[str, Any]:
        if self.state == "running":
            state: dict[str, Any] = {"running": {"startedAt": self.started_at}}
        elif self.state == "terminated" and self.terminated is not None:
            state = {"terminated": self.terminated.to_api()}
        else:
            waiting: dict[str, Any] = {"reason": self.reason or "ContainerCreating"}
            if self.message:
                waiting["message"] = self.message
            state = {"waiting": waiting}
        out: dict[str, Any] = {
            "name": self.name, "image": self.image, "imageID": "", "state": state, "ready": self.ready,
            "restartCount": self.restart_count, "started": self.state == "running",
            "lastState": {"terminated": self.last_terminated.to_api()} if self.last_terminated else {},
        }
        if self.state == "running":
            out["containerID"] = f"podlet://{self.name}"
        return out


def _init_done(inits: list[ContainerView]) -> bool:
    for c in inits:
        if c.kind == "sidecar":
            if c.state != "running" and not (c.terminated is not None and c.restart_count > 0):
                return False
        elif not (c.state == "terminated" and c.terminated is not None and c.terminated.exit_code == 0):
            return False
    return True


def phase(restart_policy: str, inits: list[ContainerView], apps: list[ContainerView]) -> str:
    if not _init_done(inits):
        failed_init = any(c.kind == "init" and c.terminated and c.terminated.exit_code != 0 for c in inits)
        return "Failed" if failed_init and restart_policy == "Never" else "Pending"
    if any(c.state == "running" for c in apps):
        return "Running"
    if apps and all(c.state == "terminated" and c.terminated is not None for c in apps):
        codes = [c.terminated.exit_code for c in apps if c.terminated is not None]
        if restart_policy == "Always":
            return "Running"
        if all(code == 0 for code in codes):
            return "Succeeded"
        if restart_policy == "Never":
            return "Failed"
        return "Running"
    if any(c.restart_count > 0 for c in apps):
        return "Running"
    return "Pending"


def _condition(kind: str, ok: bool, previous: dict[str, dict[str, Any]], now: str,
               reason: str = "") -> dict[str, Any]:
    status = "True" if ok else "False"
    prev = previous.get(kind)
    since = prev.get("lastTransitionTime", now) if prev and prev.get("status") == status else now
    out: dict[str, Any] = {"type": kind, "status": status, "lastTransitionTime": since, "lastProbeTime": None}
    if not ok and reason:
        out["reason"] = reason
    return out


def pod_status(pod: dict[str, Any], inits: list[ContainerView], apps: list[ContainerView], pod_ip: str,
               host_ip: str, start_time: str, now: str) -> dict[str, Any]:
    spec = pod.get("spec") or {}
    previous = {c["type"]: c for c in ((pod.get("status") or {}).get("conditions") or [])}
    restart_policy = spec.get("restartPolicy", "Always")
    initialized = _init_done(inits)
    sidecars = [c for c in inits if c.kind == "sidecar"]
    containers_ready = initialized and bool(apps) and all(c.ready for c in [*apps, *sidecars])
    conditions = [
        _condition("PodReadyToStartContainers", bool(pod_ip), previous, now),
        _condition("Initialized", initialized, previous, now, "ContainersNotInitialized"),
        _condition("Ready", containers_ready, previous, now, "ContainersNotReady"),
        _condition("ContainersReady", containers_ready, previous, now, "ContainersNotReady"),
        _condition("PodScheduled", True, previous, now),
    ]
    out: dict[str, Any] = {
        "phase": phase(restart_policy, inits, apps),
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "startTime": start_time,
        "initContainerStatuses": [c.to_api() for c in inits],
        "containerStatuses": [c.to_api() for c in apps],
        "qosClass": (pod.get("status") or {}).get("qosClass", "BestEffort"),
    }
    if pod_ip:
        out["podIP"] = pod_ip
        out["podIPs"] = [{"ip": pod_ip}]
    return out


# ---- restarts --------------------------------------------------------------------------------

BACKOFF_START = 1.0
BACKOFF_CAP = 60.0
BACKOFF_RESET_AFTER = 120.0  # a container that ran this long has its back-off forgotten


def should_restart(restart_policy: str, kind: str, exit_code: int) -> bool:
    if kind == "sidecar":
        return True
    if kind == "init":
        return exit_code != 0 and restart_policy != "Never"
    if restart_policy == "Always":
        return True
    if restart_policy == "OnFailure":
        return exit_code != 0
    return False


def backoff_delay(consecutive_failures: int) -> float:
    """Seconds to wait before the next start: 1, 2, 4, ... capped at a minute."""
    if consecutive_failures <= 0:
        return 0.0
    return float(min(BACKOFF_CAP, BACKOFF_START * 2 ** (consecutive_failures - 1)))


@dataclass(frozen=True, slots=True)
class ProbeVerdict:
    """Consecutive results of one probe, and what they mean under its thresholds."""

    successes: int = 0
    failures: int = 0
    ok: bool = False

    def record(self, success: bool, success_threshold: int, failure_threshold: int) -> ProbeVerdict:
        if success:
            n = self.successes + 1
            return ProbeVerdict(n, 0, self.ok or n >= success_threshold)
        n = self.failures + 1
        return ProbeVerdict(0, n, self.ok and n < failure_threshold)
