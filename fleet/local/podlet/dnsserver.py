"""The pods' DNS server: a UDP responder on the bridge address (thin shell over dnswire)."""

from __future__ import annotations

import asyncio
from typing import cast

from fleet.local.podlet import dnswire
from fleet.local.podlet.dnsrecords import Records


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, records: Records) -> None:
        self.records = records
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(answer(self.records, data), addr)


def answer(records: Records, data: bytes) -> bytes:
    try:
        query = dnswire.parse_query(data)
    except dnswire.DnsFormatError:
        return dnswire.error_response(data, dnswire.RCODE_FORMERR) or b""
    q = query.question
    if q.qclass != dnswire.CLASS_IN:
        return dnswire.response(query, dnswire.RCODE_NOTIMP, [])
    found = records.lookup(q.name)
    return dnswire.response(query, found.rcode, list(found.addresses))


async def serve(records: Records, host: str, port: int = 53) -> asyncio.DatagramTransport:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(records), local_addr=(host, port))
    return transport
