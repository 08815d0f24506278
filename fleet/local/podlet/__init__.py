"""The podlet: the local fleet's node agent.

It registers a Node, gives each pod bound to it a network namespace on a
per-node bridge, programs ClusterIP Services and answers cluster DNS,
materializes volumes, runs this project's containers as local processes in
their own mount namespaces, reports status and probes, and cleans up after
itself.  Public entry points:

- ``podlet_main(argv)``: ``meshfleet podlet <cluster>``
- ``logs_main(argv)``: ``meshfleet local logs <cluster> <ns>/<pod> [-c C] [-f]``
- ``cleanup_node(node_dir)``: remove what a podlet left (used by ``local down``)

Heavy modules are imported lazily: the container launcher lives in this
package and must start quickly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fleet.local.podlet.agent import Podlet, PodletConfig
    from fleet.local.podlet.cli import logs_main, podlet_main
    from fleet.local.podlet.records import cleanup_node

__all__ = ["Podlet", "PodletConfig", "cleanup_node", "logs_main", "podlet_main"]

_WHERE = {"Podlet": "agent", "PodletConfig": "agent", "logs_main": "cli", "podlet_main": "cli",
          "cleanup_node": "records"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"fleet.local.podlet.{_WHERE[name]}"), name)
    raise AttributeError(name)
