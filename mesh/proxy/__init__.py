"""The meshfleet sidecar proxy.

Pure parts (framing, detection, balancing, breaking, retries, metrics,
interception rules) are importable on their own; ``run_proxy`` and
``run_proxy_init`` are the command entry points.
"""

from .init_cmd import run_proxy_init
from .main import run_proxy

__all__ = ["run_proxy", "run_proxy_init"]
