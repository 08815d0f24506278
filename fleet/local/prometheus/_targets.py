"""Which pods Prometheus scrapes, and under which labels (pure).

The Debian build of Prometheus has no Kubernetes service discovery, so the local fleet does
that part itself: a small loop lists the cluster's pods and writes the file that Prometheus's
``file_sd_configs`` watches.  This module is the decision in between: a pod list in, target
groups out.

A pod is scraped when it runs a meshfleet proxy (a container, native-sidecar init container
included, with the proxy's name) and is Running with a pod IP.  Its labels are the ones the
dashboard groups by: ``namespace``, ``pod`` and, for a pod of a Deployment, ``deployment``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mesh.wellknown import PROXY_CONTAINER as PROXY_CONTAINER  # re-exported

#: The name of the proxy's admin port in the injected container, and its default number.
ADMIN_PORT_NAME = "meshfleet-admin"
DEFAULT_ADMIN_PORT = 4191
_HASH = re.compile(r"^[a-z0-9]+$")


@dataclass(frozen=True, slots=True)
class Target:
    """One proxy admin endpoint and the labels its series get."""

    address: str  # host:port, as Prometheus's __address__
    namespace: str
    pod: str
    deployment: str | None

    @property
    def labels(self) -> dict[str, str]:
        out = {"namespace": self.namespace, "pod": self.pod}
        if self.deployment:
            out["deployment"] = self.deployment
        return out


def _proxy_container(spec: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        if isinstance(c, Mapping) and c.get("name") == PROXY_CONTAINER:
            return c
    return None


def _admin_port(container: Mapping[str, Any]) -> int:
    for p in container.get("ports") or []:
        if isinstance(p, Mapping) and p.get("name") == ADMIN_PORT_NAME and isinstance(p.get("containerPort"), int):
            return int(p["containerPort"])
    return DEFAULT_ADMIN_PORT


def deployment_of(meta: Mapping[str, Any]) -> str | None:
    """The Deployment that owns a pod through its ReplicaSet, from names alone.

    A Deployment names its ReplicaSets ``<deployment>-<pod-template-hash>`` and labels their
    pods with that hash, so the owner's name minus the hash is the Deployment; a ReplicaSet
    made by hand (no hash label, or a name that does not end in it) is no Deployment's.
    """
    template_hash = str((meta.get("labels") or {}).get("pod-template-hash") or "")
    if not _HASH.match(template_hash):
        return None
    for owner in meta.get("ownerReferences") or []:
        if not isinstance(owner, Mapping) or owner.get("kind") != "ReplicaSet" or not owner.get("controller"):
            continue
        name = str(owner.get("name") or "")
        suffix = f"-{template_hash}"
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def _bracketed(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip


def pod_target(pod: Mapping[str, Any]) -> Target | None:
    """The scrape target of one pod, or None when it has no proxy to scrape right now."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    proxy = _proxy_container(pod.get("spec") or {})
    ip = status.get("podIP")
    if proxy is None or status.get("phase") != "Running" or not isinstance(ip, str) or not ip:
        return None
    return Target(f"{_bracketed(ip)}:{_admin_port(proxy)}", str(meta.get("namespace") or "default"),
                  str(meta.get("name") or ""), deployment_of(meta))


def scrape_targets(pod_list: Mapping[str, Any]) -> tuple[Target, ...]:
    """Every target of a PodList answer, in a stable order (so an unchanged cluster writes nothing)."""
    found = (pod_target(p) for p in pod_list.get("items") or [] if isinstance(p, Mapping))
    return tuple(sorted((t for t in found if t is not None), key=lambda t: (t.namespace, t.pod, t.address)))


def targets_document(targets: Sequence[Target]) -> str:
    """The ``file_sd_configs`` file: one target group per pod, since each pod has its own labels."""
    groups = [{"targets": [t.address], "labels": t.labels} for t in targets]
    return json.dumps(groups, indent=1, sort_keys=True) + "\n"
