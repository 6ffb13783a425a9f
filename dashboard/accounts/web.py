"""Login, sessions and access control on the Flask server (placeholder until the accounts issue lands)."""
from __future__ import annotations

import dash

from dashboard.config import Config


def init_accounts(app: dash.Dash, cfg: Config) -> None:
    """Install login, session and access control on the app's server."""
