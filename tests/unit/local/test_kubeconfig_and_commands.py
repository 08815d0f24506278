import base64
from pathlib import Path

import yaml

from fleet.local import commands
from fleet.local.commands import ClusterPaths
from fleet.local.kubeconfig import Credentials, document
from fleet.local.topology import Ports, plan


def test_merged_kubeconfig_has_a_context_per_cluster() -> None:
    entries = [Credentials(f"meshfleet-{n}", f"https://127.0.0.1:{p}", b"CA", b"CERT", b"KEY", "admin")
               for n, p in (("east", 6443), ("west", 6444))]
    doc = yaml.safe_load(yaml.safe_dump(document(entries)))
    assert [c["name"] for c in doc["contexts"]] == ["meshfleet-east", "meshfleet-west"]
    assert doc["current-context"] == "meshfleet-east"
    west = next(c for c in doc["clusters"] if c["name"] == "meshfleet-west")
    assert west["cluster"]["server"] == "https://127.0.0.1:6444"
    assert base64.b64decode(west["cluster"]["certificate-authority-data"]) == b"CA"


def test_component_flags_keep_everything_on_loopback_and_in_the_clusters_ranges(tmp_path: Path) -> None:
    p = plan(("east",))[0]
    ports = Ports(2379, 2380, 6443, 10257, 10259)
    paths = ClusterPaths(tmp_path)
    api = commands.apiserver(Path("/bin/kube-apiserver"), p, ports, paths)
    assert "--bind-address=127.0.0.1" in api
    assert "--secure-port=6443" in api
    assert "--service-cluster-ip-range=10.200.0.0/16" in api
    assert "--authorization-mode=Node,RBAC" in api
    kcm = commands.controller_manager(Path("/bin/kcm"), p, ports, paths)
    assert "--cluster-cidr=10.100.0.0/16" in kcm
    assert "--allocate-node-cidrs=true" in kcm
    etcd = commands.etcd(Path("/bin/etcd"), p, ports, paths)
    assert "--unsafe-no-fsync" in etcd
    assert all("0.0.0.0" not in a for a in api + kcm + etcd)
