"""`meshfleet proxy-init`: install the interception rules in the current network namespace."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import shutil
import subprocess
from collections.abc import Sequence

from .detect import parse_port_list
from .errors import ConfigError, InterceptionError
from .interception import InterceptionConfig, RuleSet, build_rules

log = logging.getLogger(__name__)


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def parse_init_args(argv: Sequence[str]) -> tuple[InterceptionConfig, bool, bool]:
    """(config, also_ipv6, dry_run) from flags, with MESHFLEET_PROXY_INIT_* env defaults."""
    p = argparse.ArgumentParser(prog="meshfleet proxy-init", description="Route pod traffic via the proxy.")
    p.add_argument("--proxy-uid", default=_env("MESHFLEET_PROXY_UID", "2102"))
    p.add_argument("--inbound-port", default=_env("MESHFLEET_PROXY_INBOUND_PORT", "4143"))
    p.add_argument("--outbound-port", default=_env("MESHFLEET_PROXY_OUTBOUND_PORT", "4140"))
    p.add_argument("--skip-inbound-ports", default=_env("MESHFLEET_PROXY_INIT_SKIP_INBOUND_PORTS", ""))
    p.add_argument("--skip-outbound-ports", default=_env("MESHFLEET_PROXY_INIT_SKIP_OUTBOUND_PORTS", ""))
    p.add_argument("--skip-outbound-subnets", default=_env("MESHFLEET_PROXY_INIT_SKIP_SUBNETS", ""))
    p.add_argument("--ipv6", action="store_true", help="also install ip6tables rules")
    p.add_argument("--dry-run", action="store_true", help="print the rules instead of installing them")
    args = p.parse_args(list(argv))
    try:
        config = InterceptionConfig(
            proxy_uid=int(args.proxy_uid),
            inbound_port=int(args.inbound_port),
            outbound_port=int(args.outbound_port),
            skip_inbound_ports=parse_port_list(args.skip_inbound_ports),
            skip_outbound_ports=parse_port_list(args.skip_outbound_ports),
            skip_outbound_subnets=tuple(s.strip() for s in args.skip_outbound_subnets.split(",") if s.strip()),
        )
        for subnet in config.skip_outbound_subnets:
            ipaddress.ip_network(subnet, strict=False)
    except ValueError as e:
        raise ConfigError(f"proxy-init: {e}") from e
    return config, bool(args.ipv6), bool(args.dry_run)


def apply_rules(rules: RuleSet, *, ipv6: bool = False) -> None:
    """Install ``rules`` with iptables-restore, then add the jumps that are missing."""
    restore = "ip6tables-restore" if ipv6 else "iptables-restore"
    tool = "ip6tables" if ipv6 else "iptables"
    for binary in (restore, tool):
        if shutil.which(binary) is None:
            raise InterceptionError(f"{binary} not found on PATH")
    try:
        subprocess.run([restore, "--noflush"], input=rules.restore_input, text=True, check=True, capture_output=True)
        for chain, *rule in rules.jumps:
            present = subprocess.run([tool, "-t", "nat", "-C", chain, *rule], capture_output=True)
            if present.returncode != 0:
                subprocess.run([tool, "-t", "nat", "-A", chain, *rule], check=True, capture_output=True)
    except subprocess.CalledProcessError as e:
        raise InterceptionError(f"{e.cmd[0]} failed: {(e.stderr or '').strip()}") from e


def run_proxy_init(argv: list[str]) -> int:
    """Entry point for `meshfleet proxy-init`; returns the process exit status."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        config, ipv6, dry_run = parse_init_args(argv)
        families = [False, True] if ipv6 else [False]
        for fam in families:
            rules = build_rules(config, ipv6=fam)
            if dry_run:
                print(rules.restore_input, end="")
                for chain, *rule in rules.jumps:
                    print(f"# ensure: -t nat -A {chain} {' '.join(rule)}")
                continue
            apply_rules(rules, ipv6=fam)
            log.info("interception rules installed (%s)", "ipv6" if fam else "ipv4")
    except (ConfigError, InterceptionError) as e:
        log.error("%s", e)
        return 1
    return 0
