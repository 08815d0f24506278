import pytest

from fleet.local.podlet.errors import MissingReference, UnsupportedVolume
from fleet.local.podlet.podenv import PodFacts
from fleet.local.podlet.volumes import File, TokenSpec, VolumePlan, plan, token_requests

FACTS = PodFacts("10.105.0.7", "10.105.0.1")


def _pod(*volumes: dict) -> dict:  # type: ignore[type-arg]
    return {"metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}},
            "spec": {"volumes": list(volumes)}}


def test_secret_and_configmap_files_take_default_mode_items_and_item_modes() -> None:
    pod = _pod({"name": "creds", "secret": {"secretName": "creds", "defaultMode": 0o400}},
               {"name": "cfg", "configMap": {"name": "cfg", "items": [
                   {"key": "a", "path": "conf/a.yaml"}, {"key": "b", "path": "b", "mode": 0o600}]}})
    plans = plan(pod, FACTS, {"creds": {"pw": b"s3cret", "user": b"me"}}, {"cfg": {"a": b"1", "b": b"2", "c": b"3"}},
                 {})
    assert plans[0] == VolumePlan("creds", "files", (File("pw", b"s3cret", 0o400), File("user", b"me", 0o400)))
    assert plans[1] == VolumePlan("cfg", "files", (File("conf/a.yaml", b"1", 0o644), File("b", b"2", 0o600)))


def test_projected_volume_joins_token_configmap_and_downward_api() -> None:
    pod = _pod({"name": "identity", "projected": {"defaultMode": 0o440, "sources": [
        {"serviceAccountToken": {"audience": "identity.meshfleet.io", "expirationSeconds": 900, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}]}})
    assert token_requests(pod) == [TokenSpec("identity", "token", "identity.meshfleet.io", 900)]
    (p,) = plan(pod, FACTS, {}, {"kube-root-ca.crt": {"ca.crt": b"PEM"}}, {("identity", "token"): "jwt"})
    assert p.files == (File("token", b"jwt", 0o440), File("ca.crt", b"PEM", 0o440), File("namespace", b"shop", 0o440))


def test_empty_dirs_and_memory_medium() -> None:
    plans = plan(_pod({"name": "scratch", "emptyDir": {}}, {"name": "fast", "emptyDir": {"medium": "Memory"}},
                      {"name": "labels", "downwardAPI": {"items": [
                          {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}), FACTS, {}, {}, {})
    assert [(p.name, p.kind) for p in plans] == [("scratch", "dir"), ("fast", "tmpfs"), ("labels", "files")]
    assert plans[2].files[0].data == b'app="web"'


def test_unsupported_volume_types_and_escaping_paths_are_refused_by_name() -> None:
    with pytest.raises(UnsupportedVolume, match="volume 'data' is of type hostPath"):
        plan(_pod({"name": "data", "hostPath": {"path": "/etc"}}), FACTS, {}, {}, {})
    with pytest.raises(UnsupportedVolume, match="must stay inside the volume"):
        plan(_pod({"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "a", "path": "../../etc/x"}]}}),
             FACTS, {}, {"cfg": {"a": b"1"}}, {})


def test_missing_secret_is_an_error_unless_optional() -> None:
    with pytest.raises(MissingReference, match="Secret 'creds' not found"):
        plan(_pod({"name": "v", "secret": {"secretName": "creds"}}), FACTS, {}, {}, {})
    (p,) = plan(_pod({"name": "v", "secret": {"secretName": "creds", "optional": True}}), FACTS, {}, {}, {})
    assert p.files == ()
