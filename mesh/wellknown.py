"""Names the mesh's parts agree on: the injector writes them, the control plane, the fleet
manager and the local fleet's Prometheus look for them.  Standard library only, so anything
may import it."""

PROXY_CONTAINER = "meshfleet-proxy"
"""The sidecar's container name in an injected pod (a native sidecar: an init container)."""
