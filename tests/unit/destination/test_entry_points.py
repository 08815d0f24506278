"""The command lines the mesh renders are the command lines these services accept."""

from __future__ import annotations

from typing import Any

import pytest

from mesh.control.destination import build_parser as destination_parser
from mesh.control.destination import destination_main
from mesh.control.injector import build_parser as injector_parser
from mesh.manifests import MeshParams, control_plane


def _args(component: str) -> list[str]:
    params = MeshParams(
        cluster_name="alpha",
        version="0.1.0",
        trust_bundle_pem=b"pem",
        pod_cidr="10.42.0.0/16",
        service_cidr="10.96.0.0/12",
        default_inbound_policy="cluster-authenticated",
    )
    for obj in control_plane(params):
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == component:
            args: list[str] = obj["spec"]["template"]["spec"]["containers"][0]["args"]
            assert args[0] == component
            return args[1:]
    raise AssertionError(f"no {component} Deployment rendered")


def test_rendered_destination_flags_parse() -> None:
    ns: Any = destination_parser().parse_args(_args("destination"))
    assert ns.listen == ("0.0.0.0", 8086)
    assert ns.default_inbound_policy == "cluster-authenticated"
    assert ns.cluster_networks == "10.42.0.0/16,10.96.0.0/12"
    assert ns.identity_addr == ("identity.meshfleet.svc.cluster.local", 8080)


def test_rendered_injector_flags_parse() -> None:
    ns: Any = injector_parser().parse_args(_args("injector"))
    assert ns.listen == ("0.0.0.0", 8443)
    assert str(ns.proxy_config).endswith("config.json")


def test_destination_refuses_a_bad_network_with_a_readable_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert destination_main(["--cluster-networks=10.0.0.0/8,not-a-cidr", "--kubeconfig=/nonexistent"]) == 2
    assert "--cluster-networks: 'not-a-cidr' is not a CIDR" in capsys.readouterr().err
