"""ClusterIP Services and cluster DNS for the node: watch Services and EndpointSlices, program both.

It runs with the ``system:kube-proxy`` identity, which the bootstrap RBAC
policy lets read EndpointSlices (the node identity may not).  Changes are
batched: a burst of events becomes one iptables-restore.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fleet.local.podlet import dnsrecords, netops, svcrules
from fleet.local.podlet.api import Kube, reflect
from fleet.local.podlet.dnsrecords import Records
from fleet.local.podlet.errors import NetworkError
from fleet.local.podlet.naming import NodeNetwork


class ServiceProxy:
    def __init__(self, kube: Kube, net: NodeNetwork, apiserver_port: int, records: Records,
                 log: Callable[[str], None]) -> None:
        self.kube = kube
        self.chains = svcrules.Chains(net.chain_prefix)
        self.apiserver_port = apiserver_port
        self.records = records
        self.log = log
        self.services: dict[str, dict[str, Any]] = {}
        self.slices: dict[str, dict[str, Any]] = {}
        self._changed = asyncio.Event()
        self._existing: frozenset[str] = frozenset()
        self.synced = asyncio.Event()
        self._jumps_installed = False

    @staticmethod
    def _key(obj: dict[str, Any]) -> str:
        return f"{obj['metadata'].get('namespace')}/{obj['metadata']['name']}"

    def _store(self, store: dict[str, dict[str, Any]]) -> tuple[Any, Any]:
        async def on_list(items: list[dict[str, Any]]) -> None:
            store.clear()
            store.update({self._key(o): o for o in items})
            self._changed.set()

        async def on_event(kind: str, obj: dict[str, Any]) -> None:
            if kind == "DELETED":
                store.pop(self._key(obj), None)
            else:
                store[self._key(obj)] = obj
            self._changed.set()
        return on_list, on_event

    async def run(self) -> None:
        self._existing = await asyncio.to_thread(netops.our_nat_chains, self.chains)
        tasks = [
            asyncio.create_task(reflect(self.kube, "/api/v1/services", {}, *self._store(self.services), self.log)),
            asyncio.create_task(reflect(self.kube, "/apis/discovery.k8s.io/v1/endpointslices", {},
                                        *self._store(self.slices), self.log)),
        ]
        try:
            while True:
                await self._changed.wait()
                await asyncio.sleep(0.05)
                self._changed.clear()
                try:
                    await asyncio.to_thread(self.sync)
                    self.synced.set()
                except NetworkError as e:
                    self.log(f"programming services failed: {e}")
                    await asyncio.sleep(1)
                    self._changed.set()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def sync(self) -> None:
        ports: list[svcrules.ServicePort] = []
        endpoints: dict[svcrules.ServicePort, list[svcrules.Endpoint]] = {}
        headless: dict[tuple[str, str], list[str]] = {}
        by_service: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for sl in self.slices.values():
            svc = (sl["metadata"].get("labels") or {}).get("kubernetes.io/service-name")
            if svc:
                by_service.setdefault((sl["metadata"]["namespace"], svc), []).append(sl)
        for svc in self.services.values():
            ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
            sp = svcrules.ports_of_service(svc)
            ports += sp
            if ns == "default" and name == "kubernetes":
                # The apiserver's own Service: its endpoint reconciler is off, so point it at loopback here.
                endpoints.update({p: [svcrules.Endpoint("127.0.0.1", self.apiserver_port)] for p in sp})
                continue
            endpoints.update(svcrules.endpoints_of_slices(sp, by_service.get((ns, name), [])))
            if not sp:
                headless[(ns, name)] = sorted({
                    a for sl in by_service.get((ns, name), []) for ep in sl.get("endpoints") or []
                    if (ep.get("conditions") or {}).get("ready") is not False for a in ep.get("addresses") or []})
        doc = svcrules.render(self.chains, ports, endpoints, self._existing)
        netops.apply_nat(doc)
        if not self._jumps_installed:  # the chains must exist before anything can jump to them
            for table, chain, rule in svcrules.jump_rules(self.chains):
                netops.ensure_rule(table, chain, rule)
            self._jumps_installed = True
        self._existing = frozenset(line[1:].split()[0] for line in doc.splitlines()
                                   if line.startswith(":")) - frozenset(
            line.split()[1] for line in doc.splitlines() if line.startswith("-X "))
        self.records.replace(dnsrecords.build(list(self.services.values()), headless, self.records.domain))
