"""Small builders shared by the component definitions: metadata, labels, containers."""

from __future__ import annotations

from typing import Any

from mesh.manifests._params import ComponentResources, MeshParams

Obj = dict[str, Any]

PART_OF = "meshfleet"
COMPONENT_LABEL = "meshfleet.io/control-plane-component"
INJECT_ANNOTATION = "meshfleet.io/inject"
ISSUER_SECRET = "identity-issuer"
INJECTOR_TLS_SECRET = "injector-tls"
TRUST_BUNDLE_CONFIGMAP = "trust-anchors"
TRUST_BUNDLE_KEY = "ca-bundle.crt"
PROXY_CONFIGMAP = "proxy-config"
PROXY_CONFIG_KEY = "config.json"


def labels(component: str, p: MeshParams) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/version": p.version,
        COMPONENT_LABEL: component,
    }


def selector(component: str) -> dict[str, str]:
    # Selectors are immutable on Deployments, so they hold only what never changes between versions.
    return {COMPONENT_LABEL: component}


def metadata(name: str, p: MeshParams, component: str, *, namespaced: bool = True) -> Obj:
    meta: Obj = {"name": name, "labels": labels(component, p)}
    if namespaced:
        meta["namespace"] = p.namespace
    return meta


def resources(r: ComponentResources) -> Obj:
    requests = {k: v for k, v in (("cpu", r.cpu_request), ("memory", r.memory_request)) if v is not None}
    limits = {k: v for k, v in (("cpu", r.cpu_limit), ("memory", r.memory_limit)) if v is not None}
    out: Obj = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def control_plane_log_level(level: str) -> str:
    """The control plane speaks Python's level names; the fleet speaks the proxy's."""
    return {"warn": "warning", "trace": "debug"}.get(level, level)
