"""ServiceAccounts and the least privilege each control-plane component needs."""

from __future__ import annotations

from mesh.manifests._crds import MULTICLUSTER_GROUP, POLICY_GROUP
from mesh.manifests._meta import Obj, metadata
from mesh.manifests._params import MeshParams

Rule = dict[str, list[str]]

_READ = ["get", "list", "watch"]

# What each component does with the API: identity reviews tokens and records refusals as Events;
# destination watches what it streams to proxies; the injector only reads namespaces for opt-in.
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
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": _READ},
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
