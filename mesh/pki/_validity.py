"""Expiry arithmetic: validity windows, time left, and when to renew.

All times are timezone-aware UTC datetimes passed in by the caller; nothing
here reads a clock, so schedules are reproducible in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509


@dataclass(frozen=True, slots=True)
class Validity:
    """A certificate's [not_before, not_after] window."""

    not_before: datetime
    not_after: datetime

    def __post_init__(self) -> None:
        if self.not_before.tzinfo is None or self.not_after.tzinfo is None:
            raise ValueError("validity bounds must be timezone-aware")
        if self.not_after <= self.not_before:
            raise ValueError("not_after must be later than not_before")

    @classmethod
    def of(cls, cert: x509.Certificate) -> Validity:
        return cls(cert.not_valid_before_utc, cert.not_valid_after_utc)

    @property
    def lifetime(self) -> timedelta:
        return self.not_after - self.not_before

    def contains(self, now: datetime) -> bool:
        return self.not_before <= now <= self.not_after

    def time_left(self, now: datetime) -> timedelta:
        """How long until expiry; zero once expired, never negative."""
        return max(self.not_after - now, timedelta(0))

    def fraction_elapsed(self, now: datetime) -> float:
        """0.0 at not_before, 1.0 at not_after, clamped to [0, 1]."""
        done = (now - self.not_before) / self.lifetime
        return min(max(done, 0.0), 1.0)

    def renew_at(self, fraction: float, *, received_at: datetime | None = None) -> datetime:
        """The instant at which `fraction` of the usable life has passed.

        The usable life starts at `received_at` when that is later than
        not_before: a certificate issued with a back-dated not_before (clock
        skew allowance), or received late, is renewed on the schedule of the
        time it could actually be used.
        """
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"renewal fraction must be in (0, 1], got {fraction}")
        start = self.not_before if received_at is None else max(self.not_before, received_at)
        if start >= self.not_after:
            return self.not_after
        return start + (self.not_after - start) * fraction


def time_left(cert: x509.Certificate, now: datetime) -> timedelta:
    """How long `cert` remains valid after `now` (zero if expired)."""
    return Validity.of(cert).time_left(now)


def clamp_not_after(wanted: datetime, parents: tuple[x509.Certificate, ...]) -> datetime:
    """`wanted`, pulled back so that it is no later than any parent's not_after."""
    return min([wanted, *(p.not_valid_after_utc for p in parents)])
