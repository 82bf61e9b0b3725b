"""Corridor: the `corridor` command and what it composes (demo, broker, scenarios)."""

__version__ = "0.1.0"
