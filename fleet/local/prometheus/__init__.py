"""A real Prometheus per local cluster, scraping the cluster's meshfleet proxies.

Per cluster two recorded components run next to the control plane: ``prometheus-targets``
(the discovery loop of :mod:`._discover`, which writes the file_sd target file from the
cluster's pods) and ``prometheus`` (``/usr/bin/prometheus``, Debian's build, which has no
Kubernetes discovery of its own).  See docs/tui.md, "The local fleet's Prometheus".

Public API:
- Pure: :func:`scrape_targets` / :func:`pod_target` / :func:`deployment_of` (pods to targets),
  :func:`targets_document`, :func:`config_yaml`, :func:`prometheus_command`,
  :func:`discovery_command`, :func:`preferred_port`, :class:`PrometheusFiles`.
- I/O: :func:`write_files` (configuration and an empty target file), :func:`ready` (``/-/ready``),
  :func:`can_listen` (whether Prometheus could take a port).
"""

from __future__ import annotations

import socket

from fleet.local.prometheus._config import (
    BASE_PORT,
    JOB,
    PROMETHEUS_BINARY,
    SCRAPE_INTERVAL_S,
    PrometheusFiles,
    config_yaml,
    discovery_command,
    preferred_port,
    prometheus_command,
)
from fleet.local.prometheus._discover import write_atomic
from fleet.local.prometheus._targets import (
    ADMIN_PORT_NAME,
    DEFAULT_ADMIN_PORT,
    PROXY_CONTAINER,
    Target,
    deployment_of,
    pod_target,
    scrape_targets,
    targets_document,
)

__all__ = [
    "ADMIN_PORT_NAME",
    "BASE_PORT",
    "DEFAULT_ADMIN_PORT",
    "JOB",
    "PROMETHEUS_BINARY",
    "PROXY_CONTAINER",
    "SCRAPE_INTERVAL_S",
    "PrometheusFiles",
    "Target",
    "config_yaml",
    "deployment_of",
    "discovery_command",
    "pod_target",
    "can_listen",
    "preferred_port",
    "prometheus_command",
    "ready",
    "scrape_targets",
    "targets_document",
    "write_files",
]


def write_files(files: PrometheusFiles) -> None:
    """The configuration, and an empty target file so Prometheus starts scraping nothing, not failing."""
    files.root.mkdir(parents=True, exist_ok=True)
    write_atomic(files.config, config_yaml(files))
    if not files.targets.exists():
        write_atomic(files.targets, targets_document(()))


async def ready(port: int) -> bool:
    """Whether the Prometheus on loopback ``port`` answers ``/-/ready`` (it does once its storage is open)."""
    import aiohttp  # here, not at the top: the discovery process imports this package and stays light

    try:
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as session, \
                session.get(f"http://127.0.0.1:{port}/-/ready") as r:
            return r.status == 200
    except (aiohttp.ClientError, TimeoutError, OSError):
        return False


def can_listen(port: int) -> bool:
    """Whether a server could listen on loopback ``port`` now.

    Bound the way Prometheus (Go) binds, with SO_REUSEADDR: the connections of a Prometheus
    stopped a moment ago linger in TIME-WAIT on its port, and they must not move the cluster's
    Prometheus away from the port its cluster file names.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen(1)
        except OSError:
            return False
    return True
