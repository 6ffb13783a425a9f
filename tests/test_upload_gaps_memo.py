"""The upload gaps (``queries.measures.missing_uploads``) are remembered per mart data version: a change of the
mart that bumps the version (every load and rollup rebuild does) shows at the next call, and a caller changing
the returned frame does not change what the next caller gets."""
from __future__ import annotations

from mart.connection import dispose_engines


def test_gaps_follow_the_data_version_and_callers_get_copies(demo_copy) -> None:
    from mart.db import bump_data_version, writer
    from queries import measures as qm
    from queries.periods import last_complete_month

    url = demo_copy.mart_url
    hi = last_complete_month(url)
    lo = f"{int(hi[:4]) - 1}{hi[4:]}"
    before = qm.missing_uploads(url, lo, hi)
    keys = set(map(tuple, before[["month", "inst_code", "source"]].to_numpy()))
    before.drop(before.index, inplace=True)                       # the caller's frame is its own
    again = qm.missing_uploads(url, lo, hi)
    assert set(map(tuple, again[["month", "inst_code", "source"]].to_numpy())) == keys

    dispose_engines()
    with writer(demo_copy) as con:          # one institution's outpatient upload of the last month disappears
        inst = con.execute("SELECT inst_code FROM r_inst_month WHERE month = ? AND source = 'outpatient_visit' "
                           "ORDER BY days DESC, inst_code LIMIT 1", [hi]).fetchone()[0]
        con.execute("DELETE FROM r_inst_month WHERE month = ? AND source = 'outpatient_visit' AND inst_code = ?",
                    [hi, inst])
        bump_data_version(con)
    dispose_engines()
    assert (hi, inst, "outpatient_visit") not in keys
    after = qm.missing_uploads(url, lo, hi)
    assert (hi, inst, "outpatient_visit") in set(map(tuple, after[["month", "inst_code", "source"]].to_numpy()))
