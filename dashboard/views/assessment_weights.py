"""评价权重 /admin/assessment: the weights form (rows of the app database's set), its sum, and the save/reset
acts with Chinese messages. Only the admin reaches it (page and callback module gated in ``core.roles``; the acts
check role and same origin again)."""
from __future__ import annotations

import math
from typing import Any

from dash import dcc, html

from layouts import _assessment_parts as A


def _cfg():
    from dashboard.app import get_config
    return get_config()


def form() -> html.Div:
    """One line per indicator of the set: name and dimension, weight input, 启用 checkbox, default weight."""
    from dashboard.assessment.store import weight_table
    lines = [html.Div([html.Span("指标", className="aw-name"), html.Span("维度", className="aw-dim"),
                       html.Span("权重", className="aw-w"), html.Span("启用", className="aw-on"),
                       html.Span("默认", className="aw-def")], className="aw-row aw-header")]
    for r in weight_table(_cfg()):
        lines.append(html.Div([
            html.Span(r.zh, className="aw-name", title=r.indicator_id),
            html.Span(r.dimension, className="aw-dim"),
            dcc.Input(id={"type": A.W_WEIGHT, "id": r.indicator_id}, type="number", value=r.weight, debounce=True,
                      className="aw-w", name=f"weight-{r.indicator_id}"),
            dcc.Checklist(id={"type": A.W_ENABLED, "id": r.indicator_id}, options=[{"label": "", "value": "on"}],
                          value=["on"] if r.enabled else [], className="aw-on"),
            html.Span("—" if r.default_weight is None else f"{r.default_weight:g}", className="aw-def"),
        ], className="aw-row"))
    return html.Div(lines)


def _number(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def parse(ids: list[dict], weights: list[Any], enabled: list[list[str] | None]) -> tuple[dict, list[str]]:
    """({indicator id: (weight, enabled)}, Chinese errors) from the form's inputs."""
    from metrics.catalogue import INDICATORS
    changes: dict[str, tuple[float, bool]] = {}
    errors: list[str] = []
    for ident, w, on in zip(ids, weights, enabled):
        iid = ident["id"]
        name = INDICATORS[iid].zh if iid in INDICATORS else iid
        v = _number(w)
        if v is None:
            errors.append(f"{name}：请填写数字")
        elif v <= 0:
            errors.append(f"{name}：权重必须大于 0")
        else:
            changes[iid] = (v, bool(on))
    if not errors and not any(on for _w, on in changes.values()):
        errors.append("至少启用一项指标")
    return changes, errors


def sum_text(weights: list[Any], enabled: list[list[str] | None]) -> str:
    """'启用 22 项，权重合计 104' for the form as it is now."""
    on = [_number(w) for w, e in zip(weights, enabled) if e]
    total = sum(v for v in on if v is not None and v > 0)
    return f"启用 {len(on)} 项，权重合计 {total:g}（得分按合计折算为 100 分）"


def confirm_text(ids: list[dict], weights: list[Any], enabled: list[list[str] | None]) -> str:
    """The confirmation of a save: what changes (or the first errors)."""
    from dashboard.assessment.store import weight_table
    changes, errors = parse(ids, weights, enabled)
    if errors:
        return ""
    now = {r.indicator_id: r for r in weight_table(_cfg())}
    lines = [f"{now[i].zh}：{now[i].weight:g}{'' if now[i].enabled else '（停用）'} → {w:g}{'' if on else '（停用）'}"
             for i, (w, on) in changes.items() if i in now and (now[i].weight, now[i].enabled) != (w, on)]
    if not lines:
        return ""
    return "确定保存以下修改？（记入审计日志）\n" + "\n".join(lines[:20])


def save(ids: list[dict], weights: list[Any], enabled: list[list[str] | None]) -> tuple[str, bool]:
    """Store the form (admin, same origin); (message, saved)."""
    from core.roles import ADMIN
    from dashboard.accounts.access import require_state_change
    from dashboard.assessment.store import save_weights
    from metrics.assessment import AssessmentError
    require_state_change(ADMIN)
    changes, errors = parse(ids, weights, enabled)
    if errors:
        return "未保存：" + "；".join(errors), False
    try:
        n = save_weights(_cfg(), changes)
    except AssessmentError as exc:
        return f"未保存：{exc}", False
    return (f"已保存 {n} 项修改" if n else "权重未变化，未作修改"), bool(n)


def reset() -> str:
    """Back to the default set (admin, same origin)."""
    from core.roles import ADMIN
    from dashboard.accounts.access import require_state_change
    from dashboard.assessment.store import reset_weights
    require_state_change(ADMIN)
    return "已恢复默认权重" if reset_weights(_cfg()) else "已是默认权重，未作修改"
