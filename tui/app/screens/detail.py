"""Drill-down screens fetch their own data, only while they are on top.

The app's refresh keeps the overview current; a drill-down screen adds its own timer and worker
asking the feed for the one cluster (or workload) it shows, and pauses them while another
screen covers it, so per-workload data is fetched for what is on screen and nothing else.
"""

from __future__ import annotations

from textual.timer import Timer
from textual.worker import Worker, WorkerState

from tui.app.screens.base import TableScreen
from tui.data import ClusterDetail


class DetailScreen(TableScreen):
    """A table screen backed by :class:`ClusterDetail` values it refreshes itself."""

    def __init__(self, query: str = "") -> None:
        super().__init__(query)
        self.details: tuple[ClusterDetail, ...] = ()
        self.loaded = False
        self._timer: Timer | None = None
        self._fetching: Worker[tuple[ClusterDetail, ...]] | None = None

    async def fetch(self) -> tuple[ClusterDetail, ...]:
        """Ask the feed for what this screen shows."""
        raise NotImplementedError

    # Textual runs TableScreen's handlers of the same events too (it walks the MRO), so these
    # add to them rather than call them.
    def on_mount(self) -> None:
        self._timer = self.set_interval(self.fleet_app.refresh_s, self.reload)
        self.reload()

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.pause()

    def on_screen_resume(self) -> None:
        if self._timer is not None:
            self._timer.resume()
            self.reload()

    def reload(self) -> None:
        """Fetch again, unless a fetch is still running (a slow cluster is not stacked on)."""
        if self._fetching is not None and self._fetching.state in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        self._fetching = self.run_worker(self.fetch(), group="detail", exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._fetching:
            return
        if event.state is WorkerState.SUCCESS and isinstance(event.worker.result, tuple):
            self.details, self.loaded = event.worker.result, True
            self.show(self.fleet_app.view)
        elif event.state is WorkerState.ERROR:
            self.notify(f"refresh failed: {event.worker.error}", severity="error")

    def detail_problems(self) -> str | None:
        """The info line's complaint: loading, or the clusters whose drill-down failed."""
        if not self.loaded:
            return "loading…"
        failed = [d for d in self.details if d.error]
        if not failed:
            return None
        first = failed[0]
        stale = " (showing older data)" if first.metrics is not None else ""
        more = f" (and {len(failed) - 1} more clusters)" if len(failed) > 1 else ""
        return f"✗ {first.cluster}: {first.error}{stale}{more}"
