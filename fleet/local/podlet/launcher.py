"""The first process of every container: enter the pod, arrange the mounts, exec the program.

Run as ``python -m fleet.local.podlet.launcher SPEC.json`` by the podlet, it
joins the pod's network namespace, makes a private mount namespace (and UTS
namespace for the pod's hostname), bind-mounts each volume at its mountPath,
switches to the container's working directory and user, and replaces itself
with the container's command.  Python 3.11 has no ``os.setns``/``os.unshare``,
hence libc through ctypes.  It imports only the standard library: it runs once
per container start.

A mountPath whose parent does not exist on the host (``/var/run/secrets/...``)
is made inside an overlay of its nearest existing ancestor, backed by a
tmpfs, so the host's directories are never changed.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source.encode() if source else None, target.encode(), fstype.encode() if fstype else None,
                       ctypes.c_ulong(flags), data.encode() if data else None), f"mount {target}")


def _setns(path: str, kind: int) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        _check(_libc.setns(fd, kind), f"setns {path}")
    finally:
        os.close(fd)


def _nearest_existing(path: str) -> str:
    while not os.path.lexists(path):
        path = os.path.dirname(path)
    return path


def _overlay_anchors(parents: list[str]) -> list[str]:
    """The shallowest existing ancestors to overlay so every missing parent can be created.

    An overlay hides the mounts below it, so all overlays are made before any
    bind mount, and one below another overlay is unnecessary and skipped.
    """
    anchors = sorted({os.path.realpath(_nearest_existing(p)) for p in parents if not os.path.isdir(p)},
                     key=lambda a: len(a.split("/")))
    chosen: list[str] = []
    for a in anchors:
        if a != "/" and not any(a == c or a.startswith(c + "/") for c in chosen):
            chosen.append(a)
    return chosen


def _closed_ancestors(paths: list[str]) -> list[str]:
    """Directories on the way to ``paths`` that other users cannot traverse (such as /root, mode 0700)."""
    closed: set[str] = set()
    for path in paths:
        parts = os.path.realpath(path).split("/")
        for depth in range(2, len(parts)):
            d = "/".join(parts[:depth])
            try:
                if not os.stat(d).st_mode & 0o001:
                    closed.add(d)
            except OSError:
                break
    return sorted(closed, key=lambda d: d.count("/"))


def _open_for_others(scratch: str, paths: list[str]) -> bool:
    """Let a non-root container reach the interpreter and the project, in its own mount namespace only.

    The interpreter may live under a directory like /root that only its owner can
    enter; the container's user could then not even start Python.  An overlay on
    such a directory, with traverse permission added on its tmpfs upper layer,
    opens the way inside this mount namespace and leaves the host untouched.
    """
    closed = _closed_ancestors(paths)
    for i, d in enumerate(closed):
        layer = os.path.join(scratch, f"reach{i}")
        os.makedirs(os.path.join(layer, "upper"), exist_ok=True)
        os.makedirs(os.path.join(layer, "work"), exist_ok=True)
        _mount("overlay", d, "overlay", 0, f"lowerdir={d},upperdir={layer}/upper,workdir={layer}/work")
        os.chmod(d, os.stat(d).st_mode | 0o011)
    return bool(closed)


def enter(spec: dict[str, object]) -> None:
    join_pid = spec.get("joinPid")
    if join_pid:
        _setns(f"/proc/{join_pid}/ns/net", CLONE_NEWNET)
        _setns(f"/proc/{join_pid}/ns/mnt", CLONE_NEWNS)
        return
    netns = spec.get("netns")
    if isinstance(netns, str):
        _setns(netns, CLONE_NEWNET)
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWUTS), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    hostname = spec.get("hostname")
    if isinstance(hostname, str) and hostname:
        socket.sethostname(hostname[:63])
    mounts = spec.get("mounts") or []
    assert isinstance(mounts, list)
    planned = sorted(((str(m["source"]), os.path.normpath(str(m["target"])), bool(m.get("readOnly")))
                      for m in mounts), key=lambda m: len(m[1].split("/")))
    parents = [t if not os.path.isfile(s) else os.path.dirname(t) for s, t, _ in planned]
    # Hold every source open from here on: an overlay made below may hide where it lives (an
    # overlay does not show the mounts beneath its lower directory, such as a tmpfs volume),
    # and a bind from /proc/self/fd/N reaches the very directory that was opened.
    held = [os.open(source, os.O_PATH | os.O_CLOEXEC) for source, _, _ in planned]
    scratch = str(spec["scratch"])
    os.makedirs(scratch, exist_ok=True)
    _mount("tmpfs", scratch, "tmpfs", 0, "size=16m,mode=0700")
    if spec.get("uid") not in (None, 0):
        argv = spec.get("argv")
        program = str(argv[0]) if isinstance(argv, list) and argv else sys.executable
        if _open_for_others(scratch, [program, sys.base_prefix, sys.prefix, os.path.dirname(__file__)]):
            # The scratch directory may itself lie under a directory just overlaid (a state
            # directory under /root): its tmpfs is now hidden behind the overlay, which may not
            # serve as another overlay's upper layer. A fresh tmpfs on top serves the rest.
            os.makedirs(scratch, exist_ok=True)
            _mount("tmpfs", scratch, "tmpfs", 0, "size=16m,mode=0700")
    for i, anchor in enumerate(_overlay_anchors(parents)):
        layer = os.path.join(scratch, f"overlay{i}")
        os.makedirs(os.path.join(layer, "upper"), exist_ok=True)
        os.makedirs(os.path.join(layer, "work"), exist_ok=True)
        _mount("overlay", anchor, "overlay", 0, f"lowerdir={anchor},upperdir={layer}/upper,workdir={layer}/work")
    for (source, target, read_only), parent, fd in zip(planned, parents, held, strict=True):
        os.makedirs(parent, exist_ok=True)
        if os.path.isfile(source) and not os.path.exists(target):
            with open(target, "a"):
                pass
        _mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
        if read_only:
            _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
        os.close(fd)


def main(argv: list[str]) -> int:
    with open(argv[0]) as f:
        spec = json.load(f)
    error = spec.get("error")
    if error:
        print(error, file=sys.stderr, flush=True)
        return 127
    try:
        enter(spec)
        workdir = spec.get("workingDir") or "/"
        os.makedirs(workdir, exist_ok=True)
        os.chdir(workdir)
        uid, gid = spec.get("uid"), spec.get("gid")
        if gid is not None or uid is not None:
            groups = spec.get("groups")
            os.setgroups([int(g) for g in groups] if isinstance(groups, list) else [])
            os.setgid(int(gid if gid is not None else uid))
        if uid is not None:
            os.setuid(int(uid))
    except OSError as e:
        print(f"podlet: cannot set up the container: {e}", file=sys.stderr, flush=True)
        return 128
    args = [str(a) for a in spec["argv"]]
    env = {str(k): str(v) for k, v in dict(spec.get("env") or {}).items()}
    try:
        os.execve(args[0], args, env)
    except OSError as e:
        print(f'exec: "{args[0]}": {e.strerror}', file=sys.stderr, flush=True)
        return 127
    return 0  # unreachable: execve replaced this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
