"""Kubeconfig documents for local clusters (pure: values in, dicts out)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Credentials:
    """Where a cluster is and who talks to it; PEM bytes are embedded so the file stands alone."""

    context: str
    server: str
    ca_pem: bytes
    client_cert_pem: bytes
    client_key_pem: bytes
    user: str


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def document(entries: list[Credentials], current: str | None = None) -> dict[str, Any]:
    """A kubeconfig with one cluster, user and context per entry."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "current-context": current if current is not None else (entries[0].context if entries else ""),
        "clusters": [
            {"name": e.context, "cluster": {"server": e.server, "certificate-authority-data": _b64(e.ca_pem)}}
            for e in entries
        ],
        "users": [
            {
                "name": f"{e.context}-{e.user}",
                "user": {
                    "client-certificate-data": _b64(e.client_cert_pem),
                    "client-key-data": _b64(e.client_key_pem),
                },
            }
            for e in entries
        ],
        "contexts": [
            {"name": e.context, "context": {"cluster": e.context, "user": f"{e.context}-{e.user}"}}
            for e in entries
        ],
    }
