"""The destination service: what proxies need to know about where their traffic goes, and who may call them.

It watches Services, EndpointSlices, Pods, Namespaces and the
policy.meshfleet.io objects, and streams to each proxy, over one mTLS
connection, the endpoints (address, identity, weight, protocol hint) and the
route configuration of every destination it asks about, plus its own pod's
inbound policy. See docs/destination-protocol.md.

Public API:
- ``destination_main(argv)``: the `meshfleet destination` command.
- ``DestinationService`` / ``ServiceConfig`` / ``MeshSettings``: the service as a start/stop unit.
- ``KubeReader``: the small list/watch client (also used by the injector).
- Pure core: ``build_index`` / ``ClusterIndex``, ``destination_view``, ``inbound_policy``, ``Hub``.
"""

from ._cluster import COLLECTIONS, ClusterIndex, ObjectStore, build_index, index_store
from ._compute import (
    DEFAULT_POLICY_ANNOTATION,
    OPAQUE_PORTS_ANNOTATION,
    PROXY_CONTAINER,
    MeshSettings,
    destination_view,
    inbound_policy,
    is_meshed,
    parse_ports,
    pod_identity,
    split_target,
)
from ._hub import Hub, Session
from ._kube import KubeReader, api_ssl_context
from ._main import build_parser, destination_main
from ._metrics import DestinationMetrics
from ._service import WATCHES, DestinationService, ServiceConfig
from ._tls import ServingTls

__all__ = [
    "COLLECTIONS",
    "DEFAULT_POLICY_ANNOTATION",
    "OPAQUE_PORTS_ANNOTATION",
    "PROXY_CONTAINER",
    "WATCHES",
    "ClusterIndex",
    "DestinationMetrics",
    "DestinationService",
    "Hub",
    "KubeReader",
    "MeshSettings",
    "ObjectStore",
    "ServiceConfig",
    "ServingTls",
    "Session",
    "api_ssl_context",
    "build_index",
    "build_parser",
    "destination_main",
    "destination_view",
    "inbound_policy",
    "index_store",
    "is_meshed",
    "parse_ports",
    "pod_identity",
    "split_target",
]
