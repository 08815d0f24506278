"""Read the webhook secret from a file or an environment variable, never echoing it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from fleet.errors import WebhookSecretError
from fleet.source._signatures import WebhookSecret


def load_webhook_secret(
    *,
    file: str | os.PathLike[str] | None = None,
    env: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> WebhookSecret:
    """The secret from ``file`` (trailing newline dropped) or else the variable ``env``.

    An empty secret is refused: it would let anyone who sends an empty token in.
    """
    if file is not None:
        try:
            value = Path(file).read_bytes().rstrip(b"\r\n")
        except OSError as e:
            raise WebhookSecretError(f"webhook secret file {os.fspath(file)}: {e.strerror or e}") from e
        source = f"webhook secret file {os.fspath(file)}"
    elif env is not None:
        text = (os.environ if environ is None else environ).get(env)
        if text is None:
            raise WebhookSecretError(f"environment variable {env} (the webhook secret) is not set")
        value = text.encode("utf-8")
        source = f"environment variable {env}"
    else:
        raise WebhookSecretError("no webhook secret: give a secret file or an environment variable")
    if not value:
        raise WebhookSecretError(f"{source} is empty")
    return WebhookSecret(value)
