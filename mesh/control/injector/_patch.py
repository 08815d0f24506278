"""The injection itself: pod + namespace + configuration -> JSON patch (pure).

    skip   mesh namespace, kube-system, host network, opted out, not opted in, already injected
    add    initContainers[0] meshfleet-init    (proxy-init: interception rules, NET_ADMIN)
           initContainers[1] meshfleet-proxy   (restartPolicy Always: a native sidecar that starts
                                                before and stops after the application)
           volumes: memory-backed identity dir, projected token (audience identity.meshfleet.io),
                    the trust bundle ConfigMap
           annotations: meshfleet.io/injected, meshfleet.io/identity

``config.meshfleet.io/*`` annotations on the pod (or, failing that, its
namespace) override the ports skipped by interception, opaque ports, log
level, the proxy's resources and the default inbound policy, and name the
collector the proxy sends spans to. A value that
cannot be read is ignored with a warning; it never fails the pod.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mesh.control.destination import PROXY_CONTAINER
from mesh.policy import DefaultPolicy

from ._config import InjectorConfig

INJECT = "meshfleet.io/inject"
INJECTED = "meshfleet.io/injected"
IDENTITY_ANNOTATION = "meshfleet.io/identity"
INIT_CONTAINER = "meshfleet-init"
TOKEN_AUDIENCE = "identity.meshfleet.io"
IDENTITY_DIR = "/var/run/meshfleet/identity"
TOKEN_DIR = "/var/run/secrets/meshfleet.io/identity"
TRUST_DIR = "/var/run/meshfleet/trust"
VOLUME_IDENTITY = "meshfleet-identity"
VOLUME_TOKEN = "meshfleet-token"
VOLUME_TRUST = "meshfleet-trust"
ALWAYS_SKIPPED = ("kube-system",)

C = "config.meshfleet.io/"
SKIP_INBOUND = C + "skip-inbound-ports"
SKIP_OUTBOUND = C + "skip-outbound-ports"
OPAQUE_PORTS = C + "opaque-ports"
LOG_LEVEL = C + "proxy-log-level"
DEFAULT_POLICY = C + "default-inbound-policy"
TRACE_COLLECTOR = C + "trace-collector"
RESOURCE_ANNOTATIONS = {
    ("requests", "cpu"): C + "proxy-cpu-request",
    ("requests", "memory"): C + "proxy-memory-request",
    ("limits", "cpu"): C + "proxy-cpu-limit",
    ("limits", "memory"): C + "proxy-memory-limit",
}
LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error")
_PORTS = re.compile(r"^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:\d{1,5}$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")

Patch = list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Injection:
    patch: tuple[dict[str, Any], ...]  # empty when nothing is to change
    skipped: str | None = None  # why the pod is left alone
    warnings: tuple[str, ...] = ()


def _meta(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return (obj or {}).get("metadata") or {}


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def is_injected(pod: Mapping[str, Any]) -> bool:
    spec = pod.get("spec") or {}
    names = {c.get("name") for c in list(spec.get("initContainers") or []) + list(spec.get("containers") or [])}
    return PROXY_CONTAINER in names or INIT_CONTAINER in names


def _opt(pod: Mapping[str, Any], namespace: Mapping[str, Any] | None) -> str | None:
    """The pod's own choice wins over the namespace's; labels and annotations both count."""
    for source in (_meta(pod), _meta(namespace)):
        for field in ("annotations", "labels"):
            value = (source.get(field) or {}).get(INJECT)
            if value is not None:
                return str(value)
    return None


def _setting(key: str, pod: Mapping[str, Any], namespace: Mapping[str, Any] | None) -> tuple[str | None, str]:
    for where, source in (("pod", pod), ("namespace", namespace)):
        value = (_meta(source).get("annotations") or {}).get(key)
        if value is not None:
            return str(value).strip(), where
    return None, ""


def _env(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value}


def _field_env(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def compute_injection(
    pod: Mapping[str, Any], namespace: Mapping[str, Any] | None, request_namespace: str, config: InjectorConfig
) -> Injection:
    """The patch meshing ``pod`` (created in ``request_namespace``), or why it is left alone."""
    ns = str(_meta(pod).get("namespace") or request_namespace)
    if ns in (config.mesh_namespace, *ALWAYS_SKIPPED):
        return Injection((), f"namespace {ns} is never meshed")
    spec = pod.get("spec") or {}
    if is_injected(pod):
        return Injection((), "already injected")
    choice = _opt(pod, namespace)
    if choice != "enabled":
        return Injection((), f"{INJECT} is {choice!r}" if choice else f"{INJECT} is not set")
    if spec.get("hostNetwork"):
        return Injection((), "host-network pods cannot be intercepted")

    warnings: list[str] = []

    def checked(key: str, valid: Any, what: str) -> str | None:
        value, where = _setting(key, pod, namespace)
        if value is None:
            return None
        if not valid(value):
            warnings.append(f"{where} annotation {key}={value!r} ignored: not {what}")
            return None
        return value

    def ports_ok(v: str) -> bool:
        return v == "" or bool(_PORTS.match(v.replace(" ", "")))

    skip_in = checked(SKIP_INBOUND, ports_ok, "a port list like 25,4000-4100") or ""
    skip_out = checked(SKIP_OUTBOUND, ports_ok, "a port list like 25,4000-4100") or ""
    opaque = checked(OPAQUE_PORTS, ports_ok, "a port list like 3306,5432") or ""
    log_level = checked(LOG_LEVEL, lambda v: v.lower() in LOG_LEVELS, f"one of {', '.join(LOG_LEVELS)}")
    policy = checked(DEFAULT_POLICY, lambda v: v in {p.value for p in DefaultPolicy}, "a default inbound policy")
    collector = checked(TRACE_COLLECTOR, lambda v: bool(_HOST_PORT.match(v)), "a host:port")
    resources: dict[str, dict[str, str]] = {"requests": dict(config.requests), "limits": dict(config.limits)}
    for (group, resource), key in RESOURCE_ANNOTATIONS.items():
        quantity = checked(key, lambda v: bool(_QUANTITY.match(v)), "a resource quantity")
        if quantity is not None:
            resources[group][resource] = quantity
    resources = {k: v for k, v in resources.items() if v}

    sa = str(spec.get("serviceAccountName") or "default")
    identity = f"{sa}.{ns}.{config.identity_suffix}"
    init = {
        "name": INIT_CONTAINER,
        "image": config.image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["proxy-init"],
        "env": [
            _env("MESHFLEET_PROXY_UID", str(config.proxy_uid)),
            _env("MESHFLEET_PROXY_INBOUND_PORT", str(config.inbound_port)),
            _env("MESHFLEET_PROXY_OUTBOUND_PORT", str(config.outbound_port)),
            _env("MESHFLEET_PROXY_INIT_SKIP_INBOUND_PORTS", skip_in.replace(" ", "")),
            _env("MESHFLEET_PROXY_INIT_SKIP_OUTBOUND_PORTS", skip_out.replace(" ", "")),
        ],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
        "securityContext": {
            "runAsUser": 0,
            "runAsNonRoot": False,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
        },
    }
    admin = config.admin_port
    proxy = {
        "name": PROXY_CONTAINER,
        "image": config.image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["proxy"],
        "restartPolicy": "Always",
        "env": [
            _env("MESHFLEET_PROXY_INBOUND_ADDR", f"0.0.0.0:{config.inbound_port}"),
            _env("MESHFLEET_PROXY_OUTBOUND_ADDR", f"127.0.0.1:{config.outbound_port}"),
            _env("MESHFLEET_PROXY_ADMIN_ADDR", f"0.0.0.0:{admin}"),
            _env("MESHFLEET_PROXY_IDENTITY_DIR", IDENTITY_DIR),
            _env("MESHFLEET_PROXY_TRUST_BUNDLE", f"{TRUST_DIR}/{config.trust_bundle_key}"),
            _env("MESHFLEET_PROXY_TOKEN_PATH", f"{TOKEN_DIR}/token"),
            _env("MESHFLEET_PROXY_IDENTITY_NAME", identity),
            _env("MESHFLEET_PROXY_IDENTITY_ADDR", config.identity_address),
            _env("MESHFLEET_PROXY_IDENTITY_SERVER_NAME", config.identity_name),
            _env("MESHFLEET_PROXY_DESTINATION_ADDR", config.destination_address),
            _env("MESHFLEET_PROXY_DESTINATION_SERVER_NAME", config.destination_name),
            _env("MESHFLEET_PROXY_DEFAULT_INBOUND_POLICY", policy or config.default_inbound_policy),
            _env("MESHFLEET_PROXY_CLUSTER_NETWORKS", ",".join(config.cluster_networks)),
            _env("MESHFLEET_PROXY_OPAQUE_PORTS", opaque.replace(" ", "")),
            _env("MESHFLEET_PROXY_LOG_LEVEL", (log_level or config.log_level).lower()),
            _field_env("MESHFLEET_PROXY_POD_NAME", "metadata.name"),
            _field_env("MESHFLEET_PROXY_POD_NAMESPACE", "metadata.namespace"),
            *([_env("MESHFLEET_PROXY_TRACE_COLLECTOR", collector)] if collector else []),
        ],
        "ports": [
            {"name": "meshfleet-in", "containerPort": config.inbound_port, "protocol": "TCP"},
            {"name": "meshfleet-admin", "containerPort": admin, "protocol": "TCP"},
        ],
        "startupProbe": {"httpGet": {"path": "/live", "port": admin}, "periodSeconds": 1, "failureThreshold": 120},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": admin}, "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {"httpGet": {"path": "/live", "port": admin}, "periodSeconds": 10, "failureThreshold": 3},
        "resources": resources,
        "securityContext": {
            "runAsUser": config.proxy_uid,
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": VOLUME_IDENTITY, "mountPath": IDENTITY_DIR},
            {"name": VOLUME_TOKEN, "mountPath": TOKEN_DIR, "readOnly": True},
            {"name": VOLUME_TRUST, "mountPath": TRUST_DIR, "readOnly": True},
        ],
    }
    volumes = [
        {"name": VOLUME_IDENTITY, "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
        {
            "name": VOLUME_TOKEN,
            "projected": {
                "sources": [
                    {"serviceAccountToken": {"audience": TOKEN_AUDIENCE, "expirationSeconds": 86400, "path": "token"}}
                ]
            },
        },
        {"name": VOLUME_TRUST, "configMap": {"name": config.trust_bundle_configmap}},
    ]
    patch: Patch = []
    if spec.get("initContainers"):
        patch.append({"op": "add", "path": "/spec/initContainers/0", "value": init})
        patch.append({"op": "add", "path": "/spec/initContainers/1", "value": proxy})
    else:
        patch.append({"op": "add", "path": "/spec/initContainers", "value": [init, proxy]})
    if spec.get("volumes"):
        patch.extend({"op": "add", "path": "/spec/volumes/-", "value": v} for v in volumes)
    else:
        patch.append({"op": "add", "path": "/spec/volumes", "value": volumes})
    notes = {INJECTED: "true", IDENTITY_ANNOTATION: identity}
    if _meta(pod).get("annotations"):
        patch.extend({"op": "add", "path": f"/metadata/annotations/{_escape(k)}", "value": v} for k, v in notes.items())
    else:
        patch.append({"op": "add", "path": "/metadata/annotations", "value": notes})
    return Injection(tuple(patch), None, tuple(warnings))
