"""Every error the proxy raises on purpose.

    ProxyError
    ├── HttpError                  malformed HTTP/1.x from a peer; the shell answers 400 and closes
    │   ├── HeadersTooLarge        the header section passed the size limit
    │   └── UnsupportedHttp        well-formed but outside what the proxy forwards (e.g. CONNECT)
    ├── ConfigError                a flag, environment variable or config file is unusable
    │   └── ResolverConfigError    the resolver file does not describe services correctly
    ├── TransportHeaderError       the connection preface between two proxies is malformed
    ├── IdentityError              no usable certificate, key or trust bundle
    ├── UpstreamError              forwarding a request failed; carries the status the client sees
    │   ├── ConnectFailed          the backend refused or never answered the connection (502)
    │   ├── PeerIdentityRefused    the peer's TLS handshake or identity did not check out (502)
    │   ├── NoEndpoints            the destination resolves to nothing, or every endpoint is ejected (503)
    │   ├── UpstreamProtocolError  the backend answered with broken HTTP (502)
    │   └── RequestTimeout         the route's request timeout ran out (504)
    └── InterceptionError          iptables rules could not be listed or installed

The shell catches ``UpstreamError`` and writes its ``status`` with a
``meshfleet-proxy-error`` header naming ``reason``; it catches ``HttpError``
and answers 400. Anything else escaping is a bug.
"""

from __future__ import annotations


class ProxyError(Exception):
    """Root of the proxy's own errors."""


class HttpError(ProxyError):
    """The peer sent bytes that are not acceptable HTTP/1.x."""


class HeadersTooLarge(HttpError):
    """The request line plus headers exceeded the configured limit."""


class UnsupportedHttp(HttpError):
    """Syntactically valid HTTP the proxy refuses to forward."""


class ConfigError(ProxyError):
    """A setting cannot be used; the message names the setting and why."""


class ResolverConfigError(ConfigError):
    """The resolver file is not a valid description of services."""


class TransportHeaderError(ProxyError):
    """The preface a client proxy sends after the TLS handshake is malformed."""


class IdentityError(ProxyError):
    """Certificate material is missing or unreadable."""


class UpstreamError(ProxyError):
    """Forwarding failed in a way the client is told about with ``status``."""

    status: int = 502
    reason: str = "upstream error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.reason)
        self.detail = detail or self.reason


class ConnectFailed(UpstreamError):
    status = 502
    reason = "connect failed"


class PeerIdentityRefused(UpstreamError):
    status = 502
    reason = "peer identity refused"


class NoEndpoints(UpstreamError):
    status = 503
    reason = "no available endpoints"


class UpstreamProtocolError(UpstreamError):
    status = 502
    reason = "bad response from upstream"


class RequestTimeout(UpstreamError):
    status = 504
    reason = "request timeout"


class InterceptionError(ProxyError):
    """Installing the traffic interception rules failed."""
