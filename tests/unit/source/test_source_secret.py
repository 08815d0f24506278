"""Loading the webhook secret from a file or the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet.errors import WebhookSecretError
from fleet.source import load_webhook_secret


def test_from_a_file_without_its_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b"s3cret value\n")
    assert load_webhook_secret(file=path).value == b"s3cret value"


def test_from_the_environment() -> None:
    secret = load_webhook_secret(env="HOOK_SECRET", environ={"HOOK_SECRET": "from-env"})
    assert secret.value == b"from-env"
    assert "from-env" not in repr(secret)


def test_file_wins_over_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("file")
    assert load_webhook_secret(file=path, env="X", environ={"X": "env"}).value == b"file"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"env": "HOOK_SECRET", "environ": {}}, "environment variable HOOK_SECRET (the webhook secret) is not set"),
        ({"env": "HOOK_SECRET", "environ": {"HOOK_SECRET": ""}}, "environment variable HOOK_SECRET is empty"),
        ({}, "no webhook secret: give a secret file or an environment variable"),
    ],
)
def test_missing_or_empty_secrets_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(WebhookSecretError) as raised:
        load_webhook_secret(**kwargs)  # type: ignore[arg-type]
    assert str(raised.value) == message


def test_unreadable_or_empty_file(tmp_path: Path) -> None:
    with pytest.raises(WebhookSecretError, match=r"webhook secret file .*missing: No such file or directory"):
        load_webhook_secret(file=tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(WebhookSecretError, match="is empty"):
        load_webhook_secret(file=empty)
