"""Exchange-node REST API (placeholder until the exchange issue lands)."""
from __future__ import annotations

from flask import Flask

from dashboard.config import Config


def init_exchange_api(server: Flask, cfg: Config) -> None:
    """Register the /api/exchange routes."""
