"""Control-plane benchmark (issue 7): endpoint fan-out to 200 subscribers, injector admission latency, memory.

Run: .venv/bin/python bench/control_plane.py [--subscribers 200] [--workers 4] [--rounds 20] [--pods 200]

One local cluster (control plane only: pods here are API objects, no podlet runs them) in a temp
state directory. Everything listens on 127.0.0.1.

Fan-out: `meshfleet destination` runs as its own process against the cluster, with a destination
leaf and trust anchor made at start. Subscriber processes (`--workers`) each run their share of
`mesh.destination_client.DestinationClient`s, one mTLS stream each, all resolving the same Service
(no selector: the benchmark owns its EndpointSlice, as a controller would). Each round patches the
EndpointSlice with a new endpoint whose address names the round; a subscriber records when it first
sees that round (CLOCK_MONOTONIC, shared by every process on the machine). Reference, same run: a
plain watch on the API server's EndpointSlices from the benchmark process (what destination itself
cannot beat), and the same rounds with a single subscriber.

Injector: `meshfleet injector` runs as its own process; a MutatingWebhookConfiguration (failurePolicy
Fail, a namespace selector) makes the real API server call it for pods of one namespace. Pod creations
alternate between that namespace and one without the webhook; the difference of their latencies is the
admission cost as a user sees it. The injector's own histogram is read as well.

Memory: VmRSS from /proc of each component process (`meshfleet destination`, `meshfleet injector`,
`meshfleet identity`) idle after start and after its load.
"""

# ruff: noqa: ASYNC110, ASYNC220, ASYNC240 - a benchmark driver: its file and process calls are brief and deliberate

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import os
import re
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MESHFLEET = str(Path(sys.executable).parent / "meshfleet")
TICKS = os.sysconf("SC_CLK_TCK")
CLUSTER = "cp"
TRUST_DOMAIN, MESH_NS = "cluster.local", "meshfleet"
SUFFIX = f"serviceaccount.identity.{MESH_NS}.{TRUST_DOMAIN}"
SERVICE_NS = "fanout"
BASE_IP = "10.250.0.1"


# ---- helpers -----------------------------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]  # nearest rank


def load_note() -> str:
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def round_ip(r: int) -> str:
    return f"10.251.{r // 250}.{r % 250 + 1}"


def round_of(address: str) -> int | None:
    parts = address.split(":")[0].split(".")
    if parts[:2] != ["10", "251"]:
        return None
    return int(parts[2]) * 250 + int(parts[3]) - 1


# ---- mesh PKI made at start ----------------------------------------------------------------------------------


def make_pki(root: Path) -> dict[str, Path]:
    """A trust anchor, an issuer and two leaves (destination; a client identity), keys written 0600."""
    from datetime import timedelta

    from mesh.pki import (
        CertificateAuthority,
        IdentityDomain,
        WorkloadIdentity,
        certificates_to_pem,
        create_csr,
        csr_to_pem,
        generate_private_key,
        issue_issuer,
        issue_leaf,
        issue_trust_anchor,
        parse_csr,
        write_file_atomic,
        write_private_key_file,
    )

    root.mkdir(mode=0o700, parents=True)
    now = datetime.now(UTC)
    domain = IdentityDomain(trust_domain=TRUST_DOMAIN, mesh_namespace=MESH_NS)
    anchor_key = generate_private_key()
    anchor = CertificateAuthority(issue_trust_anchor(anchor_key, common_name="bench anchor", now=now,
                                                     lifetime=timedelta(days=1)), anchor_key)
    issuer_key = generate_private_key()
    issuer = CertificateAuthority(issue_issuer(issuer_key.public_key(), anchor, trust_domain=TRUST_DOMAIN,
                                               common_name="bench issuer", now=now), issuer_key,
                                  anchor=anchor.certificate)
    out = {"bundle": root / "bundle.pem"}
    write_file_atomic(out["bundle"], certificates_to_pem([anchor.certificate]), mode=0o644)
    for sa, ns in (("destination", MESH_NS), ("web", SERVICE_NS)):
        who = WorkloadIdentity(namespace=ns, service_account=sa, domain=domain)
        key = generate_private_key()
        issued = issue_leaf(issuer, parse_csr(csr_to_pem(create_csr(key, who))), who, now=now)
        d = root / sa
        d.mkdir(mode=0o700)
        write_private_key_file(d / "key.pem", key)
        write_file_atomic(d / "cert.pem", certificates_to_pem([issued.certificate, *issued.chain]), mode=0o644)
        out[sa] = d
    issuer_dir = root / "issuer"  # for `meshfleet identity`
    issuer_dir.mkdir(mode=0o700)
    write_file_atomic(issuer_dir / "tls.crt", certificates_to_pem([issuer.certificate]), mode=0o644)
    write_private_key_file(issuer_dir / "tls.key", issuer_key)
    write_file_atomic(issuer_dir / "ca.crt", certificates_to_pem([anchor.certificate]), mode=0o644)
    out["issuer"] = issuer_dir
    return out


# ---- subscriber worker (its own process) ------------------------------------------------------------------


def worker_main(args: argparse.Namespace) -> None:
    """Run ``--count`` destination clients; on SIGTERM write {client: {round: first seen}} to ``--out``."""
    from mesh.destination_client import Backoff, ClientConfig, DestinationClient
    from mesh.proxy.identity import IdentityMaterial, TlsContexts

    pki = Path(args.pki)
    material = IdentityMaterial(f"web.{SERVICE_NS}.{SUFFIX}", (pki / "web" / "cert.pem").read_bytes(),
                                pki / "web" / "key.pem", (pki / "bundle.pem").read_bytes())
    tls = TlsContexts(material).client
    seen: dict[int, dict[int, float]] = {i: {} for i in range(args.count)}
    first: set[int] = set()

    def listener(i: int) -> Any:
        def on_update(resolution: Any) -> None:
            now = time.monotonic()
            if resolution is None:
                return
            for e in resolution.endpoints:
                if e.address.startswith(BASE_IP):
                    first.add(i)
                r = round_of(e.address)
                if r is not None:
                    seen[i].setdefault(r, now)
        return on_update

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        clients = [DestinationClient(ClientConfig(("127.0.0.1", args.port), f"destination.{MESH_NS}.{SUFFIX}",
                                                  backoff=Backoff(0.05, 1.0), silence_timeout=60.0), lambda: tls)
                   for _ in range(args.count)]
        tasks = [asyncio.create_task(c.run()) for c in clients]
        for i, c in enumerate(clients):
            c.resolve(args.target, listener(i))
        while len(first) < args.count and not stop.is_set():
            await asyncio.sleep(0.05)
        Path(args.out + ".ready").write_text(str(len(first)))
        await stop.wait()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        Path(args.out).write_text(json.dumps({str(k): v for k, v in seen.items()}))

    asyncio.run(run())


# ---- components as processes --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def component(name: str, argv: list[str], admin: int, log: Path) -> AsyncIterator[subprocess.Popen[bytes]]:
    import aiohttp

    with log.open("wb") as out:
        proc = subprocess.Popen([MESHFLEET, name, *argv, "--admin-listen", f"127.0.0.1:{admin}",
                                 "--log-level", "warning"], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as s:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"meshfleet {name} exited: {log.read_text()[-2000:]}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with s.get(f"http://127.0.0.1:{admin}/ready") as r:
                        if r.status == 200:
                            break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"meshfleet {name} not ready in 60 s: {log.read_text()[-2000:]}")
                await asyncio.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def scrape(port: int) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/metrics") as r:
        return await r.text()


# ---- fan-out ---------------------------------------------------------------------------------------------------


def endpoint_slice(r: int) -> dict[str, Any]:
    addresses = [BASE_IP] + ([round_ip(r)] if r > 0 else [])
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "api-1", "labels": {"kubernetes.io/service-name": "api"}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addresses]}


async def apiserver_watch(kube: Any, seen: dict[int, float]) -> None:
    """Reference: when the API server's own watch delivers each round's EndpointSlice change."""
    listing = await kube.request("GET", f"/apis/discovery.k8s.io/v1/namespaces/{SERVICE_NS}/endpointslices")
    rv = str(listing["metadata"]["resourceVersion"])
    async for _type, obj in kube.watch(f"/apis/discovery.k8s.io/v1/namespaces/{SERVICE_NS}/endpointslices", {}, rv):
        now = time.monotonic()
        for ep in obj.get("endpoints") or []:
            for a in ep["addresses"]:
                r = round_of(a)
                if r is not None:
                    seen.setdefault(r, now)


async def fanout(kube: Any, tmp: Path, pki: Path, port: int, dest_pid: int, subscribers: int, workers: int,
                 rounds: int, first_round: int, spacing: float) -> dict[str, Any]:
    per = [subscribers // workers + (1 if i < subscribers % workers else 0) for i in range(workers)]
    procs, outs = [], []
    target = f"api.{SERVICE_NS}.svc.cluster.local:8080"
    for w, count in enumerate(per):
        out = tmp / f"sub-{first_round}-{w}.json"
        outs.append(out)
        procs.append(subprocess.Popen([sys.executable, __file__, "--worker", "--port", str(port), "--count",
                                       str(count), "--target", target, "--pki", str(pki), "--out", str(out)],
                                      stdin=subprocess.DEVNULL))
    try:
        deadline = time.monotonic() + 120
        while not all(Path(str(o) + ".ready").exists() for o in outs):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError("subscribers did not all get their first answer")
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)
        rss_idle = rss_mib(dest_pid)
        watched: dict[int, float] = {}
        watch_task = asyncio.create_task(apiserver_watch(kube, watched))
        await asyncio.sleep(1)
        sent: dict[int, float] = {}
        cpu0 = cpu_seconds(dest_pid)
        sub_cpu0 = sum(cpu_seconds(p.pid) for p in procs)
        path = f"/apis/discovery.k8s.io/v1/namespaces/{SERVICE_NS}/endpointslices/api-1"
        for r in range(first_round, first_round + rounds):
            sent[r] = time.monotonic()
            await kube.merge_patch(path, {"endpoints": endpoint_slice(r)["endpoints"]})
            await asyncio.sleep(spacing)
        await asyncio.sleep(2)
        cpu = cpu_seconds(dest_pid) - cpu0
        sub_cpu = sum(cpu_seconds(p.pid) for p in procs) - sub_cpu0
        rss_loaded = rss_mib(dest_pid)
        watch_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watch_task
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
    seen: dict[str, dict[str, float]] = {}
    for w, out in enumerate(outs):
        for k, v in json.loads(out.read_text()).items():
            seen[f"{w}-{k}"] = v
    all_updated, each, missing = [], [], 0
    for r in sent:
        latest = 0.0
        for rounds_seen in seen.values():
            # A client that skipped a round (coalesced into a later update) got it with the later one.
            later = [t for rr, t in ((int(k), t) for k, t in rounds_seen.items()) if rr >= r]
            if not later:
                missing += 1
                continue
            lat = min(later) - sent[r]
            each.append(lat)
            latest = max(latest, lat)
        all_updated.append(latest)
    ref = [watched[r] - sent[r] for r in sent if r in watched]
    return {"subscribers": subscribers, "rounds": len(sent), "all": all_updated, "each": each, "missing": missing,
            "watch": ref, "cpu": cpu, "sub_cpu": sub_cpu, "rss_idle": rss_idle, "rss_loaded": rss_loaded}


def report_fanout(res: dict[str, Any]) -> None:
    a, e, w = res["all"], res["each"], res["watch"]
    print(f"{res['subscribers']} subscriber(s), {res['rounds']} EndpointSlice patches: time until every subscriber "
          f"had the change: p50 {statistics.median(a) * 1000:.0f} ms, p99 {pct(a, 99) * 1000:.0f} ms, "
          f"max {max(a) * 1000:.0f} ms")
    print(f"  per subscriber update: p50 {statistics.median(e) * 1000:.0f} ms, p99 {pct(e, 99) * 1000:.0f} ms "
          f"({len(e)} updates, {res['missing']} never seen)")
    if w:
        print(f"  reference, the API server's own watch to this process: p50 {statistics.median(w) * 1000:.0f} ms, "
              f"p99 {pct(w, 99) * 1000:.0f} ms")
    print(f"  destination CPU during the patches {res['cpu']:.2f} s "
          f"({res['cpu'] / res['rounds'] * 1000:.0f} ms per change), subscriber processes "
          f"{res['sub_cpu'] / res['rounds'] * 1000:.0f} ms per change; "
          f"resident memory {res['rss_idle']:.1f} MiB before, {res['rss_loaded']:.1f} MiB after")


# ---- injector ----------------------------------------------------------------------------------------------


async def admission(kube: Any, api_ssl: ssl.SSLContext, port: int, ca: bytes, admin: int, pods: int, inj_pid: int
                    ) -> dict[str, Any]:
    for name, labels in (("inj-on", {"meshfleet.io/inject": "enabled"}), ("inj-off", {})):
        await kube.create("/api/v1/namespaces", {"metadata": {"name": name, "labels": labels}})
    hook = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": "bench-injector"},
            "webhooks": [{"name": "proxy-injector.meshfleet.io", "admissionReviewVersions": ["v1"],
                          "sideEffects": "None", "failurePolicy": "Fail", "timeoutSeconds": 5,
                          "reinvocationPolicy": "Never",
                          "clientConfig": {"url": f"https://127.0.0.1:{port}/inject",
                                           "caBundle": base64.b64encode(ca).decode()},
                          "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "inj-on"}},
                          "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                                     "resources": ["pods"]}]}]}
    await kube.create("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", hook)

    def pod(name: str) -> dict[str, Any]:
        return {"metadata": {"name": name}, "spec": {"automountServiceAccountToken": False,
                                                     "containers": [{"name": "app", "image": "example.invalid/x:1"}]}}

    async def create(ns: str, name: str, spec: dict[str, Any] | None = None) -> tuple[float, dict[str, Any] | None]:
        body = pod(name) if spec is None else {"metadata": {"name": name}, "spec": spec}
        t0 = time.perf_counter()
        try:
            obj = await kube.create(f"/api/v1/namespaces/{ns}/pods", body)
        except Exception:  # the configuration takes a moment to reach the admission chain
            return time.perf_counter() - t0, None
        return time.perf_counter() - t0, obj

    # Warm up until the API server calls the webhook (and both namespaces' ServiceAccounts exist).
    deadline = time.monotonic() + 60
    i = 0
    while True:
        i += 1
        _, obj = await create("inj-on", f"warm-{i}")
        if obj is not None and any(c["name"] == "meshfleet-proxy" for c in obj["spec"].get("initContainers") or []):
            injected_spec = obj["spec"]  # the reference below creates pods of this shape without the webhook
            break
        if time.monotonic() > deadline:
            raise RuntimeError("the API server never called the injector")
        await asyncio.sleep(0.3)
    for j in range(20):
        await create("inj-on", f"warm2-{j}")
        await create("inj-off", f"warm2-{j}")
        await create("inj-off", f"warm3-{j}", injected_spec)
    before, api_before = await scrape(admin), await apiserver_metrics(kube, api_ssl)
    on, off, big, injected = [], [], [], 0
    cpu0 = cpu_seconds(inj_pid)
    for j in range(pods):
        t, obj = await create("inj-on", f"p-{j}")
        on.append(t)
        injected += bool(obj and any(c["name"] == "meshfleet-proxy" for c in obj["spec"].get("initContainers") or []))
        t, _ = await create("inj-off", f"p-{j}")
        off.append(t)
        t, made = await create("inj-off", f"big-{j}", injected_spec)
        if made is not None:
            big.append(t)
    cpu = cpu_seconds(inj_pid) - cpu0
    after, api_after = await scrape(admin), await apiserver_metrics(kube, api_ssl)
    webhook = 'name="proxy-injector.meshfleet.io"'
    return {"on": on, "off": off, "big": big, "injected": injected, "pods": pods, "cpu": cpu,
            "hist": hist_delta(before, after, "injector_review_duration_seconds"),
            "api": hist_delta(api_before, api_after, "apiserver_admission_webhook_admission_duration_seconds",
                              webhook)}


async def apiserver_metrics(kube: Any, ctx: ssl.SSLContext) -> str:
    async with kube.session.get(kube.server + "/metrics", ssl=ctx) as r:
        return str(await r.text())


def hist_delta(before: str, after: str, name: str, labels: str = "") -> dict[float, float]:
    """Bucket counts of histogram ``name`` added between two scrapes (``labels``: a regex of the other labels)."""
    def buckets(text: str) -> dict[float, float]:
        out: dict[float, float] = {}
        for line in text.splitlines():
            m = re.match(rf'^{name}_bucket\{{(.*)\}} (\S+)$', line)
            if not m or not re.search(labels, m.group(1)):
                continue
            le = re.search(r'le="([^"]+)"', m.group(1))
            assert le is not None
            out[float(le.group(1))] = out.get(float(le.group(1)), 0.0) + float(m.group(2))
        return out
    b, a = buckets(before), buckets(after)
    return {le: a[le] - b.get(le, 0.0) for le in sorted(a)}


def report_admission(res: dict[str, Any]) -> None:
    on, off = res["on"], res["off"]
    print(f"pod create through the real API server, {res['pods']} each, alternating "
          f"({res['injected']}/{res['pods']} injected):")
    for label, v in (("with the injector webhook", on), ("reference, no webhook", off),
                     ("reference, no webhook, the injected pod's spec as input", res["big"])):
        print(f"  {label}: p50 {statistics.median(v) * 1000:.1f} ms, p99 {pct(v, 99) * 1000:.1f} ms, "
              f"max {max(v) * 1000:.1f} ms")
    print(f"  added by admission: p50 {(statistics.median(on) - statistics.median(off)) * 1000:.1f} ms, "
          f"p99 {(pct(on, 99) - pct(off, 99)) * 1000:.1f} ms")
    for label, h in (("the API server's webhook call (apiserver_admission_webhook_admission_duration_seconds)",
                      res["api"]),
                     ("the injector's own answer time (injector_review_duration_seconds)", res["hist"])):
        total = h.get(float("inf"), 0.0)
        if total:
            shares = ", ".join(f"<= {le * 1000:g} ms {v / total * 100:.1f} %" for le, v in h.items()
                               if le != float("inf") and le <= 0.25)
            print(f"  {label}, {total:.0f} calls: {shares}")
    print(f"  injector CPU {res['cpu'] / res['pods'] * 1000:.2f} ms per injected pod")


# ---- main -------------------------------------------------------------------------------------------------


async def bench(tmp: Path, args: argparse.Namespace) -> None:
    from fleet.local.certs import ClusterPKI
    from fleet.local.fleet import LocalFleet
    from fleet.local.podlet.api import Kube

    fleet = LocalFleet(tmp / "local", lambda m: print(f"  [local] {m}", file=sys.stderr), podlets=False)
    memory: list[tuple[str, float, float]] = []
    try:
        rows = await fleet.up((CLUSTER,))
        assert all(r.ready for r in rows), rows
        kubeconfig = str(fleet.kubeconfig_path(CLUSTER))
        paths = fleet.state.cluster_paths(CLUSTER)
        api_ssl = ssl.create_default_context(cafile=str(paths.pki.ca.cert))
        api_ssl.load_cert_chain(str(paths.pki.pair("admin").cert), str(paths.pki.pair("admin").key))
        pki = make_pki(tmp / "pki")
        async with Kube(fleet.state.clusters[CLUSTER].api_url, paths.pki.ca.cert, paths.pki.pair("admin").cert,
                        paths.pki.pair("admin").key) as kube:
            await kube.create("/api/v1/namespaces", {"metadata": {"name": SERVICE_NS}})
            await kube.create(f"/api/v1/namespaces/{SERVICE_NS}/services",
                              {"metadata": {"name": "api"}, "spec": {"ports": [{"name": "http", "port": 8080}]}})
            await kube.create(f"/apis/discovery.k8s.io/v1/namespaces/{SERVICE_NS}/endpointslices", endpoint_slice(0))

            # -- destination
            port, admin = free_port(), free_port()
            argv = ["--listen", f"127.0.0.1:{port}", "--kubeconfig", kubeconfig, "--identity-dir",
                    str(pki["destination"]), "--trust-bundle", str(pki["bundle"]), "--heartbeat", "10"]
            async with component("destination", argv, admin, tmp / "destination.log") as dest:
                await asyncio.sleep(2)
                dest_idle = rss_mib(dest.pid)
                single = await fanout(kube, tmp, tmp / "pki", port, dest.pid, 1, 1, args.rounds // 2, 1,
                                      args.spacing)
                many = await fanout(kube, tmp, tmp / "pki", port, dest.pid, args.subscribers, args.workers,
                                    args.rounds, 1000, args.spacing)
                memory.append(("destination", dest_idle, rss_mib(dest.pid)))
            # -- injector
            wpki = ClusterPKI(tmp / "webhook-pki")
            wpki.ensure("webhook", "10.0.0.1")  # its "apiserver" pair is a serving cert for 127.0.0.1
            pair = wpki.pair("apiserver")
            tls_dir = tmp / "tls"
            tls_dir.mkdir(mode=0o700)
            (tls_dir / "tls.crt").write_bytes(pair.cert.read_bytes())
            fd = os.open(tls_dir / "tls.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pair.key.read_bytes())
            proxy_config = tmp / "proxy-config.json"
            proxy_config.write_text(json.dumps({"image": "ghcr.io/meshfleet/meshfleet:0.1.0"}))
            port, admin = free_port(), free_port()
            argv = ["--listen", f"127.0.0.1:{port}", "--tls-dir", str(tls_dir), "--proxy-config", str(proxy_config),
                    "--kubeconfig", kubeconfig]
            async with component("injector", argv, admin, tmp / "injector.log") as inj:
                await asyncio.sleep(2)
                inj_idle = rss_mib(inj.pid)
                adm = await admission(kube, api_ssl, port, wpki.ca.cert.read_bytes(), admin, args.pods, inj.pid)
                memory.append(("injector", inj_idle, rss_mib(inj.pid)))
        # -- identity (idle only: its load is bench/identity_certify.py)
        port, admin = free_port(), free_port()
        argv = ["--listen", f"127.0.0.1:{port}", "--issuer-dir", str(pki["issuer"]), "--kubeconfig", kubeconfig]
        async with component("identity", argv, admin, tmp / "identity.log") as ident:
            await asyncio.sleep(2)
            memory.append(("identity", rss_mib(ident.pid), float("nan")))
    finally:
        await fleet.down()

    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, {load_note()}")
    report_fanout(single)
    report_fanout(many)
    report_admission(adm)
    print("resident memory (VmRSS, MiB): component, idle 2 s after ready, after its load")
    for name, idle, loaded in memory:
        print(f"  meshfleet {name:<12} {idle:6.1f} {loaded:6.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=200)
    ap.add_argument("--workers", type=int, default=4, help="subscriber processes")
    ap.add_argument("--rounds", type=int, default=20, help="EndpointSlice patches (half as many for 1 subscriber)")
    ap.add_argument("--spacing", type=float, default=1.5, help="seconds between patches")
    ap.add_argument("--pods", type=int, default=200, help="pod creations with and without the webhook, each")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--target", help=argparse.SUPPRESS)
    ap.add_argument("--pki", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker_main(args)
        return
    print(f"start: {load_note()}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="mf-bench-cp-") as d:
        asyncio.run(bench(Path(d), args))


if __name__ == "__main__":
    main()
