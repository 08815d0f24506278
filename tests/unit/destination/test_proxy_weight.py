"""What the proxy loads with the destination client and the policy model: nothing heavy."""

from __future__ import annotations

import subprocess
import sys


def test_the_client_and_policy_load_without_aiohttp_kubernetes_control_plane_or_x509() -> None:
    code = (
        "import sys, mesh.destination_client, mesh.policy\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'kubernetes', 'cryptography')"
        " or m.startswith('mesh.control')]\n"
        "print(','.join(sorted(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
