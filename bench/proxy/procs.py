"""Child processes of a benchmark run: start, wait for, measure and always stop them.

Every process is started in its own process group and recorded in a
``ProcessSet``; leaving the ``with`` block (normally, by an exception, or by
SIGTERM/SIGINT turned into an exception) stops each one by its own id, so a
failed run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType


class BenchError(Exception):
    """A benchmark step failed; the message names the step and the reason."""


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1 (released again for the child to bind)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_bytes(pid: int) -> int:
    """Resident set size of one process, from /proc (VmRSS)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError as e:
        raise BenchError(f"cannot read memory of pid {pid}: {e}") from e
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise BenchError(f"/proc/{pid}/status has no VmRSS line")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far, from /proc/<pid>/stat."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError as e:
        raise BenchError(f"cannot read CPU time of pid {pid}: {e}") from e
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces; skip past it
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def maps_mention(pid: int, needle: str) -> bool:
    """Whether a shared object whose path contains ``needle`` is mapped into the process."""
    with contextlib.suppress(OSError):
        return needle in Path(f"/proc/{pid}/maps").read_text()
    return False


@dataclass
class Child:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def check_alive(self) -> None:
        code = self.popen.poll()
        if code is not None:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise BenchError(f"{self.name} exited with status {code}; last output:\n{tail}")


def _raise_on_signal(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@dataclass
class ProcessSet:
    """The processes of one run; stops them all on exit."""

    workdir: Path
    children: list[Child] = field(default_factory=list)
    _old_term: object = None

    def __enter__(self) -> ProcessSet:
        self._old_term = signal.signal(signal.SIGTERM, _raise_on_signal)
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop_all()
        signal.signal(signal.SIGTERM, self._old_term)  # type: ignore[arg-type]

    def start(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> Child:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                list(argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                start_new_session=True,  # its own group, so a stray signal to ours does not reach it twice
            )
        child = Child(name, popen, log)
        self.children.append(child)
        return child

    def stop(self, child: Child, grace: float = 5.0) -> None:
        if child.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.popen.send_signal(signal.SIGTERM)
            try:
                child.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    child.popen.kill()
                child.popen.wait(timeout=5)
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        for child in reversed(list(self.children)):
            self.stop(child)


def wait_for_port(child: Child, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        child.check_alive()
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        if time.monotonic() > deadline:
            raise BenchError(f"{child.name} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")
        time.sleep(0.05)


def wait_for_http(child: Child, url: str, timeout: float = 20.0) -> None:
    """Poll ``url`` until it answers 200 (used for the proxies' /ready)."""
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        child.check_alive()
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 - loopback only
                if resp.status == 200:
                    return
        except (OSError, urllib.error.URLError) as e:
            last = str(e)
        if time.monotonic() > deadline:
            raise BenchError(f"{child.name}: {url} not ready within {timeout:.0f} s ({last})")
        time.sleep(0.1)
