"""Data-exchange quality figures from the app database, as ratios of sums with numerator and denominator.

Definitions (per institution — or institution and job — and day):

* upload_timeliness = timely_slots / scheduled_slots. A job's scheduled slots are its schedule's times of the day
  (every N minutes from midnight, or daily at HH:MM) from the job's creation on, counted once their window has
  closed (slot + window ≤ now). A slot is timely when a successful run of that job finished within
  [slot, slot + window]. Missing uploads therefore lower the figure (a silent node is not "100 % on time").
* job_success_rate = success_runs / finished_runs (runs started that day with status success or failed).
* reject_rate = Σ rows_rejected / Σ rows_extracted over finished runs started that day.
* node_online_rate (per day) = online_hours / expected_hours: clock hours of the day, completed before now and
  after the node's creation, in which at least one heartbeat arrived (kept in exchange_presence_hour, so the
  figure survives the 7-day pruning of raw heartbeats). ``online_now`` gives the instant figure: nodes heard from
  within 3 heartbeat intervals / nodes.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import String, and_, case, cast, func, or_, select

from core.config import Config
from dashboard.appdb import session_factory
from dashboard.exchange.models import JOB_NAMES_ZH, ExchangeJob, ExchangeNode, JobRun, NodePresenceHour
from dashboard.exchange.service import OFFLINE_AFTER_INTERVALS, _frame, now_local
from metrics.catalogue import INDICATORS

FIGURES = ("upload_timeliness", "job_success_rate", "node_online_rate", "reject_rate")
FIGURE_PARTS = {"upload_timeliness": ("timely_slots", "scheduled_slots"),
                "job_success_rate": ("success_runs", "finished_runs"),
                "node_online_rate": ("online_hours", "expected_hours"),
                "reject_rate": ("rows_rejected", "rows_extracted")}
# the catalogue's names (交换作业成功率, …): the same figure is named alike on /quality, the cockpit and its pages
FIGURE_ZH = {f: INDICATORS[f].zh for f in FIGURES}


def _fetch(s, stmt) -> pd.DataFrame:  # noqa: ANN001
    """Run a SELECT on the session's own DBAPI cursor and return a DataFrame.

    The figures read tens of thousands of run rows; SQLAlchemy's Row objects cost twice the database's own time
    there, so the statement is compiled by SQLAlchemy (bound parameters, IN lists expanded) and fetched raw.
    """
    conn = s.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    if conn.dialect.positional:
        params = tuple(params[name] for name in compiled.positiontup)
    processors = compiled._bind_processors
    if processors:
        if isinstance(params, tuple):
            params = tuple(processors[n](v) if n in processors else v
                           for n, v in zip(compiled.positiontup, params))
        else:
            params = {n: processors[n](v) if n in processors else v for n, v in params.items()}
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        columns = [d[0] for d in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=columns)
    finally:
        cursor.close()


def _day_floor(t: dt.datetime) -> dt.datetime:
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


def _jobs(s, inst_codes: Iterable[str] | None) -> pd.DataFrame:  # noqa: ANN001
    q = (select(ExchangeJob.node_id, ExchangeNode.inst_code, ExchangeNode.inst_name.label("name"),
                ExchangeJob.job_code,
                ExchangeJob.every_minutes, ExchangeJob.daily_at, ExchangeJob.window_minutes,
                ExchangeJob.created_at)
         .join(ExchangeNode, ExchangeNode.id == ExchangeJob.node_id).where(ExchangeJob.enabled == 1))
    if inst_codes is not None:
        q = q.where(ExchangeNode.inst_code.in_(list(inst_codes)))
    return _frame(s.execute(q))


def _grid(every: float | None, daily_at: str | None) -> tuple[int, int, int]:
    """A job's slot grid within a day as (offset, period, last_k) in minutes: slots at offset + k·period for
    k = 0..last_k (every N minutes from midnight, or once at HH:MM)."""
    if every and not pd.isna(every):
        period = int(every)
        return 0, period, -(-1440 // period) - 1
    hh, mm = (int(x) for x in str(daily_at or "02:00").split(":"))
    return hh * 60 + mm, 1440, 0


def _ts_col(col):  # noqa: ANN001
    # fetched as text and parsed by pandas in one go: the DB driver's per-row datetime parsing was most of the
    # cost on 50k rows (SQLite stores text; PostgreSQL casts to ISO text)
    return cast(col, String)


def _parse_ts(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="ISO8601").astype("datetime64[ns]")


def quality_daily(cfg: Config, start: dt.date, end: dt.date, now: dt.datetime | None = None,
                  by: Sequence[str] = ("inst_code", "day"), inst_codes: Iterable[str] | None = None
                  ) -> pd.DataFrame:
    """The four figures for days start..end (inclusive), grouped by ``by`` ⊆ {inst_code, job_code, day}.

    Columns: the group keys (plus ``name`` when grouped by inst_code, ``job_name`` by job_code), each figure's
    numerator and denominator (FIGURE_PARTS) and the figure itself (NaN when the denominator is 0).
    ``node_online_rate`` is per institution and day; grouped by job it repeats the node's value.

    Run counts and presence hours are aggregated in SQL (per node, job and day); timeliness maps each successful
    run's finish onto the schedule slot(s) it covers with array arithmetic, and counts scheduled slots per job
    and day from the schedule grid, so the cost grows with the number of successes, not slots × runs.
    """
    by = list(by)
    if not set(by) <= {"inst_code", "job_code", "day"}:
        raise ValueError(f"by must be a subset of inst_code, job_code, day: {by}")
    now = now or now_local()
    t0 = dt.datetime.combine(start, dt.time())
    t1 = dt.datetime.combine(end, dt.time()) + dt.timedelta(days=1)
    factory = session_factory(cfg.app_db_url)
    keys = ["node_id", "job_code", "day"]
    with factory() as s:
        jobs = _jobs(s, inst_codes)
        node_ids = jobs["node_id"].unique().tolist()
        day_col = func.date(JobRun.started_at)
        run_df = _fetch(s, (
            select(JobRun.node_id, JobRun.job_code, day_col.label("day"),
                   func.sum(case((JobRun.status == "success", 1), else_=0)).label("success_runs"),
                   func.count().label("finished_runs"),
                   func.sum(case((JobRun.rows_extracted.is_(None), 0),
                                 else_=func.coalesce(JobRun.rows_rejected, 0))).label("rows_rejected"),
                   func.sum(func.coalesce(JobRun.rows_extracted, 0)).label("rows_extracted"))
            .where(JobRun.node_id.in_(node_ids), JobRun.status.in_(("success", "failed")),
                   JobRun.started_at >= t0, JobRun.started_at < t1)
            .group_by(JobRun.node_id, JobRun.job_code, day_col)))
        max_window = int(jobs["window_minutes"].max()) if len(jobs) else 0
        ok = _fetch(s, (
            select(JobRun.node_id, JobRun.job_code, _ts_col(JobRun.finished_at).label("finished_at"))
            .where(JobRun.node_id.in_(node_ids), JobRun.status == "success",
                   JobRun.started_at >= t0 - dt.timedelta(days=1), JobRun.started_at < t1 + dt.timedelta(days=1),
                   JobRun.finished_at.is_not(None))))
        created = dict(s.execute(select(ExchangeNode.id, ExchangeNode.created_at)
                                 .where(ExchangeNode.id.in_(node_ids))).all())
        online = _online_hours(s, node_ids, created, t0, t1, now)

    slots_df = _slot_counts(jobs, ok, t0, t1, now, max_window)
    if len(run_df):
        run_df["day"] = pd.to_datetime(run_df["day"].astype(str))
    per_job = _merge_counts(slots_df, run_df, keys)
    per_job["day"] = pd.to_datetime(per_job["day"])
    meta = jobs[["node_id", "inst_code", "name"]].drop_duplicates("node_id")
    per_job = per_job.merge(meta, on="node_id", how="left")
    online = online.merge(meta, on="node_id", how="left")

    count_cols = ["timely_slots", "scheduled_slots", "success_runs", "finished_runs", "rows_rejected",
                  "rows_extracted"]
    per_job[count_cols] = per_job[count_cols].fillna(0).astype("int64")
    if "job_code" in by:
        out = per_job.groupby(by, as_index=False)[count_cols].sum()
        on_keys = [k for k in by if k != "job_code"]
        onl = online.groupby(on_keys or ["node_id"], as_index=False)[["online_hours", "expected_hours"]].sum() \
            if on_keys else online[["online_hours", "expected_hours"]].sum().to_frame().T
        out = _merge_counts(out, onl, on_keys, how="left") if on_keys else out.assign(
            online_hours=int(onl["online_hours"].iloc[0]), expected_hours=int(onl["expected_hours"].iloc[0]))
    else:
        a = per_job.groupby(by, as_index=False)[count_cols].sum() if by else \
            per_job[count_cols].sum().to_frame().T
        b = online.groupby(by, as_index=False)[["online_hours", "expected_hours"]].sum() if by else \
            online[["online_hours", "expected_hours"]].sum().to_frame().T
        if "day" in by:     # an empty side comes back with an object-typed day column
            a["day"], b["day"] = pd.to_datetime(a["day"]), pd.to_datetime(b["day"])
        out = _merge_counts(a, b, by) if by else pd.concat([a, b], axis=1)
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


def _merge_counts(left: pd.DataFrame, right: pd.DataFrame, on: list[str], how: str = "outer") -> pd.DataFrame:
    """Merge of two count frames on ``on``; an empty side adds its columns as 0. Either side may be empty (nodes
    without a run or a closed slot in the window: a new deployment, a quiet morning), and pandas refuses to merge
    an empty side's untyped key columns."""
    if not len(right):
        return left.assign(**{c: 0 for c in right.columns if c not in on})
    if not len(left):
        if how == "outer":
            return right.assign(**{c: 0 for c in left.columns if c not in on})
        return left.assign(**{c: 0 for c in right.columns if c not in on})
    return left.merge(right, on=on, how=how)


def _slot_counts(jobs: pd.DataFrame, ok: pd.DataFrame, t0: dt.datetime, t1: dt.datetime, now: dt.datetime,
                 max_window: int) -> pd.DataFrame:
    """scheduled_slots and timely_slots per node, job and day (of the slot).

    A slot counts once its window has closed (slot + window ≤ now) and from the job's creation on; it is timely
    when a successful run of that job finished within [slot, slot + window].
    """
    keys = ["node_id", "job_code", "day"]
    if jobs.empty:
        return pd.DataFrame(columns=keys + ["timely_slots", "scheduled_slots"])
    grid = pd.DataFrame([_grid(e, d) for e, d in zip(jobs["every_minutes"], jobs["daily_at"])],
                        columns=["offset", "period", "last_k"], index=jobs.index)
    jobs = pd.concat([jobs[["node_id", "job_code", "window_minutes", "created_at"]], grid], axis=1)
    jobs["created_at"] = pd.to_datetime(jobs["created_at"]).astype("datetime64[ns]")
    t0n, t1n, nown = np.datetime64(t0, "ns"), np.datetime64(t1, "ns"), np.datetime64(now, "ns")
    minute = np.timedelta64(1, "m")
    days = np.arange(t0n, t1n, np.timedelta64(1, "D"))

    # scheduled: every grid slot of every day, per job (a few thousand values per job at most)
    # (plain arrays per job, one DataFrame at the end: 100 small DataFrames cost more than the arithmetic)
    s_node, s_job, s_day, s_count = [], [], [], []
    for j in jobs.itertuples(index=False):
        mins = j.offset + j.period * np.arange(j.last_k + 1)
        slots = (days[:, None] + mins[None, :] * minute).ravel()
        keep = (slots >= np.datetime64(j.created_at, "ns")) & (slots + j.window_minutes * minute <= nown)
        if keep.any():
            u, c = np.unique(slots[keep].astype("datetime64[D]"), return_counts=True)
            s_node.append(np.full(len(u), j.node_id))
            s_job += [j.job_code] * len(u)
            s_day.append(u.astype("datetime64[ns]"))
            s_count.append(c)
    sched_df = pd.DataFrame({"node_id": np.concatenate(s_node), "job_code": s_job, "day": np.concatenate(s_day),
                             "scheduled_slots": np.concatenate(s_count)}) if s_node else \
        pd.DataFrame(columns=keys + ["scheduled_slots"])

    # timely: the slots each successful finish covers (slot ≤ finish ≤ slot + window)
    timely_df = pd.DataFrame(columns=keys + ["timely_slots"])
    if len(ok):
        f = ok.merge(jobs, on=["node_id", "job_code"], how="inner")
        fin = _parse_ts(f["finished_at"]).to_numpy()
        base0 = fin.astype("datetime64[D]").astype("datetime64[ns]")
        offset, period, last_k = (f[c].to_numpy(dtype="int64") for c in ("offset", "period", "last_k"))
        window = f["window_minutes"].to_numpy(dtype="int64") * minute
        created = f["created_at"].to_numpy(dtype="datetime64[ns]")
        found = []
        max_back = -(-max_window // max(1, int(jobs["period"].min()))) + 1
        for day_shift in range(0, max_window // 1440 + 2):
            base = base0 - np.timedelta64(day_shift, "D")
            since = (fin - base - offset * minute) / minute
            kmax = np.minimum(np.floor(since / period).astype("int64"), last_k)
            for back in range(max_back + 1):
                k = kmax - back
                slot = base + (offset + k * period) * minute
                hit = ((k >= 0) & (slot <= fin) & (fin - slot <= window) & (slot >= created)
                       & (slot + window <= nown) & (slot >= t0n) & (slot < t1n))
                if hit.any():
                    found.append(pd.DataFrame({"node_id": f["node_id"].to_numpy()[hit],
                                               "job_code": f["job_code"].to_numpy()[hit], "slot": slot[hit]}))
        if found:
            hits = pd.concat(found, ignore_index=True).drop_duplicates()
            hits["day"] = hits["slot"].dt.normalize()
            timely_df = hits.groupby(keys, as_index=False).size().rename(columns={"size": "timely_slots"})
    out = sched_df.merge(timely_df, on=keys, how="left") if len(sched_df) else \
        pd.DataFrame(columns=keys + ["timely_slots", "scheduled_slots"])
    out["timely_slots"] = out["timely_slots"].fillna(0).astype("int64")
    out["day"] = pd.to_datetime(out["day"])
    return out


def _online_hours(s, node_ids: list[int], created: dict[int, dt.datetime], t0: dt.datetime,  # noqa: ANN001
                  t1: dt.datetime, now: dt.datetime) -> pd.DataFrame:
    """Per node and day: hours with a heartbeat / hours expected (completed, from the node's creation hour)."""
    cols = ["node_id", "day", "online_hours", "expected_hours"]
    hour = dt.timedelta(hours=1)
    stop = min(now.replace(minute=0, second=0, microsecond=0), t1)
    firsts = {n: max(pd.Timestamp(created.get(n) or t0).floor("h").to_pydatetime(), t0) for n in node_ids}
    rows = []
    for n, first in firsts.items():
        day = first.replace(hour=0)
        while day < stop:
            lo, hi = max(day, first), min(day + dt.timedelta(days=1), stop)
            if hi > lo:
                rows.append((n, day, int((hi - lo) / hour)))
            day += dt.timedelta(days=1)
    if not rows:
        return pd.DataFrame(columns=cols)
    expected = pd.DataFrame(rows, columns=["node_id", "day", "expected_hours"])
    # presence counted in SQL per node and day, only within the expected hours of each node
    late = {n: first for n, first in firsts.items() if first > t0}       # created inside the window
    conds = [and_(NodePresenceHour.node_id == n, NodePresenceHour.hour >= first) for n, first in late.items()]
    conds.append(NodePresenceHour.node_id.in_([n for n in node_ids if n not in late]))
    day_col = func.date(NodePresenceHour.hour)
    seen = _frame(s.execute(
        select(NodePresenceHour.node_id, day_col.label("day"), func.count(func.distinct(NodePresenceHour.hour))
               .label("online_hours"))
        .where(NodePresenceHour.hour >= t0, NodePresenceHour.hour < stop, or_(*conds))
        .group_by(NodePresenceHour.node_id, day_col)))
    if len(seen):
        seen["day"] = pd.to_datetime(seen["day"].astype(str))
    else:
        seen = pd.DataFrame({"node_id": pd.Series(dtype="int64"), "day": pd.Series(dtype="datetime64[ns]"),
                             "online_hours": pd.Series(dtype="int64")})
    expected["day"] = pd.to_datetime(expected["day"])
    out = expected.merge(seen, on=["node_id", "day"], how="left")
    out["online_hours"] = out["online_hours"].fillna(0).astype("int64")
    return out[cols]


def online_now(cfg: Config, now: dt.datetime | None = None, inst_codes: Iterable[str] | None = None
               ) -> dict[str, float | int]:
    """{'online': n, 'nodes': N, 'rate': n/N}: nodes heard from within 3 heartbeat intervals."""
    now = now or now_local()
    factory = session_factory(cfg.app_db_url)
    with factory() as s:
        q = select(ExchangeNode.last_heartbeat_at, ExchangeNode.heartbeat_interval_s)
        if inst_codes is not None:
            q = q.where(ExchangeNode.inst_code.in_(list(inst_codes)))
        rows = s.execute(q).all()
    n = sum(1 for last, iv in rows
            if last is not None and now - last <= dt.timedelta(seconds=OFFLINE_AFTER_INTERVALS * iv))
    return {"online": n, "nodes": len(rows), "rate": (n / len(rows)) if rows else float("nan")}


def last_upload(cfg: Config, inst_codes: Iterable[str] | None = None) -> pd.DataFrame:
    """Last successful run per institution and job: inst_code, name, job_code, job_name, last_success_at
    (its finish), run_id, rows_loaded. Jobs that never succeeded are listed with empty values."""
    factory = session_factory(cfg.app_db_url)
    with factory() as s:
        jobs = _jobs(s, inst_codes)
        last = (select(JobRun.node_id, JobRun.job_code, func.max(JobRun.finished_at).label("last_success_at"))
                .where(JobRun.status == "success").group_by(JobRun.node_id, JobRun.job_code).subquery())
        runs = _frame(s.execute(
            select(last.c.node_id, last.c.job_code, last.c.last_success_at, JobRun.run_id, JobRun.rows_loaded)
            .join(JobRun, (JobRun.node_id == last.c.node_id) & (JobRun.job_code == last.c.job_code)
                  & (JobRun.finished_at == last.c.last_success_at) & (JobRun.status == "success"))))
    runs = runs.drop_duplicates(["node_id", "job_code"])
    out = jobs.merge(runs, on=["node_id", "job_code"], how="left")
    out["job_name"] = out["job_code"].map(JOB_NAMES_ZH)
    return out[["inst_code", "name", "job_code", "job_name", "last_success_at", "run_id", "rows_loaded"]] \
        .sort_values(["inst_code", "job_code"]).reset_index(drop=True)


def allowed_gap(every_minutes: float | None, window_minutes: int) -> dt.timedelta:
    """How old a job's last success may be: one schedule period plus the job's window."""
    period = dt.timedelta(minutes=int(every_minutes)) if every_minutes and not pd.isna(every_minutes) \
        else dt.timedelta(days=1)
    return period + dt.timedelta(minutes=int(window_minutes))


def behind_schedule(cfg: Config, now: dt.datetime | None = None, inst_codes: Iterable[str] | None = None
                    ) -> pd.DataFrame:
    """Institution jobs whose last success is older than their schedule allows (period + window), or that
    never succeeded although the job exists longer than that: inst_code, name, job_code, job_name,
    last_success_at, allowed_minutes, overdue_minutes (how far past the allowance)."""
    now = now or now_local()
    last = last_upload(cfg, inst_codes)
    factory = session_factory(cfg.app_db_url)
    with factory() as s:
        jobs = _jobs(s, inst_codes)
    df = last.merge(jobs[["inst_code", "job_code", "every_minutes", "window_minutes", "created_at"]],
                    on=["inst_code", "job_code"], how="left")
    allowed = [allowed_gap(e, w) for e, w in zip(df["every_minutes"], df["window_minutes"])]
    ref = [ls if pd.notna(ls) else c for ls, c in zip(df["last_success_at"], df["created_at"])]
    overdue = [(now - pd.Timestamp(r).to_pydatetime()) - a for r, a in zip(ref, allowed)]
    df["allowed_minutes"] = [a.total_seconds() / 60 for a in allowed]
    df["overdue_minutes"] = [o.total_seconds() / 60 for o in overdue]
    out = df[df["overdue_minutes"] > 0]
    return out[["inst_code", "name", "job_code", "job_name", "last_success_at", "allowed_minutes",
                "overdue_minutes"]].sort_values("overdue_minutes", ascending=False).reset_index(drop=True)
