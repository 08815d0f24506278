import struct

import pytest

from fleet.local.podlet import dnsrecords
from fleet.local.podlet.dnsserver import answer
from fleet.local.podlet.dnswire import (
    RCODE_FORMERR,
    RCODE_NXDOMAIN,
    RCODE_OK,
    TYPE_A,
    TYPE_AAAA,
    DnsFormatError,
    parse_query,
)


def _query(name: str, qtype: int = TYPE_A, ident: int = 0x1234) -> bytes:
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", qtype, 1)


def _decode(resp: bytes) -> tuple[int, int, list[str]]:
    ident, flags, qdcount, ancount, _, _ = struct.unpack("!HHHHHH", resp[:12])
    off = 12
    if qdcount:
        while resp[off]:
            off += resp[off] + 1
        off += 5
    ips = []
    for _ in range(ancount):
        _ptr, _t, _c, _ttl, rdlen = struct.unpack("!HHHIH", resp[off:off + 12])
        ips.append(".".join(str(b) for b in resp[off + 12:off + 12 + rdlen]))
        off += 12 + rdlen
    return ident, flags & 0xF, ips


@pytest.fixture
def records() -> dnsrecords.Records:
    r = dnsrecords.Records()
    r.replace(dnsrecords.build(
        [{"metadata": {"namespace": "shop", "name": "web"}, "spec": {"clusterIP": "10.205.0.7"}},
         {"metadata": {"namespace": "shop", "name": "db"}, "spec": {"clusterIP": "None"}}],
        {("shop", "db"): ["10.105.0.9", "10.105.0.8"]}))
    return r


def test_a_service_name_resolves_to_its_cluster_ip(records: dnsrecords.Records) -> None:
    ident, rcode, ips = _decode(answer(records, _query("web.shop.svc.cluster.local")))
    assert (ident, rcode, ips) == (0x1234, RCODE_OK, ["10.205.0.7"])
    assert _decode(answer(records, _query("WEB.Shop.svc.cluster.local")))[2] == ["10.205.0.7"]


def test_headless_services_resolve_to_ready_endpoints(records: dnsrecords.Records) -> None:
    assert _decode(answer(records, _query("db.shop.svc.cluster.local")))[2] == ["10.105.0.8", "10.105.0.9"]


def test_unknown_names_are_nxdomain_and_aaaa_of_a_known_name_is_empty(records: dnsrecords.Records) -> None:
    assert _decode(answer(records, _query("nope.shop.svc.cluster.local")))[1] == RCODE_NXDOMAIN
    assert _decode(answer(records, _query("web.shop.svc.cluster.local", TYPE_AAAA)))[1:] == (RCODE_OK, [])


def test_garbage_is_answered_with_formerr_and_never_raises(records: dnsrecords.Records) -> None:
    assert _decode(answer(records, b"\x99\x98" + b"\xff" * 11))[1] == RCODE_FORMERR
    assert answer(records, b"") == b""
    with pytest.raises(DnsFormatError):
        parse_query(_query("x")[:14])


def test_resolv_conf_searches_the_pods_namespace_first() -> None:
    text = dnsrecords.resolv_conf("shop", "10.105.0.1")
    assert text.splitlines() == ["search shop.svc.cluster.local svc.cluster.local cluster.local",
                                 "nameserver 10.105.0.1", "options ndots:5"]
