"""The Textual app: refreshes the fleet in a background worker and routes keys to screens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from tui.app.screens.base import TableScreen
from tui.app.screens.detail import DetailScreen
from tui.app.screens.events import EventsScreen
from tui.app.screens.help import HelpScreen
from tui.app.screens.overview import OverviewScreen
from tui.app.screens.palette import PaletteScreen
from tui.app.screens.too_small import TooSmallScreen
from tui.app.screens.trust import TrustScreen
from tui.app.screens.workloads import WorkloadsScreen
from tui.data import FleetFeed, FleetView
from tui.present.commands import CommandError, parse_command

MIN_WIDTH, MIN_HEIGHT = 80, 16


def empty_view() -> FleetView:
    return FleetView(now=datetime.now(UTC), status_origin=None, status=None, status_error=None,
                     status_age_s=None, clusters=())


class FleetApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "meshfleet"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("colon", "palette", "Command", key_display=":"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("r", "refresh", "Refresh"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, feed: FleetFeed, refresh_s: float = 2.0, initial: FleetView | None = None) -> None:
        super().__init__()
        self.feed = feed
        self.refresh_s = refresh_s
        self.view = initial or empty_view()
        self._refreshing: Worker[FleetView] | None = None

    def on_mount(self) -> None:
        self.push_screen(OverviewScreen())
        self.check_size()
        # The overview only: a drill-down screen refreshes its own data on its own timer.
        self.set_interval(self.refresh_s, self.refresh_overview)
        self.refresh_overview()

    async def on_unmount(self) -> None:
        await self.feed.aclose()

    # --- data ----------------------------------------------------------------------------
    def action_refresh(self) -> None:
        self.refresh_overview()
        top = self.screen_stack[-1] if self.screen_stack else None
        if isinstance(top, DetailScreen):
            top.reload()

    def refresh_overview(self) -> None:
        # One refresh at a time: a slow cycle is not stacked on, the next tick just skips.
        if self._refreshing is not None and self._refreshing.state in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        self._refreshing = self.run_worker(self.feed.refresh(), group="refresh", exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._refreshing:
            return
        if event.state is WorkerState.SUCCESS and isinstance(event.worker.result, FleetView):
            self.apply_view(event.worker.result)
        elif event.state is WorkerState.ERROR:
            self.notify(f"refresh failed: {event.worker.error}", severity="error")

    def apply_view(self, view: FleetView) -> None:
        self.view = view
        # A refresh can finish while the app shuts down and its screens are already gone.
        top = self.screen_stack[-1] if self.screen_stack else None
        if isinstance(top, TableScreen):
            top.show(view)

    # --- navigation ----------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_palette(self) -> None:
        if isinstance(self.screen, TableScreen):
            self.push_screen(PaletteScreen(), self._run_command)

    def _run_command(self, text: str | None) -> None:
        if not text or not text.strip():
            return
        try:
            cmd = parse_command(text, [c.name for c in self.view.clusters])
        except CommandError as e:
            self.notify(str(e), severity="warning")
            return
        if cmd.view == "quit":
            self.exit()
            return
        if cmd.view == "help":
            self.action_help()
            return
        # Jumps replace the drill-down stack: the overview stays at the bottom, Esc returns to it.
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if cmd.view == "workloads":
            self.push_screen(WorkloadsScreen(cluster=cmd.cluster, query=cmd.filter))
        elif cmd.view == "trust":
            self.push_screen(TrustScreen())
        elif cmd.view == "events":
            self.push_screen(EventsScreen(cluster=cmd.cluster))

    # --- terminal size -------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        self.check_size()

    def check_size(self) -> None:
        """Swap in the too-small message, or back out of it; screens call this on resize too."""
        small = self.size.width < MIN_WIDTH or self.size.height < MIN_HEIGHT
        showing = isinstance(self.screen, TooSmallScreen)
        if small and not showing:
            self.push_screen(TooSmallScreen(MIN_WIDTH, MIN_HEIGHT))
        elif showing and not small:
            self.pop_screen()
