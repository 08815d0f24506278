import ipaddress

import pytest

from fleet.local.topology import TopologyError, default_names, parse_count, plan


@pytest.mark.parametrize("text", ["0", "-1", "abc", "1.5", "", "51"])
def test_bad_counts_are_refused_with_the_reason(text: str) -> None:
    with pytest.raises(TopologyError, match="--clusters"):
        parse_count(text)


def test_counts_and_default_names() -> None:
    assert parse_count("3") == 3
    assert default_names(3) == ("east", "west", "north")
    assert default_names(7)[-2:] == ("cluster-6", "cluster-7")


def test_no_two_clusters_share_an_address_range() -> None:
    plans = plan(default_names(20))
    nets = [ipaddress.ip_network(c) for p in plans for c in (p.pod_cidr, p.service_cidr)]
    for i, a in enumerate(nets):
        for b in nets[i + 1:]:
            assert not a.overlaps(b), (a, b)


def test_kubernetes_service_ip_is_first_address_of_service_range() -> None:
    east = plan(("east",))[0]
    assert east.kubernetes_service_ip == "10.200.0.1"
    assert east.context == "meshfleet-east"


@pytest.mark.parametrize(("names", "reason"), [(("East",), "lower-case"), (("a", "a"), "twice"),
                                               (("-x",), "lower-case")])
def test_bad_names(names: tuple[str, ...], reason: str) -> None:
    with pytest.raises(TopologyError, match=reason):
        plan(names)


def test_a_port_already_taken_is_never_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from fleet.local import fleet as local_fleet

    with socket.socket() as taken, socket.socket() as probe:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
        probe.close()
        picks = iter([busy, free])
        monkeypatch.setattr(local_fleet.random, "randrange", lambda _lo, _hi: next(picks))
        assert local_fleet._PortPicker().one() == free


def test_ports_are_picked_below_the_ephemeral_range() -> None:
    from pathlib import Path

    from fleet.local.fleet import _below_ephemeral_range

    low, high = _below_ephemeral_range()
    first = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    assert high <= first
    assert low >= 1024
