"""Running one readiness or liveness probe (httpGet, tcpSocket, exec) against a pod."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

ExecRunner = Callable[[list[str], float], Awaitable[bool]]


def _port(value: Any, container: dict[str, Any]) -> int:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    for p in container.get("ports") or []:
        if p.get("name") == value:
            return int(p["containerPort"])
    raise ValueError(f"no container port named {value!r}")


async def run_probe(probe: dict[str, Any], container: dict[str, Any], pod_ip: str, run_exec: ExecRunner) -> bool:
    timeout = float(probe.get("timeoutSeconds", 1))
    try:
        if "httpGet" in probe:
            return await asyncio.wait_for(_http(probe["httpGet"], container, pod_ip), timeout)
        if "tcpSocket" in probe:
            t = probe["tcpSocket"]
            return await asyncio.wait_for(_tcp(t.get("host") or pod_ip, _port(t["port"], container)), timeout)
        if "exec" in probe:
            return await run_exec(list(probe["exec"].get("command") or []), timeout)
    except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError):
        return False
    return False


async def _tcp(host: str, port: int) -> bool:
    _, writer = await asyncio.open_connection(host, port)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def _http(get: dict[str, Any], container: dict[str, Any], pod_ip: str) -> bool:
    host = get.get("host") or pod_ip
    port = _port(get["port"], container)
    ctx = None
    if str(get.get("scheme", "HTTP")).upper() == "HTTPS":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection(host, port, ssl=ctx)
    try:
        headers = "".join(f"{h['name']}: {h['value']}\r\n" for h in get.get("httpHeaders") or [])
        writer.write(f"GET {get.get('path', '/')} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: meshfleet-podlet\r\n"
                     f"Connection: close\r\n{headers}\r\n".encode())
        await writer.drain()
        line = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    parts = line.split()
    return len(parts) >= 2 and parts[1].isdigit() and 200 <= int(parts[1]) < 400
