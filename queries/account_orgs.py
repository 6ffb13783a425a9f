"""Institutions for account scopes (the demo manager's scope, the user-admin page's institution picker)."""
from __future__ import annotations

import pandas as pd

from mart.connection import read_df


def institutions_for_accounts(mart_url: str) -> pd.DataFrame:
    """inst_code, name, inst_type, level, is_lead of every institution, lead hospital first."""
    return read_df(mart_url, "SELECT inst_code, name, inst_type, level, is_lead FROM institution "
                             "ORDER BY is_lead DESC, level, inst_code")
