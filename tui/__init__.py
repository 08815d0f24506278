"""The fleet dashboard (``meshfleet tui``): every cluster's health and golden metrics."""

from tui.cli import tui_main

__all__ = ["tui_main"]
