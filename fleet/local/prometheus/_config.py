"""Files, port and command line of one local cluster's Prometheus (pure).

Each cluster's Prometheus lives under ``<cluster dir>/prometheus``: its configuration, the
target file the discovery loop keeps current, and its storage (two hours of it: the dashboard
reads the last minute).  It listens on loopback at ``19090 + <cluster index>`` when that port
is free, so the example fleet's cluster files can name it (east 19090, west 19091, north
19092); when it is taken the local fleet picks another and records it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

PROMETHEUS_BINARY = Path("/usr/bin/prometheus")  # Debian package ``prometheus``
BASE_PORT = 19090
SCRAPE_INTERVAL_S = 5
DISCOVERY_INTERVAL_S = 2.0
RETENTION = "2h"
JOB = "meshfleet-proxies"


def preferred_port(index: int) -> int:
    """The port a cluster's Prometheus asks for first: fixed per cluster index."""
    return BASE_PORT + index


@dataclass(frozen=True, slots=True)
class PrometheusFiles:
    root: Path  # <cluster dir>/prometheus

    @property
    def config(self) -> Path:
        return self.root / "prometheus.yml"

    @property
    def targets(self) -> Path:
        return self.root / "targets.json"

    @property
    def data(self) -> Path:
        return self.root / "data"


def config_yaml(files: PrometheusFiles, scrape_interval_s: int = SCRAPE_INTERVAL_S) -> str:
    """The configuration: the proxies of the target file, scraped every few seconds.

    Prometheus watches the target file, so a pod shows up at the next scrape after the
    discovery loop writes it; the refresh interval is only the fallback for a missed event.
    """
    timeout = max(1, scrape_interval_s - 1)
    return (
        "# Written by meshfleet local up; rewritten at every start.\n"
        "global:\n"
        f"  scrape_interval: {scrape_interval_s}s\n"
        f"  scrape_timeout: {timeout}s\n"
        f"  evaluation_interval: {scrape_interval_s}s\n"
        "scrape_configs:\n"
        f"  - job_name: {JOB}\n"
        "    metrics_path: /metrics\n"
        "    file_sd_configs:\n"
        f"      - files: ['{files.targets}']\n"
        "        refresh_interval: 30s\n"
    )


def prometheus_command(binary: Path, files: PrometheusFiles, port: int) -> list[str]:
    return [
        str(binary),
        f"--config.file={files.config}",
        f"--storage.tsdb.path={files.data}",
        f"--storage.tsdb.retention.time={RETENTION}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]


def discovery_command(apiserver_port: int, ca: Path, cert: Path, key: Path, files: PrometheusFiles,
                      interval_s: float = DISCOVERY_INTERVAL_S) -> list[str]:
    """The discovery loop, run from this interpreter like the podlet, as the cluster's admin."""
    return [sys.executable, "-m", "fleet.local.prometheus", f"--apiserver=https://127.0.0.1:{apiserver_port}",
            f"--ca={ca}", f"--cert={cert}", f"--key={key}", f"--out={files.targets}", f"--interval={interval_s:g}"]
