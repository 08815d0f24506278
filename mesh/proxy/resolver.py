"""Resolution of outbound targets, and the file-backed resolver.

The data path only knows the ``Resolver`` protocol: subscribe to a target
(an authority like ``web.shop.svc.cluster.local:8080`` or an ``ip:port``)
and be called with every new ``Resolution`` (or None once it is gone). A
client of the destination service implements the same protocol later.

``ServiceTable`` is the pure part of the file resolver: a parsed file.
``FileResolver`` re-reads the file when it changes and keeps the last good
table when an edit is invalid.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import yaml

from .errors import ResolverConfigError
from .services import (
    Endpoint,
    Resolution,
    ServiceConfig,
    Timeouts,
    parse_retry,
    parse_timeouts,
    split_address,
)

log = logging.getLogger(__name__)

UpdateCallback = Callable[[Resolution | None], None]


class Subscription(Protocol):
    def cancel(self) -> None: ...


class Resolver(Protocol):
    def resolve(self, target: str, on_update: UpdateCallback) -> Subscription:
        """Call ``on_update`` now with what is known, then on every change, until cancelled."""
        ...


@dataclass(frozen=True, slots=True)
class ServiceTable:
    services: tuple[ServiceConfig, ...]
    endpoints: Mapping[str, tuple[Endpoint, ...]]  # by service name

    def lookup(self, target: str) -> Resolution | None:
        for svc in self.services:
            if target == svc.name or target in svc.addresses:
                return Resolution(target, svc, self.endpoints[svc.name])
        # A pod address: resolve to that single endpoint so its identity is known.
        for svc in self.services:
            for ep in self.endpoints[svc.name]:
                if ep.address == target:
                    return Resolution(target, svc, (ep,))
        return None


EMPTY_TABLE = ServiceTable((), {})


def _parse_endpoint(raw: object, where: str) -> Endpoint:
    if not isinstance(raw, Mapping):
        raise ResolverConfigError(f"{where}: expected a mapping")
    unknown = set(raw) - {"address", "identity", "weight", "proxy_port", "labels", "remote"}
    if unknown:
        raise ResolverConfigError(f"{where}: unknown keys {sorted(unknown)}")
    address = raw.get("address")
    if not isinstance(address, str):
        raise ResolverConfigError(f"{where}.address: required, host:port")
    host, port = split_address(address, f"{where}.address")
    identity = raw.get("identity")
    if identity is not None and (not isinstance(identity, str) or not identity):
        raise ResolverConfigError(f"{where}.identity: expected a name")
    weight = raw.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        raise ResolverConfigError(f"{where}.weight: expected a non-negative number")
    proxy_port = raw.get("proxy_port")
    if proxy_port is not None and (not isinstance(proxy_port, int) or not 0 < proxy_port <= 65535):
        raise ResolverConfigError(f"{where}.proxy_port: expected a port number")
    labels_raw = raw.get("labels") or {}
    if not isinstance(labels_raw, Mapping):
        raise ResolverConfigError(f"{where}.labels: expected a mapping")
    labels = tuple(sorted((str(k), str(v)) for k, v in labels_raw.items()))
    remote = raw.get("remote")
    if remote is not None:
        if not isinstance(remote, str) or not identity:
            raise ResolverConfigError(f"{where}.remote: expected host:port, on an endpoint with an identity")
        split_address(remote, f"{where}.remote")
    return Endpoint(host, port, identity, float(weight), proxy_port, labels, remote)


def parse_services(data: object, source: str, default_timeouts: Timeouts | None = None) -> ServiceTable:
    """Turn a decoded resolver file into a table; errors name ``source`` and the field."""
    defaults = default_timeouts or Timeouts()
    if not isinstance(data, Mapping) or not isinstance(data.get("services", []), list):
        raise ResolverConfigError(f"{source}: expected a mapping with a 'services' list")
    services: list[ServiceConfig] = []
    endpoints: dict[str, tuple[Endpoint, ...]] = {}
    for i, raw in enumerate(data.get("services") or []):
        where = f"{source}: services[{i}]"
        if not isinstance(raw, Mapping):
            raise ResolverConfigError(f"{where}: expected a mapping")
        unknown = set(raw) - {
            "name",
            "namespace",
            "service",
            "addresses",
            "timeouts",
            "retry",
            "opaque",
            "endpoints",
        }
        if unknown:
            raise ResolverConfigError(f"{where}: unknown keys {sorted(unknown)}")
        name = raw.get("name")
        if not isinstance(name, str):
            raise ResolverConfigError(f"{where}.name: required, host:port")
        split_address(name, f"{where}.name")
        if name in endpoints:
            raise ResolverConfigError(f"{where}.name: {name!r} listed twice")
        addresses = raw.get("addresses") or []
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            raise ResolverConfigError(f"{where}.addresses: expected a list of host:port")
        for a in addresses:
            split_address(a, f"{where}.addresses")
        eps_raw = raw.get("endpoints") or []
        if not isinstance(eps_raw, list):
            raise ResolverConfigError(f"{where}.endpoints: expected a list")
        eps = tuple(_parse_endpoint(e, f"{where}.endpoints[{j}]") for j, e in enumerate(eps_raw))
        services.append(
            ServiceConfig(
                name=name,
                namespace=str(raw.get("namespace", "")),
                service=str(raw.get("service", "")),
                addresses=tuple(addresses),
                timeouts=parse_timeouts(raw.get("timeouts"), f"{where}.timeouts", defaults),
                retry=parse_retry(raw.get("retry"), f"{where}.retry"),
                opaque=bool(raw.get("opaque", False)),
            )
        )
        endpoints[name] = eps
    return ServiceTable(tuple(services), endpoints)


def load_service_file(path: Path, default_timeouts: Timeouts | None = None) -> ServiceTable:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ResolverConfigError(f"{path}: cannot read: {e.strerror}") from e
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as e:
        raise ResolverConfigError(f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {e}") from e
    return parse_services(data, str(path), default_timeouts)


class _FileSubscription:
    def __init__(self, owner: FileResolver, target: str, callback: UpdateCallback) -> None:
        self._owner = owner
        self.target = target
        self.callback = callback
        self.last: Resolution | None = None

    def cancel(self) -> None:
        self._owner._subs.discard(self)


class FileResolver:
    """Serves a resolver file; ``watch`` polls it for changes."""

    def __init__(self, path: Path, default_timeouts: Timeouts | None = None) -> None:
        self._path = path
        self._defaults = default_timeouts
        self._table = load_service_file(path, default_timeouts)
        self._stamp = self._file_stamp()
        self._subs: set[_FileSubscription] = set()

    def _file_stamp(self) -> tuple[float, int] | None:
        try:
            st = os.stat(self._path)
        except OSError:
            return None
        return (st.st_mtime, st.st_size)

    @property
    def table(self) -> ServiceTable:
        return self._table

    def resolve(self, target: str, on_update: UpdateCallback) -> Subscription:
        sub = _FileSubscription(self, target, on_update)
        self._subs.add(sub)
        sub.last = self._table.lookup(target)
        on_update(sub.last)
        return sub

    def reload(self) -> bool:
        """Re-read the file if it changed; returns whether a new table is in force."""
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            table = load_service_file(self._path, self._defaults)
        except ResolverConfigError as e:
            log.warning("keeping the previous resolver table: %s", e)
            return False
        self._table = table
        for sub in list(self._subs):
            fresh = table.lookup(sub.target)
            if fresh != sub.last:
                sub.last = fresh
                sub.callback(fresh)
        return True

    async def watch(self, interval: float = 1.0) -> None:
        while True:
            await asyncio.sleep(interval)
            self.reload()
