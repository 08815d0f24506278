"""The Textual application: one module per screen under :mod:`tui.app.screens`."""
