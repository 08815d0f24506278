"""Find credentials written into fleet files, which are committed to Git.

A cluster is reached through a kubeconfig context the fleet manager's own
environment provides; tokens, passwords and keys never belong in the
repository.  Any key whose name smells of a credential, and any value that
holds a PEM private key, is reported.  The value itself is never quoted, so
a leaked secret does not travel further through logs and CI output.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fleet.config._yamldoc import Path

# Compared after lower-casing and dropping '-', '_' and '.', so client-key, client_key and clientKey all match.
_CREDENTIAL_WORDS = re.compile(
    r"token|password|passwd|passphrase|secret|credential|apikey|privatekey|clientkey|"
    r"clientcertificate|certificateauthoritydata|bearer|authprovider|^auth$|^key$|keydata$|^kubeconfig$"
)
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")


def looks_like_credential(key: str) -> bool:
    return _CREDENTIAL_WORDS.search(re.sub(r"[-_.]", "", key.lower())) is not None


def find_credentials(value: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Yield (path, reason) for every credential-like key or private-key value under ``value``."""
    if isinstance(value, dict):
        for key, child in value.items():
            if looks_like_credential(key):
                yield (
                    (*path, key),
                    "looks like a credential; credentials never belong in Git, "
                    "reach the cluster through spec.kubeconfigContext",
                )
            else:
                yield from find_credentials(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from find_credentials(child, (*path, index))
    elif isinstance(value, str) and _PRIVATE_KEY.search(value):
        yield path, "contains a private key; private keys never belong in Git"
