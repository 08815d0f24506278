"""CustomResourceDefinitions of the mesh's policy and multicluster APIs, with their OpenAPI schemas.

The schemas are strict enough that the API server refuses a malformed
policy at ``kubectl apply`` time instead of the destination service
discovering it later: required fields, enums and formats are spelled out.
"""

from __future__ import annotations

from typing import Any

from mesh.manifests._meta import Obj, labels
from mesh.manifests._params import MeshParams

POLICY_GROUP = "policy.meshfleet.io"
MULTICLUSTER_GROUP = "multicluster.meshfleet.io"
VERSION = "v1alpha1"

Schema = dict[str, Any]


def _string(**extra: Any) -> Schema:
    return {"type": "string", **extra}


def _obj(properties: dict[str, Schema], required: tuple[str, ...] = (), **extra: Any) -> Schema:
    out: Schema = {"type": "object", "properties": properties, **extra}
    if required:
        out["required"] = list(required)
    return out


def _array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


_NAME = _string(minLength=1, maxLength=253)
_LABEL_SELECTOR = _obj(
    {
        "matchLabels": {"type": "object", "additionalProperties": _string()},
        "matchExpressions": _array(
            _obj(
                {
                    "key": _string(),
                    "operator": _string(enum=["In", "NotIn", "Exists", "DoesNotExist"]),
                    "values": _array(_string()),
                },
                ("key", "operator"),
            )
        ),
    }
)
# A port number or a named container port; structural schemas allow exactly this anyOf for int-or-string.
_PORT = {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}
_TARGET_REF = _obj({"group": _string(), "kind": _string(minLength=1), "name": _NAME}, ("kind", "name"))
_NAMESPACED_REF = _obj(
    {"group": _string(), "kind": _string(minLength=1), "name": _NAME, "namespace": _string()}, ("kind", "name")
)
_DURATION = _string(pattern=r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")

SERVER: Schema = _obj(
    {
        "podSelector": _LABEL_SELECTOR,
        "port": _PORT,
        "proxyProtocol": _string(enum=["unknown", "HTTP/1", "HTTP/2", "gRPC", "opaque", "TLS"], default="unknown"),
        "accessPolicy": _string(
            enum=["all-unauthenticated", "all-authenticated", "cluster-authenticated", "deny", "audit"]
        ),
    },
    ("podSelector", "port"),
)
AUTHORIZATION_POLICY: Schema = _obj(
    {"targetRef": _TARGET_REF, "requiredAuthenticationRefs": _array(_NAMESPACED_REF, minItems=1)},
    ("targetRef", "requiredAuthenticationRefs"),
)
MESH_TLS_AUTHENTICATION: Schema = _obj(
    {
        "identities": _array(_string(minLength=1), minItems=1),
        "identityRefs": _array(_NAMESPACED_REF, minItems=1),
    },
    oneOf=[{"required": ["identities"]}, {"required": ["identityRefs"]}],
)
NETWORK_AUTHENTICATION: Schema = _obj(
    {"networks": _array(_obj({"cidr": _string(minLength=1), "except": _array(_string())}, ("cidr",)), minItems=1)},
    ("networks",),
)
_PATH_MATCH = _obj({"type": _string(enum=["Exact", "PathPrefix", "RegularExpression"]), "value": _string()})
_HEADER_MATCH = _obj(
    {"type": _string(enum=["Exact", "RegularExpression"]), "name": _string(minLength=1), "value": _string()},
    ("name", "value"),
)
HTTP_ROUTE: Schema = _obj(
    {
        "parentRefs": _array(
            _obj({"group": _string(), "kind": _string(), "name": _NAME, "namespace": _string(), "port": _PORT},
                 ("name",)),
            minItems=1,
        ),
        "hostnames": _array(_string()),
        "rules": _array(
            _obj(
                {
                    "matches": _array(
                        _obj({"path": _PATH_MATCH, "method": _string(), "headers": _array(_HEADER_MATCH)})
                    ),
                    "backendRefs": _array(
                        _obj(
                            {
                                "name": _NAME,
                                "namespace": _string(),
                                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                                "weight": {"type": "integer", "minimum": 0, "maximum": 1000000, "default": 1},
                            },
                            ("name",),
                        )
                    ),
                    "timeouts": _obj({"request": _DURATION, "backendRequest": _DURATION}),
                }
            )
        ),
    },
    ("parentRefs",),
)
LINK: Schema = _obj(
    {
        "targetClusterName": _string(minLength=1),
        "targetClusterDomain": _string(minLength=1),
        "gatewayAddress": _string(),
        "gatewayPort": {"type": "integer", "minimum": 1, "maximum": 65535},
        "gatewayIdentity": _string(),
        "podCIDR": _string(),
        "serviceCIDR": _string(),
        "selector": _LABEL_SELECTOR,
    },
    ("targetClusterName", "targetClusterDomain", "gatewayPort", "gatewayIdentity"),
)


def _crd(p: MeshParams, group: str, kind: str, plural: str, spec: Schema, short: tuple[str, ...] = (),
         columns: tuple[tuple[str, str], ...] = ()) -> Obj:
    version: Obj = {
        "name": VERSION,
        "served": True,
        "storage": True,
        "schema": {
            "openAPIV3Schema": _obj(
                {"apiVersion": _string(), "kind": _string(), "metadata": {"type": "object"}, "spec": spec,
                 "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                ("spec",),
            )
        },
        "subresources": {"status": {}},
    }
    if columns:
        version["additionalPrinterColumns"] = [
            {"name": name, "type": "string", "jsonPath": path} for name, path in columns
        ]
    names: Obj = {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower()}
    if short:
        names["shortNames"] = list(short)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}", "labels": labels("crds", p)},
        "spec": {"group": group, "scope": "Namespaced", "names": names, "versions": [version]},
    }


def crds(p: MeshParams) -> list[Obj]:
    """Every CRD the mesh defines."""
    return [
        _crd(p, POLICY_GROUP, "Server", "servers", SERVER, ("srv",),
             (("Port", ".spec.port"), ("Protocol", ".spec.proxyProtocol"))),
        _crd(p, POLICY_GROUP, "AuthorizationPolicy", "authorizationpolicies", AUTHORIZATION_POLICY, ("authzpolicy",),
             (("Target", ".spec.targetRef.name"),)),
        _crd(p, POLICY_GROUP, "MeshTLSAuthentication", "meshtlsauthentications", MESH_TLS_AUTHENTICATION,
             ("meshtlsauthn",)),
        _crd(p, POLICY_GROUP, "NetworkAuthentication", "networkauthentications", NETWORK_AUTHENTICATION,
             ("netauthn",)),
        _crd(p, POLICY_GROUP, "HTTPRoute", "httproutes", HTTP_ROUTE),
        _crd(p, MULTICLUSTER_GROUP, "Link", "links", LINK, (),
             (("Target", ".spec.targetClusterName"), ("Gateway", ".spec.gatewayAddress"))),
    ]
