"""Small fleet files the configuration tests build on."""

from __future__ import annotations

FLEET = """\
apiVersion: meshfleet.io/v1alpha1
kind: Fleet
metadata:
  name: test
spec:
  mesh:
    version: "0.1.0"
"""


def cluster_yaml(name: str, index: int, links: str = "") -> str:
    """A valid cluster file; ``links`` is inserted verbatim as the last line of spec."""
    text = (
        "apiVersion: meshfleet.io/v1alpha1\n"
        "kind: Cluster\n"
        "metadata:\n"
        f"  name: {name}\n"
        "spec:\n"
        f"  kubeconfigContext: ctx-{name}\n"
        "  network:\n"
        f"    podCIDR: 10.{100 + index}.0.0/16\n"
        f"    serviceCIDR: 10.{200 + index}.0.0/16\n"
    )
    return text + (f"  links: {links}\n" if links else "")
