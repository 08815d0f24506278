"""Errors of the demo workload.

    DemoError
    ├── DemoConfigError   a flag value the demo app cannot use (names the flag and the reason)
    └── DownstreamError   a downstream URL that cannot be called, or that answered with broken HTTP
"""

from __future__ import annotations


class DemoError(Exception):
    """Root of the demo app's own errors."""


class DemoConfigError(DemoError):
    pass


class DownstreamError(DemoError):
    pass
