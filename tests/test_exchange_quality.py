"""Quality figures on hand-made runs equal hand-computed values."""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from sqlalchemy import update

from dashboard.appdb import init_app_db, session_factory
from dashboard.exchange.models import ExchangeJob, ExchangeNode, JobRun, NodePresenceHour
from dashboard.exchange.quality import behind_schedule, last_upload, online_now, quality_daily
from dashboard.exchange.service import ensure_nodes
from tests.exchange_fixtures import make_cfg

D = dt.datetime(2024, 3, 1)
NOW = D + dt.timedelta(days=1)


def t(hh: int, mm: int = 0, day: dt.datetime = D) -> dt.datetime:
    return day + dt.timedelta(hours=hh, minutes=mm)


@pytest.fixture()
def qcfg(tmp_path):
    """Two nodes: T001 (HIS_OP hourly/30 min window, PH daily 02:30/120 min; its HIS_IP and LIS disabled) and
    V001 (HIS_OP, PH; nothing uploaded), created at D 00:00."""
    cfg = make_cfg(tmp_path)
    init_app_db(cfg.app_db_url)
    insts = pd.DataFrame([
        {"inst_code": "T001", "name": "一号卫生院", "inst_type": "township_center", "level": "township",
         "parent_inst_code": "H001", "lon": 119.6, "lat": 29.1},
        {"inst_code": "V001", "name": "一号村卫生室", "inst_type": "village_clinic", "level": "village",
         "parent_inst_code": "T001", "lon": None, "lat": None},
    ])
    assert ensure_nodes(cfg, insts) == 2
    with session_factory(cfg.app_db_url)() as s, s.begin():
        s.execute(update(ExchangeNode).values(created_at=D))
        s.execute(update(ExchangeJob).values(created_at=D))
        s.execute(update(ExchangeJob).where(ExchangeJob.job_code.in_(["HIS_IP", "LIS"])).values(enabled=0))
        t001 = s.query(ExchangeNode).filter_by(code="EX-T001").one().id
        runs = [  # (run_id, job, start, finish, status, extracted, rejected)
            ("P-2350", "HIS_OP", t(23, 50, D - dt.timedelta(days=1)), t(0, 5), "success", 7, 0),
            ("R-0000", "HIS_OP", t(0, 0), t(0, 10), "success", 100, 1),
            ("R-0100", "HIS_OP", t(1, 0), t(1, 45), "success", 200, 2),       # late
            ("R-0200", "HIS_OP", t(2, 1), t(2, 5), "failed", 50, 0),
            ("R-0200b", "HIS_OP", t(2, 10), t(2, 25), "success", 300, 0),     # re-run, in time
            ("R-0300", "HIS_OP", t(3, 1), t(3, 5), "failed", None, None),     # never re-run
            ("R-0400", "HIS_OP", t(4, 0), t(4, 5), "success", 400, 4),
            ("R-0500", "HIS_OP", t(5, 0), None, "running", 999, 9),           # not finished: not counted
            ("PH-1", "PH", t(2, 31), t(3, 0), "success", 1000, 10),
        ]
        for run_id, job, start, finish, status, ext, rej in runs:
            s.add(JobRun(run_id=run_id, node_id=t001, job_code=job, started_at=start, finished_at=finish,
                         status=status, rows_extracted=ext, rows_rejected=rej, received_at=start))
        for h in range(20):
            if h != 7:
                s.add(NodePresenceHour(node_id=t001, hour=t(h)))
        s.execute(update(ExchangeNode).where(ExchangeNode.id == t001).values(last_heartbeat_at=NOW))
    return cfg


def test_daily_figures_per_institution(qcfg):
    q = quality_daily(qcfg, D.date(), D.date(), now=NOW).set_index("inst_code")
    a = q.loc["T001"]
    # HIS_OP: 24 slots, timely at 00:00 (00:10), 02:00 (re-run 02:25), 04:00 (04:05); PH 1 of 1
    assert (a["timely_slots"], a["scheduled_slots"]) == (4, 25)
    assert a["upload_timeliness"] == pytest.approx(4 / 25)
    # started on D and finished: 4 + 1 successes, 2 failures
    assert (a["success_runs"], a["finished_runs"]) == (5, 7)
    assert a["job_success_rate"] == pytest.approx(5 / 7)
    assert (a["rows_rejected"], a["rows_extracted"]) == (17, 2050)
    assert a["reject_rate"] == pytest.approx(17 / 2050)
    assert (a["online_hours"], a["expected_hours"]) == (19, 24)
    assert a["node_online_rate"] == pytest.approx(19 / 24)
    assert a["name"] == "一号卫生院" and a["day"] == D.date()
    b = q.loc["V001"]
    assert (b["timely_slots"], b["scheduled_slots"], b["finished_runs"], b["online_hours"],
            b["expected_hours"]) == (0, 25, 0, 0, 24)
    assert b["upload_timeliness"] == 0 and math.isnan(b["job_success_rate"]) and math.isnan(b["reject_rate"])


def test_ratio_of_sums_when_grouped(qcfg):
    total = quality_daily(qcfg, D.date(), D.date(), now=NOW, by=["day"]).iloc[0]
    assert (total["timely_slots"], total["scheduled_slots"]) == (4, 50)
    assert total["upload_timeliness"] == pytest.approx(4 / 50)          # not the mean of 4/25 and 0/25
    assert total["node_online_rate"] == pytest.approx(19 / 48)
    by_job = quality_daily(qcfg, D.date(), D.date(), now=NOW, by=["inst_code", "job_code"])
    row = by_job[(by_job.inst_code == "T001") & (by_job.job_code == "HIS_OP")].iloc[0]
    assert (row["timely_slots"], row["scheduled_slots"], row["success_runs"], row["finished_runs"]) == (3, 24, 4, 6)
    assert row["job_name"] == "HIS门诊"


def test_open_slots_are_not_yet_counted(qcfg):
    # at 04:20 the 04:00 slot's window is still open; slots 00..03 are closed, PH 02:30 closes at 04:30
    q = quality_daily(qcfg, D.date(), D.date(), now=t(4, 20)).set_index("inst_code").loc["T001"]
    assert (q["timely_slots"], q["scheduled_slots"]) == (2, 4)
    assert q["expected_hours"] == 4


def test_last_upload_and_behind_schedule(qcfg):
    last = last_upload(qcfg).set_index(["inst_code", "job_code"])
    assert last.loc[("T001", "HIS_OP"), "last_success_at"] == t(4, 5)
    assert last.loc[("T001", "HIS_OP"), "run_id"] == "R-0400"
    assert last.loc[("T001", "PH"), "last_success_at"] == t(3, 0)
    assert pd.isna(last.loc[("V001", "HIS_OP"), "last_success_at"])
    behind = behind_schedule(qcfg, now=NOW).set_index(["inst_code", "job_code"])
    # HIS_OP allows 60 + 30 min; PH allows 1 day + 120 min
    assert set(behind.index) == {("T001", "HIS_OP"), ("V001", "HIS_OP")}
    assert behind.loc[("T001", "HIS_OP"), "overdue_minutes"] == pytest.approx((19 * 60 + 55) - 90)
    assert behind.loc[("V001", "HIS_OP"), "overdue_minutes"] == pytest.approx(1440 - 90)
    assert behind.index[0] == ("V001", "HIS_OP")                     # most overdue first


def test_online_now(qcfg):
    assert online_now(qcfg, now=NOW + dt.timedelta(seconds=170)) == {"online": 1, "nodes": 2, "rate": 0.5}
    assert online_now(qcfg, now=NOW + dt.timedelta(seconds=181))["online"] == 0


@pytest.mark.parametrize("minutes_after_creation", [5, 24 * 60 + 90])
def test_nodes_without_runs_give_zero_counts(tmp_path, minutes_after_creation):
    """Nodes just registered, no run yet (a new deployment): the figures are zero counts with empty ratios, not
    an error (pandas once refused the merge of the two empty sides and the quality page showed an error card).
    Five minutes after creation no slot has closed either; a day later the slots have and nothing arrived."""
    cfg = make_cfg(tmp_path)
    init_app_db(cfg.app_db_url)
    insts = pd.DataFrame([{"inst_code": "T001", "name": "一号卫生院", "inst_type": "township_center",
                           "level": "township", "parent_inst_code": "H001", "lon": 119.6, "lat": 29.1}])
    assert ensure_nodes(cfg, insts) == 1
    with session_factory(cfg.app_db_url)() as s, s.begin():
        s.execute(update(ExchangeNode).values(created_at=D))
        s.execute(update(ExchangeJob).values(created_at=D))
    now = D + dt.timedelta(minutes=minutes_after_creation)
    for by in (["inst_code", "day"], ["job_code"], ["inst_code", "job_code", "day"], []):
        out = quality_daily(cfg, D.date(), now.date(), now=now, by=by)
        assert out["success_runs"].sum() == 0 and out["finished_runs"].sum() == 0
        if minutes_after_creation > 24 * 60:
            assert out["scheduled_slots"].sum() > 0 and out["timely_slots"].sum() == 0
            assert (out["upload_timeliness"].dropna() == 0).all()
        else:
            assert out["scheduled_slots"].sum() == 0 and out["upload_timeliness"].isna().all()

