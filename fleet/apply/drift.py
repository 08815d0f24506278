"""Has a live object drifted from what Git asks for?  (pure: objects in, findings out)

The question is answered by the API server itself: a server-side apply dry
run of the desired object returns what the object *would* be, with every
default and admission mutation applied.  If that differs from the live
object in anything but bookkeeping, applying would change the cluster, so
the cluster has drifted.  Comparing the raw desired object against live
would instead report every defaulted field as drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleet.apply.plan import ObjectRef

Obj = dict[str, Any]

# Fields the API server changes on every write, or that belong to controllers: never drift.
_BOOKKEEPING = frozenset({"resourceVersion", "generation", "managedFields", "creationTimestamp", "uid",
                          "selfLink"})


@dataclass(frozen=True, slots=True)
class Drift:
    """One object that differs from Git: ``missing`` (deleted by hand) or ``changed`` (``fields`` differ)."""

    ref: ObjectRef
    missing: bool
    fields: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.missing:
            return f"{self.ref}: deleted outside Git"
        shown = ", ".join(self.fields[:5]) + (f" and {len(self.fields) - 5} more" if len(self.fields) > 5 else "")
        return f"{self.ref}: changed outside Git ({shown})"


def comparable(obj: Mapping[str, Any]) -> Obj:
    """``obj`` without status and server bookkeeping."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _BOOKKEEPING}
    out["metadata"] = meta
    return out


def changed_fields(live: Any, predicted: Any, path: str = "") -> list[str]:
    """Dotted paths where ``live`` and ``predicted`` differ (lists compared by position)."""
    if isinstance(live, dict) and isinstance(predicted, dict):
        out: list[str] = []
        for key in sorted(set(live) | set(predicted)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in live or key not in predicted:
                out.append(sub)
            else:
                out += changed_fields(live[key], predicted[key], sub)
        return out
    if isinstance(live, list) and isinstance(predicted, list) and len(live) == len(predicted):
        out = []
        for i, (a, b) in enumerate(zip(live, predicted, strict=True)):
            out += changed_fields(a, b, f"{path}[{i}]")
        return out
    return [] if live == predicted else [path or "."]


def detect(ref: ObjectRef, live: Mapping[str, Any] | None, predicted: Mapping[str, Any]) -> Drift | None:
    """The drift of one object given its live state and the dry-run result of applying Git's version."""
    if live is None:
        return Drift(ref, missing=True)
    fields = changed_fields(comparable(live), comparable(predicted))
    return Drift(ref, missing=False, fields=tuple(fields)) if fields else None
