"""What applying would change, per object: server-side dry run against live, shown as unified diffs.

``predict`` is the thin async shell (one GET and one dry-run apply per
object); ``unified`` and ``drift_of`` are pure.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from fleet.apply.drift import Drift, comparable, detect
from fleet.apply.plan import FIELD_MANAGER, REVISION_ANNOTATION, ObjectRef
from fleet.kube.client import KubeClient
from fleet.kube.errors import NotFound

_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Prediction:
    """One desired object, the live one (None if absent) and what the server says applying would give."""

    ref: ObjectRef
    live: Obj | None
    predicted: Obj


async def predict(client: KubeClient, objects: Sequence[Obj]) -> list[Prediction]:
    """Dry-run every object.  A kind the cluster does not know yet (its CRD is new) predicts itself."""
    out: list[Prediction] = []
    for obj in objects:
        ref = ObjectRef.of(obj)
        try:
            live = await client.get(ref.api_version, ref.kind, ref.name, ref.namespace or None)
            predicted = await client.apply(obj, FIELD_MANAGER, dry_run=True)
        except NotFound:
            live, predicted = None, obj
        out.append(Prediction(ref, live, predicted))
    return out


def drift_of(predictions: Sequence[Prediction]) -> list[Drift]:
    return [d for p in predictions if (d := detect(p.ref, p.live, p.predicted)) is not None]


def _text(obj: Obj | None) -> list[str]:
    if obj is None:
        return []
    shown = comparable(obj)
    # Every object carries the revision; a new commit that leaves an object alone is not a change to it.
    annotations = {k: v for k, v in (shown["metadata"].get("annotations") or {}).items() if k != REVISION_ANNOTATION}
    shown["metadata"] = {**shown["metadata"], "annotations": annotations} if annotations else {
        k: v for k, v in shown["metadata"].items() if k != "annotations"}
    # libyaml's emitter when it is there: the pure-Python one costs several times the CPU at fleet scale.
    return yaml.dump(shown, Dumper=_DUMPER, sort_keys=True, default_flow_style=False).splitlines(keepends=True)


def unified(prediction: Prediction, cluster: str) -> str:
    """The unified diff live -> predicted for one object; empty when nothing would change."""
    name = f"{cluster}/{prediction.ref}"
    live = _text(prediction.live)
    lines = difflib.unified_diff(live, _text(prediction.predicted),
                                 fromfile=f"live {name}" if live else "/dev/null", tofile=f"git {name}")
    return "".join(lines)
