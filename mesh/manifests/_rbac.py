"""ServiceAccounts and the least privilege each control-plane component needs."""

from __future__ import annotations

from mesh.manifests._crds import MULTICLUSTER_GROUP, POLICY_GROUP
from mesh.manifests._meta import TRUST_BUNDLE_CONFIGMAP, Obj, metadata
from mesh.manifests._params import MeshParams

Rule = dict[str, list[str]]

_READ = ["get", "list", "watch"]

# What each component does with the API: identity reviews tokens and records refusals as Events;
# destination watches what it streams to proxies; the injector reads namespaces for opt-in and keeps a
# copy of the trust bundle in every meshed namespace (it watches pods to know which are meshed). Only
# objects named like the bundle can be read one by one, changed or deleted; list, watch and create
# cannot be narrowed by name in RBAC.
RULES: dict[str, list[Rule]] = {
    "identity": [
        {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    ],
    "destination": [
        {"apiGroups": [""], "resources": ["services", "endpoints", "pods", "namespaces"], "verbs": _READ},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": _READ},
        {"apiGroups": [POLICY_GROUP], "resources": ["servers", "authorizationpolicies", "meshtlsauthentications",
                                                    "networkauthentications", "httproutes"], "verbs": _READ},
        {"apiGroups": [POLICY_GROUP], "resources": ["httproutes/status"], "verbs": ["patch", "update"]},
        {"apiGroups": [MULTICLUSTER_GROUP], "resources": ["links"], "verbs": _READ},
    ],
    "injector": [
        {"apiGroups": [""], "resources": ["namespaces", "pods"], "verbs": _READ},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list", "watch", "create"]},
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [TRUST_BUNDLE_CONFIGMAP],
         "verbs": ["get", "update", "patch", "delete"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    ],
}


def cluster_role_name(p: MeshParams, component: str) -> str:
    # Cluster-scoped names carry the mesh namespace so two meshes never share a role.
    return f"{p.namespace}-{component}"


def service_account(p: MeshParams, component: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(component, p, component)}


def rbac(p: MeshParams) -> list[Obj]:
    out: list[Obj] = []
    for component, rules in RULES.items():
        role = cluster_role_name(p, component)
        out.append(service_account(p, component))
        out.append({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": metadata(role, p, component, namespaced=False),
            "rules": rules,
        })
        out.append({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": metadata(role, p, component, namespaced=False),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": component, "namespace": p.namespace}],
        })
    return out
