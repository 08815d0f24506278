import pytest

from fleet.local.podlet.errors import MissingReference, UnsupportedField
from fleet.local.podlet.podenv import ImageMatch, PodFacts, map_command, referenced_objects, resolve_env

POD = {"metadata": {"name": "web-1", "namespace": "shop", "uid": "u-1", "labels": {"app": "web"}},
       "spec": {"nodeName": "alpha-node-1", "serviceAccountName": "web"}}
FACTS = PodFacts("10.105.0.7", "10.105.0.1")
ENTRY = ("/venv/bin/python", "-m", "fleet.cli")


def test_env_sources_resolve_in_order_and_expand_earlier_names() -> None:
    container = {"name": "app", "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
                 "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                         {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                         {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                         {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "pw"}}},
                         {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}}},
                         {"name": "URL", "value": "http://$(IP):8080/$(NOPE)/$$(IP)"}]}
    env = resolve_env(container, POD, FACTS, {"creds": {"pw": "s3cret"}}, {"cfg": {"mode": "fast"}},
                      {"KUBERNETES_SERVICE_HOST": "10.205.0.1"})
    assert env["CFG_mode"] == "fast"
    assert (env["POD"], env["IP"], env["APP"]) == ("web-1", "10.105.0.7", "web")
    assert (env["PASSWORD"], env["MODE"]) == ("s3cret", "fast")
    assert env["URL"] == "http://10.105.0.7:8080/$(NOPE)/$(IP)"
    assert env["KUBERNETES_SERVICE_HOST"] == "10.205.0.1"


def test_missing_references_name_the_object_unless_optional() -> None:
    container = {"name": "app", "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "k"}}}]}
    with pytest.raises(MissingReference, match="Secret 'creds' not found"):
        resolve_env(container, POD, FACTS, {}, {}, {})
    with pytest.raises(MissingReference, match="key 'k' in Secret 'creds'"):
        resolve_env(container, POD, FACTS, {"creds": {"other": "v"}}, {}, {})
    container["env"][0]["valueFrom"]["secretKeyRef"]["optional"] = True
    assert "X" not in resolve_env(container, POD, FACTS, {}, {}, {})
    bad = {"name": "app", "env": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.hostNetwork"}}}]}
    with pytest.raises(UnsupportedField):
        resolve_env(bad, POD, FACTS, {}, {}, {})


def test_command_maps_onto_the_meshfleet_entry_point() -> None:
    assert map_command({"args": ["demo-app", "--port", "$(PORT)"]}, ENTRY, {"PORT": "9"}).argv == (
        *ENTRY, "demo-app", "--port", "9")
    assert map_command({"command": ["/usr/bin/meshfleet", "proxy"], "args": ["--x"]}, ENTRY, {}).argv == (
        *ENTRY, "proxy", "--x")
    other = map_command({"command": ["sleep", "10"]}, ENTRY, {})
    assert other.argv == ()
    assert other.error is not None
    assert '"sleep"' in other.error


def test_image_match_looks_at_the_repository_only() -> None:
    match = ImageMatch()
    assert match.matches("ghcr.io/acme/meshfleet:0.1.0")
    assert match.matches("meshfleet@sha256:abc")
    assert match.matches("localhost:5000/meshfleet")
    assert not match.matches("docker.io/library/nginx:meshfleet")
    assert not match.matches("ghcr.io/acme/meshfleet-extra:1")
    assert ImageMatch(r"registry\.local/.*").matches("registry.local/anything:2")


def test_referenced_objects_cover_env_envfrom_and_volumes() -> None:
    pod = {"spec": {"containers": [{"envFrom": [{"secretRef": {"name": "s1"}}],
                                    "env": [{"name": "a", "valueFrom": {"configMapKeyRef": {"name": "c1"}}}]}],
                    "initContainers": [{"env": [{"name": "b", "valueFrom": {"secretKeyRef": {"name": "s2"}}}]}],
                    "volumes": [{"name": "v", "secret": {"secretName": "s3"}},
                                {"name": "p", "projected": {"sources": [{"configMap": {"name": "c2"}}]}}]}}
    assert referenced_objects(pod) == ({"s1", "s2", "s3"}, {"c1", "c2"})
