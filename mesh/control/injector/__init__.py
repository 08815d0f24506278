"""The proxy injector: a mutating admission webhook that meshes the pods that ask for it.

Public API:
- ``injector_main(argv)``: the `meshfleet injector` command.
- ``compute_injection(pod, namespace, request_namespace, config)`` -> ``Injection``: the pure patch.
- ``parse_review`` / ``review_response``: AdmissionReview in and out.
- ``InjectorConfig`` / ``parse_config`` / ``load_config``: the proxy configuration the mesh renders.
- ``InjectorService`` / ``ServiceConfig`` / ``build_app``: the service as a start/stop unit.
- Trust bundle copies in meshed namespaces: ``plan_copies`` / ``desired_copy`` / ``needs_copy`` (pure),
  ``TrustBundleSync`` (the watches and writes, and ``ensure`` for the admission path), ``KubeClient``.
"""

from ._app import INJECT_PATH, BundleEnsurer, InjectorMetrics, NamespaceCache, build_app
from ._bundle_copies import (
    COPY_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    SOURCE_ANNOTATION,
    BundleScope,
    BundleView,
    CopyAction,
    CreateCopy,
    DeleteCopy,
    NamespaceView,
    ReplaceCopy,
    bundle_view,
    desired_copy,
    is_meshed_pod,
    namespace_view,
    needs_copy,
    plan_copies,
)
from ._bundle_sync import TrustBundleSync
from ._config import InjectorConfig, load_config, parse_config
from ._kube import KubeClient
from ._main import build_parser, injector_main
from ._patch import (
    DEFAULT_POLICY,
    INIT_CONTAINER,
    INJECT,
    INJECTED,
    LOG_LEVEL,
    OPAQUE_PORTS,
    RESOURCE_ANNOTATIONS,
    SKIP_INBOUND,
    SKIP_OUTBOUND,
    TOKEN_AUDIENCE,
    Injection,
    compute_injection,
    is_injected,
)
from ._review import PodReview, parse_review, review_response
from ._service import InjectorService, ServiceConfig

__all__ = [
    "COPY_LABEL",
    "DEFAULT_POLICY",
    "INIT_CONTAINER",
    "INJECT",
    "INJECTED",
    "INJECT_PATH",
    "LOG_LEVEL",
    "MANAGED_BY",
    "MANAGED_BY_LABEL",
    "OPAQUE_PORTS",
    "RESOURCE_ANNOTATIONS",
    "SKIP_INBOUND",
    "SOURCE_ANNOTATION",
    "SKIP_OUTBOUND",
    "TOKEN_AUDIENCE",
    "BundleEnsurer",
    "BundleScope",
    "BundleView",
    "CopyAction",
    "CreateCopy",
    "DeleteCopy",
    "InjectorConfig",
    "InjectorMetrics",
    "InjectorService",
    "Injection",
    "KubeClient",
    "NamespaceCache",
    "NamespaceView",
    "PodReview",
    "ReplaceCopy",
    "ServiceConfig",
    "TrustBundleSync",
    "build_app",
    "build_parser",
    "bundle_view",
    "compute_injection",
    "desired_copy",
    "injector_main",
    "is_injected",
    "is_meshed_pod",
    "load_config",
    "namespace_view",
    "needs_copy",
    "parse_config",
    "parse_review",
    "plan_copies",
    "review_response",
]
