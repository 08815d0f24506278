"""The control-plane Deployments and Services: identity, destination, injector, and the gateway.

Every component runs this project's image with its own subcommand.  Admin
ports serve ``/metrics``, ``/ready`` and ``/live`` over plain HTTP, so the
probes and Prometheus need no certificates.
"""

from __future__ import annotations

from mesh.manifests._meta import (
    INJECTOR_TLS_SECRET,
    ISSUER_SECRET,
    PROXY_CONFIG_KEY,
    PROXY_CONFIGMAP,
    TRUST_BUNDLE_CONFIGMAP,
    TRUST_BUNDLE_KEY,
    Obj,
    control_plane_log_level,
    labels,
    metadata,
    resources,
    selector,
)
from mesh.manifests._params import (
    ADMIN_PORTS,
    DESTINATION_PORT,
    GATEWAY_PORT,
    IDENTITY_PORT,
    INJECTOR_PORT,
    PROXY_ADMIN_PORT,
    PROXY_UID,
    MeshParams,
)

ISSUER_DIR = "/var/run/meshfleet/issuer"
TRUST_DIR = "/var/run/meshfleet/trust"
TLS_DIR = "/var/run/meshfleet/tls"
PROXY_CONFIG_DIR = "/var/run/meshfleet/proxy"
IDENTITY_DIR = "/var/run/meshfleet/identity"
TOKEN_DIR = "/var/run/secrets/meshfleet.io/identity"
# The audience the identity service demands of ServiceAccount tokens (mesh.control.identity).
TOKEN_AUDIENCE = "identity.meshfleet.io"


def _probe(port: int, path: str) -> Obj:
    return {"httpGet": {"path": path, "port": port}, "periodSeconds": 10, "failureThreshold": 3}


def _volume_secret(name: str, secret: str) -> Obj:
    # 0440 with the pod's fsGroup: readable by the component's group, never by other users.
    return {"name": name, "secret": {"secretName": secret, "defaultMode": 0o440}}


def _volume_config(name: str, configmap: str) -> Obj:
    return {"name": name, "configMap": {"name": configmap}}


def _container(p: MeshParams, component: str, args: list[str], ports: list[tuple[str, int]],
               mounts: list[tuple[str, str]], admin_port: int) -> Obj:
    return {
        "name": component,
        "image": p.image,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "ports": [{"name": name, "containerPort": number, "protocol": "TCP"} for name, number in ports],
        "env": [
            {"name": "MESHFLEET_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "MESHFLEET_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
        # Only the memory-backed identity directory is writable: the component keeps its own key there.
        "volumeMounts": [{"name": name, "mountPath": path, "readOnly": path != IDENTITY_DIR} for name, path in mounts],
        "readinessProbe": _probe(admin_port, "/ready"),
        "livenessProbe": {**_probe(admin_port, "/live"), "initialDelaySeconds": 10},
        "resources": resources(p.resources),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": PROXY_UID + 1,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def _affinity(component: str) -> Obj:
    # With HA, replicas prefer different nodes so one node going away keeps the component up.
    return {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{
                "weight": 100,
                "podAffinityTerm": {"labelSelector": {"matchLabels": selector(component)},
                                    "topologyKey": "kubernetes.io/hostname"},
            }]
        }
    }


def deployment(p: MeshParams, component: str, container: Obj, volumes: list[Obj]) -> Obj:
    pod_spec: Obj = {
        "serviceAccountName": component,
        "automountServiceAccountToken": True,
        # Mounted Secrets (issuer and serving keys) belong to this group and are 0440.
        "securityContext": {"fsGroup": PROXY_UID + 1},
        "containers": [container],
        "volumes": volumes,
    }
    if p.ha:
        pod_spec["affinity"] = _affinity(component)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(component, p, component),
        "spec": {
            "replicas": p.replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector(component)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {
                    "labels": labels(component, p),
                    # The control plane cannot be meshed by the injector it runs.
                    "annotations": {"meshfleet.io/inject": "disabled"},
                },
                "spec": pod_spec,
            },
        },
    }


def service(p: MeshParams, component: str, ports: list[tuple[str, int, int]], *,
            service_type: str = "ClusterIP") -> Obj:
    spec: Obj = {
        "type": service_type,
        "selector": selector(component),
        "ports": [{"name": name, "port": port, "targetPort": target, "protocol": "TCP"}
                  for name, port, target in ports],
    }
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata(component, p, component), "spec": spec}


def disruption_budget(p: MeshParams, component: str) -> Obj:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(component, p, component),
        "spec": {"minAvailable": 1, "selector": {"matchLabels": selector(component)}},
    }


def _common_args(p: MeshParams, component: str) -> list[str]:
    admin = ADMIN_PORTS.get(component, PROXY_ADMIN_PORT)
    return [
        f"--admin-listen=0.0.0.0:{admin}",
        f"--trust-domain={p.trust_domain}",
        f"--mesh-namespace={p.namespace}",
        f"--log-level={control_plane_log_level(p.log_level)}",
    ]


def identity(p: MeshParams) -> list[Obj]:
    admin = ADMIN_PORTS["identity"]
    args = ["identity", f"--listen=0.0.0.0:{IDENTITY_PORT}", *_common_args(p, "identity"),
            f"--issuer-dir={ISSUER_DIR}", f"--trust-anchors={TRUST_DIR}/{TRUST_BUNDLE_KEY}",
            "--service-account=identity", f"--issuer-secret={ISSUER_SECRET}"]
    container = _container(p, "identity", args, [("certify", IDENTITY_PORT), ("admin", admin)],
                           [("issuer", ISSUER_DIR), ("trust-anchors", TRUST_DIR)], admin)
    volumes = [_volume_secret("issuer", ISSUER_SECRET), _volume_config("trust-anchors", TRUST_BUNDLE_CONFIGMAP)]
    return [deployment(p, "identity", container, volumes),
            service(p, "identity", [("certify", IDENTITY_PORT, IDENTITY_PORT), ("admin", admin, admin)])]


def destination(p: MeshParams) -> list[Obj]:
    admin = ADMIN_PORTS["destination"]
    args = ["destination", f"--listen=0.0.0.0:{DESTINATION_PORT}", *_common_args(p, "destination"),
            f"--cluster-name={p.cluster_name}", f"--default-inbound-policy={p.default_inbound_policy}"]
    if p.pod_cidr:
        args.append(f"--cluster-networks={','.join(n for n in (p.pod_cidr, p.service_cidr) if n)}")
    # Destination serves proxies over mTLS with a leaf of its own, certified by identity like any proxy.
    args += [f"--trust-bundle={TRUST_DIR}/{TRUST_BUNDLE_KEY}", f"--identity-dir={IDENTITY_DIR}",
             f"--identity-addr={p.service_host('identity')}:{IDENTITY_PORT}",
             f"--identity-server-name={p.identity_name('identity')}", f"--token-path={TOKEN_DIR}/token",
             "--service-account=destination"]
    container = _container(p, "destination", args, [("grpc", DESTINATION_PORT), ("admin", admin)],
                           [("trust-anchors", TRUST_DIR), ("identity", IDENTITY_DIR), ("identity-token", TOKEN_DIR)],
                           admin)
    volumes = [_volume_config("trust-anchors", TRUST_BUNDLE_CONFIGMAP),
               {"name": "identity", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
               {"name": "identity-token", "projected": {"sources": [{"serviceAccountToken": {
                   "audience": TOKEN_AUDIENCE, "expirationSeconds": 86400, "path": "token"}}]}}]
    return [deployment(p, "destination", container, volumes),
            service(p, "destination", [("grpc", DESTINATION_PORT, DESTINATION_PORT), ("admin", admin, admin)])]


def injector(p: MeshParams) -> list[Obj]:
    admin = ADMIN_PORTS["injector"]
    args = ["injector", f"--listen=0.0.0.0:{INJECTOR_PORT}", *_common_args(p, "injector"),
            f"--tls-dir={TLS_DIR}", f"--proxy-config={PROXY_CONFIG_DIR}/{PROXY_CONFIG_KEY}"]
    container = _container(p, "injector", args, [("webhook", INJECTOR_PORT), ("admin", admin)],
                           [("tls", TLS_DIR), ("proxy-config", PROXY_CONFIG_DIR)], admin)
    volumes = [_volume_secret("tls", INJECTOR_TLS_SECRET), _volume_config("proxy-config", PROXY_CONFIGMAP)]
    return [deployment(p, "injector", container, volumes),
            service(p, "injector", [("webhook", 443, INJECTOR_PORT), ("admin", admin, admin)])]


def gateway(p: MeshParams) -> list[Obj]:
    """The multicluster gateway: a proxy in gateway mode, reachable from the linked clusters.

    It is a proxy like any sidecar (same flags), with its own identity certified by identity.
    """
    args = ["proxy", "--mode=gateway", f"--inbound-addr=0.0.0.0:{GATEWAY_PORT}",
            f"--admin-addr=0.0.0.0:{PROXY_ADMIN_PORT}", f"--identity-dir={IDENTITY_DIR}",
            f"--trust-bundle={TRUST_DIR}/{TRUST_BUNDLE_KEY}", f"--token-path={TOKEN_DIR}/token",
            f"--identity-name={p.identity_name('gateway')}",
            f"--identity-addr={p.service_host('identity')}:{IDENTITY_PORT}",
            f"--identity-server-name={p.identity_name('identity')}",
            f"--destination-addr={p.service_host('destination')}:{DESTINATION_PORT}",
            f"--destination-server-name={p.identity_name('destination')}",
            "--default-inbound-policy=all-authenticated", f"--log-level={p.log_level}"]
    container = _container(p, "gateway", args, [("mtls", GATEWAY_PORT), ("admin", PROXY_ADMIN_PORT)],
                           [("trust-anchors", TRUST_DIR), ("identity", IDENTITY_DIR), ("identity-token", TOKEN_DIR)],
                           PROXY_ADMIN_PORT)
    volumes = [_volume_config("trust-anchors", TRUST_BUNDLE_CONFIGMAP),
               {"name": "identity", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
               {"name": "identity-token", "projected": {"sources": [{"serviceAccountToken": {
                   "audience": TOKEN_AUDIENCE, "expirationSeconds": 86400, "path": "token"}}]}}]
    svc = service(p, "gateway", [("mtls", GATEWAY_PORT, GATEWAY_PORT), ("admin", PROXY_ADMIN_PORT, PROXY_ADMIN_PORT)],
                  service_type="LoadBalancer")
    if p.gateway_address:
        svc["metadata"]["annotations"] = {"multicluster.meshfleet.io/gateway-address": p.gateway_address}
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata("gateway", p, "gateway")}
    return [sa, deployment(p, "gateway", container, volumes), svc]
