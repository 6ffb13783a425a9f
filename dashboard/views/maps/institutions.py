"""医疗机构运行一张图: institutions by type, volume and the chosen indicator's status (or value class)."""
from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from dashboard.views import pagekit as kit
from dashboard.views.maps.state import (
    cached,
    engine,
    focus_on,
    geo_dir,
    has_target,
    indicator_entry,
    indicator_label,
    map_state,
    optional_notice,
    points,
    unit_suffix,
    view_subtitle,
    volumes,
)
from geo.classify import METHODS, classify
from geo.options import VALUE_MODE_NOTE, institutions_option
from geo.store import display_geometry
from layouts import map_parts as P
from layouts.formatting import NO_TARGET, display_target, target_phrase

log = logging.getLogger(__name__)

INST_VALUE_METHOD, INST_VALUE_CLASSES = "natural_breaks", 5     # institution colours of an indicator without target


def institutions_view(search: str | None) -> tuple[dict | None, str, Any, Any]:
    """(option, subtitle, legend, notice) of 医疗机构运行一张图."""
    state = map_state("inst", search)
    disp = display_geometry(geo_dir())
    scope = kit.scope()
    pts = points()
    vols = volumes(state)
    ind = state.indicator
    entry = indicator_entry(ind)
    zh, unit, dec = indicator_label(entry, ind or "")
    note = None
    vals = pd.DataFrame(columns=["org_code", "value", "status"])
    if ind:
        try:
            vals = engine([ind], "institution", state)
        except Exception as exc:  # noqa: BLE001 — an indicator the engine refuses: draw the map without colours
            log.info("institution map: %s refused: %s", ind, exc)
            note = f"{zh}：{exc}"
    df = pts.merge(vols, on="inst_code", how="left")
    df[["op_visits", "discharges"]] = df[["op_visits", "discharges"]].fillna(0).astype(int)
    df["volume"] = df["op_visits"] + df["discharges"]
    df = df.merge(vals[["org_code", "value", "status"]].rename(columns={"org_code": "inst_code"}),
                  on="inst_code", how="left")
    df["target"] = display_target(kit.attr(entry, "target_text", "")) or NO_TARGET
    shown = None
    if not scope.all_institutions:
        # rows of institutions outside a manager's scope are not shown (the engine leaves them out too)
        hidden = ~df["inst_code"].map(scope.may_see_institution)
        shown = int((~hidden).sum())
        df.loc[hidden, ["value", "status"]] = None
        df.loc[hidden, "target"] = "无权查看"
        note = note or "仅显示授权机构的指标值；其他机构只显示位置与业务量。"
    if has_target(entry):
        option = institutions_option(disp, df, zh, unit, dec)
        counts = df["status"].value_counts()
        parts = [f"{k} {counts.get(k, 0)} 家" for k in ("达标", "预警", "未达标")]
        # a manager's counts are of the institutions they may see ("机构 218 家 · 达标 2 家" read as 216 missing)
        judged = ("" if shown is None else f"其中授权 {shown} 家：") + "，".join(parts)
        subtitle = view_subtitle(state, f"着色：{zh}（{target_phrase(kit.attr(entry, 'target_text', ''))}）",
                             f"机构 {len(df)} 家", judged)
        legend = P.status_legend()
    else:
        # No target, so no status to colour by: classes of the value itself. Natural breaks, not quantiles:
        # values cluster by institution level (a village clinic's visit costs a fifth of a county hospital's),
        # and quantiles would spend every class on the village clinics and put all hospitals and centres in one.
        values = pd.to_numeric(df["value"], errors="coerce")
        # pure-Python Fisher-Jenks costs ~0.1 s for a county's institutions: once per data version, scope and view
        classes = cached("inst-classes", lambda: classify(
            values.tolist(), INST_VALUE_METHOD, INST_VALUE_CLASSES, direction=kit.attr(entry, "direction", "band"),
            decimals=dec, lightest=3), ind, state.view.grain, state.first, state.last, len(values))
        option = institutions_option(disp, df, zh, unit, dec, classes=classes)
        subtitle = view_subtitle(state, f"着色：{zh}（{VALUE_MODE_NOTE}）", f"机构 {len(df)} 家",
                             f"有数据 {int(values.notna().sum())} 家")
        legend = P.value_legend(classes.legend(), f"颜色：{zh}{unit_suffix(unit)} · {METHODS[INST_VALUE_METHOD]}")
    focus_on(option, disp, state.view.org, pts)
    return option, subtitle, legend, optional_notice(note)
