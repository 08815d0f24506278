"""The podlet's changes to the host: bridge, pod namespaces, veths, iptables, mounts.

Everything goes through ``ip``, ``iptables`` and ``mount`` (iproute2, iptables,
util-linux) so what the podlet does can be repeated and inspected by hand.
Every function is idempotent: cleanup after a crash calls the same ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from pathlib import Path

from fleet.local.podlet import svcrules
from fleet.local.podlet.errors import NetworkError
from fleet.local.podlet.naming import NodeNetwork


def run(*argv: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise NetworkError(f"{' '.join(argv)}: {e}") from e
    if check and done.returncode != 0:
        raise NetworkError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


async def arun(*argv: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run, *argv, check=check, stdin=stdin)


def _sysctl(path: str, value: str) -> None:
    try:
        Path("/proc/sys", path).write_text(value)
    except OSError as e:
        raise NetworkError(f"cannot set {path.replace('/', '.')}={value}: {e}") from e


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def ensure_bridge(net: NodeNetwork) -> None:
    if not link_exists(net.bridge):
        run("ip", "link", "add", "name", net.bridge, "type", "bridge")
    run("ip", "addr", "replace", f"{net.gateway}/{net.network.prefixlen}", "dev", net.bridge)
    run("ip", "link", "set", net.bridge, "up")
    # Pods reach the apiserver, which listens on loopback only, through a DNAT to 127.0.0.1.
    _sysctl(f"net/ipv4/conf/{net.bridge}/route_localnet", "1")
    # Pods of other local clusters sit behind other bridges: the host routes between them.
    _sysctl("net/ipv4/ip_forward", "1")
    for table, chain, rule in svcrules.forward_rules(net.bridge):
        ensure_rule(table, chain, rule)


def remove_bridge(net: NodeNetwork) -> None:
    for table, chain, rule in svcrules.forward_rules(net.bridge):
        delete_rule(table, chain, rule)
    if link_exists(net.bridge):
        run("ip", "link", "del", net.bridge, check=False)


def ensure_rule(table: str, chain: str, rule: list[str]) -> None:
    if run("iptables", "-w", "-t", table, "-C", chain, *rule, check=False).returncode != 0:
        run("iptables", "-w", "-t", table, "-I", chain, "1", *rule)


def delete_rule(table: str, chain: str, rule: list[str]) -> None:
    while run("iptables", "-w", "-t", table, "-D", chain, *rule, check=False).returncode == 0:
        pass


def our_nat_chains(chains: svcrules.Chains) -> frozenset[str]:
    out = run("iptables-save", "-t", "nat").stdout
    return frozenset(line[1:].split()[0] for line in out.splitlines()
                     if line.startswith(":") and chains.owns(line[1:].split()[0]))


def apply_nat(document: str) -> None:
    run("iptables-restore", "-w", "--noflush", stdin=document)


def remove_service_rules(chains: svcrules.Chains) -> None:
    for table, chain, rule in svcrules.jump_rules(chains):
        delete_rule(table, chain, rule)
    existing = our_nat_chains(chains)
    if existing:
        doc = "*nat\n" + "".join(f":{c} - [0:0]\n" for c in existing) + "".join(f"-X {c}\n" for c in existing)
        run("iptables-restore", "-w", "--noflush", stdin=doc + "COMMIT\n", check=False)


def create_pod_network(net: NodeNetwork, netns: str, veth: str, ip: str) -> None:
    # Two ``ip -batch`` runs (the host's side, then the pod's) instead of eight processes: this runs for
    # every pod, and a burst of pods is when the node has the least CPU to spare.
    host = []
    if not Path("/run/netns", netns).exists():
        host.append(f"netns add {netns}")
    if not link_exists(veth):
        host.append(f"link add {veth} type veth peer name eth0 netns {netns}")
    host += [f"link set {veth} master {net.bridge} up", f"link set dev {veth} type bridge_slave hairpin on"]
    run("ip", "-batch", "-", stdin="\n".join(host) + "\n")
    run("ip", "-n", netns, "-batch", "-", stdin="\n".join((
        "link set lo up",
        f"addr replace {ip}/{net.network.prefixlen} dev eth0",
        "link set eth0 up",
        f"route replace default via {net.gateway}",
    )) + "\n")


def delete_pod_network(netns: str, veth: str) -> None:
    if Path("/run/netns", netns).exists():
        run("ip", "netns", "del", netns, check=False)
    if link_exists(veth):
        run("ip", "link", "del", veth, check=False)


def mount_tmpfs(path: Path, size: str = "64m") -> None:
    path.mkdir(parents=True, exist_ok=True)
    if not is_mountpoint(path):
        run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path))


def mounts_under(root: Path) -> list[Path]:
    """Mount points at or below ``root``, deepest first, from this namespace's mount table."""
    prefix = str(root.resolve())
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                found.append(Path(point))
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def is_mountpoint(path: Path) -> bool:
    return path.resolve() in mounts_under(path)


def unmount_all(root: Path) -> None:
    for point in mounts_under(root):
        run("umount", "-l", str(point), check=False)


def is_root() -> bool:
    return os.geteuid() == 0
