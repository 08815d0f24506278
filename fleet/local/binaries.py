"""Build and cache the Kubernetes and etcd binaries the local fleet runs.

Binaries are built once per pinned version into the XDG cache directory and
reused from there; nothing is written into the repository.  A build copies the
checked-in Go module (go.mod, go.sum, tools.go) into a scratch directory, runs
``go build -v`` and counts the packages it reports against ``go list -deps`` to
show progress, then moves the finished binaries into place in one rename so a
half-built directory is never mistaken for a cache hit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fleet.local.errors import ToolchainError
from fleet.local.gomod import ETCD_VERSION, GOBUILD_DIR, KUBERNETES_VERSION, KubeVersion

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class BuildTarget:
    """One Go module of ours and the commands built from it."""

    module: str  # directory under fleet/local/gobuild
    version: str
    packages: tuple[tuple[str, str], ...]  # (binary name, Go package)

    @property
    def cache_key(self) -> str:
        return f"{self.module}-{self.version}"

    @property
    def binaries(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.packages)


KUBERNETES = BuildTarget(
    module="kubernetes",
    version=KUBERNETES_VERSION,
    packages=(
        ("kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver"),
        ("kube-controller-manager", "k8s.io/kubernetes/cmd/kube-controller-manager"),
        ("kube-scheduler", "k8s.io/kubernetes/cmd/kube-scheduler"),
    ),
)
ETCD = BuildTarget(module="etcd", version=ETCD_VERSION, packages=(("etcd", "go.etcd.io/etcd/server/v3"),))
TARGETS = (KUBERNETES, ETCD)


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "meshfleet" / "bin"


def kubernetes_ldflags(version: str, build_date: datetime) -> str:
    """Version stamps so ``/version`` reports the release, as an official build would."""
    v = KubeVersion.parse(version)
    stamp = {
        "gitVersion": v.tag,
        "gitMajor": str(v.major),
        "gitMinor": str(v.minor),
        "gitTreeState": "clean",
        "buildDate": build_date.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    pkgs = ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
    return " ".join(f"-X {pkg}.{key}={value}" for pkg in pkgs for key, value in stamp.items())


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GOTOOLCHAIN="local", CGO_ENABLED="0", GOFLAGS="-mod=readonly")
    return env


def _require_go() -> str:
    go = shutil.which("go")
    if go is None:
        raise ToolchainError(
            "the Go toolchain is not installed, and the local fleet builds Kubernetes from its Go modules: "
            "install Go 1.26 or newer (Debian: apt-get install golang-go, or the tarball from go.dev) "
            "and make sure `go` is on PATH"
        )
    return go


@dataclass(frozen=True, slots=True)
class BinarySet:
    """Paths of every binary a local cluster needs."""

    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path


def target_dir(target: BuildTarget) -> Path:
    return cache_root() / target.cache_key


def is_cached(target: BuildTarget) -> bool:
    d = target_dir(target)
    return all(os.access(d / name, os.X_OK) for name in target.binaries)


def build(target: BuildTarget, progress: Progress) -> Path:
    """Build ``target`` into the cache (unless it is there) and return its directory."""
    dest = target_dir(target)
    if is_cached(target):
        return dest
    go = _require_go()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"meshfleet-build-{target.module}-", dir=dest.parent) as tmp:
        work = Path(tmp) / "src"
        shutil.copytree(GOBUILD_DIR / target.module, work)
        out = Path(tmp) / "out"
        out.mkdir()
        pkgs = [pkg for _, pkg in target.packages]
        total = _count_deps(go, work, pkgs)
        argv = [go, "build", "-v", "-trimpath", "-o", str(out) + "/"]
        if target is KUBERNETES:
            argv += ["-ldflags", kubernetes_ldflags(target.version, datetime.now(UTC))]
        if len(pkgs) == 1:
            argv[argv.index("-o") + 1] = str(out / target.binaries[0])
        argv += pkgs
        progress(f"building {', '.join(target.binaries)} {target.version} (about {total} packages; "
                 "the first build takes several minutes)")
        _run_with_progress(argv, work, total, target, progress)
        missing = [n for n in target.binaries if not (out / n).exists()]
        if missing:
            raise ToolchainError(f"go build finished but did not produce {', '.join(missing)}")
        staged = Path(tmp) / target.cache_key
        out.rename(staged)
        if dest.exists():
            shutil.rmtree(dest)
        staged.rename(dest)
    progress(f"built {target.cache_key} into {dest}")
    return dest


def _count_deps(go: str, work: Path, pkgs: list[str]) -> int:
    try:
        res = subprocess.run([go, "list", "-deps", *pkgs], cwd=work, env=_go_env(),
                             capture_output=True, text=True, check=True)
    except subprocess.CalledProcessError as e:
        raise ToolchainError(f"go list failed for {' '.join(pkgs)}:\n{e.stderr.strip()[-2000:]}") from e
    return max(1, len(res.stdout.split()))


def _run_with_progress(argv: list[str], cwd: Path, total: int, target: BuildTarget, progress: Progress) -> None:
    started = time.monotonic()
    last_report = 0.0
    done = 0
    tail: list[str] = []
    proc = subprocess.Popen(argv, cwd=cwd, env=_go_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    with proc:
        for line in proc.stdout:
            done += 1
            tail = (tail + [line.rstrip()])[-40:]
            now = time.monotonic()
            if now - last_report >= 10:
                last_report = now
                pct = min(99, 100 * done // total)
                progress(f"  {target.module}: {pct}% ({done}/{total} packages, {now - started:.0f}s)")
    if proc.returncode != 0:
        raise ToolchainError(f"go build of {target.cache_key} failed (exit {proc.returncode}):\n" + "\n".join(tail))


def ensure_binaries(progress: Progress) -> BinarySet:
    """The local fleet's binaries, building whatever is not cached yet.

    ``MESHFLEET_BIN_DIR`` points at a directory that already holds all four,
    for machines that build them some other way.
    """
    override = os.environ.get("MESHFLEET_BIN_DIR")
    if override:
        d = Path(override)
        return BinarySet(d / "etcd", d / "kube-apiserver", d / "kube-controller-manager", d / "kube-scheduler")
    kube = build(KUBERNETES, progress)
    etcd = build(ETCD, progress)
    return BinarySet(etcd / "etcd", kube / "kube-apiserver", kube / "kube-controller-manager",
                     kube / "kube-scheduler")
