"""Base package at the bottom of the layers: imports nothing of ours (config, file lock, time zone and month
arithmetic move here; ``core.periods`` is the first)."""
