"""The pieces of `meshfleet up` that need no cluster: the fleet repository it makes, and the commit hook's webhook."""

from __future__ import annotations

import asyncio
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pygit2
import pytest

from fleet.config import GitTree, check_fleet
from fleet.quickstart import EXAMPLE, _secret_file, prepare_repository
from fleet.source import WebhookSecret, WebhookServer, create_webhook_app
from fleet.trust.keystore import Keystore


def test_the_fleet_repository_is_a_valid_commit_with_a_fresh_anchor_and_no_key(tmp_path: Path) -> None:
    ks = Keystore(tmp_path / "keystore")
    repo_dir = prepare_repository(tmp_path, ks, EXAMPLE, "http://127.0.0.1:1/hooks/git", _secret_file(tmp_path))
    repo = pygit2.Repository(str(repo_dir))
    head = str(repo.head.target)
    cfg, problems = check_fleet(GitTree.at(repo, head), now=datetime.now(UTC))
    assert problems == ()
    assert cfg is not None
    assert set(cfg.cluster_names) == {"east", "west", "north"}
    anchors = {a.certificate.fingerprint(a.certificate.signature_hash_algorithm) for a in cfg.trust_anchors}  # type: ignore[arg-type]
    assert len(anchors) == 1
    example_anchor = next((EXAMPLE / "trust-anchors").glob("*.pem")).read_bytes()
    assert all(a.pem != example_anchor for a in cfg.trust_anchors)  # anchored afresh, not the example's
    for f in repo_dir.rglob("*"):
        if f.is_file() and ".git" not in f.parts:
            assert b"PRIVATE KEY" not in f.read_bytes(), f
    assert stat.S_IMODE((tmp_path / "webhook.secret").stat().st_mode) == 0o600
    hook = repo_dir / ".git" / "hooks" / "post-commit"
    assert hook.stat().st_mode & stat.S_IXUSR
    # A second call keeps the repository the user may have committed to.
    assert prepare_repository(tmp_path, ks, EXAMPLE, "x", tmp_path / "webhook.secret") == repo_dir
    assert str(pygit2.Repository(str(repo_dir)).head.target) == head


@pytest.mark.parametrize(("secret", "accepted"), [(b"right", True), (b"wrong", False)])
async def test_the_commit_hook_notifier_is_accepted_only_with_the_secret(tmp_path: Path, secret: bytes,
                                                                           accepted: bool) -> None:
    pushes: list[int] = []
    server = WebhookServer(create_webhook_app(WebhookSecret(b"right"), lambda: pushes.append(1)))
    port = await server.start()
    (tmp_path / "secret").write_bytes(secret + b"\n")
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "fleet.source.notify", f"http://127.0.0.1:{port}/hooks/git",
            str(tmp_path / "secret"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert await proc.wait() == (0 if accepted else 1)
    finally:
        await server.close()
    assert pushes == ([1] if accepted else [])
