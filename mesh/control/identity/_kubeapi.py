"""Talking to the Kubernetes API: credentials, TokenReview, and Events.

Credentials come from a kubeconfig file (client certificate or bearer token)
or, inside a pod, from the mounted ServiceAccount.  Parsing is pure; the
aiohttp client is the thin shell around it.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from ._tls import load_cert_chain_from_memory
from ._tokenreview import TokenReview
from .errors import ApiUnavailable, ConfigError

log = logging.getLogger(__name__)

IN_CLUSTER_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
TOKEN_REVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"


@dataclass(frozen=True, slots=True)
class ApiCredentials:
    server: str
    ca_pem: bytes | None = None
    insecure: bool = False
    client_cert_pem: bytes | None = None
    client_key_pem: bytes | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    # Projected tokens rotate; re-read the file rather than keep its content.
    token_file: Path | None = None


def _data_or_file(
    section: Mapping[str, Any], key: str, base: Path, read: Callable[[Path], bytes], where: str
) -> bytes | None:
    data = section.get(f"{key}-data")
    if data:
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as e:
            raise ConfigError(f"{where}: {key}-data is not base64") from e
    ref = section.get(key)
    if ref:
        path = Path(ref) if Path(ref).is_absolute() else base / ref
        try:
            return read(path)
        except OSError as e:
            raise ConfigError(f"{where}: {key} {path}: {e.strerror}") from e
    return None


def _named(items: Any, name: str, kind: str, source: str) -> Mapping[str, Any]:
    for item in items or ():
        if isinstance(item, Mapping) and item.get("name") == name and isinstance(item.get(kind), Mapping):
            section: Mapping[str, Any] = item[kind]
            return section
    raise ConfigError(f"{source}: no {kind} named {name!r}")


def parse_kubeconfig(
    doc: Any,
    *,
    base: Path,
    source: str,
    context: str | None = None,
    read: Callable[[Path], bytes] = Path.read_bytes,
) -> ApiCredentials:
    """Credentials for `context` (default: current-context) of a parsed kubeconfig document."""
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{source}: not a kubeconfig (top level is not a mapping)")
    name = context or doc.get("current-context")
    if not name:
        raise ConfigError(f"{source}: no current-context and no context given")
    ctx = _named(doc.get("contexts"), name, "context", source)
    cluster = _named(doc.get("clusters"), str(ctx.get("cluster", "")), "cluster", source)
    user = _named(doc.get("users"), str(ctx.get("user", "")), "user", source) if ctx.get("user") else {}
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith("https://"):
        raise ConfigError(f"{source}: cluster {ctx.get('cluster')!r} needs an https:// server")
    token = user.get("token")
    token_file = user.get("tokenFile")
    return ApiCredentials(
        server=server.rstrip("/"),
        ca_pem=_data_or_file(cluster, "certificate-authority", base, read, source),
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
        client_cert_pem=_data_or_file(user, "client-certificate", base, read, source),
        client_key_pem=_data_or_file(user, "client-key", base, read, source),
        token=token if isinstance(token, str) else None,
        token_file=(base / token_file) if isinstance(token_file, str) else None,
    )


def load_kubeconfig(path: Path, context: str | None = None) -> ApiCredentials:
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as e:
        raise ConfigError(f"{path}: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not YAML") from e
    return parse_kubeconfig(doc, base=path.parent, source=str(path), context=context)


def in_cluster_credentials(env: Mapping[str, str] = os.environ, root: Path = IN_CLUSTER_DIR) -> ApiCredentials:
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise ConfigError("not running in a pod (KUBERNETES_SERVICE_HOST unset) and no --kubeconfig given")
    try:
        ca = (root / "ca.crt").read_bytes()
    except OSError as e:
        raise ConfigError(f"{root / 'ca.crt'}: {e.strerror}") from e
    host = f"[{host}]" if ":" in host else host
    return ApiCredentials(server=f"https://{host}:{port}", ca_pem=ca, token_file=root / "token")


def client_ssl_context(creds: ApiCredentials) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=creds.ca_pem.decode() if creds.ca_pem else None)
    if creds.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if creds.client_cert_pem and creds.client_key_pem:
        try:
            load_cert_chain_from_memory(ctx, creds.client_cert_pem, creds.client_key_pem)
        except ssl.SSLError as e:
            raise ConfigError("the kubeconfig's client certificate and key cannot be loaded") from e
    return ctx


class KubeApi:
    """A minimal JSON client for the few API calls the identity service makes."""

    def __init__(self, creds: ApiCredentials, *, timeout: float = 5.0) -> None:
        self._creds = creds
        self._ssl = client_ssl_context(creds)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        token = self._creds.token
        if self._creds.token_file is not None:
            try:
                token = self._creds.token_file.read_text().strip()
            except OSError as e:
                raise ApiUnavailable(f"cannot read the API token {self._creds.token_file}: {e.strerror}") from e
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def post(self, path: str, body: Mapping[str, Any]) -> tuple[int, Any]:
        """POST `body` as JSON; the status and decoded JSON answer (None if not JSON)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(
                self._creds.server + path, data=json.dumps(body), headers=self._headers(), ssl=self._ssl
            ) as resp:
                raw = await resp.read()
                try:
                    return resp.status, json.loads(raw)
                except ValueError:
                    return resp.status, None
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            raise ApiUnavailable(f"the API server {self._creds.server} is unreachable: {type(e).__name__}") from e

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class KubernetesTokenReviewer:
    """Validates tokens with an `authentication.k8s.io/v1` TokenReview."""

    def __init__(self, api: KubeApi) -> None:
        self._api = api

    async def review(self, token: str, audiences: tuple[str, ...]) -> TokenReview:
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token, "audiences": list(audiences)},
        }
        status, answer = await self._api.post(TOKEN_REVIEW_PATH, body)
        if status not in (200, 201) or not isinstance(answer, Mapping):
            raise ApiUnavailable(f"the API server answered the TokenReview with HTTP {status}")
        return parse_token_review(answer)


def parse_token_review(answer: Mapping[str, Any]) -> TokenReview:
    st = answer.get("status")
    if not isinstance(st, Mapping):
        raise ApiUnavailable("the TokenReview answer has no status")
    user = st.get("user")
    if not isinstance(user, Mapping):
        user = {}
    auds = st.get("audiences")
    return TokenReview(
        authenticated=st.get("authenticated") is True,
        username=str(user.get("username", "")),
        audiences=tuple(a for a in auds if isinstance(a, str)) if isinstance(auds, list) else (),
        error=str(st.get("error", "")),
    )


class KubernetesEventPoster:
    """Records a Warning Event on the issuer Secret, so `kubectl describe` shows why it was refused."""

    def __init__(self, api: KubeApi, *, namespace: str, secret: str, component: str = "meshfleet-identity"):
        self._api, self._namespace, self._secret, self._component = api, namespace, secret, component

    async def __call__(self, reason: str, message: str) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{self._secret}.", "namespace": self._namespace},
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Secret",
                "namespace": self._namespace,
                "name": self._secret,
            },
            "reason": reason,
            "message": message,
            "type": "Warning",
            "source": {"component": self._component},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            status, _ = await self._api.post(f"/api/v1/namespaces/{self._namespace}/events", event)
        except ApiUnavailable as e:
            log.warning("could not record an Event for the issuer Secret: %s", e)
            return
        if status not in (200, 201):
            log.warning("could not record an Event for the issuer Secret: HTTP %s", status)
