"""``?``: the keys."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]Keys[/b]
  Enter      drill down (cluster → workloads → workload)
  Esc        clear the filter, then go back
  /          filter rows: words match any column; column:text one column
             (cluster:east  ns:shop  state:failed)
  :          command: clusters · workloads · trust · events · cluster NAME · ns NAME · q
  s          sort by the column under the cursor (again: reverse)
  Tab        next table on the screen
  r          refresh now
  ?          this help
  q          quit

Unhealthy values are red or yellow and start with ✗ (bad) or ! (warning).
Press Esc or ? to close."""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(HELP, id="help")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
