"""Account services (placeholder until the accounts issue lands)."""
from __future__ import annotations

from pathlib import Path

from dashboard.config import Config


def ensure_demo_accounts(cfg: Config) -> Path | None:
    """Create one demo account per role and write DATA_DIR/demo-accounts.txt; return its path if newly written."""
    return None
