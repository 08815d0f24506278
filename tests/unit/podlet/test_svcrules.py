import re

from fleet.local.podlet.svcrules import (
    Chains,
    Endpoint,
    ServicePort,
    endpoints_of_slices,
    ports_of_service,
    render,
)

CH = Chains("MF-105-0")


def _svc(name: str, ip: str, *ports: tuple[str, int]) -> dict:  # type: ignore[type-arg]
    return {"metadata": {"namespace": "shop", "name": name},
            "spec": {"clusterIP": ip, "ports": [{"name": n, "port": p, "protocol": "TCP"} for n, p in ports]}}


def test_each_endpoint_gets_an_equal_share_and_the_last_takes_the_rest() -> None:
    sp = ServicePort("shop", "web", "http", "TCP", "10.205.0.7", 80)
    eps = [Endpoint("10.105.0.3", 8080), Endpoint("10.105.0.2", 8080), Endpoint("10.105.0.4", 8080)]
    doc = render(CH, [sp], {sp: eps})
    svc_chain = CH.service(sp)
    jumps = [line for line in doc.splitlines() if line.startswith(f"-A {svc_chain} ")]
    probs = [float(m.group(1)) if (m := re.search(r"--probability (\S+)", j)) else None for j in jumps]
    assert probs[0] is not None
    assert abs(probs[0] - 1 / 3) < 1e-9
    assert probs[1] is not None
    assert abs(probs[1] - 1 / 2) < 1e-9
    assert probs[2] is None
    dnats = re.findall(r"--to-destination (\S+)", doc)
    assert dnats == ["10.105.0.2:8080", "10.105.0.3:8080", "10.105.0.4:8080"]
    assert f"-A {CH.services} -d 10.205.0.7/32 -p tcp -m tcp --dport 80" in doc
    # A pod reaching itself through its Service is marked for masquerade (hairpin).
    assert "-s 10.105.0.2/32 -j MARK --set-xmark 0x4000/0x4000" in doc
    assert doc.startswith("*nat\n")
    assert doc.endswith("COMMIT\n")


def test_a_service_without_ready_endpoints_gets_no_rule_and_stale_chains_are_deleted() -> None:
    sp = ServicePort("shop", "web", "http", "TCP", "10.205.0.7", 80)
    stale = CH.service(ServicePort("shop", "old", "", "TCP", "10.205.0.9", 80))
    doc = render(CH, [sp], {sp: []}, existing=frozenset({stale, "KUBE-SERVICES", CH.services}))
    assert "10.205.0.7" not in doc
    assert f"-X {stale}" in doc
    assert "KUBE-SERVICES" not in doc
    assert f"-X {CH.services}" not in doc


def test_ports_of_service_skip_headless_and_external_name() -> None:
    assert ports_of_service(_svc("web", "10.205.0.7", ("http", 80), ("grpc", 9090))) == [
        ServicePort("shop", "web", "http", "TCP", "10.205.0.7", 80),
        ServicePort("shop", "web", "grpc", "TCP", "10.205.0.7", 9090)]
    assert ports_of_service(_svc("db", "None", ("pg", 5432))) == []
    ext = _svc("ext", "", ("http", 80))
    ext["spec"]["type"] = "ExternalName"
    assert ports_of_service(ext) == []


def test_endpoints_from_slices_match_port_names_and_leave_out_unready() -> None:
    sp = ServicePort("shop", "web", "http", "TCP", "10.205.0.7", 80)
    metrics = ServicePort("shop", "web", "metrics", "TCP", "10.205.0.7", 9100)
    sl = {"addressType": "IPv4",
          "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "metrics", "port": 9191}],
          "endpoints": [{"addresses": ["10.105.0.2"], "conditions": {"ready": True}},
                        {"addresses": ["10.105.0.3"], "conditions": {"ready": False}},
                        {"addresses": ["10.105.0.4"], "conditions": {}}]}
    out = endpoints_of_slices([sp, metrics], [sl, {"addressType": "IPv6", "endpoints": [{"addresses": ["::1"]}]}])
    assert out[sp] == [Endpoint("10.105.0.2", 8080), Endpoint("10.105.0.4", 8080)]
    assert out[metrics] == [Endpoint("10.105.0.2", 9191), Endpoint("10.105.0.4", 9191)]


def test_chain_names_fit_iptables_limit_and_differ_per_node() -> None:
    sp = ServicePort("a-very-long-namespace-name", "a-very-long-service-name", "https-admin", "TCP", "10.0.0.1", 1)
    ep = Endpoint("10.105.0.200", 65535)
    for name in (Chains("MF-149-255").service(sp), Chains("MF-149-255").endpoint(sp, ep)):
        assert len(name) <= 28
    assert Chains("MF-105-0").service(sp) != Chains("MF-106-0").service(sp)
