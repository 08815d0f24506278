"""The webhook receiver over real HTTP on 127.0.0.1: signed pushes trigger a sync, others get 401."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from source_repos import Upstream

from fleet.source import GitSource, Snapshot, SourceWatcher, WebhookSecret, WebhookServer, create_webhook_app

SECRET = b"hook secret"
BODY = b'{"ref": "refs/heads/main"}'


def hmac_header(body: bytes, key: bytes = SECRET) -> str:
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


class Triggers:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Triggers]]:
    triggers = Triggers()
    webhook = WebhookServer(create_webhook_app(WebhookSecret(SECRET), triggers), "127.0.0.1", 0)
    port = await webhook.start()
    try:
        yield f"http://127.0.0.1:{port}/hooks/git", triggers
    finally:
        await webhook.close()


async def post(url: str, headers: dict[str, str], body: bytes = BODY) -> tuple[int, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(
    ("headers", "provider"),
    [
        ({"X-Hub-Signature-256": hmac_header(BODY), "X-GitHub-Event": "push"}, "github"),
        ({"X-Gitlab-Token": SECRET.decode(), "X-Gitlab-Event": "Push Hook"}, "gitlab"),
        ({"X-Meshfleet-Signature": hmac_header(BODY)}, "generic"),
    ],
)
async def test_signed_pushes_trigger_a_sync(
    server: tuple[str, Triggers], headers: dict[str, str], provider: str
) -> None:
    url, triggers = server
    status, payload = await post(url, headers)
    assert (status, payload["provider"], triggers.count) == (202, provider, 1)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Hub-Signature-256": hmac_header(BODY, b"wrong")},
        {"X-Hub-Signature-256": hmac_header(BODY + b"x")},
        {"X-Gitlab-Token": "wrong"},
        {"X-Meshfleet-Signature": "sha256=" + "0" * 64},
        {"X-Meshfleet-Signature": ""},
        {},
    ],
    ids=["github-wrong-key", "github-other-body", "gitlab-wrong", "generic-wrong", "generic-empty", "missing"],
)
async def test_bad_or_missing_signatures_get_401_and_no_sync(
    server: tuple[str, Triggers], headers: dict[str, str]
) -> None:
    url, triggers = server
    status, payload = await post(url, headers)
    assert status == 401
    assert triggers.count == 0
    assert "hook secret" not in payload["error"]


async def test_only_post_on_the_hook_path(server: tuple[str, Triggers]) -> None:
    url, triggers = server
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            assert response.status == 405
        async with session.post(url.replace("/hooks/git", "/other"), data=BODY) as response:
            assert response.status == 404
    assert triggers.count == 0


async def test_a_push_webhook_delivers_the_new_revision(upstream: Upstream, cache: Path) -> None:
    upstream.commit({"fleet.yaml": "1\n"})
    seen: asyncio.Queue[str] = asyncio.Queue()

    async def deliver(snapshot: Snapshot) -> None:
        await seen.put(snapshot.revision)

    watcher = SourceWatcher(GitSource(str(upstream.path), cache=cache), deliver, interval=3600)
    webhook = WebhookServer(create_webhook_app(WebhookSecret(SECRET), watcher.trigger))
    port = await webhook.start()
    task = asyncio.create_task(watcher.run())
    try:
        async with asyncio.timeout(10):
            await seen.get()
        pushed = upstream.commit({"fleet.yaml": "2\n"})
        url = f"http://127.0.0.1:{port}/hooks/git"
        assert (await post(url, {"X-Gitlab-Token": "not it"}))[0] == 401
        await asyncio.sleep(0.2)
        assert seen.empty()
        assert (await post(url, {"X-Hub-Signature-256": hmac_header(BODY)}))[0] == 202
        async with asyncio.timeout(5):
            assert await seen.get() == pushed
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await webhook.close()
