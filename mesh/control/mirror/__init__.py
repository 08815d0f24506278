"""The multicluster service mirror: the exported Services of a linked cluster, mirrored behind its gateway.

A Link in this cluster's mesh namespace names a target cluster ``T``. For
every Service ``S`` of namespace ``N`` there that the Link's selector
matches, this cluster gets a selector-less Service ``N/S-T`` with S's TCP
ports and an EndpointSlice ``N/S-T`` pointing at T's gateway. See
docs/multicluster.md for the full object contract.

Public API:
- ``main(argv)``: the `meshfleet mirror` command; ``run_mirror(...)``: the same, in-process, until an Event is set.
- ``MirrorController``: the watches and writes, as a start/stop unit.
- Pure core: ``parse_link`` -> ``LinkSpec``; ``gateway_ips``; ``desired_mirrors``; ``plan_mirrors`` /
  ``plan_link`` -> ``Plan`` of ``CreateNamespace`` / ``CreateObject`` / ``ReplaceObject`` / ``DeleteObject``.
"""

from ._controller import MirrorController, resolve_ipv4
from ._main import build_parser, main
from ._plan import (
    CREATED_BY_LABEL,
    GATEWAY_SERVICE,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    SLICE_MANAGED_BY,
    SLICE_MANAGED_BY_LABEL,
    Action,
    CreateNamespace,
    CreateObject,
    DeleteObject,
    LocalObject,
    Mirror,
    NamespaceView,
    Plan,
    RemoteService,
    ReplaceObject,
    ServicePort,
    Skipped,
    desired_mirrors,
    desired_namespace,
    desired_service,
    desired_slice,
    gateway_ips,
    is_exported,
    local_object,
    mirror_name,
    namespace_view,
    plan_link,
    plan_mirrors,
    remote_service,
    slice_addresses,
)
from ._run import run_mirror, run_until
from ._spec import EXPORT_LABEL, LINK_API_VERSION, LinkSpec, parse_link

__all__ = [
    "CREATED_BY_LABEL",
    "EXPORT_LABEL",
    "GATEWAY_SERVICE",
    "LINK_API_VERSION",
    "MANAGED_BY",
    "MANAGED_BY_LABEL",
    "SERVICE_NAME_LABEL",
    "SLICE_MANAGED_BY",
    "SLICE_MANAGED_BY_LABEL",
    "Action",
    "CreateNamespace",
    "CreateObject",
    "DeleteObject",
    "LinkSpec",
    "LocalObject",
    "Mirror",
    "MirrorController",
    "NamespaceView",
    "Plan",
    "RemoteService",
    "ReplaceObject",
    "ServicePort",
    "Skipped",
    "build_parser",
    "desired_mirrors",
    "desired_namespace",
    "desired_service",
    "desired_slice",
    "gateway_ips",
    "is_exported",
    "local_object",
    "main",
    "mirror_name",
    "namespace_view",
    "parse_link",
    "plan_link",
    "plan_mirrors",
    "remote_service",
    "resolve_ipv4",
    "run_mirror",
    "run_until",
    "slice_addresses",
]
