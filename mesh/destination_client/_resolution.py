"""From a destination view to the proxy's own values (``Resolution``, ``BreakerConfig``).

The route configuration maps onto what the proxy already takes: the request
timeout onto ``Timeouts.request``, retries onto ``RetryPolicy``, weighted
backends onto endpoint weights (each backend's share spread over its
endpoints by the service), breaker annotations onto ``BreakerConfig``.
"""

from __future__ import annotations

from mesh.proxy.breaker import BreakerConfig
from mesh.proxy.retry import NO_RETRIES, RetryPolicy
from mesh.proxy.services import Endpoint, Resolution, ServiceConfig, Timeouts

from ._views import DestinationView


def to_resolution(view: DestinationView, defaults: Timeouts) -> Resolution:
    c = view.config
    retry = NO_RETRIES
    if c.retry is not None:
        retry = RetryPolicy(
            limit=c.retry.limit, retry_on=frozenset(c.retry.conditions), per_try_timeout=c.retry.per_try_timeout
        )
    timeouts = Timeouts(
        request=c.request_timeout if c.request_timeout is not None else defaults.request,
        connect=defaults.connect,
        idle=defaults.idle,
    )
    service = ServiceConfig(
        name=view.authority,
        namespace=view.namespace,
        service=view.service,
        addresses=view.addresses,
        timeouts=timeouts,
        retry=retry,
        opaque=c.opaque,
    )
    endpoints = tuple(
        Endpoint(e.host, e.port, e.identity, e.weight, e.proxy_port, e.labels, e.remote) for e in view.endpoints
    )
    return Resolution(view.authority, service, endpoints)


def to_breaker_config(view: DestinationView) -> BreakerConfig | None:
    b = view.config.breaker
    if b is None:
        return None
    return BreakerConfig(
        consecutive_failures=b.consecutive_failures, min_backoff=b.min_backoff, max_backoff=b.max_backoff
    )
