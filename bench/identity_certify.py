"""Identity service benchmark: certify throughput, p50/p99 latency and resident memory.

Run: .venv/bin/python bench/identity_certify.py [--requests 1000] [--clients 50]

Starts one real local cluster (so TokenRequest and TokenReview are real), creates one
ServiceAccount per client and mints each a bound token (audience identity.meshfleet.io),
generates every CSR up front, then runs `meshfleet identity` as its own process so its
resident memory can be read from /proc.  Three measurements in one run:

1. certify through the service with its TokenReview cache (the default: a positive verdict is
   kept for at most 10 s and never beyond the token's expiry);
2. the same with the cache turned off (--token-cache-seconds 0), so every request costs a
   TokenReview;
3. the reference: raw TokenReview calls to the same kube-apiserver, same tokens, same concurrency.

Each client holds one keep-alive HTTPS connection; its TLS handshake is inside the timed run.
The cluster and the service are stopped at the end, also on error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import ssl
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from cryptography import x509

from fleet.local.fleet import LocalFleet
from mesh.control.identity import (
    TOKEN_AUDIENCE,
    Certifier,
    KubeApi,
    KubernetesTokenReviewer,
    TokenBuckets,
    TokenReview,
    load_kubeconfig,
    parse_certify_request,
)
from mesh.pki import (
    CertificateAuthority,
    IdentityDomain,
    WorkloadIdentity,
    certificates_to_pem,
    create_csr,
    csr_to_pem,
    generate_private_key,
    issue_issuer,
    issue_trust_anchor,
    verify_chain,
    write_file_atomic,
    write_private_key_file,
)

DOMAIN = IdentityDomain(trust_domain="cluster.local", mesh_namespace="meshfleet")
NAMESPACE = "bench"
MIB = 1024 * 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")
MESHFLEET = Path(sys.executable).with_name("meshfleet")


@dataclass(frozen=True, slots=True)
class Run:
    """One load run: wall time, per-request latencies (s) and the status of every answer."""

    label: str
    wall_s: float
    latencies: tuple[float, ...]
    statuses: Counter[int | str]

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0) + self.statuses.get(201, 0)

    def line(self) -> str:
        lat = sorted(self.latencies)
        p50 = lat[len(lat) // 2] * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        return (f"{self.label:<34} {self.ok / self.wall_s:7.0f}/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
                f"wall {self.wall_s:5.2f} s  answers {dict(self.statuses)}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _proc_rss(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(rest.split()[0]) * 1024
    return fields["VmRSS"], fields["VmHWM"]


def _proc_cpu_s(pid: int) -> float:
    # Fields after the parenthesised command name; utime and stime are the 12th and 13th of those.
    rest = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


# --- cluster set-up -------------------------------------------------------------------------

async def _prepare_cluster(kubeconfig: str, clients: int) -> list[tuple[WorkloadIdentity, str]]:
    """One ServiceAccount per client and a bound token for each (TokenRequest, 1 h)."""
    api = KubeApi(load_kubeconfig(Path(kubeconfig)), timeout=30)

    async def post(path: str, body: dict[str, Any]) -> Any:
        status, answer = await api.post(path, body)
        if status not in (200, 201):
            raise RuntimeError(f"POST {path}: HTTP {status}: {answer}")
        return answer

    async def account(i: int) -> tuple[WorkloadIdentity, str]:
        who = WorkloadIdentity(namespace=NAMESPACE, service_account=f"sa-{i:03d}", domain=DOMAIN)
        base = f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts"
        await post(base, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": who.service_account}})
        answer = await post(f"{base}/{who.service_account}/token", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": [TOKEN_AUDIENCE], "expirationSeconds": 3600}})
        return who, str(answer["status"]["token"])

    try:
        await post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        return list(await asyncio.gather(*(account(i) for i in range(clients))))
    finally:
        await api.close()


def _write_issuer(directory: Path) -> CertificateAuthority:
    """A fresh anchor and issuer; the issuer's key file is written 0600.  Returns the anchor."""
    now = datetime.now(UTC)
    anchor_key = generate_private_key()
    anchor = CertificateAuthority(issue_trust_anchor(anchor_key, common_name="bench anchor", now=now), anchor_key)
    issuer_key = generate_private_key()
    issuer_cert = issue_issuer(issuer_key.public_key(), anchor, trust_domain=DOMAIN.trust_domain,
                               common_name="bench issuer", now=now)
    directory.mkdir(mode=0o700)
    write_file_atomic(directory / "tls.crt", certificates_to_pem([issuer_cert]), mode=0o644)
    write_private_key_file(directory / "tls.key", issuer_key)
    write_file_atomic(directory / "ca.crt", certificates_to_pem([anchor.certificate]), mode=0o644)
    return anchor


# --- the identity service as a child process ------------------------------------------------

@dataclass(frozen=True, slots=True)
class Service:
    pid: int
    port: int


@contextlib.asynccontextmanager
async def identity_process(issuer_dir: Path, kubeconfig: str, cache_seconds: float) -> AsyncIterator[Service]:
    port, admin = _free_port(), _free_port()
    argv = [str(MESHFLEET), "identity", "--listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin}",
            "--issuer-dir", str(issuer_dir), "--kubeconfig", kubeconfig,
            "--token-cache-seconds", str(cache_seconds), "--log-level", "warning"]
    proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as s:
            while True:
                if proc.returncode is not None:
                    raise RuntimeError(f"meshfleet identity exited with {proc.returncode}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with s.get(f"http://127.0.0.1:{admin}/ready") as r:
                        if r.status == 200:
                            break
                if time.monotonic() > deadline:
                    raise RuntimeError("meshfleet identity did not become ready within 30 s")
                await asyncio.sleep(0.1)
        yield Service(proc.pid, port)
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


# --- load ------------------------------------------------------------------------------------

async def _load(label: str, requests: int, clients: int,
                make_worker: Callable[[int], Awaitable[Callable[[int], Awaitable[int | str]]]],
                ) -> Run:
    """`clients` workers share `requests` requests; each worker gets its own connection."""
    senders = [await make_worker(i) for i in range(clients)]
    latencies: list[float] = []
    statuses: Counter[int | str] = Counter()
    start_line = asyncio.Event()

    async def worker(i: int) -> None:
        await start_line.wait()
        for n in range(i, requests, clients):
            t0 = time.perf_counter()
            statuses[await senders[i](n)] += 1
            latencies.append(time.perf_counter() - t0)

    tasks = [asyncio.create_task(worker(i)) for i in range(clients)]
    t0 = time.perf_counter()
    start_line.set()
    await asyncio.gather(*tasks)
    return Run(label, time.perf_counter() - t0, tuple(latencies), statuses)


async def certify_load(label: str, service: Service, anchor: CertificateAuthority,
                       accounts: Sequence[tuple[WorkloadIdentity, str]], csrs: Sequence[str],
                       requests: int, clients: int) -> tuple[Run, dict[str, Any]]:
    ctx = ssl.create_default_context(cadata=certificates_to_pem([anchor.certificate]).decode())
    hostname = WorkloadIdentity(namespace=DOMAIN.mesh_namespace, service_account="identity",
                                domain=DOMAIN).dns_name
    url = f"https://127.0.0.1:{service.port}/v1/certify"
    sessions: list[aiohttp.ClientSession] = []
    sample: dict[str, Any] = {}

    async def make(i: int) -> Callable[[int], Awaitable[int | str]]:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1, ssl=ctx))
        sessions.append(session)
        who, token = accounts[i]
        bodies = {n: {"identity": who.dns_name, "csr": csrs[n], "token": token} for n in range(i, requests, clients)}

        async def send(n: int) -> int | str:
            try:
                async with session.post(url, json=bodies[n], server_hostname=hostname) as resp:
                    answer = await resp.json()
            except (aiohttp.ClientError, TimeoutError) as e:
                return type(e).__name__
            if resp.status == 200 and not sample:
                sample.update(answer, identity=who.dns_name)
            return resp.status

        return send

    try:
        run = await _load(label, requests, clients, make)
    finally:
        for s in sessions:
            await s.close()
    return run, sample


async def tokenreview_load(kubeconfig: str, accounts: Sequence[tuple[WorkloadIdentity, str]],
                           requests: int, clients: int) -> Run:
    """The reference: the same API server's TokenReview, no cache, through the service's own client."""
    apis: list[KubeApi] = []

    async def make(i: int) -> Callable[[int], Awaitable[int | str]]:
        api = KubeApi(load_kubeconfig(Path(kubeconfig)))
        apis.append(api)
        reviewer = KubernetesTokenReviewer(api)
        token = accounts[i][1]

        async def send(_n: int) -> int | str:
            review = await reviewer.review(token, (TOKEN_AUDIENCE,))
            return 200 if review.authenticated else "refused"

        return send

    try:
        return await _load("raw TokenReview (reference)", requests, clients, make)
    finally:
        for api in apis:
            await api.close()


async def _pure_certify_ms(
    accounts: Sequence[tuple[WorkloadIdentity, str]], csrs: Sequence[str], clients: int
) -> float:
    """CPU per request of the pure core (parse, checks, rate limit, issue) with a stub TokenReview.

    Splits the service's per-request cost into the certificate work and everything around it
    (HTTP, TLS, JSON, metrics, the TokenReview client).
    """
    anchor_key, issuer_key = generate_private_key(), generate_private_key()
    now = datetime.now(UTC)
    anchor = CertificateAuthority(issue_trust_anchor(anchor_key, common_name="a", now=now), anchor_key)
    issuer = CertificateAuthority(issue_issuer(issuer_key.public_key(), anchor, trust_domain=DOMAIN.trust_domain,
                                               common_name="i", now=now), issuer_key, anchor=anchor.certificate)

    class Stub:
        async def review(self, token: str, audiences: tuple[str, ...]) -> TokenReview:
            who = next(w for w, t in accounts if t == token)
            return TokenReview(True, who.service_account_username, audiences)

    certifier = Certifier(domain=DOMAIN, reviewer=Stub(), issuer=lambda: issuer,
                          limiter=TokenBuckets(rate=1e9, burst=10**9))
    bodies = [json.dumps({"identity": accounts[n % clients][0].dns_name, "csr": csr,
                          "token": accounts[n % clients][1]}).encode() for n, csr in enumerate(csrs)]

    async def run() -> float:
        t0 = time.process_time()
        for body in bodies:
            await certifier.certify(parse_certify_request(body))
        return (time.process_time() - t0) / len(bodies) * 1e3

    return await run()


def _check_leaf(sample: dict[str, Any], anchor: CertificateAuthority) -> str:
    leaf = x509.load_pem_x509_certificate(sample["certificate"].encode())
    chain = [x509.load_pem_x509_certificate(c.encode()) for c in sample["chain"]]
    verify_chain(leaf, [anchor.certificate], intermediates=chain, now=datetime.now(UTC))
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    if san.get_values_for_type(x509.DNSName) != [sample["identity"]]:
        raise AssertionError(f"leaf SAN {san} does not name {sample['identity']}")
    life = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    return f"sample leaf chains to the anchor, SAN {sample['identity']}, lifetime {life}"


async def bench(state: Path, requests: int, clients: int) -> None:
    fleet = LocalFleet(state, lambda m: print(f"[local] {m}", file=sys.stderr))
    try:
        t0 = time.monotonic()
        rows = await fleet.up(("bench",))
        kubeconfig = rows[0].kubeconfig
        print(f"cluster up in {time.monotonic() - t0:.1f} s")
        t0 = time.monotonic()
        accounts = await _prepare_cluster(kubeconfig, clients)
        anchor = _write_issuer(state / "issuer")
        csrs = []
        for n in range(requests):
            who = accounts[n % clients][0]
            csrs.append(csr_to_pem(create_csr(generate_private_key(), who)))
        print(f"{clients} ServiceAccounts, {clients} tokens, {requests} CSRs prepared in {time.monotonic() - t0:.1f} s")

        apiserver = rows[0].pids["kube-apiserver"]
        core_ms = await _pure_certify_ms(accounts, csrs, clients)

        async with identity_process(state / "issuer", kubeconfig, cache_seconds=10.0) as svc:
            await asyncio.sleep(2)
            idle, _ = _proc_rss(svc.pid)
            cpu0, api0 = _proc_cpu_s(svc.pid), _proc_cpu_s(apiserver)
            cached, sample = await certify_load("certify, TokenReview cache 10 s", svc, anchor, accounts, csrs,
                                                requests, clients)
            cpu_cached, api_cached = _proc_cpu_s(svc.pid) - cpu0, _proc_cpu_s(apiserver) - api0
            after, peak = _proc_rss(svc.pid)
        async with identity_process(state / "issuer", kubeconfig, cache_seconds=0.0) as svc:
            cpu0, api0 = _proc_cpu_s(svc.pid), _proc_cpu_s(apiserver)
            uncached, _ = await certify_load("certify, no TokenReview cache", svc, anchor, accounts, csrs,
                                             requests, clients)
            cpu_uncached, api_uncached = _proc_cpu_s(svc.pid) - cpu0, _proc_cpu_s(apiserver) - api0
        api0 = _proc_cpu_s(apiserver)
        raw = await tokenreview_load(kubeconfig, accounts, requests, clients)
        api_raw = _proc_cpu_s(apiserver) - api0

        print(f"\n{requests} requests from {clients} concurrent clients, one keep-alive connection each; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for run, cpu, api in ((cached, cpu_cached, api_cached), (uncached, cpu_uncached, api_uncached),
                              (raw, None, api_raw)):
            service = f"service CPU {cpu / max(run.ok, 1) * 1e3:5.2f} ms/req" if cpu is not None else " " * 26
            print(f"{run.line()}\n{'':<34} {service}  kube-apiserver CPU {api / max(run.ok, 1) * 1e3:5.2f} ms/req")
        print(f"certify decision + issuance alone (in-process, TokenReview stubbed): {core_ms:.2f} ms CPU/cert")
        print(f"identity service RSS: idle {idle / MIB:.0f} MiB, after the cached run {after / MIB:.0f} MiB, "
              f"peak {peak / MIB:.0f} MiB")
        print(_check_leaf(sample, anchor) if sample else "no certificate was issued")
    finally:
        await fleet.down()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-identity-") as d:
        asyncio.run(bench(Path(d), args.requests, args.clients))


if __name__ == "__main__":
    main()
