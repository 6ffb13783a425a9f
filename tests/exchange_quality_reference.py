"""The first (per-slot, pandas) implementation of ``quality_daily``, kept as the reference the fast one is
checked against (tests/test_exchange_pages_quality.py)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import select

from core.config import Config
from dashboard.appdb import session_factory
from dashboard.exchange.models import JOB_NAMES_ZH, ExchangeNode, JobRun, NodePresenceHour
from dashboard.exchange.quality import FIGURE_PARTS, _jobs
from dashboard.exchange.service import _frame, now_local


def _slot_offsets(every: float | None, daily_at: str | None) -> list[dt.timedelta]:
    if every and not pd.isna(every):
        return [dt.timedelta(minutes=m) for m in range(0, 1440, int(every))]
    hh, mm = (int(x) for x in str(daily_at or "02:00").split(":"))
    return [dt.timedelta(hours=hh, minutes=mm)]


def reference_quality_daily(cfg: Config, start: dt.date, end: dt.date, now: dt.datetime | None = None,
                  by: Sequence[str] = ("inst_code", "day"), inst_codes: Iterable[str] | None = None
                  ) -> pd.DataFrame:
    """The four figures for days start..end (inclusive), grouped by ``by`` ⊆ {inst_code, job_code, day}.

    Columns: the group keys (plus ``name`` when grouped by inst_code, ``job_name`` by job_code), each figure's
    numerator and denominator (FIGURE_PARTS) and the figure itself (NaN when the denominator is 0).
    ``node_online_rate`` is per institution and day; grouped by job it repeats the node's value.
    """
    by = list(by)
    if not set(by) <= {"inst_code", "job_code", "day"}:
        raise ValueError(f"by must be a subset of inst_code, job_code, day: {by}")
    now = now or now_local()
    t0 = dt.datetime.combine(start, dt.time())
    t1 = dt.datetime.combine(end, dt.time()) + dt.timedelta(days=1)
    factory = session_factory(cfg.app_db_url)
    with factory() as s:
        jobs = _jobs(s, inst_codes)
        node_ids = jobs["node_id"].unique().tolist()
        runs = _frame(s.execute(
            select(JobRun.node_id, JobRun.job_code, JobRun.status, JobRun.started_at, JobRun.finished_at,
                   JobRun.rows_extracted, JobRun.rows_rejected)
            .where(JobRun.node_id.in_(node_ids), JobRun.started_at >= t0 - dt.timedelta(days=1),
                   JobRun.started_at < t1 + dt.timedelta(days=1))))
        presence = _frame(s.execute(
            select(NodePresenceHour.node_id, NodePresenceHour.hour)
            .where(NodePresenceHour.node_id.in_(node_ids), NodePresenceHour.hour >= t0,
                   NodePresenceHour.hour < t1)))
        created = dict(s.execute(select(ExchangeNode.id, ExchangeNode.created_at)
                                 .where(ExchangeNode.id.in_(node_ids))).all())
    keys = ["node_id", "job_code", "day"]

    # timeliness by slot
    slot_rows = []
    ok = runs[runs["status"] == "success"] if len(runs) else runs
    finishes = {k: np.sort(g["finished_at"].to_numpy(dtype="datetime64[ns]"))
                for k, g in ok.groupby(["node_id", "job_code"])} if len(ok) else {}
    days = pd.date_range(t0, t1 - dt.timedelta(days=1), freq="D").to_pydatetime()
    for job in jobs.itertuples(index=False):
        window = dt.timedelta(minutes=int(job.window_minutes))
        first = pd.Timestamp(job.created_at).to_pydatetime()
        offsets = _slot_offsets(job.every_minutes, job.daily_at)
        slots = [d + o for d in days for o in offsets]
        slots = [x for x in slots if x >= first and x + window <= now]
        if not slots:
            continue
        arr = np.array(slots, dtype="datetime64[ns]")
        fin = finishes.get((job.node_id, job.job_code), np.array([], dtype="datetime64[ns]"))
        idx = np.searchsorted(fin, arr, side="left")
        if len(fin):
            first_finish = fin[np.minimum(idx, len(fin) - 1)]      # first success finishing at/after the slot
            timely = (idx < len(fin)) & (first_finish <= arr + np.timedelta64(int(window.total_seconds()), "s"))
        else:
            timely = np.zeros(len(arr), dtype=bool)
        slot_rows.append(pd.DataFrame({"node_id": job.node_id, "job_code": job.job_code,
                                       "day": pd.DatetimeIndex(arr).normalize(), "scheduled_slots": 1,
                                       "timely_slots": timely.astype(int)}))
    slots_df = (pd.concat(slot_rows).groupby(keys, as_index=False)[["timely_slots", "scheduled_slots"]].sum()
                if slot_rows else pd.DataFrame(columns=keys + ["timely_slots", "scheduled_slots"]))

    # runs by start day
    fin_runs = runs[runs["status"].isin(["success", "failed"])].copy() if len(runs) else runs.copy()
    if len(fin_runs):
        fin_runs["day"] = pd.to_datetime(fin_runs["started_at"]).dt.normalize()
        fin_runs = fin_runs[(fin_runs["day"] >= t0) & (fin_runs["day"] < t1)]
        fin_runs["success_runs"] = (fin_runs["status"] == "success").astype(int)
        fin_runs["finished_runs"] = 1
        fin_runs["rows_rejected"] = fin_runs["rows_rejected"].fillna(0).astype("int64")
        has_rows = fin_runs["rows_extracted"].notna()
        fin_runs["rows_extracted"] = fin_runs["rows_extracted"].fillna(0).astype("int64")
        fin_runs.loc[~has_rows, "rows_rejected"] = 0
        run_df = fin_runs.groupby(keys, as_index=False)[
            ["success_runs", "finished_runs", "rows_rejected", "rows_extracted"]].sum()
    else:
        run_df = pd.DataFrame(columns=keys + ["success_runs", "finished_runs", "rows_rejected", "rows_extracted"])

    per_job = slots_df.merge(run_df, on=keys, how="outer")
    per_job["day"] = pd.to_datetime(per_job["day"])
    meta = jobs[["node_id", "inst_code", "name"]].drop_duplicates("node_id")
    per_job = per_job.merge(meta, on="node_id", how="left")

    # online hours per node and day
    online = _online_hours(node_ids, created, presence, t0, t1, now)
    online = online.merge(meta, on="node_id", how="left")

    count_cols = ["timely_slots", "scheduled_slots", "success_runs", "finished_runs", "rows_rejected",
                  "rows_extracted"]
    per_job[count_cols] = per_job[count_cols].fillna(0).astype("int64")
    if "job_code" in by:
        out = per_job.groupby(by, as_index=False)[count_cols].sum()
        on_keys = [k for k in by if k != "job_code"]
        onl = online.groupby(on_keys or ["node_id"], as_index=False)[["online_hours", "expected_hours"]].sum() \
            if on_keys else online[["online_hours", "expected_hours"]].sum().to_frame().T
        out = out.merge(onl, on=on_keys, how="left") if on_keys else out.assign(
            online_hours=int(onl["online_hours"].iloc[0]), expected_hours=int(onl["expected_hours"].iloc[0]))
    else:
        a = per_job.groupby(by, as_index=False)[count_cols].sum() if by else \
            per_job[count_cols].sum().to_frame().T
        b = online.groupby(by, as_index=False)[["online_hours", "expected_hours"]].sum() if by else \
            online[["online_hours", "expected_hours"]].sum().to_frame().T
        out = a.merge(b, on=by, how="outer") if by else pd.concat([a, b], axis=1)
    for col in count_cols + ["online_hours", "expected_hours"]:
        out[col] = out[col].fillna(0).astype("int64")
    for fig, (num, den) in FIGURE_PARTS.items():
        out[fig] = np.where(out[den] > 0, out[num] / out[den].where(out[den] > 0, 1), np.nan)
    if "inst_code" in by:
        out = out.merge(meta[["inst_code", "name"]], on="inst_code", how="left")
    if "job_code" in by:
        out["job_name"] = out["job_code"].map(JOB_NAMES_ZH)
    if "day" in by:
        out["day"] = pd.to_datetime(out["day"]).dt.date
    return out.sort_values(by).reset_index(drop=True) if by else out


def _online_hours(node_ids: list[int], created: dict[int, dt.datetime], presence: pd.DataFrame,
                  t0: dt.datetime, t1: dt.datetime, now: dt.datetime) -> pd.DataFrame:
    """Per node and day: hours with a heartbeat / hours expected (completed, after the node's creation)."""
    frames = []
    for node_id in node_ids:
        first = pd.Timestamp(created.get(node_id) or t0).floor("h")
        hours = pd.date_range(max(first, pd.Timestamp(t0)), min(pd.Timestamp(now).floor("h"), pd.Timestamp(t1)),
                              freq="h", inclusive="left")
        if len(hours):
            frames.append(pd.DataFrame({"node_id": node_id, "hour": hours}))
    if not frames:
        return pd.DataFrame(columns=["node_id", "day", "online_hours", "expected_hours"])
    expected = pd.concat(frames, ignore_index=True)
    seen = presence.assign(hour=pd.to_datetime(presence["hour"]).astype("datetime64[ns]"), seen=1) \
        .drop_duplicates(["node_id", "hour"]) if len(presence) else \
        pd.DataFrame({"node_id": pd.Series(dtype="int64"), "hour": pd.Series(dtype="datetime64[ns]"),
                      "seen": pd.Series(dtype="int64")})
    expected["hour"] = expected["hour"].astype("datetime64[ns]")
    expected = expected.merge(seen, on=["node_id", "hour"], how="left")
    expected["online_hours"] = expected["seen"].fillna(0).astype("int64")
    expected["day"] = expected["hour"].dt.normalize()
    return expected.groupby(["node_id", "day"], as_index=False).agg(
        online_hours=("online_hours", "sum"), expected_hours=("online_hours", "size"))


