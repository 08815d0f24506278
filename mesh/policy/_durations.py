"""Gateway API style durations: ``500ms``, ``10s``, ``1m30s``, ``1.5h``."""

from __future__ import annotations

import re

from .errors import InvalidPolicyObject

_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str, where: str) -> float:
    """Seconds in ``text``; errors name ``where``."""
    if not isinstance(text, str) or not text:
        raise InvalidPolicyObject(where, f"{text!r} is not a duration like 500ms, 10s or 1m30s")
    pos, total = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text):
        raise InvalidPolicyObject(where, f"{text!r} is not a duration like 500ms, 10s or 1m30s")
    return total
