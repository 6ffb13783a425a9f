"""Institutions that get an exchange node (read from the mart)."""
from __future__ import annotations

import pandas as pd

from queries.connection import read_df


def institutions_for_nodes(mart_url: str) -> pd.DataFrame:
    """inst_code, name, inst_type, level, parent_inst_code, lon, lat of every institution, by code."""
    return read_df(mart_url, "SELECT inst_code, name, inst_type, level, parent_inst_code, lon, lat "
                             "FROM institution ORDER BY inst_code")
