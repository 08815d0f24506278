"""The rollout's durable flags: paused, halted, and when each wave of a revision started.

Kept in one small JSON file so ``meshfleet rollout pause`` from one shell
reaches a ``meshfleet watch`` running in another, and a restarted watcher
neither restarts wave timers nor forgets a halt.  Writes are atomic.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from fleet.reconcile.errors import RolloutStateError

STATE_FILE = "rollout.json"


def default_state_dir(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    base = environ.get("XDG_STATE_HOME") or str(Path(environ.get("HOME", "~")).expanduser() / ".local" / "state")
    return Path(base) / "meshfleet"


@dataclass(frozen=True, slots=True)
class RolloutState:
    paused: bool = False
    revision: str = ""  # the revision the wave times and the halt belong to
    halted: str | None = None
    wave_started: dict[int, datetime] = field(default_factory=dict)

    def for_revision(self, revision: str) -> RolloutState:
        """A new revision restarts the waves and lifts a halt; a pause stays."""
        if revision == self.revision:
            return self
        return RolloutState(paused=self.paused, revision=revision)

    def to_json(self) -> dict[str, Any]:
        return {"paused": self.paused, "revision": self.revision, "halted": self.halted,
                "waveStarted": {str(i): t.isoformat() for i, t in sorted(self.wave_started.items())}}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RolloutState:
        return cls(paused=bool(doc.get("paused", False)), revision=str(doc.get("revision", "")),
                   halted=doc.get("halted"),
                   wave_started={int(i): datetime.fromisoformat(t) for i, t in (doc.get("waveStarted") or {}).items()})


class RolloutStateFile:
    def __init__(self, directory: Path) -> None:
        self.path = directory / STATE_FILE

    def load(self) -> RolloutState:
        try:
            return RolloutState.from_json(json.loads(self.path.read_text()))
        except FileNotFoundError:
            return RolloutState()
        except (OSError, ValueError, TypeError, AttributeError) as e:
            raise RolloutStateError(f"{self.path}: unreadable rollout state: {e}") from e

    def save(self, state: RolloutState) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(state.to_json(), indent=2) + "\n")
            os.replace(tmp, self.path)
        except OSError as e:
            raise RolloutStateError(f"{self.path}: cannot write the rollout state: {e.strerror or e}") from e

    def set_paused(self, paused: bool) -> RolloutState:
        """Pause, or resume: which also lifts a halt and restarts the wave timers from now."""
        state = self.load()
        state = replace(state, paused=True) if paused else replace(state, paused=False, halted=None, wave_started={})
        self.save(state)
        return state
