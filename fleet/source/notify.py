"""Send a signed push notification to a watcher: ``python -m fleet.source.notify URL SECRET_FILE``.

A Git post-commit hook calls this so a local commit reaches ``meshfleet watch`` at
once rather than at its next poll.  The body is small and fixed; what matters is
the HMAC over it, the same one any other sender would use.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path

from fleet.source._signatures import GENERIC_HEADER, WebhookSecret, sign


def notify(url: str, secret: WebhookSecret, timeout: float = 5.0) -> int:
    body = b'{"event":"push"}'
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json", GENERIC_HEADER: sign(body, secret)})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m fleet.source.notify URL SECRET_FILE", file=sys.stderr)
        return 2
    try:
        status = notify(argv[0], WebhookSecret(Path(argv[1]).read_bytes().rstrip(b"\r\n")))
    except (OSError, urllib.error.URLError) as e:
        print(f"notify: {argv[0]}: {e}", file=sys.stderr)
        return 1
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
