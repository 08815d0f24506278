"""The identity service: a ServiceAccount token plus a CSR buys a leaf certificate from the cluster's issuer.

See docs/identity.md for the wire contract.  Public API:

- `serve(argv)`: the `meshfleet identity` command.
- `IdentityService` / `ServiceConfig`: the service as a start/stop unit (for embedding and tests).
- `TokenReviewer` / `TokenReview`: the seam for token validation; `KubernetesTokenReviewer` is the
  production implementation and `CachingTokenReviewer` caches its positive answers.
"""

from ._certifier import Certifier
from ._contract import CERTIFY_PATH, TOKEN_AUDIENCE, CertifyRequest, parse_certify_request
from ._issuer_source import CA_FILE, CERT_FILE, KEY_FILE, EventPoster, IssuerWatcher, evaluate_issuer
from ._kubeapi import (
    ApiCredentials,
    KubeApi,
    KubernetesEventPoster,
    KubernetesTokenReviewer,
    in_cluster_credentials,
    load_kubeconfig,
    parse_kubeconfig,
)
from ._main import build_parser, serve
from ._metrics import IdentityMetrics
from ._ratelimit import TokenBuckets
from ._service import IdentityService, ServiceConfig
from ._tokenreview import CachingTokenReviewer, TokenReview, TokenReviewer

__all__ = [
    "CA_FILE",
    "CERTIFY_PATH",
    "CERT_FILE",
    "KEY_FILE",
    "TOKEN_AUDIENCE",
    "ApiCredentials",
    "CachingTokenReviewer",
    "Certifier",
    "CertifyRequest",
    "EventPoster",
    "IdentityMetrics",
    "IdentityService",
    "IssuerWatcher",
    "KubeApi",
    "KubernetesEventPoster",
    "KubernetesTokenReviewer",
    "ServiceConfig",
    "TokenBuckets",
    "TokenReview",
    "TokenReviewer",
    "build_parser",
    "evaluate_issuer",
    "in_cluster_credentials",
    "load_kubeconfig",
    "parse_certify_request",
    "parse_kubeconfig",
    "serve",
]
