"""Inbound authorization as the proxy sees it: the policy in force and one question per connection or request.

The policy starts as the pod's default (from the proxy's settings) and is
replaced whenever destination sends the compiled policy of this pod. The
verdict itself is ``mesh.policy.evaluate``; this module only holds the
current policy, turns an HTTP request head into the evaluator's input and
counts decisions.

Pure: no I/O, the caller supplies every fact.
"""

from __future__ import annotations

from dataclasses import dataclass

from mesh.policy import Decision, DefaultPolicy, InboundPolicy, Network, RequestInfo, evaluate

from .http1 import Request

# Enough to match routes on; a request with hundreds of headers need not all be copied.
_MAX_HEADERS = 64


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    port: int

    @property
    def allowed(self) -> bool:
        return self.decision.allowed

    def labels(self) -> tuple[tuple[str, str], ...]:
        """Metric labels: what was decided, why, and by which rule."""
        return (
            ("decision", "allow" if self.decision.allowed else "deny"),
            ("reason", self.decision.reason),
            ("rule", self.decision.rule),
            ("target_port", str(self.port)),
        )


def request_info(request: Request) -> RequestInfo:
    path = request.target.split("?", 1)[0] or "/"
    headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in request.headers[:_MAX_HEADERS])
    return RequestInfo(path=path, method=request.method, headers=headers)


class InboundAuthorizer:
    """The inbound policy in force for this pod."""

    def __init__(self, default: str, cluster_networks: tuple[str, ...] = ()) -> None:
        self.policy = InboundPolicy(DefaultPolicy(default), tuple(Network(c) for c in cluster_networks))
        self.from_destination = False

    def update(self, policy: InboundPolicy) -> None:
        self.policy = policy
        self.from_destination = True

    def connection(self, port: int, client_id: str | None, peer_ip: str | None) -> Verdict:
        return Verdict(evaluate(self.policy, port, client_id, peer_ip), port)

    def request(self, port: int, client_id: str | None, peer_ip: str | None, request: Request) -> Verdict:
        return Verdict(evaluate(self.policy, port, client_id, peer_ip, request_info(request)), port)
