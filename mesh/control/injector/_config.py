"""What every injected proxy is told: the proxy configuration the mesh renders (mesh.manifests.proxy_settings)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError


@dataclass(frozen=True, slots=True)
class InjectorConfig:
    image: str
    trust_domain: str = "cluster.local"
    mesh_namespace: str = "meshfleet"
    cluster_name: str = ""
    log_level: str = "info"
    identity_address: str = "identity.meshfleet.svc.cluster.local:8080"
    identity_name: str = "identity.meshfleet.serviceaccount.identity.meshfleet.cluster.local"
    destination_address: str = "destination.meshfleet.svc.cluster.local:8086"
    destination_name: str = "destination.meshfleet.serviceaccount.identity.meshfleet.cluster.local"
    default_inbound_policy: str = "all-unauthenticated"
    cluster_networks: tuple[str, ...] = ()
    inbound_port: int = 4143
    outbound_port: int = 4140
    admin_port: int = 4191
    proxy_uid: int = 2102
    trust_bundle_configmap: str = "trust-anchors"
    trust_bundle_key: str = "ca-bundle.crt"
    requests: tuple[tuple[str, str], ...] = (("cpu", "100m"), ("memory", "64Mi"))
    limits: tuple[tuple[str, str], ...] = (("memory", "256Mi"),)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def identity_suffix(self) -> str:
        return f"serviceaccount.identity.{self.mesh_namespace}.{self.trust_domain}"


def _str(data: Mapping[str, Any], key: str, default: str, where: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: {key} must be a non-empty string")
    return value


def _quantities(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping of resource quantities")
    return tuple(sorted((str(k), str(v)) for k, v in raw.items()))


def parse_config(data: Any, where: str) -> InjectorConfig:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a JSON object")
    ports = data.get("ports") or {}
    resources = data.get("resources") or {}
    if not isinstance(ports, Mapping) or not isinstance(resources, Mapping):
        raise ConfigError(f"{where}: ports and resources must be objects")
    d = InjectorConfig(image="unset")
    try:
        return InjectorConfig(
            image=_str(data, "image", "", where),
            trust_domain=_str(data, "trustDomain", d.trust_domain, where),
            mesh_namespace=_str(data, "meshNamespace", d.mesh_namespace, where),
            cluster_name=str(data.get("clusterName", "")),
            log_level=_str(data, "logLevel", d.log_level, where),
            identity_address=_str(data, "identityAddress", d.identity_address, where),
            identity_name=_str(data, "identityName", d.identity_name, where),
            destination_address=_str(data, "destinationAddress", d.destination_address, where),
            destination_name=_str(data, "destinationName", d.destination_name, where),
            default_inbound_policy=_str(data, "defaultInboundPolicy", d.default_inbound_policy, where),
            cluster_networks=tuple(str(n) for n in data.get("clusterNetworks") or ()),
            inbound_port=int(ports.get("inbound", d.inbound_port)),
            outbound_port=int(ports.get("outbound", d.outbound_port)),
            admin_port=int(ports.get("admin", d.admin_port)),
            proxy_uid=int(data.get("proxyUID", d.proxy_uid)),
            trust_bundle_configmap=_str(data, "trustBundleConfigMap", d.trust_bundle_configmap, where),
            requests=_quantities(resources.get("requests"), f"{where}: resources.requests"),
            limits=_quantities(resources.get("limits"), f"{where}: resources.limits"),
        )
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where}: {e}") from e


def load_config(path: Path) -> InjectorConfig:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from e
    except ValueError as e:
        raise ConfigError(f"{path}: not JSON: {e}") from e
    return parse_config(data, str(path))
