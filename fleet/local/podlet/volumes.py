"""What each volume of a pod holds, as files (pure).

The shell fetches the Secrets and ConfigMaps and requests the tokens that
``token_requests`` lists, then ``plan`` turns the pod's volumes into a list of
files with modes.  Unsupported volume types raise ``UnsupportedVolume``
naming the volume, which becomes the containers' waiting reason.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from fleet.local.podlet.errors import MissingReference, UnsupportedVolume
from fleet.local.podlet.podenv import PodFacts, field_value

DEFAULT_MODE = 0o644
SUPPORTED = ("secret", "configMap", "projected", "downwardAPI", "emptyDir")


@dataclass(frozen=True, slots=True)
class File:
    path: str  # relative to the volume's directory
    data: bytes
    mode: int


@dataclass(frozen=True, slots=True)
class VolumePlan:
    name: str
    kind: str  # "files" | "dir" | "tmpfs"
    files: tuple[File, ...] = ()


@dataclass(frozen=True, slots=True)
class TokenSpec:
    volume: str
    path: str
    audience: str  # "" means the apiserver's own audience
    expiration_seconds: int


def check_supported(pod: dict[str, Any]) -> None:
    for v in (pod.get("spec") or {}).get("volumes") or []:
        kinds = [k for k in v if k != "name"]
        if not any(k in SUPPORTED for k in kinds):
            raise UnsupportedVolume(f"volume {v.get('name')!r} is of type {', '.join(kinds) or 'unknown'}, "
                                    f"which the podlet does not support (it supports {', '.join(SUPPORTED)})")


def token_requests(pod: dict[str, Any]) -> list[TokenSpec]:
    out = []
    for v in (pod.get("spec") or {}).get("volumes") or []:
        for src in (v.get("projected") or {}).get("sources") or []:
            sat = src.get("serviceAccountToken")
            if sat is not None:
                out.append(TokenSpec(v["name"], sat["path"], sat.get("audience", ""),
                                     int(sat.get("expirationSeconds", 3600))))
    return out


def _safe(path: str, volume: str) -> str:
    norm = posixpath.normpath(path)
    if norm.startswith("..") or norm.startswith("/") or norm == ".":
        raise UnsupportedVolume(f"volume {volume!r}: item path {path!r} must stay inside the volume")
    return norm


def _items(volume: str, kind: str, name: str, data: dict[str, bytes] | None, spec: dict[str, Any],
           default_mode: int) -> list[File]:
    if data is None:
        if spec.get("optional"):
            return []
        raise MissingReference(f"volume {volume!r}: {kind} {name!r} not found")
    items = spec.get("items")
    if not items:
        return [File(_safe(k, volume), v, default_mode) for k, v in sorted(data.items())]
    out = []
    for it in items:
        key = it["key"]
        if key not in data:
            if spec.get("optional"):
                continue
            raise MissingReference(f"volume {volume!r}: key {key!r} not in {kind} {name!r}")
        out.append(File(_safe(it.get("path") or key, volume), data[key], int(it.get("mode", default_mode))))
    return out


def _downward(volume: str, items: list[dict[str, Any]], pod: dict[str, Any], facts: PodFacts,
              default_mode: int) -> list[File]:
    out = []
    for it in items:
        if "fieldRef" not in it:
            raise UnsupportedVolume(f"volume {volume!r}: downwardAPI item {it.get('path')!r} uses "
                                    "resourceFieldRef, which the podlet does not support")
        value = field_value(pod, it["fieldRef"]["fieldPath"], facts)
        out.append(File(_safe(it["path"], volume), value.encode(), int(it.get("mode", default_mode))))
    return out


def plan(pod: dict[str, Any], facts: PodFacts, secrets: dict[str, dict[str, bytes]],
         configmaps: dict[str, dict[str, bytes]], tokens: dict[tuple[str, str], str]) -> list[VolumePlan]:
    check_supported(pod)
    plans = []
    for v in (pod.get("spec") or {}).get("volumes") or []:
        name = v["name"]
        if "emptyDir" in v:
            medium = (v["emptyDir"] or {}).get("medium", "")
            plans.append(VolumePlan(name, "tmpfs" if medium == "Memory" else "dir"))
        elif "secret" in v:
            s = v["secret"]
            mode = int(s.get("defaultMode", DEFAULT_MODE))
            plans.append(VolumePlan(name, "files", tuple(
                _items(name, "Secret", s.get("secretName", ""), secrets.get(s.get("secretName", "")), s, mode))))
        elif "configMap" in v:
            c = v["configMap"]
            mode = int(c.get("defaultMode", DEFAULT_MODE))
            plans.append(VolumePlan(name, "files", tuple(
                _items(name, "ConfigMap", c.get("name", ""), configmaps.get(c.get("name", "")), c, mode))))
        elif "downwardAPI" in v:
            d = v["downwardAPI"]
            mode = int(d.get("defaultMode", DEFAULT_MODE))
            plans.append(VolumePlan(name, "files", tuple(_downward(name, d.get("items") or [], pod, facts, mode))))
        elif "projected" in v:
            p = v["projected"]
            mode = int(p.get("defaultMode", DEFAULT_MODE))
            files: list[File] = []
            for src in p.get("sources") or []:
                if "serviceAccountToken" in src:
                    path = src["serviceAccountToken"]["path"]
                    files.append(File(_safe(path, name), tokens[(name, path)].encode(), mode))
                elif "secret" in src:
                    s = src["secret"]
                    files += _items(name, "Secret", s.get("name", ""), secrets.get(s.get("name", "")), s, mode)
                elif "configMap" in src:
                    c = src["configMap"]
                    files += _items(name, "ConfigMap", c.get("name", ""), configmaps.get(c.get("name", "")), c,
                                    mode)
                elif "downwardAPI" in src:
                    files += _downward(name, src["downwardAPI"].get("items") or [], pod, facts, mode)
                else:
                    raise UnsupportedVolume(f"volume {name!r}: projected source {sorted(src)} is not supported")
            plans.append(VolumePlan(name, "files", tuple(files)))
    return plans
