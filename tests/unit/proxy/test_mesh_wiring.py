"""The proxy in a mesh: settings from the injector's env, inbound authorization, weighted backends, waiting
for a first resolution."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

import pytest

from mesh.policy import DefaultPolicy, InboundPolicy, PortPolicy
from mesh.policy._inbound import ClientRule
from mesh.proxy.authz import InboundAuthorizer
from mesh.proxy.backends import choose_backend, group_backends
from mesh.proxy.breaker import BreakerConfig
from mesh.proxy.control import destination_client, workload_identity
from mesh.proxy.errors import ConfigError
from mesh.proxy.http1 import Framing, Request
from mesh.proxy.outbound import OutboundRouter, ServiceState
from mesh.proxy.services import Endpoint, Resolution, ServiceConfig, Timeouts
from mesh.proxy.settings import POLICIES, parse_settings

from .conftest import Pki
from .harness import Backend, metric_value, ok_behaviour, request, running, scrape, web_service, write_services

WEB = "web.shop.serviceaccount.identity.meshfleet.cluster.local"
OTHER = "other.shop.serviceaccount.identity.meshfleet.cluster.local"


def _request(path: str = "/", host: bytes = b"api.shop.svc.cluster.local:8080") -> Request:
    return Request("GET", path, "1.1", ((b"Host", host),), Framing.NONE, None, True, False)


# -- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "policy", ["all-unauthenticated", "all-authenticated", "cluster-authenticated", "deny", "audit"]
)
def test_every_default_policy_the_injector_may_set_is_accepted(policy: str) -> None:
    assert policy in POLICIES
    assert parse_settings([f"--default-inbound-policy={policy}"]).default_inbound_policy == policy


def test_the_injectors_environment_configures_identity_destination_and_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "IDENTITY_ADDR": "identity.meshfleet.svc.cluster.local:8080",
        "IDENTITY_SERVER_NAME": "identity.meshfleet.serviceaccount.identity.meshfleet.cluster.local",
        "IDENTITY_NAME": WEB,
        "TOKEN_PATH": "/var/run/secrets/meshfleet.io/identity/token",
        "DESTINATION_ADDR": "destination.meshfleet.svc.cluster.local:8086",
        "DESTINATION_SERVER_NAME": "destination.meshfleet.serviceaccount.identity.meshfleet.cluster.local",
        "POD_NAME": "web-0",
        "POD_NAMESPACE": "shop",
        "CLUSTER_NETWORKS": "10.100.0.0/16,10.200.0.0/16",
        "OPAQUE_PORTS": "",
    }
    for k, v in env.items():
        monkeypatch.setenv(f"MESHFLEET_PROXY_{k}", v)
    s = parse_settings([])
    assert s.trace_collector is None  # no collector configured: no spans
    monkeypatch.setenv("MESHFLEET_PROXY_TRACE_COLLECTOR", "collector.tracing.svc.cluster.local:4318")
    assert parse_settings([]).trace_collector == ("collector.tracing.svc.cluster.local", 4318)
    assert s.identity_server_name == env["IDENTITY_SERVER_NAME"]
    assert (s.pod_namespace, s.pod_name) == ("shop", "web-0")
    assert s.cluster_networks == ("10.100.0.0/16", "10.200.0.0/16")
    client = destination_client(s, lambda: None)
    assert client is not None
    assert client.config.address == ("destination.meshfleet.svc.cluster.local", 8086)
    assert client.config.pod == ("shop", "web-0")
    ident = workload_identity(WEB)
    assert (ident.service_account, ident.namespace, ident.domain.trust_domain) == ("web", "shop", "cluster.local")


def test_half_configured_control_plane_and_bad_networks_are_refused_by_flag() -> None:
    with pytest.raises(ConfigError, match="--destination-server-name"):
        parse_settings(["--destination-addr=destination:8086"])
    with pytest.raises(ConfigError, match="--identity-server-name"):
        parse_settings(["--identity-addr=identity:8080"])
    with pytest.raises(ConfigError, match="--cluster-networks"):
        parse_settings(["--cluster-networks=10.0.0.0/33"])
    with pytest.raises(ConfigError, match="--trace-collector"):
        parse_settings(["--trace-collector=collector.tracing"])
    with pytest.raises(ConfigError, match="--identity-name"):
        workload_identity("web.shop.example.org")


def test_gateway_mode_accepts_what_the_manifests_render() -> None:
    from mesh.manifests import MeshParams, gateway

    params = MeshParams("east", "0.1.0", b"-----BEGIN CERTIFICATE-----\n")
    deployment = next(o for o in gateway(params) if o["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[0] == "proxy"
    s = parse_settings(args[1:])
    assert s.mode == "gateway"
    assert s.identity_name == "gateway.meshfleet.serviceaccount.identity.meshfleet.cluster.local"
    assert s.destination_addr is not None
    assert s.identity_addr is not None


# -- inbound authorization ---------------------------------------------------------------------------


def _only_web_on_8080() -> InboundPolicy:
    rule = ClientRule("shop/web-to-api", identity_sets=((WEB,),))
    return InboundPolicy(DefaultPolicy.ALL_UNAUTHENTICATED, (), (PortPolicy(8080, "shop/api", authorizations=(rule,)),))


def test_authorizer_starts_from_the_default_and_follows_destinations_policy() -> None:
    authz = InboundAuthorizer("all-authenticated")
    assert not authz.connection(8080, None, "10.0.0.9").allowed
    assert authz.request(8080, WEB, "10.0.0.9", _request()).allowed
    authz.update(_only_web_on_8080())
    assert authz.request(8080, WEB, "10.0.0.9", _request()).decision.rule == "shop/web-to-api"
    denied = authz.request(8080, OTHER, "10.0.0.9", _request())
    assert not denied.allowed
    assert ("decision", "deny") in denied.labels()
    # A port the policy says nothing about falls back to the pod's default (here: anyone).
    assert authz.request(9090, None, "10.0.0.9", _request()).allowed


def test_cluster_authenticated_admits_plaintext_only_from_cluster_networks() -> None:
    authz = InboundAuthorizer("cluster-authenticated", ("10.100.0.0/16",))
    assert authz.connection(8080, None, "10.100.3.4").allowed
    assert not authz.connection(8080, None, "192.168.1.1").allowed
    assert authz.connection(8080, WEB, "192.168.1.1").allowed


# -- traffic split -------------------------------------------------------------------------------------


def _split(v1: float, v2: float, n1: int = 1, n2: int = 1) -> tuple[Endpoint, ...]:
    eps = [Endpoint(f"10.0.1.{i}", 8080, None, v1 / n1, None, (("backend", "shop/api-v1"),)) for i in range(n1)]
    eps += [Endpoint(f"10.0.2.{i}", 8080, None, v2 / n2, None, (("backend", "shop/api-v2"),)) for i in range(n2)]
    return tuple(eps)


class _Static:
    def __init__(self, resolution: Resolution | None, answer: bool = True) -> None:
        self.resolution = resolution
        self.answer = answer
        self.callbacks: list[object] = []

    def resolve(self, target: str, on_update):  # type: ignore[no-untyped-def]
        self.callbacks.append(on_update)
        if self.answer:
            on_update(self.resolution if self.resolution and target == self.resolution.target else None)
        return self

    def cancel(self) -> None:
        pass


def test_a_90_10_split_holds_even_when_the_minor_backend_is_much_faster() -> None:
    target = "api.shop.svc.cluster.local:8080"
    resolution = Resolution(target, ServiceConfig(target), _split(0.9, 0.1, n1=3, n2=1))
    clock = [0.0]
    state = ServiceState(
        target,
        _Static(resolution),
        clock=lambda: clock[0],
        rng=random.Random(7),
        breaker_config=BreakerConfig(),
        default_timeouts=Timeouts(),
    )
    seen: Counter[str] = Counter()
    for _ in range(5000):
        ep = state.pick()
        started = state.balancer.start(ep)
        # v1 is slow (50 ms), v2 fast (1 ms): a latency-aware balancer alone would favour v2.
        clock[0] += 0.050 if ep.host.startswith("10.0.1.") else 0.001
        state.balancer.finish(ep, started)
        seen[dict(ep.labels)["backend"]] += 1
    assert abs(seen["shop/api-v1"] / 5000 - 0.9) < 0.02, seen


def test_backend_choice_skips_a_backend_with_nothing_usable() -> None:
    backends = group_backends(_split(0.5, 0.5))
    v1 = next(b for b in backends if b.name == "shop/api-v1")
    picks = {choose_backend(backends, random.Random(i), lambda ep: ep not in v1.endpoints) for i in range(50)}
    assert {b.name for b in picks if b} == {"shop/api-v2"}
    assert choose_backend(backends, random.Random(1), lambda ep: False) is None
    assert len(group_backends([Endpoint("10.0.0.1", 80)])) == 1


# -- waiting for the first resolution -------------------------------------------------------------------


class _Slow(_Static):
    """Answers only when the test says so, like a destination stream still in flight."""

    def __init__(self, resolution: Resolution) -> None:
        super().__init__(resolution, answer=False)
        self.answered = asyncio.Event()

    async def wait_resolved(self, target: str) -> Resolution | None:
        await self.answered.wait()
        return self.resolution


async def test_a_new_target_waits_for_its_first_answer_instead_of_passing_through() -> None:
    target = "api.shop.svc.cluster.local:8080"
    resolver = _Slow(Resolution(target, ServiceConfig(target), _split(1, 0)))
    router = OutboundRouter(resolver, None, None, default_timeouts=Timeouts(), resolve_wait=2.0)  # type: ignore[arg-type]

    async def answer() -> None:
        await asyncio.sleep(0.05)
        for cb in resolver.callbacks:
            cb(resolver.resolution if cb.__self__.target == target else None)  # type: ignore[attr-defined]
        resolver.answered.set()

    asyncio.get_running_loop().create_task(answer())
    state = await router.route_resolved(_request(), ("10.96.0.5", 8080), 2.0)
    assert state is not None
    assert state.target == target


async def test_waiting_is_bounded_when_nothing_answers() -> None:
    target = "api.shop.svc.cluster.local:8080"
    resolver = _Slow(Resolution(target, ServiceConfig(target), ()))
    router = OutboundRouter(resolver, None, None, default_timeouts=Timeouts())  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await router.route_resolved(_request(), ("10.96.0.5", 8080), 0.2) is None
    assert 0.15 <= loop.time() - started < 1.0


# -- enforcement on a running proxy pair -----------------------------------------------------------------


async def test_policy_from_destination_refuses_a_meshed_client_with_403_and_counts_it(pki: Pki, tmp_path: Path) -> None:
    backend = await Backend(ok_behaviour).start()
    async with running(pki.server, None, tmp_path) as server:
        services = write_services(
            tmp_path / "svc.json",
            [
                web_service(
                    [
                        {
                            "address": f"127.0.0.1:{backend.port}",
                            "identity": pki.server.name,
                            "proxy_port": server.address("inbound")[1],
                        }
                    ]
                )
            ],
        )
        async with running(pki.client, services, tmp_path) as client:
            out_port = client.address("outbound")[1]
            assert (await request(out_port, "/")).status == 200
            only = ClientRule("shop/only-someone-else", identity_sets=((OTHER,),))
            server.authz.update(
                InboundPolicy(
                    DefaultPolicy.ALL_UNAUTHENTICATED,
                    (),
                    (PortPolicy(backend.port, "shop/web", authorizations=(only,)),),
                )
            )
            refused = await request(out_port, "/")
            assert refused.status == 403
            assert refused.headers["meshfleet-proxy-error"] == "unauthorized"
            text = await scrape(server)
    await backend.stop()
    assert metric_value(text, "inbound_http_authz_deny_total", reason="unauthorized", rule="server:shop/web") == 1
    assert metric_value(text, "inbound_http_authz_allow_total", reason="default-allow") == 1
