"""The proxy's side of the destination service: endpoints, routes and inbound policy over one stream.

Loaded by every proxy, so it stays light: asyncio, ssl and the standard
library, plus ``mesh.policy`` and the proxy's own value types; never aiohttp,
the Kubernetes client or ``mesh.control``. The wire protocol is described in
docs/destination-protocol.md; its pure parts (framing, views, diffs) live
here and the destination service uses them too.

Public API:
- ``DestinationClient(config, tls)``: implements the proxy's ``Resolver`` (``resolve``), plus
  ``inbound_policy``, ``wait_resolved``, ``breaker``; ``run()`` keeps the stream up.
- ``ClientConfig``, ``Backoff``.
- ``DestinationView`` / ``EndpointView`` / ``DestinationConfig``, ``diff_views``, ``apply_update``,
  ``view_to_wire`` / ``view_from_wire``: the view model.
- ``FrameDecoder`` / ``encode``: NDJSON framing; ``messages``: message names and builders.
"""

from . import _messages as messages
from ._backoff import Backoff
from ._client import ClientConfig, DestinationClient
from ._frames import MAX_FRAME, FrameDecoder, Message, encode
from ._resolution import to_breaker_config, to_resolution
from ._views import (
    DestinationConfig,
    DestinationView,
    EndpointView,
    apply_update,
    diff_views,
    sort_endpoints,
    view_from_wire,
    view_to_wire,
)

__all__ = [
    "MAX_FRAME",
    "Backoff",
    "ClientConfig",
    "DestinationClient",
    "DestinationConfig",
    "DestinationView",
    "EndpointView",
    "FrameDecoder",
    "Message",
    "apply_update",
    "diff_views",
    "encode",
    "messages",
    "sort_endpoints",
    "to_breaker_config",
    "to_resolution",
    "view_from_wire",
    "view_to_wire",
]
