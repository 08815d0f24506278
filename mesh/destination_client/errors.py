"""Everything `mesh.destination_client` raises.

    DestinationClientError
    ├── ConfigError          the client cannot start: trust bundle or certificate unusable, bad address
    ├── StreamError          the stream to the destination service broke; the client reconnects
    │   ├── Disconnected     connect, TLS or read failure, or the service closed the stream
    │   └── ProtocolError    a frame that is not valid JSON, too long, or not a known message
    └── SubscriptionRefused  the service answered a subscription with an error (`code`)

While the stream is broken, subscribers keep the last endpoints they were given.
"""

from __future__ import annotations


class DestinationClientError(Exception):
    """Root of every error raised by the destination client."""


class ConfigError(DestinationClientError):
    """The client cannot start."""


class StreamError(DestinationClientError):
    """The stream broke; retryable."""


class Disconnected(StreamError):
    """No stream: connect or handshake failed, a read failed, or the service closed it."""


class ProtocolError(StreamError):
    """The peer sent something that is not a valid frame or message."""


class SubscriptionRefused(DestinationClientError):
    """The service refused one subscription; the stream itself stays up."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
