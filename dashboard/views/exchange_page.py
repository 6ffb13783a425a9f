"""View models of 数据交换监测 /exchange: the node map and list, a node's detail, the run table and a run's log with
its re-run box, each built from ``dashboard.exchange.service`` for the logged-in role (``callbacks.exchange``
parses the inputs and calls these)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from dash import html

from dashboard.accounts.access import current_role
from dashboard.exchange import service as svc
from dashboard.exchange.models import COMMAND_STATE_ZH, JOB_NAMES_ZH, RUN_STATUS_ZH
from layouts import _exchange_parts as P
from layouts._components import empty_state

RUN_LINK = "ex-run-link"


def _cfg():
    from dashboard.app import get_config
    return get_config()


def fmt_ts(value: Any, with_date: bool = True) -> str:
    """'11-25 21:03:04' (or '—')."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    return pd.Timestamp(value).strftime("%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def _ago(value: Any, now: dt.datetime) -> str:
    if value is None or pd.isna(value):
        return "从未"
    secs = int((now - pd.Timestamp(value).to_pydatetime()).total_seconds())
    if secs < 60:
        return f"{max(secs, 0)} 秒前"
    if secs < 3600:
        return f"{secs // 60} 分钟前"
    if secs < 86400:
        return f"{secs // 3600} 小时前"
    return f"{secs // 86400} 天前"


# ---------------------------------------------------------------------------------------------- views
def filter_nodes(nodes: pd.DataFrame, states: list[str] | None, level: str | None, text: str | None
                 ) -> pd.DataFrame:
    """The node list's filters: states (any of), institution level, free text in name/code/host."""
    out = nodes
    if states:
        out = out[out["state"].isin(states)]
    if level:
        out = out[out["inst_level"] == level]
    if text and text.strip():
        t = text.strip().lower()
        hay = (out["name"].fillna("") + " " + out["code"].fillna("") + " " + out["host"].fillna("")).str.lower()
        out = out[hay.str.contains(t, regex=False)]
    return out


def node_rows(nodes: pd.DataFrame, now: dt.datetime) -> list[dict[str, Any]]:
    """Rows of the node grid."""
    rows = []
    for r in nodes.itertuples(index=False):
        parts = []
        if r.failed_jobs:
            parts.append("失败：" + "、".join(JOB_NAMES_ZH.get(j, j) for j in r.failed_jobs))
        if r.running_jobs:
            parts.append("运行：" + "、".join(JOB_NAMES_ZH.get(j, j) for j in r.running_jobs))
        rows.append({"code": r.code, "name": r.name, "state": r.state, "state_zh": r.state_zh,
                     "host": r.host, "version": r.version, "inst_level": r.inst_level,
                     "last_heartbeat": f"{fmt_ts(r.last_heartbeat_at)}（{_ago(r.last_heartbeat_at, now)}）",
                     "jobs_note": "；".join(parts) or "—"})
    return rows


def summary(nodes: pd.DataFrame) -> html.Div:
    """Counts by state as coloured pills."""
    counts = nodes["state"].value_counts()
    pills = [html.Span([P.state_pill(s), html.B(f" {int(counts.get(s, 0))} ")], className="ex-count")
             for s in ("normal", "running", "failed", "offline")]
    return html.Div([html.Span(f"前置机 {len(nodes)} 台：", className="ex-count-label"), *pills])


def refresh_overview(first: bool, states: list[str] | None, level: str | None, text: str | None,
                     now: dt.datetime | None = None) -> tuple[Any, ...]:
    """(map option, summary, subtitle, node rows, run-filter node options) for one refresh."""
    from dashboard.exchange.mapview import exchange_option
    from geo.store import GeometryMissing, display_geometry
    cfg = _cfg()
    now = now or svc.now_local()
    nodes = svc.node_states(cfg, now)
    try:
        disp = display_geometry(cfg.geo_dir)
        option = exchange_option(disp, nodes, with_geo=first)
        if not first:
            option["_keepView"] = True     # a timed refresh: the bridge keeps the user's zoom and pan
    except GeometryMissing:
        option = None
    shown = filter_nodes(nodes, states, level, text)
    options = [{"label": f"{r.name}（{r.code}）", "value": r.code} for r in nodes.itertuples(index=False)]
    subtitle = f"更新于 {now:%Y-%m-%d %H:%M:%S} · 显示 {len(shown)} / {len(nodes)} 台前置机"
    if option is None:
        subtitle += " · 尚无县域地理数据，地图不可用"
    return option, summary(nodes), subtitle, node_rows(shown, now), options


def _run_link(key: str | None, text: str) -> Any:
    """A button selecting the run ``key`` (:func:`svc.run_key`: node code and run id)."""
    if not key:
        return text
    return html.Button(text, id={"type": RUN_LINK, "run": key}, className="ex-link", n_clicks=0,
                       title=f"查看运行 {svc.split_run_key(key)[1]} 的日志")


def detail_panel(code: str | None, now: dt.datetime | None = None) -> Any:
    """The node panel: institution, city and address, host, version, last heartbeat, load, and each job's
    schedule and last runs."""
    if not code:
        return html.Div("点击地图上的前置机或列表中的一行查看节点详情", className="ex-muted")
    info = svc.node_detail(_cfg(), code, now)
    if info is None:
        return empty_state("该前置机不存在", code)
    now = now or svc.now_local()
    jobs = info["jobs"]
    rows = []
    for j in jobs.itertuples(index=False):
        status = j.last_status or ""
        rows.append(html.Tr([
            html.Td(j.job_name or j.job_code), html.Td(j.schedule_zh),
            html.Td(_run_link(svc.run_key(code, j.last_run_id), f"{j.last_status_zh or '—'} {fmt_ts(j.last_started_at)}")
                    if j.last_run_id else "无运行", className=f"ex-run-{status}"),
            html.Td(fmt_ts(j.last_success_at)),
        ]))
    load = " / ".join(f"{k} {v:.0f}%" for k, v in (("CPU", info.get("last_cpu")), ("内存", info.get("last_mem")),
                                                    ("磁盘", info.get("last_disk")))
                      if v is not None and not pd.isna(v))
    return html.Div([
        html.Div([html.Span(info["name"], className="map-panel-title"), P.state_pill(info["state"])],
                 className="ex-detail-head"),
        P.facts([("编号", info["code"]), ("机构", info.get("inst_name")), ("城市", _text(info.get("city"))),
                 ("地址", _text(info.get("address"))), ("主机", info.get("host")),
                 ("版本", info.get("version")),
                 ("最近心跳", f"{fmt_ts(info.get('last_heartbeat_at'))}（{_ago(info.get('last_heartbeat_at'), now)}）"),
                 ("心跳周期", f"{int(info.get('heartbeat_interval_s') or 0)} 秒"),
                 ("负载", load or None),
                 ("待传积压", None if info.get("last_backlog") is None or pd.isna(info.get("last_backlog"))
                  else f"{int(info['last_backlog'])} 条")]),
        html.Table([html.Thead(html.Tr([html.Th("任务"), html.Th("计划"), html.Th("最近运行"),
                                        html.Th("最近成功")])), html.Tbody(rows)], className="ex-jobs"),
        html.Div("点击最近运行查看日志", className="ex-muted"),
    ])


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def node_focus(code: str | None) -> dict[str, Any] | None:
    """{code, lon, lat, zoom} of a node whose map settings have a position and a zoom level, else None."""
    if not code:
        return None
    nodes = svc.node_states(_cfg(), codes=[code])
    if nodes.empty:
        return None
    r = nodes.iloc[0]
    vals = [r["lon"], r["lat"], r["zoom"]]
    if any(v is None or pd.isna(v) for v in vals):
        return None
    return {"code": code, "lon": float(vals[0]), "lat": float(vals[1]), "zoom": int(vals[2])}


def parse_dates(start: str | None, end: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[start, end + 1 day) from the date picker's ISO strings (None when empty or malformed)."""
    def day(v: str | None) -> dt.date | None:
        try:
            return dt.date.fromisoformat(str(v)[:10]) if v else None
        except ValueError:
            return None
    s, e = day(start), day(end)
    return (dt.datetime.combine(s, dt.time()) if s else None,
            dt.datetime.combine(e, dt.time()) + dt.timedelta(days=1) if e else None)


def runs_view(status: str | None, node: str | None, job: str | None, start: str | None, end: str | None,
              page: int | None) -> tuple[list[dict], str, bool, bool]:
    """(rows, pager label, prev disabled, next disabled) of the run table."""
    t0, t1 = parse_dates(start, end)
    if status not in (None, "", *RUN_STATUS_ZH):
        status = None
    page = max(1, int(page or 1))
    df, total = svc.job_runs(_cfg(), node_code=node or None, job_code=job or None, status=status or None,
                             start=t0, end=t1, page=page, page_size=P.RUN_PAGE_SIZE)
    pages = max(1, -(-total // P.RUN_PAGE_SIZE))
    if page > pages and total:
        page = pages
        df, total = svc.job_runs(_cfg(), node_code=node or None, job_code=job or None, status=status or None,
                                 start=t0, end=t1, page=page, page_size=P.RUN_PAGE_SIZE)
    df = df.assign(started=[fmt_ts(v) for v in df["started_at"]], status_zh=_silent_runs_zh(df))
    rows = df[["run_key", "run_id", "started", "node_name", "job_name", "status", "status_zh", "duration_s",
               "rows_extracted", "rows_loaded", "rows_rejected", "error"]]
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    label = f"第 {page} / {pages} 页，共 {total} 条"
    return records, label, page <= 1, page >= pages


def _silent_runs_zh(df: pd.DataFrame) -> list[Any]:
    """The runs' status in Chinese; a run still "running" on a node that has gone offline reads 节点离线 (its end unknown),
    as the node list beside it says 离线 (issue 14 review: 运行中 under a node list of 25 离线)."""
    running = df["status"] == "running"
    if not running.any():
        return list(df["status_zh"])
    states = svc.node_states(_cfg(), codes=sorted(set(df.loc[running, "node_code"])))
    offline = set(states.loc[states["state"] == "offline", "code"])
    return ["节点离线" if st == "running" and code in offline else zh
            for st, code, zh in zip(df["status"], df["node_code"], df["status_zh"])]


def _commands_of(key: str, include_finished: bool) -> pd.DataFrame:
    """Re-run commands of the run ``key`` (node code and run id; a bare run id: any node's), newest first."""
    node, run_id = svc.split_run_key(key)
    cmds = svc.pending_commands(_cfg(), node_code=node, include_finished=include_finished, limit=500)
    return cmds[cmds["run_id"] == run_id]


def command_state(key: str) -> tuple[Any, bool]:
    """(text about the newest re-run command of the run ``key``, whether one is still open)."""
    mine = _commands_of(key, include_finished=True)
    if mine.empty:
        return None, False
    c = mine.iloc[0]
    # an open command, or one that finished with a new run, makes another re-run pointless — unless the node has
    # not run it in time (超时): then the operator may ask again
    timed_out = svc.command_timed_out(c["state"], c["requested_at"])
    open_ = not timed_out and (c["state"] in ("requested", "picked") or
                               (c["state"] == "done" and bool(c["result_run_id"])))
    label = "超时" if timed_out else COMMAND_STATE_ZH.get(c["state"], c["state"])
    text = [f"重跑命令 #{int(c['id'])}：", html.B(label, className="ex-cmd-timeout" if timed_out else None),
            f"（{c['requester']} 于 {fmt_ts(c['requested_at'])} 发起）"]
    result = c["result_run_id"] if isinstance(c["result_run_id"], str) and c["result_run_id"] else None
    if result:
        # the command is done when the node ran it; whether the new run succeeded is the run's own status
        new, found = svc.job_runs(_cfg(), node_code=c["node_code"], run_id=result, page_size=1)
        text += ["，新运行 ", _run_link(svc.run_key(c["node_code"], result), result)]
        if found:
            status = str(new.iloc[0]["status"])
            text += [" ", html.Span(RUN_STATUS_ZH.get(status, status), className=f"ex-pill ex-run-pill-{status}")]
    if c["message"]:
        text.append(f"：{c['message']}")
    if timed_out:
        text.append(f"；{svc.COMMAND_TIMEOUT_TEXT}，可重试")
    return html.Div(text, className=f"ex-cmd ex-cmd-{'timeout' if timed_out else c['state']}"), open_


def command_waiting(key: str) -> bool:
    """Whether the run has a re-run command its node has not finished yet (and that has not timed out)."""
    mine = _commands_of(key, include_finished=False)
    return any(not svc.command_timed_out(st, t) for st, t in zip(mine["state"], mine["requested_at"]))


def log_view(key: str | None, role: str | None) -> tuple[Any, Any, str]:
    """(head: the run's facts, re-run box, log text) of the selected run ``key`` (:func:`svc.run_key`; a bare
    run id shows the newest run of that id)."""
    if not key:
        return html.Div("在上方表格中点击一次运行查看其日志", className="ex-muted"), None, ""
    node, run_id = svc.split_run_key(key)
    runs, total = svc.job_runs(_cfg(), node_code=node, run_id=run_id, page_size=1)
    if not total:
        return empty_state("该运行不存在", run_id), None, ""
    r = runs.iloc[0]
    node, key = r["node_code"], r["run_key"]
    head = html.Div([
        html.Div([html.Span(f"{r['node_name']} · {r['job_name']}", className="ex-log-title"),
                  html.Span(r["status_zh"], className=f"ex-pill ex-run-pill-{r['status']}")],
                 className="ex-detail-head"),
        P.facts([("运行编号", run_id), ("开始", fmt_ts(r["started_at"])), ("结束", fmt_ts(r["finished_at"])),
                 ("抽取/入库/拒收", " / ".join("—" if pd.isna(v) else f"{int(v):,}" for v in
                                           (r["rows_extracted"], r["rows_loaded"], r["rows_rejected"]))),
                 ("错误", r["error"] if isinstance(r["error"], str) else None),
                 ("重跑自", r["rerun_of"] if isinstance(r["rerun_of"], str) else None)]),
    ])
    cmd, open_ = command_state(key)
    box: list[Any] = []
    offline = svc.offline_node_of_run(_cfg(), run_id, node_code=node) if r["status"] == "failed" else None
    if r["status"] == "failed" and role == "operator":
        retry = cmd is not None and not open_
        box.append(html.Button("已请求重跑" if open_ else "重试" if retry else "重跑", id=P.EX_RERUN_BTN,
                               n_clicks=0, className="btn btn-danger", disabled=open_ or offline is not None,
                               title="请求该前置机重新执行这次失败的任务"))
        if offline is not None:
            box.append(html.Span(svc.offline_note(offline) + "，恢复在线后才能重跑", className="ex-msg-bad ex-offline"))
    elif r["status"] == "failed":
        box.append(html.Span("仅运维人员可重跑失败任务", className="ex-muted"))
    if cmd is not None:
        box.append(cmd)
    logs = svc.run_logs(_cfg(), run_id, node_code=node)
    text = "\n".join(f"{fmt_ts(t)}  {lv:<5s}  {m}" for t, lv, m in logs.itertuples(index=False)) \
        if len(logs) else "（该运行没有日志）"
    return head, box or None, text


def shared_view(name: str, parts: tuple, build):  # noqa: ANN001, ANN201
    """One answer of the view ``name`` per refresh window for everyone of the same role (see ui_cache)."""
    from dashboard.exchange.ui_cache import shared
    return shared(_cfg(), name, current_role(), parts, build)
