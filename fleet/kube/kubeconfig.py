"""Read a kubeconfig context into what the client needs (pure apart from reading files).

Credentials stay where the kubeconfig keeps them; nothing here logs or
copies key material into messages.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fleet.kube.errors import KubeconfigError
from mesh.pki import KEY_FILE_MODE, write_file_atomic


@dataclass(frozen=True, slots=True, repr=False)
class ClusterAccess:
    """How to reach one API server. ``repr`` leaves out every secret."""

    context: str
    server: str
    ca_pem: bytes | None
    client_cert_file: str | None
    client_key_file: str | None
    token: str | None
    insecure: bool = False

    def __repr__(self) -> str:
        return f"ClusterAccess(context={self.context!r}, server={self.server!r})"


def default_kubeconfig_paths() -> list[Path]:
    env = os.environ.get("KUBECONFIG")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def _named(doc: dict[str, Any], section: str, name: str, source: str) -> dict[str, Any]:
    for entry in doc.get(section) or []:
        if entry.get("name") == name:
            value = entry.get(section[:-1]) or {}
            assert isinstance(value, dict)
            return value
    raise KubeconfigError(f"{source}: context refers to {section[:-1]} {name!r}, which is not defined")


def _merged(paths: list[Path]) -> tuple[dict[str, Any], str]:
    merged: dict[str, Any] = {"clusters": [], "users": [], "contexts": []}
    current = ""
    found = []
    for p in paths:
        if not p.exists():
            continue
        found.append(str(p))
        try:
            doc = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as e:
            raise KubeconfigError(f"{p}: not valid YAML: {e}") from None
        for section in ("clusters", "users", "contexts"):
            merged[section] += doc.get(section) or []
        current = current or doc.get("current-context", "")
    if not found:
        raise KubeconfigError(f"no kubeconfig found (looked at {', '.join(map(str, paths))})")
    merged["current-context"] = current
    return merged, os.pathsep.join(found)


def load_access(context: str | None = None, paths: list[Path] | None = None,
                secrets_dir: Path | None = None) -> ClusterAccess:
    """The access for ``context`` (default: the current one).

    Embedded client certificates are written into ``secrets_dir`` (mode 0600)
    because Python's ssl module loads certificates only from files.
    """
    doc, source = _merged(paths or default_kubeconfig_paths())
    name = context or doc.get("current-context") or ""
    if not name:
        raise KubeconfigError(f"{source}: no context given and no current-context set")
    ctx = next((c.get("context") or {} for c in doc["contexts"] if c.get("name") == name), None)
    if ctx is None:
        known = ", ".join(sorted(c.get("name", "?") for c in doc["contexts"])) or "none"
        raise KubeconfigError(f"{source}: no context named {name!r} (known: {known})")
    cluster = _named(doc, "clusters", ctx.get("cluster", ""), source)
    user = _named(doc, "users", ctx.get("user", ""), source)
    server = cluster.get("server")
    if not server:
        raise KubeconfigError(f"{source}: cluster of context {name!r} has no server")
    ca = _data_or_file(cluster, "certificate-authority", source)
    cert_file = user.get("client-certificate")
    key_file = user.get("client-key")
    if user.get("client-certificate-data") and user.get("client-key-data"):
        d = secrets_dir or _private_tmp()
        cert_file = str(_write_secret(d / f"{name}.crt", base64.b64decode(user["client-certificate-data"])))
        key_file = str(_write_secret(d / f"{name}.key", base64.b64decode(user["client-key-data"])))
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = Path(user["tokenFile"]).read_text().strip()
    return ClusterAccess(name, server, ca, cert_file, key_file, token,
                         bool(cluster.get("insecure-skip-tls-verify", False)))


def _data_or_file(section: dict[str, Any], field: str, source: str) -> bytes | None:
    if section.get(f"{field}-data"):
        return base64.b64decode(section[f"{field}-data"])
    if section.get(field):
        try:
            return Path(section[field]).read_bytes()
        except OSError as e:
            raise KubeconfigError(f"{source}: {field} {section[field]}: {e.strerror}") from None
    return None


def _private_tmp() -> Path:
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(os.environ.get("TMPDIR", "/tmp"))
    d = base / f"meshfleet-{os.getuid()}"
    d.mkdir(mode=0o700, exist_ok=True)
    return d


def _write_secret(path: Path, data: bytes) -> Path:
    if not (path.exists() and path.read_bytes() == data):
        write_file_atomic(path, data, mode=KEY_FILE_MODE)
    return path
