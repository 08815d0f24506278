"""A container's environment and command line, resolved from the pod spec (pure).

Secrets and ConfigMaps come in already fetched (name -> key -> value); a
reference to one that is missing raises ``MissingReference`` unless the
reference is optional, exactly the cases where a real node would leave the
container waiting with ``CreateContainerConfigError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fleet.local.podlet.errors import MissingReference, UnsupportedField

_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


@dataclass(frozen=True, slots=True)
class PodFacts:
    """What fieldRef can point at besides the pod object itself."""

    pod_ip: str
    host_ip: str


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: known names are replaced, ``$$`` escapes, the rest stays."""
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env.get(name, m.group(0))
    return _REF.sub(sub, text)


def field_value(pod: dict[str, Any], path: str, facts: PodFacts) -> str:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.podIP": facts.pod_ip,
        "status.podIPs": facts.pod_ip,
        "status.hostIP": facts.host_ip,
        "status.hostIPs": facts.host_ip,
    }
    if path in simple:
        return str(simple[path])
    m = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    if path in ("metadata.labels", "metadata.annotations"):
        items = meta.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(items.items()))
    raise UnsupportedField(f"fieldRef {path!r} is not supported by the podlet")


def _lookup(kind: str, store: dict[str, dict[str, str]], ref: dict[str, Any], what: str) -> str | None:
    name, key = ref.get("name", ""), ref.get("key", "")
    data = store.get(name)
    if data is None or key not in data:
        if ref.get("optional"):
            return None
        missing = f"{kind} {name!r}" if data is None else f"key {key!r} in {kind} {name!r}"
        raise MissingReference(f"{what}: {missing} not found")
    return data[key]


def resolve_env(container: dict[str, Any], pod: dict[str, Any], facts: PodFacts,
                secrets: dict[str, dict[str, str]], configmaps: dict[str, dict[str, str]],
                base: dict[str, str]) -> dict[str, str]:
    """``base`` (service variables and the like) overlaid by envFrom, then env, in order."""
    env = dict(base)
    cname = container.get("name", "")
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix", "")
        for kind, store, ref in (("ConfigMap", configmaps, src.get("configMapRef")),
                                 ("Secret", secrets, src.get("secretRef"))):
            if ref is None:
                continue
            data = store.get(ref.get("name", ""))
            if data is None:
                if ref.get("optional"):
                    continue
                raise MissingReference(f"container {cname!r} envFrom: {kind} {ref.get('name')!r} not found")
            for k, v in data.items():
                env[prefix + k] = v
    for item in container.get("env") or []:
        name = item["name"]
        if "value" in item or "valueFrom" not in item:
            env[name] = expand(str(item.get("value", "")), env)
            continue
        vf = item["valueFrom"]
        what = f"container {cname!r} env {name}"
        if "fieldRef" in vf:
            env[name] = field_value(pod, vf["fieldRef"]["fieldPath"], facts)
        elif "secretKeyRef" in vf:
            value = _lookup("Secret", secrets, vf["secretKeyRef"], what)
            if value is not None:
                env[name] = value
        elif "configMapKeyRef" in vf:
            value = _lookup("ConfigMap", configmaps, vf["configMapKeyRef"], what)
            if value is not None:
                env[name] = value
        else:
            raise UnsupportedField(f"{what}: valueFrom {sorted(vf)} is not supported by the podlet")
    return env


def referenced_objects(pod: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(Secret names, ConfigMap names) that env, envFrom and volumes of the pod read."""
    secrets: set[str] = set()
    configmaps: set[str] = set()
    spec = pod.get("spec") or {}
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for src in c.get("envFrom") or []:
            if src.get("configMapRef"):
                configmaps.add(src["configMapRef"].get("name", ""))
            if src.get("secretRef"):
                secrets.add(src["secretRef"].get("name", ""))
        for item in c.get("env") or []:
            vf = item.get("valueFrom") or {}
            if "secretKeyRef" in vf:
                secrets.add(vf["secretKeyRef"].get("name", ""))
            if "configMapKeyRef" in vf:
                configmaps.add(vf["configMapKeyRef"].get("name", ""))
    for v in spec.get("volumes") or []:
        if "secret" in v:
            secrets.add(v["secret"].get("secretName", ""))
        if "configMap" in v:
            configmaps.add(v["configMap"].get("name", ""))
        for src in (v.get("projected") or {}).get("sources") or []:
            if "secret" in src:
                secrets.add(src["secret"].get("name", ""))
            if "configMap" in src:
                configmaps.add(src["configMap"].get("name", ""))
    return secrets, configmaps


# ---- the command line ------------------------------------------------------------------------

ENTRY_NAME = "meshfleet"


@dataclass(frozen=True, slots=True)
class ImageMatch:
    """Which images are this project's: by default any whose repository's last part is ``meshfleet``."""

    pattern: str = r"(^|.*/)meshfleet$"

    def matches(self, image: str) -> bool:
        return re.fullmatch(self.pattern, repository(image)) is not None


def repository(image: str) -> str:
    """The image reference without tag or digest."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name = name[:colon]
    return name


@dataclass(frozen=True, slots=True)
class Command:
    argv: tuple[str, ...]
    error: str | None = None  # set when the command cannot run; the launcher prints it and exits 127


def map_command(container: dict[str, Any], entrypoint: tuple[str, ...], env: dict[str, str]) -> Command:
    """The image's entry point is ``meshfleet``: ``command`` may name it, ``args`` follow it."""
    command = [expand(str(c), env) for c in container.get("command") or []]
    args = [expand(str(a), env) for a in container.get("args") or []]
    if command:
        head = command[0].rsplit("/", 1)[-1]
        if head != ENTRY_NAME:
            return Command((), f'exec: "{command[0]}": executable file not found: this image runs only '
                               f'"{ENTRY_NAME}" and its subcommands')
        return Command((*entrypoint, *command[1:], *args))
    return Command((*entrypoint, *args))


def map_exec_probe(command: list[str], entrypoint: tuple[str, ...]) -> Command:
    return map_command({"command": command}, entrypoint, {})
