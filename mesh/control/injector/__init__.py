"""The proxy injector: a mutating admission webhook that meshes the pods that ask for it.

Public API:
- ``injector_main(argv)``: the `meshfleet injector` command.
- ``compute_injection(pod, namespace, request_namespace, config)`` -> ``Injection``: the pure patch.
- ``parse_review`` / ``review_response``: AdmissionReview in and out.
- ``InjectorConfig`` / ``parse_config`` / ``load_config``: the proxy configuration the mesh renders.
- ``InjectorService`` / ``ServiceConfig`` / ``build_app``: the service as a start/stop unit.
"""

from ._app import INJECT_PATH, InjectorMetrics, NamespaceCache, build_app
from ._config import InjectorConfig, load_config, parse_config
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
    "DEFAULT_POLICY",
    "INIT_CONTAINER",
    "INJECT",
    "INJECTED",
    "INJECT_PATH",
    "LOG_LEVEL",
    "OPAQUE_PORTS",
    "RESOURCE_ANNOTATIONS",
    "SKIP_INBOUND",
    "SKIP_OUTBOUND",
    "TOKEN_AUDIENCE",
    "InjectorConfig",
    "InjectorMetrics",
    "InjectorService",
    "Injection",
    "NamespaceCache",
    "PodReview",
    "ServiceConfig",
    "build_app",
    "build_parser",
    "compute_injection",
    "injector_main",
    "is_injected",
    "load_config",
    "parse_config",
    "parse_review",
    "review_response",
]
