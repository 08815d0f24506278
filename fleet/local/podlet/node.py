"""The Node object and its Lease: registration, heartbeats, NotReady on shutdown."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import platform
from pathlib import Path
from typing import Any

from fleet.local.podlet.api import Kube
from fleet.local.podlet.errors import ApiError, Conflict, NotFound, PodletError

HEARTBEAT_SECONDS = 10.0
LEASE_SECONDS = 40
VERSION = "v1.36.3-meshfleet-podlet"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _micro_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def capacity() -> dict[str, str]:
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {"cpu": str(os.cpu_count() or 1), "memory": f"{mem_kib}Ki", "pods": "110",
            "ephemeral-storage": "100Gi"}


def node_status(node: str, host_ip: str, ready: bool, reason: str, message: str,
                previous: dict[str, Any] | None) -> dict[str, Any]:
    now = _now()
    prev = {c["type"]: c for c in ((previous or {}).get("status") or {}).get("conditions") or []}

    def cond(kind: str, ok: bool, why: str, text: str) -> dict[str, Any]:
        status = "True" if ok else "False"
        old = prev.get(kind)
        since = old["lastTransitionTime"] if old and old.get("status") == status else now
        return {"type": kind, "status": status, "reason": why, "message": text, "lastHeartbeatTime": now,
                "lastTransitionTime": since}

    caps = capacity()
    return {"status": {
        "conditions": [
            cond("MemoryPressure", False, "PodletHasSufficientMemory", "podlet has sufficient memory available"),
            cond("DiskPressure", False, "PodletHasNoDiskPressure", "podlet has no disk pressure"),
            cond("PIDPressure", False, "PodletHasSufficientPID", "podlet has sufficient PID available"),
            cond("Ready", ready, reason, message),
        ],
        "addresses": [{"type": "InternalIP", "address": host_ip}, {"type": "Hostname", "address": node}],
        "capacity": caps, "allocatable": caps,
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
        "nodeInfo": {"machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": platform.release(),
                     "osImage": "meshfleet local", "containerRuntimeVersion": "podlet://0.1.0",
                     "kubeletVersion": VERSION, "kubeProxyVersion": VERSION, "operatingSystem": "linux",
                     "architecture": {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(),
                                                                               platform.machine())},
    }}


class NodeAgent:
    def __init__(self, kube: Kube, name: str) -> None:
        self.kube = kube
        self.name = name
        self.path = f"/api/v1/nodes/{name}"
        self.host_ip = ""
        self.ready = False
        self.obj: dict[str, Any] | None = None

    async def register(self, limit: float = 60.0) -> str:
        """Create (or find) the Node; returns the podCIDR the controller-manager gave it."""
        body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.name, "labels": {
            "kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64", "node.meshfleet.io/podlet": "true"}}}
        try:
            await self.kube.create("/api/v1/nodes", body)
        except Conflict:
            pass
        deadline = asyncio.get_running_loop().time() + limit
        while True:
            self.obj = await self.kube.get(self.path)
            cidr = (self.obj.get("spec") or {}).get("podCIDR")
            if cidr:
                return str(cidr)
            if asyncio.get_running_loop().time() > deadline:
                raise PodletError(f"node {self.name} got no podCIDR within {limit:.0f}s: is the "
                                  "controller-manager running with --allocate-node-cidrs?")
            await asyncio.sleep(0.3)

    async def report(self, ready: bool, reason: str, message: str) -> None:
        self.obj = await self.kube.merge_patch(self.path + "/status", node_status(
            self.name, self.host_ip, ready, reason, message, self.obj))

    async def renew_lease(self) -> None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{self.name}"
        spec = {"holderIdentity": self.name, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": _micro_now()}
        try:
            await self.kube.merge_patch(path, {"spec": spec})
        except NotFound:
            await self.kube.create("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": "kube-node-lease"}, "spec": spec})

    async def heartbeat(self, log: Any) -> None:
        while True:
            try:
                await self.renew_lease()
                await self.report(self.ready, "PodletReady" if self.ready else "PodletNotReady",
                                  "podlet is posting ready status" if self.ready else "podlet is starting")
            except ApiError as e:
                log(f"heartbeat failed: {e}")
            await asyncio.sleep(HEARTBEAT_SECONDS)
