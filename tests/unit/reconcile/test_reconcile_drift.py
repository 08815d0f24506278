"""Drift findings from live objects and dry-run results."""

from __future__ import annotations

from typing import Any

from fleet.apply.diff import Prediction, unified
from fleet.apply.drift import changed_fields, detect
from fleet.apply.plan import ObjectRef

REF = ObjectRef("apps/v1", "Deployment", "mesh", "identity")


def dep(replicas: int, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "identity", "namespace": "mesh", **meta},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "identity"}]}}},
            "status": {"availableReplicas": 0}}


def test_bookkeeping_and_status_are_not_drift() -> None:
    live = dep(1, resourceVersion="10", generation=3, managedFields=[{"manager": "x"}], uid="u")
    predicted = dep(1, resourceVersion="11", generation=4)
    predicted["status"] = {"availableReplicas": 1}
    assert detect(REF, live, predicted) is None


def test_a_changed_field_is_named() -> None:
    drift = detect(REF, dep(5), dep(1))
    assert drift is not None
    assert drift.fields == ("spec.replicas",)
    assert drift.describe() == "Deployment mesh/identity: changed outside Git (spec.replicas)"


def test_a_deleted_object_is_drift() -> None:
    drift = detect(REF, None, dep(1))
    assert drift is not None
    assert drift.missing
    assert drift.describe() == "Deployment mesh/identity: deleted outside Git"


def test_changed_fields_walks_lists_and_added_keys() -> None:
    a = {"x": [{"n": 1}, {"n": 2}], "y": 1}
    b = {"x": [{"n": 1}, {"n": 3}], "z": 1}
    assert changed_fields(a, b) == ["x[1].n", "y", "z"]
    assert changed_fields([1], [1, 2]) == ["."]


def test_unified_diff_shows_live_against_git() -> None:
    text = unified(Prediction(REF, dep(3), dep(1)), "east")
    assert text.startswith("--- live east/Deployment mesh/identity\n+++ git east/Deployment mesh/identity\n")
    assert "-  replicas: 3\n" in text
    assert "+  replicas: 1\n" in text
    assert unified(Prediction(REF, dep(1), dep(1)), "east") == ""
    created = unified(Prediction(REF, None, dep(1)), "east")
    assert created.startswith("--- /dev/null\n")
