"""The proxy's side of workload identity: key, CSR, certify, renewal, trust bundle reloads.

Loaded by every proxy, so it stays light: asyncio streams, ssl, cryptography
and prometheus_client only; never aiohttp or a Kubernetes client.

Public API:
- `IdentityClient(config, registry, on_certificate=..., on_bundle=...)`: `start()`, then `run()`.
- `ClientConfig`, `RenewalPolicy`, `Backoff`: configuration and the pure schedule.
- `Credentials`: the leaf in use and its chain.
"""

from ._client import CERT_FILE, KEY_FILE, ClientConfig, IdentityClient
from ._protocol import CERTIFY_PATH, TOKEN_AUDIENCE, Credentials, read_answer, request_body
from ._schedule import Backoff, RenewalPolicy

__all__ = [
    "CERTIFY_PATH",
    "CERT_FILE",
    "KEY_FILE",
    "TOKEN_AUDIENCE",
    "Backoff",
    "ClientConfig",
    "Credentials",
    "IdentityClient",
    "RenewalPolicy",
    "read_answer",
    "request_body",
]
