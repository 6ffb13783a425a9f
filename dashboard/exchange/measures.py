"""The exchange figures as an engine measure source (``metrics.sources``): daily counts per institution.

``install(cfg)`` registers the reader under the source name ``exchange`` (the ``table`` of the catalogue's appdb
measures); ``create_app`` and the command line call it, so ``metrics.engine.compute`` serves upload_timeliness,
job_success_rate, node_online_rate and reject_rate like any other indicator without ``metrics`` importing the
web package.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from core.config import Config

SOURCE = "exchange"
COLUMNS = ("scheduled_slots", "timely_slots", "finished_runs", "success_runs", "expected_hours", "online_hours",
           "rows_extracted", "rows_rejected")


def reader_for(cfg: Config):  # noqa: ANN201 - a metrics.sources.Reader
    """A reader of the app database of ``cfg``: (first_day, last_day, inst_codes|None) → inst_code, day, counts."""
    ready: list[bool] = []

    def read(first: dt.date, last: dt.date, inst_codes: Sequence[str] | None) -> pd.DataFrame:
        from dashboard.exchange.quality import quality_daily
        if not ready:
            from dashboard.appdb import init_app_db
            init_app_db(cfg.app_db_url)
            ready.append(True)
        df = quality_daily(cfg, first, last, by=("inst_code", "day"), inst_codes=inst_codes)
        if df.empty:
            return pd.DataFrame(columns=["inst_code", "day", *COLUMNS])
        return df[["inst_code", "day", *COLUMNS]]
    return read


def install(cfg: Config) -> None:
    """Register the exchange measure source of ``cfg``'s app database with the engine."""
    from metrics import sources
    sources.register(SOURCE, reader_for(cfg))
