"""Shown instead of the layout while the terminal is smaller than the tables need."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static


class TooSmallScreen(Screen[None]):
    def __init__(self, min_width: int, min_height: int) -> None:
        super().__init__()
        self.min_width, self.min_height = min_width, min_height

    def compose(self) -> ComposeResult:
        yield Static(f"Terminal too small: the dashboard needs at least "
                     f"{self.min_width}×{self.min_height}. Enlarge the window.", id="too-small")

    def on_resize(self, event: events.Resize) -> None:
        check = getattr(self.app, "check_size", None)
        if check is not None:
            self.call_after_refresh(check)
