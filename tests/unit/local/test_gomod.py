from pathlib import Path

import pytest

from fleet.local.binaries import kubernetes_ldflags
from fleet.local.gomod import GOBUILD_DIR, GoModError, KubeVersion, kubernetes_gomod, staging_modules

UPSTREAM = """module k8s.io/kubernetes

go 1.26.0

require (
\tgithub.com/foo/bar v1.2.3
\tk8s.io/api v0.0.0
\tk8s.io/client-go v0.0.0
\tk8s.io/utils v0.0.0-20260210185600-b8788abfbbc2
)

require (
\tk8s.io/kms v0.0.0 // indirect
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
)
"""


def test_staging_modules_are_exactly_the_placeholder_requirements() -> None:
    # k8s.io/utils has a real pseudo-version and is not a staging module.
    assert staging_modules(UPSTREAM) == ["k8s.io/api", "k8s.io/client-go", "k8s.io/kms"]


def test_generated_gomod_maps_each_staging_module_to_the_release() -> None:
    text = kubernetes_gomod(UPSTREAM, KubeVersion.parse("v1.36.3"))
    assert "require k8s.io/kubernetes v1.36.3" in text
    for mod in ("k8s.io/api", "k8s.io/client-go", "k8s.io/kms"):
        assert f"\t{mod} => {mod} v0.36.3\n" in text
    assert "k8s.io/utils =>" not in text


def test_no_placeholder_requirements_is_an_error() -> None:
    with pytest.raises(GoModError):
        staging_modules("module x\n")


def test_checked_in_gomod_is_in_sync_with_the_pinned_release() -> None:
    text = (GOBUILD_DIR / "kubernetes" / "go.mod").read_text()
    assert "k8s.io/kubernetes v1.36.3" in text
    assert "\tk8s.io/client-go => k8s.io/client-go v0.36.3\n" in text
    assert (GOBUILD_DIR / "kubernetes" / "go.sum").stat().st_size > 0


def test_version_ldflags_stamp_the_release() -> None:
    import datetime as dt

    flags = kubernetes_ldflags("v1.36.3", dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    assert "-X k8s.io/component-base/version.gitVersion=v1.36.3" in flags
    assert "-X k8s.io/component-base/version.gitMinor=36" in flags
    assert "buildDate=2026-01-02T03:04:05Z" in flags


def test_version_parse_refuses_garbage() -> None:
    with pytest.raises(GoModError):
        KubeVersion.parse("1.36")
    assert Path(GOBUILD_DIR).is_dir()
