"""Start, identify and stop the local fleet's processes.

Components run detached (their own session, output to a log file) so they
outlive the command that started them.  A process is remembered by PID *and*
its start time from /proc: after a reboot or a long pause the PID may belong
to somebody else, and ``down`` must never signal a stranger.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ProcessRecord:
    component: str
    pid: int
    start_ticks: int  # field 22 of /proc/<pid>/stat: start time in clock ticks since boot
    log: str

    def to_json(self) -> dict[str, object]:
        return {"component": self.component, "pid": self.pid, "startTicks": self.start_ticks, "log": self.log}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ProcessRecord:
        return cls(str(data["component"]), int(str(data["pid"])), int(str(data["startTicks"])),
                   str(data["log"]))


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start ticks) of a process, or None if there is none."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may contain spaces and parentheses; fields resume after the last ')'.
    rest = raw[raw.rindex(")") + 2:].split()
    return rest[0], int(rest[19])


def spawn(argv: list[str], log: Path, component: str, env: dict[str, str] | None = None) -> ProcessRecord:
    log.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    pid = os.posix_spawn(
        argv[0],
        argv,
        env if env is not None else dict(os.environ),
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log), flags, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )
    st = _stat(pid)
    return ProcessRecord(component, pid, st[1] if st else 0, str(log))


def _reap(pid: int) -> bool:
    """Collect our own exited child; True if ``pid`` was ours and has exited."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == pid


def alive(rec: ProcessRecord) -> bool:
    if _reap(rec.pid):
        return False
    st = _stat(rec.pid)
    return st is not None and st[0] not in ("Z", "X") and st[1] == rec.start_ticks


# Clients go first so the apiserver has no open watches to drain, and etcd last so the
# apiserver never loses its store mid-shutdown.
STOP_TIERS = (("podlet", "kube-controller-manager", "kube-scheduler"), ("kube-apiserver",), ("etcd",))


def stop(records: Iterable[ProcessRecord], grace: float = 3.0) -> None:
    """Stop processes tier by tier (clients, apiserver, etcd); anything else goes with the first tier."""
    recs = list(records)
    tiers = [[r for r in recs if r.component in names] for names in STOP_TIERS]
    known = {n for names in STOP_TIERS for n in names}
    tiers[0] += [r for r in recs if r.component not in known]
    for tier in tiers:
        _stop_now(tier, grace)


def _stop_now(records: Iterable[ProcessRecord], grace: float) -> None:
    """SIGTERM every live process group, then SIGKILL what is left after ``grace`` seconds."""
    live = [r for r in records if alive(r)]
    for r in live:
        _signal(r, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while live and time.monotonic() < deadline:
        time.sleep(0.05)
        live = [r for r in live if alive(r)]
    for r in live:
        _signal(r, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while live and time.monotonic() < deadline:
        time.sleep(0.02)
        live = [r for r in live if alive(r)]


def _signal(rec: ProcessRecord, sig: signal.Signals) -> None:
    try:
        os.killpg(rec.pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(rec.pid, sig)


def tail(path: Path, lines: int = 20) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def rss_bytes(pid: int) -> int:
    """Resident set size of a live process (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return 0


def uptime_seconds(rec: ProcessRecord) -> float:
    """Seconds since the process started, from its start ticks and the system's boot time."""
    hz = os.sysconf("SC_CLK_TCK")
    boot_uptime = float(Path("/proc/uptime").read_text().split()[0])
    return max(0.0, boot_uptime - rec.start_ticks / hz)
