"""One pod on the node: its sandbox, volumes, containers, probes and status.

A ``PodWorker`` is an asyncio task per pod UID.  It builds the sandbox
(network namespace, IP, resolv.conf), materializes volumes, runs init
containers in order (native sidecars are started and kept), supervises the
app containers with restarts and back-off, runs probes, and pushes status.
When the pod is deleted it stops the containers with SIGTERM, then SIGKILL
after the grace period, tears the sandbox down and finalizes the pod object.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleet.local.podlet import netops, volumes
from fleet.local.podlet.api import Kube
from fleet.local.podlet.dnsrecords import resolv_conf
from fleet.local.podlet.errors import ApiError, NotFound, PodletError, PodSpecError
from fleet.local.podlet.naming import NodeNetwork, host_veth, netns_name
from fleet.local.podlet.podenv import ImageMatch, PodFacts, map_command, map_exec_probe, referenced_objects, resolve_env
from fleet.local.podlet.probes import run_probe
from fleet.local.podlet.records import PodRecord, remove_pod, start_ticks
from fleet.local.podlet.status import (
    BACKOFF_RESET_AFTER,
    ContainerView,
    ProbeVerdict,
    Terminated,
    backoff_delay,
    pod_status,
    should_restart,
)

VOLUME_SYNC_PERIOD = 60.0
# Where this project's packages live, so the launcher and the containers import them from any directory
# even when the project is not installed into the interpreter's site-packages.
PROJECT_ROOT = str(Path(__file__).resolve().parents[3])
# The launcher needs the standard library and this project (on PYTHONPATH) only: without ``site`` and the
# installed packages' start-up hooks it starts in half the time, once per container and exec probe.
LAUNCHER = (sys.executable, "-S", "-m", "fleet.local.podlet.launcher")


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class NodeContext:
    """What every pod worker shares with the podlet."""

    kube: Kube
    net: NodeNetwork
    node_name: str
    node_dir: Path
    entrypoint: tuple[str, ...]
    images: ImageMatch
    service_env: dict[str, str]
    allocate_ip: Callable[[], str]
    release_ip: Callable[[str], None]
    log: Callable[[str], None]

    @property
    def host_ip(self) -> str:
        return self.net.gateway


def log_path(node_dir: Path, namespace: str, pod: str, container: str) -> Path:
    return node_dir / "logs" / namespace / pod / f"{container}.log"


@dataclass(slots=True)
class Container:
    spec: dict[str, Any]
    kind: str  # init | sidecar | app
    state: str = "waiting"
    reason: str = "ContainerCreating"
    message: str = ""
    started_at: str = ""
    terminated: Terminated | None = None
    last_terminated: Terminated | None = None
    ready: bool = False
    restart_count: int = 0
    proc: asyncio.subprocess.Process | None = None
    probes: list[asyncio.Task[None]] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    def view(self) -> ContainerView:
        return ContainerView(self.name, str(self.spec.get("image", "")), self.kind, self.state, self.reason,
                             self.message, self.started_at, self.terminated, self.last_terminated, self.ready,
                             self.restart_count)


class PodWorker:
    def __init__(self, ctx: NodeContext, pod: dict[str, Any]) -> None:
        self.ctx = ctx
        self.pod = pod
        meta = pod["metadata"]
        self.uid: str = meta["uid"]
        self.namespace: str = meta["namespace"]
        self.name: str = meta["name"]
        self.dir: Path = ctx.node_dir / "pods" / self.uid
        spec = pod["spec"]
        self.inits = [Container(c, "sidecar" if c.get("restartPolicy") == "Always" else "init")
                      for c in spec.get("initContainers") or []]
        self.apps = [Container(c, "app") for c in spec.get("containers") or []]
        self.record: PodRecord | None = None
        self.pod_ip = ""
        self.start_time = now_iso()
        self.stopping = asyncio.Event()
        self.gone = False  # the pod object no longer exists: nothing to report or finalize
        self.grace_override: float | None = None
        self._dirty = asyncio.Event()
        self._secrets: dict[str, dict[str, bytes]] = {}
        self._configmaps: dict[str, dict[str, bytes]] = {}
        self._tokens: dict[tuple[str, str], str] = {}
        self._token_due = 0.0
        self.task: asyncio.Task[None] | None = None

    # ---- lifecycle ---------------------------------------------------------------------------

    def update(self, pod: dict[str, Any]) -> None:
        self.pod = pod
        if pod["metadata"].get("deletionTimestamp"):
            self.stopping.set()

    def stop(self, gone: bool = False, grace: float | None = None) -> None:
        self.gone = self.gone or gone
        if grace is not None:
            self.grace_override = grace
        self.stopping.set()

    async def run(self) -> None:
        pusher = asyncio.create_task(self._push_status())
        try:
            await self._sandbox()
            main = asyncio.create_task(self._run_containers())
            stop = asyncio.create_task(self.stopping.wait())
            await asyncio.wait({main, stop}, return_when=asyncio.FIRST_COMPLETED)
            if not self.stopping.is_set():
                await self.stopping.wait()  # a pod that finished keeps its status until it is deleted
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await main
            stop.cancel()
            await self._terminate_all()
        except PodletError as e:
            self.ctx.log(f"pod {self.namespace}/{self.name}: {e}")
            for c in [*self.inits, *self.apps]:
                c.reason, c.message = "CreatePodSandboxError", str(e)
            self._dirty.set()
            await self.stopping.wait()
            await self._terminate_all()
        finally:
            await asyncio.to_thread(self._teardown)
            if not self.gone:
                await self._push_once()
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher
        if not self.gone and self.pod["metadata"].get("deletionTimestamp"):
            await self._finalize()

    async def _sandbox(self) -> None:
        self.pod_ip = self.ctx.allocate_ip()
        self.record = PodRecord(self.uid, self.namespace, self.name, netns_name(self.uid), host_veth(self.uid),
                                self.pod_ip)
        self.record.save(self.dir)
        await asyncio.to_thread(netops.create_pod_network, self.ctx.net, self.record.netns, self.record.veth,
                                self.pod_ip)
        etc = self.dir / "etc"
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "resolv.conf").write_text(resolv_conf(self.namespace, self.ctx.net.gateway))
        (etc / "hosts").write_text(f"127.0.0.1\tlocalhost\n::1\tlocalhost\n{self.pod_ip}\t{self.name}\n")
        (etc / "hostname").write_text(self.name + "\n")
        await asyncio.to_thread(netops.mount_tmpfs, self.dir / "volumes")
        self._dirty.set()

    def _teardown(self) -> None:
        remove_pod(self.dir, self.record)
        if self.pod_ip:
            self.ctx.release_ip(self.pod_ip)

    async def _finalize(self) -> None:
        path = f"/api/v1/namespaces/{self.namespace}/pods/{self.name}"
        with contextlib.suppress(NotFound):
            try:
                await self.ctx.kube.delete(path, {"gracePeriodSeconds": 0, "preconditions": {"uid": self.uid}})
            except ApiError as e:
                self.ctx.log(f"pod {self.namespace}/{self.name}: finalizing failed: {e}")

    # ---- volumes -----------------------------------------------------------------------------

    async def _fetch(self, kind: str, name: str) -> dict[str, bytes] | None:
        plural = "secrets" if kind == "Secret" else "configmaps"
        for attempt in range(20):
            try:
                obj = await self.ctx.kube.get(f"/api/v1/namespaces/{self.namespace}/{plural}/{name}")
            except NotFound:
                return None
            except ApiError as e:
                # The node authorizer learns of a new pod a moment after the scheduler binds it.
                if e.status == 403 and attempt < 19:
                    await asyncio.sleep(0.25)
                    continue
                raise
            out = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()} if kind == "Secret" else {
                **{k: v.encode() for k, v in (obj.get("data") or {}).items()},
                **{k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()}}
            return out
        return None

    async def _request_token(self, spec: volumes.TokenSpec) -> tuple[str, float]:
        sa = self.pod["spec"].get("serviceAccountName") or "default"
        body: dict[str, Any] = {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": [spec.audience] if spec.audience else [],
                     "expirationSeconds": spec.expiration_seconds,
                     "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": self.name, "uid": self.uid}},
        }
        for attempt in range(20):
            try:
                out = await self.ctx.kube.create(
                    f"/api/v1/namespaces/{self.namespace}/serviceaccounts/{sa}/token", body)
                break
            except ApiError as e:
                if e.status == 403 and attempt < 19:
                    await asyncio.sleep(0.25)
                    continue
                raise
        return str(out["status"]["token"]), float(spec.expiration_seconds)

    async def _sync_volumes(self) -> None:
        volumes.check_supported(self.pod)
        secret_names, cm_names = referenced_objects(self.pod)
        secrets = {n: d for n in secret_names if (d := await self._fetch("Secret", n)) is not None}
        cms = {n: d for n in cm_names if (d := await self._fetch("ConfigMap", n)) is not None}
        if time.monotonic() >= self._token_due:
            tokens = {}
            ttl = float("inf")
            for ts in volumes.token_requests(self.pod):
                token, lifetime = await self._request_token(ts)
                tokens[(ts.volume, ts.path)] = token
                ttl = min(ttl, lifetime)
            self._tokens = tokens
            # Refresh at 80 % of the shortest lifetime, as a kubelet does.
            self._token_due = time.monotonic() + (0.8 * ttl if ttl != float("inf") else 1e12)
        self._secrets, self._configmaps = secrets, cms
        plans = volumes.plan(self.pod, self._facts(), secrets, cms, self._tokens)
        await asyncio.to_thread(self._write_volumes, plans)

    def _write_volumes(self, plans: list[volumes.VolumePlan]) -> None:
        # With fsGroup, volume files belong to that group (as a kubelet does), so a
        # non-root container can read a 0440 Secret without the file being world-readable.
        fs_group = (self.pod["spec"].get("securityContext") or {}).get("fsGroup")
        for p in plans:
            if p.kind == "dir":
                d = self.dir / "empty" / p.name
                d.mkdir(parents=True, exist_ok=True)
                d.chmod(0o777)
                continue
            d = self.dir / "volumes" / p.name
            d.mkdir(parents=True, exist_ok=True)
            if p.kind == "tmpfs":
                d.chmod(0o777)
                continue
            for f in p.files:
                target = d / f.path
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    os.write(fd, f.data)
                    os.fchmod(fd, f.mode & 0o7777)
                    if fs_group is not None:
                        os.fchown(fd, 0, int(fs_group))
                finally:
                    os.close(fd)
                os.replace(tmp, target)  # atomic, so a reader never sees half a rotated token

    def _volume_source(self, name: str) -> Path:
        for v in self.pod["spec"].get("volumes") or []:
            if v["name"] == name and "emptyDir" in v and (v["emptyDir"] or {}).get("medium") != "Memory":
                return self.dir / "empty" / name
        return self.dir / "volumes" / name

    async def _volume_loop(self) -> None:
        while True:
            await asyncio.sleep(min(VOLUME_SYNC_PERIOD, max(1.0, self._token_due - time.monotonic())))
            try:
                await self._sync_volumes()
            except (PodletError, OSError) as e:
                self.ctx.log(f"pod {self.namespace}/{self.name}: refreshing volumes failed: {e}")

    # ---- containers --------------------------------------------------------------------------

    def _facts(self) -> PodFacts:
        return PodFacts(self.pod_ip, self.ctx.host_ip)

    def _all(self) -> list[Container]:
        return [*self.inits, *self.apps]

    def _set_waiting(self, containers: list[Container], reason: str, message: str) -> None:
        for c in containers:
            if c.state == "waiting" and (c.reason, c.message) != (reason, message):
                c.reason, c.message = reason, message
                self._dirty.set()

    async def _run_containers(self) -> None:
        while True:
            try:
                await self._sync_volumes()
                break
            except PodSpecError as e:
                self._set_waiting(self._all(), e.reason, str(e))
            except (ApiError, OSError) as e:
                self._set_waiting(self._all(), "CreateContainerConfigError", str(e))
            await asyncio.sleep(3)
        refresher = asyncio.create_task(self._volume_loop())
        supervisors: list[asyncio.Task[None]] = []
        try:
            blocked = [c for c in self._all() if not self.ctx.images.matches(str(c.spec.get("image", "")))]
            for c in blocked:
                self._set_waiting([c], "ImageNotRunnable",
                                  f"image {c.spec.get('image')!r} is not this project's image; the podlet runs "
                                  "only images whose repository matches " + self.ctx.images.pattern)
            for c in self.inits:
                if c in blocked:
                    await asyncio.Event().wait()  # the pod stays Pending, as with an unpullable image
                if c.kind == "sidecar":
                    supervisors.append(asyncio.create_task(self._supervise(c)))
                    await c.started.wait()
                else:
                    await self._supervise(c)
                    if not (c.terminated and c.terminated.exit_code == 0):
                        await asyncio.Event().wait()  # restartPolicy Never and the init failed: pod Failed
            for c in self.apps:
                if c not in blocked:
                    supervisors.append(asyncio.create_task(self._supervise(c)))
            await asyncio.gather(*(s for s in supervisors if self._is_app(s, supervisors)))
            await asyncio.Event().wait()
        finally:
            refresher.cancel()
            for s in supervisors:
                s.cancel()
            await asyncio.gather(refresher, *supervisors, return_exceptions=True)

    def _is_app(self, task: asyncio.Task[None], tasks: list[asyncio.Task[None]]) -> bool:
        sidecars = sum(1 for c in self.inits if c.kind == "sidecar")
        return tasks.index(task) >= sidecars

    def _spec_file(self, c: Container, argv: tuple[str, ...], error: str | None, env: dict[str, str]) -> Path:
        mounts: list[dict[str, Any]] = [
            {"source": str(self.dir / "etc" / "resolv.conf"), "target": "/etc/resolv.conf"},
            {"source": str(self.dir / "etc" / "hosts"), "target": "/etc/hosts"},
            {"source": str(self.dir / "etc" / "hostname"), "target": "/etc/hostname"},
        ]
        for m in c.spec.get("volumeMounts") or []:
            source = self._volume_source(m["name"])
            if m.get("subPath"):
                source = source / m["subPath"]
                if not source.exists():
                    source.mkdir(parents=True)
            mounts.append({"source": str(source), "target": m["mountPath"], "readOnly": bool(m.get("readOnly"))})
        sc = {**(self.pod["spec"].get("securityContext") or {}), **(c.spec.get("securityContext") or {})}
        spec = {
            "netns": f"/run/netns/{netns_name(self.uid)}", "hostname": self.name,
            "scratch": str(self.dir / "scratch" / c.name), "mounts": mounts,
            "workingDir": c.spec.get("workingDir") or "", "uid": sc.get("runAsUser"), "gid": sc.get("runAsGroup"),
            "groups": [int(g) for g in ([sc["fsGroup"]] if sc.get("fsGroup") is not None else [])
                       + list(sc.get("supplementalGroups") or [])],
            "argv": list(argv), "env": env, "error": error,
        }
        path: Path = self.dir / "run" / f"{c.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # env may hold Secret values
        with os.fdopen(fd, "w") as f:
            json.dump(spec, f)
        return path

    async def _start(self, c: Container) -> asyncio.subprocess.Process:
        def text(d: dict[str, bytes]) -> dict[str, str]:
            return {k: v.decode(errors="replace") for k, v in d.items()}
        base = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME": self.name,
                "PYTHONUNBUFFERED": "1", "PYTHONPATH": PROJECT_ROOT, **self.ctx.service_env}
        env = resolve_env(c.spec, self.pod, self._facts(), {k: text(v) for k, v in self._secrets.items()},
                          {k: text(v) for k, v in self._configmaps.items()}, base)
        command = map_command(c.spec, self.ctx.entrypoint, env)
        spec_path = self._spec_file(c, command.argv, command.error, env)
        log = log_path(self.ctx.node_dir, self.namespace, self.name, c.name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            proc = await asyncio.create_subprocess_exec(
                *LAUNCHER, str(spec_path),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                env={"PATH": base["PATH"], "PYTHONPATH": PROJECT_ROOT})
        ticks = start_ticks(proc.pid)
        if self.record is not None and ticks is not None:
            self.record.pids = [p for p in self.record.pids if start_ticks(p[0]) == p[1]] + [(proc.pid, ticks)]
            self.record.save(self.dir)
        return proc

    async def _supervise(self, c: Container) -> None:
        failures = 0
        policy = self.pod["spec"].get("restartPolicy", "Always")
        while True:
            delay = backoff_delay(failures)
            if delay:
                c.state, c.reason = "waiting", "CrashLoopBackOff"
                c.message = f"back-off {delay:.0f}s restarting failed container={c.name} pod={self.name}"
                self._dirty.set()
                await asyncio.sleep(delay)
            try:
                proc = await self._start(c)
            except PodSpecError as e:
                c.state, c.reason, c.message = "waiting", e.reason, str(e)
                self._dirty.set()
                await asyncio.sleep(3)
                continue
            c.proc = proc
            c.state, c.reason, c.message, c.started_at = "running", "", "", now_iso()
            startup = c.spec.get("startupProbe")
            c.ready = not c.spec.get("readinessProbe") and not startup and c.kind != "init"
            if not startup:
                c.started.set()
            began = time.monotonic()
            self._dirty.set()
            self._start_probes(c, proc)
            try:
                code = await proc.wait()
            finally:
                for t in c.probes:
                    t.cancel()
                c.probes = []
            c.ready = False
            c.proc = None
            reason = "Completed" if code == 0 else "Error"
            exit_code = code if code >= 0 else 128 - code
            finished = Terminated(exit_code, reason, c.started_at, now_iso())
            if not should_restart(policy, c.kind, exit_code) or self.stopping.is_set():
                c.state, c.terminated = "terminated", finished
                self._dirty.set()
                return
            c.last_terminated = finished
            c.restart_count += 1
            failures = 1 if time.monotonic() - began > BACKOFF_RESET_AFTER else failures + 1
            self._dirty.set()

    def _start_probes(self, c: Container, proc: asyncio.subprocess.Process) -> None:
        if c.spec.get("startupProbe") and not c.started.is_set():
            c.probes.append(asyncio.create_task(self._startup(c, proc, c.spec["startupProbe"])))
            return
        for kind in ("readinessProbe", "livenessProbe"):
            probe = c.spec.get(kind)
            if probe and c.kind != "init":
                c.probes.append(asyncio.create_task(self._probe_loop(c, proc, kind, probe)))

    async def _startup(self, c: Container, proc: asyncio.subprocess.Process, probe: dict[str, Any]) -> None:
        """Readiness and liveness wait for the startup probe; so does the container after a sidecar."""
        await asyncio.sleep(float(probe.get("initialDelaySeconds", 0)))
        failures = 0
        while True:
            if await run_probe(probe, c.spec, self.pod_ip, lambda cmd, limit: self._exec_in(proc.pid, cmd, limit)):
                c.started.set()
                c.ready = not c.spec.get("readinessProbe")
                self._dirty.set()
                self._start_probes(c, proc)
                return
            failures += 1
            if failures >= int(probe.get("failureThreshold", 3)):
                self.ctx.log(f"pod {self.namespace}/{self.name}: container {c.name} failed its startup probe")
                await self._kill(c, float(self.pod["spec"].get("terminationGracePeriodSeconds", 30)))
                return
            await asyncio.sleep(float(probe.get("periodSeconds", 10)))

    async def _probe_loop(self, c: Container, proc: asyncio.subprocess.Process, kind: str,
                          probe: dict[str, Any]) -> None:
        await asyncio.sleep(float(probe.get("initialDelaySeconds", 0)))
        verdict = ProbeVerdict()
        success_threshold = int(probe.get("successThreshold", 1))
        failure_threshold = int(probe.get("failureThreshold", 3))

        async def run_exec(command: list[str], limit: float) -> bool:
            return await self._exec_in(proc.pid, command, limit)

        while True:
            ok = await run_probe(probe, c.spec, self.pod_ip, run_exec)
            verdict = verdict.record(ok, success_threshold, failure_threshold)
            if kind == "readinessProbe":
                if c.ready != verdict.ok:
                    c.ready = verdict.ok
                    self._dirty.set()
            elif verdict.failures >= failure_threshold:
                self.ctx.log(f"pod {self.namespace}/{self.name}: container {c.name} failed its liveness probe; "
                             "restarting it")
                await self._kill(c, float(probe.get("terminationGracePeriodSeconds",
                                                     self.pod["spec"].get("terminationGracePeriodSeconds", 30))))
                return
            await asyncio.sleep(float(probe.get("periodSeconds", 10)))

    async def _exec_in(self, pid: int, command: list[str], limit: float) -> bool:
        mapped = map_exec_probe(command, self.ctx.entrypoint)
        if mapped.error:
            return False
        spec = self.dir / "run" / f"exec-{pid}.json"
        spec.write_text(json.dumps({"joinPid": pid, "argv": list(mapped.argv),
                                    "env": {**self.ctx.service_env, "PYTHONPATH": PROJECT_ROOT},
                                    "error": None}))
        proc = await asyncio.create_subprocess_exec(
            *LAUNCHER, str(spec),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": PROJECT_ROOT})
        try:
            return await asyncio.wait_for(proc.wait(), limit + 5) == 0
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            return False

    async def _kill(self, c: Container, grace: float) -> None:
        proc = c.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), max(0.0, grace))
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()

    async def _terminate_all(self) -> None:
        meta, spec = self.pod["metadata"], self.pod["spec"]
        grace = self.grace_override
        if grace is None:
            grace = float(meta.get("deletionGracePeriodSeconds", spec.get("terminationGracePeriodSeconds", 30)))
        deadline = time.monotonic() + grace
        # App containers first, then the sidecars they may still need while shutting down, last first.
        await asyncio.gather(*(self._kill(c, grace) for c in self.apps))
        for c in reversed(self.inits):
            await self._kill(c, max(2.0, deadline - time.monotonic()))
        for c in self._all():
            if c.state == "running":
                c.state = "terminated"
                c.terminated = Terminated(137, "Error", c.started_at, now_iso())

    # ---- status ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return pod_status(self.pod, [c.view() for c in self.inits], [c.view() for c in self.apps], self.pod_ip,
                          self.ctx.host_ip, self.start_time, now_iso())

    async def _push_once(self) -> bool:
        try:
            out = await self.ctx.kube.merge_patch(f"/api/v1/namespaces/{self.namespace}/pods/{self.name}/status",
                                                  {"metadata": {"uid": self.uid}, "status": self.status()})
            self.pod = {**self.pod, "status": out.get("status", self.pod.get("status"))}
            return True
        except NotFound:
            self.gone = True
            return True
        except ApiError as e:
            self.ctx.log(f"pod {self.namespace}/{self.name}: status update failed: {e}")
            return False

    async def _push_status(self) -> None:
        last: str | None = None
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            current = json.dumps(self.status(), sort_keys=True, default=str)
            # Ignore timestamps-only changes: compare without lastTransitionTime churn.
            if current != last:
                if await self._push_once():
                    last = current
                else:
                    self._dirty.set()
                    await asyncio.sleep(1)
            await asyncio.sleep(0.1)
