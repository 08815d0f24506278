"""The mesh namespace, the proxy configuration, the trust bundle and the injector's webhook registration."""

from __future__ import annotations

import base64
import json

from mesh.manifests._meta import (
    PROXY_CONFIG_KEY,
    PROXY_CONFIGMAP,
    TRUST_BUNDLE_CONFIGMAP,
    TRUST_BUNDLE_KEY,
    Obj,
    labels,
    metadata,
)
from mesh.manifests._params import (
    DESTINATION_PORT,
    IDENTITY_PORT,
    PROXY_ADMIN_PORT,
    PROXY_INBOUND_PORT,
    PROXY_OUTBOUND_PORT,
    PROXY_UID,
    MeshParams,
)

WEBHOOK_CONFIGURATION = "meshfleet-proxy-injector"
WEBHOOK_NAME = "proxy-injector.meshfleet.io"
ADMISSION_LABEL = "config.meshfleet.io/admission-webhooks"


def namespace(p: MeshParams) -> Obj:
    meta = {"name": p.namespace, "labels": {**labels("namespace", p), ADMISSION_LABEL: "disabled"}}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def proxy_settings(p: MeshParams) -> dict[str, object]:
    """What every injected proxy is told; the injector copies it into the pods it mutates."""
    return {
        "image": p.image,
        "logLevel": p.log_level,
        "trustDomain": p.trust_domain,
        "meshNamespace": p.namespace,
        "clusterName": p.cluster_name,
        "identityAddress": f"{p.service_host('identity')}:{IDENTITY_PORT}",
        "identityName": p.identity_name("identity"),
        "destinationAddress": f"{p.service_host('destination')}:{DESTINATION_PORT}",
        "destinationName": p.identity_name("destination"),
        "defaultInboundPolicy": p.default_inbound_policy,
        "clusterNetworks": [n for n in (p.pod_cidr, p.service_cidr) if n],
        "ports": {"inbound": PROXY_INBOUND_PORT, "outbound": PROXY_OUTBOUND_PORT, "admin": PROXY_ADMIN_PORT},
        "proxyUID": PROXY_UID,
        "trustBundleConfigMap": TRUST_BUNDLE_CONFIGMAP,
        "resources": {
            "requests": {k: v for k, v in (("cpu", p.resources.cpu_request),
                                           ("memory", p.resources.memory_request)) if v},
            "limits": {k: v for k, v in (("cpu", p.resources.cpu_limit),
                                         ("memory", p.resources.memory_limit)) if v},
        },
    }


def proxy_config(p: MeshParams) -> Obj:
    text = json.dumps(proxy_settings(p), indent=2, sort_keys=True) + "\n"
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(PROXY_CONFIGMAP, p, "proxy"),
            "data": {PROXY_CONFIG_KEY: text}}


def trust_bundle(p: MeshParams) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(TRUST_BUNDLE_CONFIGMAP, p, "identity"),
            "data": {TRUST_BUNDLE_KEY: p.trust_bundle_pem.decode("ascii")}}


def webhook(p: MeshParams) -> Obj:
    """The injector's registration.  Its serving certificate chains to the fleet's trust anchors.

    ``failurePolicy: Ignore``: a pod created while the injector is down runs
    unmeshed instead of not at all; the injector reports such pods.
    """
    hook: Obj = {
        "name": WEBHOOK_NAME,
        "clientConfig": {
            "service": {"name": "injector", "namespace": p.namespace, "path": "/inject", "port": 443},
            "caBundle": base64.b64encode(p.trust_bundle_pem).decode("ascii"),
        },
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"],
                   "scope": "Namespaced"}],
        "namespaceSelector": {
            "matchExpressions": [
                {"key": ADMISSION_LABEL, "operator": "NotIn", "values": ["disabled"]},
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", p.namespace]},
            ]
        },
        "failurePolicy": "Ignore",
        "reinvocationPolicy": "Never",
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        "timeoutSeconds": 10,
    }
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": metadata(WEBHOOK_CONFIGURATION, p, "injector", namespaced=False),
        "webhooks": [hook],
    }
