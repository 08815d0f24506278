"""How numbers become cells, and which values count as unhealthy (pure).

Thresholds: success rate below 95 % is bad, below 99 % a warning; mTLS below 100 % a warning;
a certificate expiring within 7 days is bad, within 30 days a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tui.present.table import Cell, Level

BLOCKS = "▁▂▃▄▅▆▇█"
DASH = "-"


def success_cell(v: float | None) -> Cell:
    if v is None:
        return Cell(DASH)
    level = Level.BAD if v < 0.95 else Level.WARN if v < 0.99 else Level.OK
    return Cell(f"{v * 100:.2f}%", v, level)


def mtls_cell(v: float | None) -> Cell:
    if v is None:
        return Cell(DASH)
    return Cell(f"{v * 100:.0f}%", v, Level.WARN if v < 1.0 else Level.OK)


def rps_cell(v: float | None) -> Cell:
    if v is None:
        return Cell(DASH)
    return Cell(f"{v:.1f}" if v < 1000 else f"{v / 1000:.1f}k", v)


def ms_cell(v: float | None) -> Cell:
    if v is None:
        return Cell(DASH)
    return Cell(f"{v:.0f}ms" if v >= 10 else f"{v:.1f}ms", v)


def days_until(t: datetime | None, now: datetime) -> float | None:
    return None if t is None else (t - now).total_seconds() / 86400


def days_cell(days: float | None, warn_below: float = 30.0, bad_below: float = 7.0) -> Cell:
    if days is None:
        return Cell(DASH)
    level = Level.BAD if days < bad_below else Level.WARN if days < warn_below else Level.OK
    return Cell("expired" if days < 0 else f"{int(days)}d", days, level)


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.0f}h"


def sparkline(values: Sequence[float | None], width: int = 12) -> str:
    """Unicode block sparkline of the last ``width`` values, scaled to their own range."""
    tail = list(values)[-width:]
    known = [v for v in tail if v is not None]
    if not known:
        return ""
    lo, hi = min(known), max(known)
    span = hi - lo
    out = []
    for v in tail:
        if v is None:
            out.append(" ")
        elif span == 0:
            out.append(BLOCKS[0] if hi == 0 else BLOCKS[len(BLOCKS) // 2])
        else:
            out.append(BLOCKS[round((v - lo) / span * (len(BLOCKS) - 1))])
    return "".join(out)


def short_revision(rev: str) -> str:
    return rev[:7] if len(rev) > 7 else rev
