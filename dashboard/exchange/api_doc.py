"""Generate ``docs/exchange-api.md``, the exchange-node API for a hospital's 前置机 integrator.

    python -m dashboard.exchange.api_doc            print the document (> docs/exchange-api.md)
    python -m dashboard.exchange.api_doc --write    write docs/exchange-api.md
    python -m dashboard.exchange.api_doc --check    exit 1 when the committed file is stale

The prose lives here as text; the field tables come from the pydantic request models (``schemas.py``), the limits
and rules from the constants the code enforces, and the walkthrough from ``EXAMPLES``, which
``tests/test_exchange_api_doc.py`` replays against the real app — so a change of the API that is not reflected
here fails a test (stale document, undocumented field, example that no longer answers as documented).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from dashboard.exchange.api import DEFAULT_NODE_RATE_LIMIT, MAX_BODY_BYTES, MAX_DEPTH, PUBLIC_PREFIX
from dashboard.exchange.models import COMMAND_STATE_ZH, JOB_CODES, JOB_NAMES_ZH
from dashboard.exchange.schemas import (
    EARLIEST,
    MAX_LOG_LINES,
    MAX_LOG_SEQ,
    MAX_MESSAGE,
    MAX_ROWS,
    RUN_ID_PATTERN,
    AckIn,
    HeartbeatIn,
    LogLineIn,
    RunIn,
)
from dashboard.exchange.service import (
    DEFAULT_HEARTBEAT_S,
    HEARTBEAT_KEEP_DAYS,
    JOB_SCHEDULES,
    JOBS_BY_INST_TYPE,
    OFFLINE_AFTER_INTERVALS,
    RUNNING_STALE_AFTER,
    VILLAGE_NODES,
)

DOC_PATH = Path(__file__).resolve().parent.parent.parent / "docs" / "exchange-api.md"
API = PUBLIC_PREFIX.rstrip("/")                       # /api/exchange

# ---------------------------------------------------------------- field meanings (the schemas carry none)
# Keyed by model and field; the test asserts these keys equal the models' fields, so a new request field
# cannot reach the API undocumented.
FIELD_DOCS: dict[type[BaseModel], dict[str, str]] = {
    HeartbeatIn: {
        "ts": "节点发出心跳时节点自己的时钟 (node clock); 只作记录, 在线判断用服务器收到心跳的时间",
        "version": "前置机程序版本号 (agent version), 显示在节点详情; 省略时保留上次的版本",
        "cpu": "CPU 使用率 % (CPU usage)",
        "mem": "内存使用率 % (memory usage)",
        "disk": "数据盘使用率 % (disk usage)",
        "backlog": "待上传积压条数 (rows or batches not yet uploaded), 页面显示为“待传积压 N 条”",
    },
    RunIn: {
        "run_id": "运行标识 (run id), 由节点生成, **在本节点内唯一** (各节点的 run_id 互不相干: 另一节点用了同一个 run_id 是另一次运行), 建议 `<节点编码>-<任务>-<开始时间>-<随机数>`; "
                  "同一 run_id 再次提交即更新该运行 (upsert key)",
        "job_code": "任务代码 = 源系统 (source system), 必须是本节点已配置的任务 (见第 6 节)",
        "started_at": "开始时间 (start of the run)",
        "status": "`running` 运行中 / `success` 成功 / `failed` 失败",
        "finished_at": "结束时间; `status` 为 `success`/`failed` 时必填, `running` 时必须为空; 不得早于 `started_at`",
        "rows_extracted": "从源系统抽取的行数 (rows extracted)",
        "rows_loaded": "平台入库的行数 (rows loaded), 不大于 `rows_extracted`",
        "rows_rejected": "校验不通过被拒收的行数 (rows rejected), 不大于 `rows_extracted`",
        "error": "失败原因 (error text), 原样显示给运维人员",
    },
    LogLineIn: {
        "ts": "日志时间 (time of the line)",
        "level": "级别, 不区分大小写 (case-insensitive); `WARNING` 按 `WARN` 保存",
        "message": "日志内容 (the line)",
        "seq": "本次运行内的行号 (line number within the run), 从 0 起递增; 平台已有该行号的行会被跳过, "
               "所以超时后重发同一批日志不会重复保存。不带 `seq` 的行每次都保存",
    },
    AckIn: {
        "state": "`picked` 已领取 / `done` 已完成 / `failed` 失败",
        "run_id": "重跑产生的**新**运行的 run_id (先用 `POST /runs` 上报); `done`/`failed` 时应给出, "
                  "平台据此把新运行记为原运行的重跑 (rerun_of)",
        "message": "说明 (note), 显示在运维页面的命令记录中",
    },
}

# Response bodies are plain dicts (service.run_json / command_json); the test asserts these keys equal the keys
# the app answers with.
RESPONSE_DOCS: dict[str, dict[str, str]] = {
    "run": {
        "run_id": "运行标识",
        "job_code": "任务代码",
        "status": "平台保存的状态 (已结束的运行不会被改回 `running`)",
        "started_at": "开始时间 (县域时间, 见下文“时间”)",
        "finished_at": "结束时间或 `null`",
        "rows_extracted": "抽取行数或 `null`",
        "rows_loaded": "入库行数或 `null`",
        "rows_rejected": "拒收行数或 `null`",
        "error": "失败原因或 `null`",
    },
    "logs": {
        "run_id": "运行标识 (同路径中的 run_id)",
        "stored": "本次新保存的行数",
        "duplicates": "因 `seq` 已存在 (或本次请求内重复) 而跳过的行数",
    },
    "command": {
        "id": "命令编号, 用于 `POST /commands/<id>/ack`",
        "kind": "命令种类; 目前只有 `rerun` (重跑)。节点应忽略不认识的种类",
        "run_id": "要重跑的失败运行",
        "job_code": "该运行的任务代码",
        "requested_at": "运维人员请求的时间 (县域时间)",
        "state": " / ".join(f"`{k}` {v}" for k, v in COMMAND_STATE_ZH.items()),
        "message": "节点确认时给出的说明或 `null`",
        "result_run_id": "节点确认时给出的新运行 run_id 或 `null`",
    },
}


# ---------------------------------------------------------------- the walkthrough (replayed by the test)

EXAMPLE_NODE = "EX-H001"                           # a county general hospital: it has every job
RUN_1 = "EX-H001-HIS_OP-20260302100000-7f3a"
RUN_2 = "EX-H001-HIS_OP-20260302100600-9c1d"


@dataclass(frozen=True)
class Example:
    """One request of the walkthrough, with the answer the platform gives.

    ``response`` is the whole JSON body (None: no body); ``volatile`` names response keys whose value depends on
    when the example runs (the test checks they are present, not their value). ``operator_rerun`` is a failed
    run an operator asks to re-run on the page before this request (it is how a command comes into being).
    """
    endpoint: str                                 # key of ENDPOINTS
    title: str
    method: str
    path: str                                     # below /api/exchange
    status: int
    body: Any = None
    response: Any = None
    auth: bool = True
    volatile: tuple[str, ...] = ()
    operator_rerun: str | None = None
    note: str = ""


def _run_answer(run_id: str, status: str, started: str, finished: str | None = None, rows: tuple | None = None,
                error: str | None = None) -> dict[str, Any]:
    extracted, loaded, rejected = rows or (None, None, None)
    return {"run_id": run_id, "job_code": "HIS_OP", "status": status, "started_at": started,
            "finished_at": finished, "rows_extracted": extracted, "rows_loaded": loaded,
            "rows_rejected": rejected, "error": error}


_RUN_1_START = {"run_id": RUN_1, "job_code": "HIS_OP", "started_at": "2026-03-02T10:00:00+08:00",
                "status": "running"}
RUN_1_LOGS = [
    {"ts": "2026-03-02T10:00:00+08:00", "level": "INFO", "message": "开始抽取 HIS_OP 增量数据", "seq": 0},
    {"ts": "2026-03-02T10:01:30+08:00", "level": "WARN", "message": "源库响应慢 (12 s)", "seq": 1},
    {"ts": "2026-03-02T10:03:09+08:00", "level": "ERROR", "message": "ORA-01555: snapshot too old", "seq": 2},
]
_RUN_1_FAILED = dict(_RUN_1_START, status="failed", finished_at="2026-03-02T10:03:10+08:00", rows_extracted=800,
                     rows_loaded=0, rows_rejected=0, error="ORA-01555: snapshot too old")
_RUN_2_START = {"run_id": RUN_2, "job_code": "HIS_OP", "started_at": "2026-03-02T10:06:00+08:00",
                "status": "running"}
_RUN_2_DONE = dict(_RUN_2_START, status="success", finished_at="2026-03-02T10:08:40+08:00", rows_extracted=1200,
                   rows_loaded=1198, rows_rejected=2)
_COMMAND = {"id": 1, "kind": "rerun", "run_id": RUN_1, "job_code": "HIS_OP", "requested_at": "2026-03-02T10:05:12",
            "state": "requested", "message": None, "result_run_id": None}

EXAMPLES: list[Example] = [
    Example("heartbeat", "心跳", "POST", "/heartbeat", 204,
            {"ts": "2026-03-02T10:00:00+08:00", "version": "2.4.0", "cpu": 23.5, "mem": 61.2, "disk": 48.0,
             "backlog": 0}),
    Example("heartbeat", "没有令牌 (错误示例)", "POST", "/heartbeat", 401,
            {"ts": "2026-03-02T10:00:00+08:00"},
            {"errors": [{"field": "Authorization", "message": "bearer token required"}]}, auth=False,
            note="响应头带 `WWW-Authenticate: Bearer realm=\"exchange\"`; 令牌错误或已被重新签发时 message 为 "
                 "`invalid token`。"),
    Example("runs", "运行开始", "POST", "/runs", 201, _RUN_1_START,
            _run_answer(RUN_1, "running", "2026-03-02T10:00:00")),
    Example("runs", "超时后重发运行开始 (幂等)", "POST", "/runs", 200, _RUN_1_START,
            _run_answer(RUN_1, "running", "2026-03-02T10:00:00"),
            note="同一 run_id 已存在: 200 而不是 201, 不会产生第二条运行。"),
    Example("logs", "上传日志", "POST", f"/runs/{RUN_1}/logs", 201, RUN_1_LOGS,
            {"run_id": RUN_1, "stored": 3, "duplicates": 0}),
    Example("logs", "超时后重发同一批日志 (按 seq 去重)", "POST", f"/runs/{RUN_1}/logs", 201, RUN_1_LOGS,
            {"run_id": RUN_1, "stored": 0, "duplicates": 3},
            note="三行的 seq 平台都已有: 一行也不重复保存。"),
    Example("runs", "运行结束却没有结束时间 (错误示例)", "POST", "/runs", 400,
            dict(_RUN_1_START, status="failed", error="ORA-01555: snapshot too old"),
            {"errors": [{"field": "finished_at", "message": "required when status is success or failed"}]},
            note="整个请求被拒绝, 平台上的运行保持不变。"),
    Example("runs", "运行结束 (失败)", "POST", "/runs", 200, _RUN_1_FAILED,
            _run_answer(RUN_1, "failed", "2026-03-02T10:00:00", "2026-03-02T10:03:10", (800, 0, 0),
                        "ORA-01555: snapshot too old")),
    Example("commands", "查询待执行命令", "GET", "/commands", 200, None, {"commands": [_COMMAND]},
            volatile=("commands.0.requested_at",), operator_rerun=RUN_1,
            note="此前运维人员在“数据交换监测”页面对失败的运行点了“重跑”。"),
    Example("ack", "确认领取", "POST", "/commands/1/ack", 200, {"state": "picked"},
            dict(_COMMAND, state="picked"), volatile=("requested_at",)),
    Example("runs", "重跑: 新运行开始", "POST", "/runs", 201, _RUN_2_START,
            _run_answer(RUN_2, "running", "2026-03-02T10:06:00")),
    Example("runs", "重跑: 新运行结束 (成功)", "POST", "/runs", 200, _RUN_2_DONE,
            _run_answer(RUN_2, "success", "2026-03-02T10:06:00", "2026-03-02T10:08:40", (1200, 1198, 2))),
    Example("ack", "确认完成, 给出新运行", "POST", "/commands/1/ack", 200,
            {"state": "done", "run_id": RUN_2, "message": f"重跑 {RUN_1} → {RUN_2}"},
            dict(_COMMAND, state="done", message=f"重跑 {RUN_1} → {RUN_2}", result_run_id=RUN_2),
            volatile=("requested_at",)),
    Example("commands", "再次查询: 没有待执行命令", "GET", "/commands", 200, None, {"commands": []}),
]


# ---------------------------------------------------------------- endpoints (hand-written behaviour)

@dataclass(frozen=True)
class Endpoint:
    """One route: its behaviour in prose, its request model (tables generated), its answers by status."""
    key: str
    method: str
    path: str
    title: str
    text: str
    model: type[BaseModel] | None
    responses: list[tuple[int, str]]
    response_doc: str | None = None
    extra: str = ""
    fields_note: str = ""


_ERR = "`{\"errors\": [...]}`"

ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "heartbeat", "POST", "/heartbeat", "心跳 (heartbeat)",
        f"每个心跳周期 (节点的 `heartbeat_interval_s`, 默认 {DEFAULT_HEARTBEAT_S} 秒) 发送一次, 报告节点在线和"
        "资源状况。平台记下收到的时间 (服务器时钟) 作为最后心跳时间, 保存一条心跳记录 (保留 "
        f"{HEARTBEAT_KEEP_DAYS} 天), 并记该小时在线 (用于“交换节点在线率”)。",
        HeartbeatIn,
        [(204, "已保存, 无响应体"), (400, f"字段错误 {_ERR}"), (401, "没有令牌或令牌无效"),
         (413, "请求体过大")]),
    Endpoint(
        "runs", "POST", "/runs", "运行开始 / 结束 (run start / finish)",
        "一次抽取任务 (运行, run) 开始时提交 `status: running`, 结束时用**同一个 run_id** 再提交一次, 带上 "
        "`success` 或 `failed`、结束时间和行数。按 run_id 新增或更新 (upsert):\n\n"
        "- run_id 不存在: 新建, **201**。\n"
        "- run_id 存在且仍是 `running`: 用请求中的字段更新 (省略或为 `null` 的行数和 `error` 保留原值), **200**。\n"
        "- run_id 已结束 (`success`/`failed`): 重发完全相同的结束报告 → **200**, 不变; 迟到的 `running` 报告 → "
        "**200**, 不变, 响应是平台保存的已结束运行; 不同的结束结果 → **409**。已结束的运行不能再修改, "
        "再执行一次请用新的 run_id。\n"
        "- 同一 run_id 换了 job_code → **409**。\n"
        "- run_id 按节点区分: 其他节点用过的 run_id 在本节点仍是新运行 (**201**), 两者互不影响。\n\n"
        f"运行开始后超过 {int(RUNNING_STALE_AFTER.total_seconds() // 3600)} 小时仍未报告结束的运行不再算作"
        "“运行中” (节点多半已崩溃; 离线由心跳规则反映)。",
        RunIn,
        [(201, "新建的运行 (下表)"), (200, "已有的运行, 更新后或原样 (下表)"),
         (400, f"字段错误, 或本节点没有该任务 (`job_code`) {_ERR}"), (401, "没有令牌或令牌无效"),
         (409, "已结束的运行收到不同的结果, 或 job_code 与已有运行不同"),
         (413, "请求体过大")],
        "run"),
    Endpoint(
        "logs", "POST", "/runs/<run_id>/logs", "上传运行日志 (run log lines)",
        "运行开始后 (先 `POST /runs`) 上传该运行的日志行, 可以分多批。请求体是日志行的 JSON 数组, 也可以写成 "
        f"`{{\"logs\": [...]}}`; 每批 1–{MAX_LOG_LINES} 行。一批**整体**保存或整体拒绝: 任一行有错, 一行也不保存, "
        "错误的 `field` 形如 `logs.1.message` (第 2 行, 从 0 计)。\n\n"
        "**重试与去重**: 给每行带上 `seq` (该运行内的行号, 0, 1, 2, …), 网络超时后可以原样重发整批: 平台已有的 "
        "`seq` 被跳过并计入 `duplicates`。同一批内重复的 `seq` 只保存第一行。不同运行的行号互不相干。\n\n"
        "页面按 `ts`、再按 `seq` 排列日志, 同一秒内的行保持节点给出的顺序。",
        LogLineIn,
        [(201, "已处理 (下表; 全部是重复行时也是 201)"), (400, f"字段错误或 run_id 格式错误 {_ERR}"),
         (401, "没有令牌或令牌无效"), (404, "本节点没有该 run_id 的运行 (请先 `POST /runs`)"),
         (413, "请求体过大")],
        "logs",
        fields_note=f"请求体: 日志行数组, 1–{MAX_LOG_LINES} 行; 每行的字段:"),
    Endpoint(
        "commands", "GET", "/commands", "查询待执行命令 (poll commands)",
        "返回本节点尚未完成的命令 (状态 `requested` 已请求 或 `picked` 已领取), 按编号升序; 没有命令时 "
        "`{\"commands\": []}`。运维人员在“数据交换监测”页面对一次**失败**的运行点“重跑”时产生 `rerun` 命令 "
        "(同一运行同时只有一个未完成的命令)。建议与心跳同频或更频繁地查询; 已领取但未完成的命令会一直出现, "
        "所以节点重启后能接着处理。",
        None,
        [(200, "`{\"commands\": [命令, …]}` (命令字段见下表)"), (401, "没有令牌或令牌无效")],
        "command"),
    Endpoint(
        "ack", "POST", "/commands/<id>/ack", "确认命令 (acknowledge a command)",
        "报告命令的进展。状态只能前进: `requested` → `picked` → `done` 或 `failed` (也可以从 `requested` 直接到 "
        "`done`/`failed`)。重发与当前状态相同的确认 → **200**, 不变 (可放心重试); 倒退 (如 `done` 之后再 "
        "`picked`) → **409**。\n\n"
        "重跑的做法: `picked` → 按原运行的任务和数据范围重新抽取, 用**新的 run_id** 上报 (`POST /runs` 开始、"
        "日志、结束) → `done` 并在 `run_id` 中给出新运行 (失败则 `failed` 并在 `message` 中说明)。原运行保持"
        "“失败”; 该任务在节点上的失败状态在有一次开始时间更晚的成功运行后解除。",
        AckIn,
        [(200, "确认后的命令 (字段同 4.4 的命令)"), (400, f"字段错误, 或本节点没有该 `run_id` 的运行 {_ERR}"),
         (401, "没有令牌或令牌无效"), (403, "命令属于其他节点"), (404, "命令不存在"),
         (409, "状态不能倒退"), (413, "请求体过大")]),
]


# ---------------------------------------------------------------- rendering

def _cell(text: str) -> str:
    """Escape a value for a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _num(value: float) -> str:
    return f"{int(value)}" if float(value).is_integer() else f"{value:g}"


def _field_spec(prop: dict[str, Any]) -> tuple[str, str, bool]:
    """(type text, range text, nullable) of one JSON-schema property."""
    variants = prop.get("anyOf", [prop])
    nullable = any(v.get("type") == "null" for v in variants)
    spec = next((v for v in variants if v.get("type") != "null"), {})
    kind = spec.get("type")
    ranges = []
    if "enum" in spec:
        type_text = "枚举 (text)"
        ranges.append(" / ".join(f"`{v}`" for v in spec["enum"]))
    elif spec.get("format") == "date-time":
        type_text = "时间 (ISO 8601)"
        ranges.append(f"{EARLIEST:%Y-%m-%d} 至 服务器当前时间 + 1 天")
    elif kind == "string":
        type_text = "文本"
    elif kind == "integer":
        type_text = "整数"
    elif kind == "number":
        type_text = "数字"
    else:
        raise ValueError(f"no type text for {prop}")
    if "pattern" in spec:
        ranges.append(f"`{spec['pattern']}`")
    if "minLength" in spec and "maxLength" in spec:
        ranges.append(f"{spec['minLength']}–{spec['maxLength']} 字符")
    elif "maxLength" in spec:
        ranges.append(f"≤ {spec['maxLength']} 字符")
    if "minimum" in spec and "maximum" in spec:
        ranges.append(f"{_num(spec['minimum'])} – {_num(spec['maximum'])}")
    return type_text, "; ".join(ranges), nullable


def field_table(model: type[BaseModel]) -> str:
    """The request-body table of a model, from its JSON schema and FIELD_DOCS."""
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    docs = FIELD_DOCS[model]
    lines = ["| 字段 field | 类型 type | 必填 required | 取值/范围 range | 含义 meaning |", "|---|---|---|---|---|"]
    for name, prop in schema["properties"].items():
        type_text, range_text, nullable = _field_spec(prop)
        req = "是" if name in required else ("否 (可为 `null`)" if nullable else "否")
        lines.append(f"| `{name}` | {type_text} | {req} | {_cell(range_text)} | {_cell(docs[name])} |")
    return "\n".join(lines)


def _response_table(key: str) -> str:
    lines = ["| 字段 field | 含义 meaning |", "|---|---|"]
    lines += [f"| `{name}` | {_cell(text)} |" for name, text in RESPONSE_DOCS[key].items()]
    return "\n".join(lines)


def _status(code: int) -> str:
    return f"{code} {HTTPStatus(code).phrase}"


def _json(value: Any) -> str:
    """Compact JSON on one line when short, else indented (a list: one item a line) — curl bodies and answers."""
    one = json.dumps(value, ensure_ascii=False)
    if len(one) <= 100:
        return one
    if isinstance(value, list):                     # log lines: one per line
        return "[\n" + ",\n".join("  " + json.dumps(v, ensure_ascii=False) for v in value) + "\n]"
    return json.dumps(value, ensure_ascii=False, indent=2)


def curl_command(ex: Example) -> str:
    """The example as a shell command (``$BASE`` and ``$TOKEN`` set beforehand)."""
    parts = ["curl -sS -i"]
    if ex.method != "GET":
        parts.append(f"-X {ex.method}")
    parts.append(f'"$BASE{API}{ex.path}"')
    cmd = " ".join(parts)
    if ex.auth:
        cmd += ' \\\n  -H "Authorization: Bearer $TOKEN"'
    if ex.body is not None:
        body = _json(ex.body)
        if "'" in body:                 # the body is single-quoted for the shell
            raise ValueError(f"example body of {ex.title!r} contains a single quote")
        cmd += " \\\n  -H 'Content-Type: application/json'"
        cmd += f" \\\n  -d '{body}'"
    return cmd


def _example_section(number: int, ex: Example) -> str:
    lines = [f"### 第 {number} 步: {ex.title} — `{ex.method} {API}{ex.path}`", ""]
    if ex.operator_rerun:
        lines += [f"> 平台一侧: 运维人员请求重跑失败的运行 `{ex.operator_rerun}`。", ""]
    lines += ["```bash", curl_command(ex), "```", "", f"响应 (answer): `{_status(ex.status)}`"]
    if ex.response is not None:
        lines += ["", "```json", _json(ex.response), "```"]
    if ex.volatile:
        lines += ["", "(" + ", ".join(f"`{v.split('.')[-1]}`" for v in ex.volatile) + " 以实际时间为准)"]
    if ex.note:
        lines += ["", ex.note]
    return "\n".join(lines) + "\n"


def _endpoint_section(number: int, ep: Endpoint) -> str:
    steps = [str(i) for i, ex in enumerate(EXAMPLES, 1) if ex.endpoint == ep.key]
    lines = [f"### 4.{number} `{ep.method} {API}{ep.path}` — {ep.title}", "", ep.text, ""]
    if ep.model is not None:
        lines += [ep.fields_note or "请求体 (JSON 对象):", "", field_table(ep.model), ""]
    else:
        lines += ["没有请求体。", ""]
    lines += ["| 状态 status | 含义 |", "|---|---|"]
    lines += [f"| `{_status(code)}` | {_cell(text)} |" for code, text in ep.responses]
    lines.append("")
    if ep.response_doc:
        lines += ["响应字段 (response fields):", "", _response_table(ep.response_doc), ""]
    lines.append(f"示例 (curl): 第 {'、'.join(steps)} 步 (第 5 节)。")
    return "\n".join(lines) + "\n"


def _jobs_section() -> str:
    lines = ["| 任务 job_code | 名称 | 计划 (schedule) | 时间窗 window |", "|---|---|---|---|"]
    for code in JOB_CODES:
        every, daily, window = JOB_SCHEDULES[code]
        plan = f"从 0 点起每 {every} 分钟" if every else f"每日 {daily}"
        lines.append(f"| `{code}` | {JOB_NAMES_ZH[code]} | {plan} | {window} 分钟 |")
    lines += ["", "| 机构类型 inst_type | 任务 |", "|---|---|"]
    for inst_type, jobs in JOBS_BY_INST_TYPE.items():
        lines.append(f"| `{inst_type}` | {', '.join(f'`{j}`' for j in jobs)} |")
    return "\n".join(lines)


def _max_length(model: type[BaseModel], name: str) -> int:
    """maxLength of a (possibly nullable) string field, from the model's JSON schema."""
    prop = model.model_json_schema()["properties"][name]
    return next(v["maxLength"] for v in prop.get("anyOf", [prop]) if "maxLength" in v)


_LOG_LINE_LIMITS = (f"每批 ≤ {MAX_LOG_LINES} 行; `message`、`error` ≤ {MAX_MESSAGE} 字符; "
                    f"`seq` 0 – {MAX_LOG_SEQ}")

INTRO = f"""\
# 交换节点接口 (exchange-node API)

> 本文件由 `python -m dashboard.exchange.api_doc --write` 根据 `dashboard/exchange/` 的代码自动生成, 请勿手工修改。
> Generated from `dashboard/exchange/` (schemas, api, service) by `python -m dashboard.exchange.api_doc`;
> do not edit by hand. 第 5 节的示例由 `tests/test_exchange_api_doc.py` 对真实应用逐条重放。

每家医疗机构的**前置机** (exchange node) 从本院的 HIS、LIS、PACS 等源系统抽取数据上传平台, 并通过本接口向
平台报告自己的状况: 心跳、每次抽取任务的运行 (run) 和日志, 以及领取并执行运维人员下达的重跑命令。
平台据此在“数据交换监测”页面显示每个节点的状态 (正常 / 运行中 / 失败 / 离线) 并计算“数据质量”页的
上传及时率、交换作业成功率、交换节点在线率和拒收率。本文档面向编写前置机代理程序的信息科或厂商工程师。

## 1. 流程 (flow)

1. **心跳**: 每 {DEFAULT_HEARTBEAT_S} 秒 `POST {API}/heartbeat`。
2. **运行开始**: 每次抽取开始时 `POST {API}/runs`, `status: running`, 带节点生成、在本节点内唯一的 `run_id`。
3. **日志**: 运行中 `POST {API}/runs/<run_id>/logs`, 每行带本运行内的行号 `seq`; 超时后原样重发, 平台按
   `seq` 去重。
4. **运行结束**: 用同一个 `run_id` 再次 `POST {API}/runs`, `status: success` 或 `failed`, 带 `finished_at`
   和行数。重发是安全的 (按 run_id 更新, 见 4.2)。
5. **命令**: 定期 `GET {API}/commands`; 收到 `rerun` 命令后 `POST {API}/commands/<id>/ack` 报告 `picked`,
   以新的 `run_id` 重新执行 (第 2–4 步), 最后报告 `done` (带新 run_id) 或 `failed`。

所有请求都可以在超时或网络错误后用**相同的请求体**重发: 心跳只多记一条心跳; 运行按 run_id 更新; 带 `seq`
的日志行不会重复; 相同的确认原样返回。

## 2. 认证 (authentication)

- 每个节点一个令牌 (bearer token)。请求头: `Authorization: Bearer <令牌>`。没有会话 (cookie), 也不需要 CSRF
  令牌; 请通过 HTTPS 访问 (令牌等同密码)。
- **签发**: 系统管理员在平台服务器上执行

  ```bash
  python app.py nodes list               # 节点编码 = EX-<机构代码>, 例如 EX-H001; 为还没有节点的机构创建节点
  python app.py nodes token EX-H001      # 最后一行是新令牌
  ```

  令牌只显示这一次 (平台只保存其 SHA-256 摘要); 遗失时重新签发。重新签发后**旧令牌立即失效**。
  节点为乡镇及以上机构创建, 村卫生室只为前 {VILLAGE_NODES} 个试点创建 (其余村卫生室的数据经乡镇卫生院上传)。
- 演示用的 `python app.py nodes simulate` 会给**所有**节点重新签发令牌: 不要对接入了真实前置机的平台运行它。
- **401 Unauthorized**: 没有 `Authorization` 头、不是 `Bearer`、令牌错误或已被重新签发。响应头
  `WWW-Authenticate: Bearer realm="exchange"`, 响应体
  `{{"errors": [{{"field": "Authorization", "message": "bearer token required"}}]}}` (没有令牌) 或
  `… "message": "invalid token"` (令牌无效)。不要自动重试, 请检查令牌配置。
- **403 Forbidden**: 令牌有效, 但请求涉及**其他节点**的命令。响应体如
  `{{"errors": [{{"field": "id", "message": "command belongs to another node"}}]}}`。run_id 按节点区分, 不会
  因为与别的节点重复而被拒绝。

## 3. 约定 (conventions)

- **地址**: `<平台地址>{API}/…`, 例如 `https://ycty.example.gov.cn{API}/heartbeat`。
- **请求体**是 UTF-8 编码的 JSON 对象 (日志接口可以是数组), 建议带 `Content-Type: application/json`。
  未知字段会被拒绝 (400, `field` 为该字段名); 文本首尾的空白会被去掉。
- **整数**字段 (`backlog`、`rows_*`、`seq`) 必须是 JSON 整数: `"12"`、`12.0`、`true` 都会被拒绝。
  百分比 (`cpu`、`mem`、`disk`) 是 0–100 的数字。
- **时间**: ISO 8601, 如 `2026-03-02T10:00:00+08:00`; 日期与时间之间也可以用空格, 可带小数秒。
  平台只用一个时钟: **县域时间** (环境变量 `MART_TIMEZONE`, 默认 `Asia/Shanghai`, 与数据集市相同), 与服务器
  操作系统的时区无关 (服务器设为 UTC 也一样)。**建议带时区偏移** (`+08:00` 或 `Z`): 带时区的时间换算成县域
  时间保存 (`2026-03-02T02:00:00Z` 存为 `2026-03-02T10:00:00`); 不带时区的时间按县域时间理解。
  早于 {EARLIEST:%Y-%m-%d} 或晚于县域当前时间 1 天以上的时间被拒绝 (400), 时钟严重错误的节点因此连心跳也
  无法上报: 请让前置机与 NTP 同步。响应中和运维页面上的时间都是县域时间, 不带时区。
- **在线判断**用服务器收到心跳的时间, 不用节点的 `ts`: 距最后一次心跳超过 {OFFLINE_AFTER_INTERVALS} 个心跳周期
  (默认 {OFFLINE_AFTER_INTERVALS} × {DEFAULT_HEARTBEAT_S} = {OFFLINE_AFTER_INTERVALS * DEFAULT_HEARTBEAT_S} 秒) 即为“离线”;
  从未发过心跳的节点也是离线。节点的心跳周期 `heartbeat_interval_s` 显示在平台的节点详情中。
- **节点状态**: 离线 (见上) 优先; 否则某任务最近一次失败的运行晚于其最近一次成功 → “失败”; 否则有运行中的
  任务 → “运行中”; 否则 “正常”。
- **限制 (limits)**: 请求体 ≤ {MAX_BODY_BYTES // (1024 * 1024)} MiB ({MAX_BODY_BYTES} 字节), 超过 → 413, 不读取;
  JSON 嵌套 ≤ {MAX_DEPTH} 层, 超过 → 400; 数值字段必须是 JSON 数值 (`"cpu": "10"` → 400);
  每个节点每分钟的请求数有上限 (平台环境变量 `NODE_RATE_LIMIT`, 默认 `{DEFAULT_NODE_RATE_LIMIT}`), 超过 → 429,
  响应头 `Retry-After` 给出等待秒数;
  {_LOG_LINE_LIMITS};
  行数 (`backlog`、`rows_*`) 0 – {MAX_ROWS}; `version` ≤ {_max_length(HeartbeatIn, 'version')} 字符;
  `run_id` 1–64 个字符, 匹配 `{RUN_ID_PATTERN}` (字母或数字开头, 其后可用字母、数字和 `._:-`)。
- **事务**: 每个请求整体保存或整体不保存。
- **错误响应体** (400、401、403、404、409、413、429、500): `Content-Type: application/json`,

  ```json
  {{"errors": [{{"field": "finished_at", "message": "required when status is success or failed"}}]}}
  ```

  `field` 是出错的字段 (嵌套用点号, 如 `logs.0.level`), 请求头错误为 `Authorization`, 整个请求体的错误
  (不是 JSON、不是对象、过大) 为 `body`; `message` 是英文说明。一个请求可能有多条错误。
- **状态码一览**: `200`/`201`/`204` 成功; `400` 请求体或字段错误 (修正后再发, 重发同样的请求没有用);
  `401` 令牌; `403` 别的节点的对象; `404` 运行或命令不存在; `409` 与平台已有记录冲突; `413` 请求体过大;
  `429` 请求过于频繁 (按 `Retry-After` 等待后重发); `5xx` (也是 JSON) 或超时: 稍后用相同请求体重发。路径不对时为 `404` (`field` 为 `path`), 方法不对时为 `405`
  (`field` 为 `method`, 响应头 `Allow` 给出该路径可用的方法), 同样是上述 JSON 格式。

## 4. 接口 (endpoints)
"""

WALKTHROUGH_INTRO = f"""\
## 5. 完整示例 (walkthrough)

以下请求按顺序执行 (节点 `{EXAMPLE_NODE}`, 县人民医院), 响应即平台的实际响应 (县域时区 `MART_TIMEZONE=Asia/Shanghai`; 服务器操作系统时区不影响结果)。
`-i` 显示状态行和响应头。Windows 上建议把请求体存成 UTF-8 文件, 用 `--data-binary @body.json` 发送。

```bash
BASE=https://ycty.example.gov.cn          # 平台地址 (platform URL)
TOKEN=...                                  # python app.py nodes token {EXAMPLE_NODE} 打印的最后一行
```
"""

JOBS_INTRO = """\
## 6. 任务与计划 (jobs and schedules)

每个节点创建时按机构类型配置任务 (一个源系统一个任务); `POST /runs` 的 `job_code` 必须是本节点的任务之一,
否则 400。平台按下表的计划计算**数据上传及时率**: 每个计划时点 (slot) 在 [slot, slot + 时间窗] 内有一次该任务
的成功运行结束, 该时点即为及时; 没有上传的时点计为不及时。前置机应按相同的计划执行抽取。
"""


def render() -> str:
    """The whole document as Markdown."""
    parts = [INTRO]
    parts += [_endpoint_section(i, ep) for i, ep in enumerate(ENDPOINTS, 1)]
    parts.append(WALKTHROUGH_INTRO)
    parts += [_example_section(i, ex) for i, ex in enumerate(EXAMPLES, 1)]
    parts += [JOBS_INTRO, _jobs_section() + "\n"]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Print, write (``--write``) or check (``--check``) the document; returns the exit status."""
    parser = argparse.ArgumentParser(description="Generate docs/exchange-api.md from dashboard/exchange/")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="write the document instead of printing it")
    group.add_argument("--check", action="store_true", help="exit 1 if the committed document is stale")
    parser.add_argument("--output", type=Path, default=DOC_PATH)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run python -m dashboard.exchange.api_doc --write", file=sys.stderr)
            return 1
        return 0
    if args.write:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
        return 0
    sys.stdout.buffer.write(text.encode("utf-8"))   # UTF-8 whatever the console's locale
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
