"""Inbound authorization as the proxy sees it: the policy in force and one question per connection or request.

The policy starts as the pod's default (from the proxy's settings) and is
replaced whenever destination sends the compiled policy of this pod. The
verdict itself is ``mesh.policy.evaluate``; this module only holds the
current policy, turns an HTTP request head into the evaluator's input and
counts decisions.

Pure: no I/O, the caller supplies every fact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mesh.policy import Decision, DefaultPolicy, InboundPolicy, Network, RequestInfo, evaluate

from .http1 import Request

# Enough to match routes on; a request with hundreds of headers need not all be copied.
_MAX_HEADERS = 64
# Distinct peers whose verdicts are remembered; beyond that the memory starts over.
_MAX_CACHED = 4096


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    port: int
    _labels: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Built once: a verdict is reused for every request it applies to.
        labels = (
            ("decision", "allow" if self.decision.allowed else "deny"),
            ("reason", self.decision.reason),
            ("rule", self.decision.rule),
            ("target_port", str(self.port)),
        )
        object.__setattr__(self, "_labels", labels)

    @property
    def allowed(self) -> bool:
        return self.decision.allowed

    def labels(self) -> tuple[tuple[str, str], ...]:
        """Metric labels: what was decided, why, and by which rule."""
        return self._labels


def request_info(request: Request) -> RequestInfo:
    path = request.target.split("?", 1)[0] or "/"
    headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in request.headers[:_MAX_HEADERS])
    return RequestInfo(path=path, method=request.method, headers=headers)


class InboundAuthorizer:
    """The inbound policy in force for this pod."""

    def __init__(self, default: str, cluster_networks: tuple[str, ...] = ()) -> None:
        self.policy = InboundPolicy(DefaultPolicy(default), tuple(Network(c) for c in cluster_networks))
        self.from_destination = False
        # Verdicts that do not depend on the request itself (no route-scoped
        # authorization on the port), per (port, client identity, client address).
        self._by_peer: dict[tuple[int, str | None, str | None], Verdict] = {}
        self._route_scoped: dict[int, bool] = {}

    def update(self, policy: InboundPolicy) -> None:
        self.policy = policy
        self.from_destination = True
        self._by_peer.clear()
        self._route_scoped.clear()

    def connection(self, port: int, client_id: str | None, peer_ip: str | None) -> Verdict:
        return Verdict(evaluate(self.policy, port, client_id, peer_ip), port)

    def request(self, port: int, client_id: str | None, peer_ip: str | None, request: Request) -> Verdict:
        key = (port, client_id, peer_ip)
        verdict = self._by_peer.get(key)
        if verdict is not None:
            return verdict
        verdict = Verdict(evaluate(self.policy, port, client_id, peer_ip, request_info(request)), port)
        if self._needs_request(port):
            return verdict
        # Without route-scoped rules the request's path, method and headers
        # cannot change the answer, so it holds for every request from this peer.
        if len(self._by_peer) >= _MAX_CACHED:
            self._by_peer.clear()
        self._by_peer[key] = verdict
        return verdict

    def _needs_request(self, port: int) -> bool:
        scoped = self._route_scoped.get(port)
        if scoped is None:
            pp = self.policy.port(port)
            scoped = pp is not None and any(auth.route is not None for auth in pp.authorizations)
            self._route_scoped[port] = scoped
        return scoped
