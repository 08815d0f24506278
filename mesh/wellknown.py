"""Names the mesh's parts agree on: the injector writes them, the control plane, the fleet
manager and the local fleet's Prometheus look for them.  Standard library only, so anything
may import it."""

PROXY_CONTAINER = "meshfleet-proxy"
"""The sidecar's container name in an injected pod (a native sidecar: an init container)."""

EXPORT_LABEL = "multicluster.meshfleet.io/exported"
"""On a Service: "true" exports it to the clusters that link to this one (the default Link selector)."""

MIRRORED_SERVICE_LABEL = "multicluster.meshfleet.io/mirrored-service"
"""On a Service the multicluster mirror keeps for an exported service of a linked cluster ("true")."""

MIRROR_CLUSTER_LABEL = "multicluster.meshfleet.io/cluster-name"
"""On a mirror Service and its EndpointSlice: the linked cluster the original lives in."""

REMOTE_SERVICE_ANNOTATION = "multicluster.meshfleet.io/remote-svc-fq-name"
"""On a mirror Service: the original's fully qualified name in its own cluster (svc.ns.svc.<domain>)."""

REMOTE_GATEWAY_IDENTITY_ANNOTATION = "multicluster.meshfleet.io/remote-gateway-identity"
"""On a mirror Service: the identity the linked cluster's gateway proves."""
