"""A meshfleet proxy pair as two real ``meshfleet proxy`` processes on 127.0.0.1.

client -> proxy A outbound (plain HTTP) -> mTLS -> proxy B inbound -> backend.

Certificates come from a throw-away anchor and issuer made at start-up
(``tests.unit.proxy.certs``), written under the run's private temporary
directory with key files mode 0600, and never outlive the run. Proxy A
learns the service from a resolver file: one endpoint, the backend, with
proxy B's identity and inbound port.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.unit.proxy.certs import Authority, IdentityFiles, make_ca, make_identity

from .procs import Child, ProcessSet, free_port, wait_for_http

AUTHORITY = "web.bench.svc.cluster.local:8080"
NAMESPACE = "bench"


@dataclass(frozen=True, slots=True)
class MeshfleetPair:
    client: Child  # proxy A: the caller's sidecar
    server: Child  # proxy B: the backend's sidecar
    outbound_port: int
    inbound_port: int
    client_admin_port: int
    server_admin_port: int
    client_identity: str
    server_identity: str
    pki: tuple[Authority, Authority]  # (anchor, issuer), to certify more proxies on the same mesh

    @property
    def children(self) -> tuple[Child, Child]:
        return (self.client, self.server)


def proxy_command(profile_to: Path | None = None) -> list[str]:
    """How to start ``meshfleet proxy`` from this environment (optionally under cProfile)."""
    if profile_to is not None:
        return [sys.executable, "-m", "cProfile", "-o", str(profile_to), "-m", "fleet.cli", "proxy"]
    script = Path(sys.executable).with_name("meshfleet")
    if script.exists():
        return [str(script), "proxy"]
    found = shutil.which("meshfleet")
    if found is None:
        return [sys.executable, "-m", "fleet.cli", "proxy"]
    return [found, "proxy"]


def _identities(workdir: Path) -> tuple[IdentityFiles, IdentityFiles, tuple[Authority, Authority]]:
    anchor = make_ca("meshfleet bench anchor")
    issuer = make_ca("meshfleet bench issuer", anchor)
    return (
        make_identity(workdir / "id-client", issuer, anchor, "app", NAMESPACE),
        make_identity(workdir / "id-server", issuer, anchor, "web", NAMESPACE),
        (anchor, issuer),
    )


def proxy_argv(
    ident: IdentityFiles,
    inbound: int,
    outbound: int,
    admin: int,
    *,
    log_level: str = "warning",
    extra_args: Sequence[str] = (),
    profile_to: Path | None = None,
) -> list[str]:
    """A ``meshfleet proxy`` on 127.0.0.1 with file-based identity; every listener on a port of its own."""
    return [
        *proxy_command(profile_to),
        f"--inbound-addr=127.0.0.1:{inbound}",
        f"--outbound-addr=127.0.0.1:{outbound}",
        f"--admin-addr=127.0.0.1:{admin}",
        f"--identity-dir={ident.directory}",
        f"--trust-bundle={ident.bundle_path}",
        f"--log-level={log_level}",
        "--shutdown-grace=2",
        *extra_args,
    ]


def write_resolver(path: Path, backend_port: int, server_identity: str, inbound_port: int) -> Path:
    service = {
        "name": AUTHORITY,
        "namespace": NAMESPACE,
        "service": "web",
        "endpoints": [
            {"address": f"127.0.0.1:{backend_port}", "identity": server_identity, "proxy_port": inbound_port}
        ],
    }
    path.write_text(json.dumps({"services": [service]}))
    return path


def start_meshfleet_pair(
    procs: ProcessSet,
    workdir: Path,
    backend_port: int,
    *,
    log_level: str = "warning",
    extra_args: Sequence[str] = (),
    profile_dir: Path | None = None,
) -> MeshfleetPair:
    """Start proxy B then proxy A and wait until both answer /ready."""
    client_id, server_id, pki = _identities(workdir)
    inbound, outbound = free_port(), free_port()
    server_admin, client_admin = free_port(), free_port()
    # Each proxy binds all three listeners; the ones a side does not use get their own free port.
    server_outbound, client_inbound = free_port(), free_port()
    resolver = write_resolver(workdir / "resolver.json", backend_port, server_id.name, inbound)

    def argv(name: str, ident: IdentityFiles, inb: int, outb: int, admin: int) -> list[str]:
        profile = profile_dir / f"{name}.pstats" if profile_dir else None
        return proxy_argv(ident, inb, outb, admin, log_level=log_level, extra_args=extra_args, profile_to=profile)

    server = procs.start(
        "meshfleet-b",
        [
            *argv("meshfleet-b", server_id, inbound, server_outbound, server_admin),
            "--default-inbound-policy=all-authenticated",
        ],
    )
    client = procs.start(
        "meshfleet-a",
        [*argv("meshfleet-a", client_id, client_inbound, outbound, client_admin), f"--resolver-file={resolver}"],
    )
    wait_for_http(server, f"http://127.0.0.1:{server_admin}/ready")
    wait_for_http(client, f"http://127.0.0.1:{client_admin}/ready")
    return MeshfleetPair(
        client, server, outbound, inbound, client_admin, server_admin, client_id.name, server_id.name, pki
    )
