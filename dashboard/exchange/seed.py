"""Demo history of the exchange nodes (placeholder until the exchange issue lands)."""
from __future__ import annotations

from dashboard.config import Config


def seed_demo_history(cfg: Config, days: int = 30) -> None:
    """Create one node per institution and seed `days` days of heartbeats, job runs and logs."""
