"""The address a redirected connection was originally sent to (SO_ORIGINAL_DST)."""

from __future__ import annotations

import socket
import struct

SO_ORIGINAL_DST = 80  # same option number for SOL_IP and SOL_IPV6 (IP6T_SO_ORIGINAL_DST)
SOL_IPV6 = getattr(socket, "SOL_IPV6", 41)


def original_destination(sock: socket.socket) -> tuple[str, int] | None:
    """Where the client meant to connect before iptables redirected it.

    None when the connection was not redirected (no conntrack entry, or the
    platform lacks the option), so callers can fall back to other hints.
    """
    try:
        if sock.family == socket.AF_INET6:
            raw = sock.getsockopt(SOL_IPV6, SO_ORIGINAL_DST, 28)  # struct sockaddr_in6
            port = struct.unpack_from("!H", raw, 2)[0]
            host = socket.inet_ntop(socket.AF_INET6, raw[8:24])
        else:
            raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)  # struct sockaddr_in
            port = struct.unpack_from("!H", raw, 2)[0]
            host = socket.inet_ntop(socket.AF_INET, raw[4:8])
    except OSError:
        return None
    local = sock.getsockname()
    if (host, port) == (local[0], local[1]):
        return None  # a direct connection to the proxy, not a redirected one
    return host, port
