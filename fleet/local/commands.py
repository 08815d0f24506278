"""Command lines of a local cluster's components (pure).

Flags are chosen for a throw-away cluster on one machine: every listener on
loopback, no leader election, etcd without fsync.  The apiserver advertises
loopback, which Endpoints validation refuses, so its endpoint reconciler is off.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from fleet.local.certs import ClusterPKI
from fleet.local.topology import ClusterPlan, Ports

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


@dataclass(frozen=True, slots=True)
class ClusterPaths:
    root: Path

    @property
    def pki(self) -> ClusterPKI:
        return ClusterPKI(self.root / "pki")

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig of this one cluster."""
        return self.root / "kubeconfig"

    def component_kubeconfig(self, component: str) -> Path:
        return self.root / f"{component}.kubeconfig"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"


def etcd(binary: Path, plan: ClusterPlan, ports: Ports, paths: ClusterPaths) -> list[str]:
    peer = f"http://127.0.0.1:{ports.etcd_peer}"
    client = f"http://127.0.0.1:{ports.etcd_client}"
    return [
        str(binary),
        f"--name={plan.name}",
        f"--data-dir={paths.etcd_data}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster={plan.name}={peer}",
        "--unsafe-no-fsync",
        "--log-level=warn",
        "--quota-backend-bytes=1073741824",
    ]


def apiserver(binary: Path, plan: ClusterPlan, ports: Ports, paths: ClusterPaths) -> list[str]:
    pki = paths.pki
    serving = pki.pair("apiserver")
    return [
        str(binary),
        f"--etcd-servers=http://127.0.0.1:{ports.etcd_client}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={ports.apiserver}",
        f"--tls-cert-file={serving.cert}",
        f"--tls-private-key-file={serving.key}",
        f"--client-ca-file={pki.ca.cert}",
        # The aggregation layer's front proxy; without it every controller logs a missing CA bundle.
        f"--requestheader-client-ca-file={pki.ca.cert}",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={pki.pair('front-proxy-client').cert}",
        f"--proxy-client-key-file={pki.pair('front-proxy-client').key}",
        f"--service-account-key-file={pki.sa_pub}",
        f"--service-account-signing-key-file={pki.sa_key}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-cluster-ip-range={plan.service_cidr}",
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        "--allow-privileged=true",
        "--endpoint-reconciler-type=none",
        "--profiling=false",
        "--event-ttl=1h",
    ]


def controller_manager(binary: Path, plan: ClusterPlan, ports: Ports, paths: ClusterPaths) -> list[str]:
    pki = paths.pki
    kc = paths.component_kubeconfig("kube-controller-manager")
    serving = pki.pair("controller-manager-serving")
    return [
        str(binary),
        f"--kubeconfig={kc}",
        f"--authentication-kubeconfig={kc}",
        f"--authorization-kubeconfig={kc}",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports.controller_manager}",
        f"--tls-cert-file={serving.cert}",
        f"--tls-private-key-file={serving.key}",
        "--leader-elect=false",
        "--use-service-account-credentials=true",
        f"--service-account-private-key-file={pki.sa_key}",
        f"--root-ca-file={pki.ca.cert}",
        f"--cluster-signing-cert-file={pki.ca.cert}",
        f"--cluster-signing-key-file={pki.ca.key}",
        "--allocate-node-cidrs=true",
        f"--cluster-cidr={plan.pod_cidr}",
        "--node-cidr-mask-size=24",
        f"--service-cluster-ip-range={plan.service_cidr}",
        f"--cluster-name={plan.name}",
        "--profiling=false",
    ]


def podlet(plan: ClusterPlan, ports: Ports, paths: ClusterPaths, node: str) -> list[str]:
    """The node agent; it runs from this interpreter, like the ``meshfleet`` command itself."""
    return [sys.executable, "-m", "fleet.local.podlet", plan.name, "--node", node, f"--cluster-dir={paths.root}",
            f"--apiserver-port={ports.apiserver}", f"--service-cidr={plan.service_cidr}"]


def scheduler(binary: Path, plan: ClusterPlan, ports: Ports, paths: ClusterPaths) -> list[str]:
    kc = paths.component_kubeconfig("kube-scheduler")
    serving = paths.pki.pair("scheduler-serving")
    return [
        str(binary),
        f"--kubeconfig={kc}",
        f"--authentication-kubeconfig={kc}",
        f"--authorization-kubeconfig={kc}",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports.scheduler}",
        f"--tls-cert-file={serving.cert}",
        f"--tls-private-key-file={serving.key}",
        "--leader-elect=false",
        "--profiling=false",
    ]
