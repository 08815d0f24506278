"""Every error the dashboard raises, in one tree.

::

    TuiError
    ├── UsageError                  bad command-line flags (names the flag)
    ├── StatusError                 the fleet status could not be read
    │   ├── StatusUnavailable       file missing, HTTP error, connection refused, timeout
    │   └── StatusInvalid           the document is not the status document we expect
    └── MetricsError                one cluster's metrics could not be read
        ├── EndpointUnreachable     connection refused, DNS failure, timeout, HTTP error status
        ├── ExpositionInvalid       a proxy's /metrics answered with something that is not
        │                           Prometheus exposition text
        └── PrometheusError         the Prometheus HTTP API answered with an error or an
                                    unexpected shape

Foreign exceptions (OSError, aiohttp, json, prometheus_client's ValueError) are translated
where they are caught, with ``raise ... from e``, so callers handle these classes only.  Each
message names the file, URL or field involved, because it ends up verbatim in a table cell.
"""

from __future__ import annotations


class TuiError(Exception):
    """Root of the dashboard's errors."""


class UsageError(TuiError):
    """The command line is wrong; the message names the flag."""


class StatusError(TuiError):
    """The fleet status document could not be obtained."""


class StatusUnavailable(StatusError):
    """The status source did not answer (missing file, refused connection, HTTP error)."""


class StatusInvalid(StatusError):
    """The status source answered with a document we cannot use; the message names the field."""


class MetricsError(TuiError):
    """A cluster's metrics could not be obtained; shown in that cluster's row only."""


class EndpointUnreachable(MetricsError):
    """A metrics endpoint did not answer in time, refused us, or answered with an HTTP error."""


class ExpositionInvalid(MetricsError):
    """A proxy's /metrics body is not valid Prometheus exposition text."""


class PrometheusError(MetricsError):
    """The Prometheus HTTP API reported an error or answered with an unexpected shape."""
