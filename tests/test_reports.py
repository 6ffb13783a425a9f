"""The monthly report and custom reports: figures in the written .docx / .xlsx equal the engine's, the CLI and
the report agree on the headline values, the PDF is paged Chinese text, scope is enforced (403 + audit)."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def month(demo_cfg) -> str:
    from queries import periods
    return periods.last_complete_month(demo_cfg.mart_url)


@pytest.fixture(scope="module")
def docx_path(demo_cfg, month, tmp_path_factory) -> Path:
    """The county report written by the real CLI command."""
    out = tmp_path_factory.mktemp("rep") / "county.docx"
    env = {**os.environ, "DATA_DIR": str(demo_cfg.data_dir), "MART_URL": demo_cfg.mart_url,
           "APP_DB_URL": demo_cfg.app_db_url}
    r = subprocess.run([sys.executable, "app.py", "report", "--month", month, "--format", "docx", "--out", str(out)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "已生成" in r.stdout
    return out


def _cli_values(demo_cfg, month: str, ids: list[str]) -> dict[str, str]:
    env = {**os.environ, "DATA_DIR": str(demo_cfg.data_dir), "MART_URL": demo_cfg.mart_url}
    r = subprocess.run([sys.executable, "app.py", "indicators", "--ids", ",".join(ids), "--level", "county",
                        "--grain", "month", "--from", month, "--to", month], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return {row["indicator_id"]: row["value"] for row in csv.DictReader(io.StringIO(r.stdout))}


def _table_after(doc, heading: str):
    """The first table following the paragraph ``heading`` in document order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph
    seen = False
    for block in doc.element.body.iterchildren():
        if block.tag.endswith("}p") and Paragraph(block, doc).text.strip() == heading:
            seen = True
        elif seen and block.tag.endswith("}tbl"):
            return Table(block, doc)
    raise AssertionError(f"no table after {heading}")


def test_docx_headline_equals_cli_and_has_charts(demo_cfg, month, docx_path) -> None:
    import docx
    from docx.oxml.ns import qn

    from metrics.catalogue import INDICATORS
    from reports.sections import HEADLINE_IDS

    doc = docx.Document(str(docx_path))
    assert len(doc.inline_shapes) >= 4
    table = _table_after(doc, "一、总体情况")
    by_name = {row.cells[0].text: row.cells[1].text for row in table.rows[1:]}
    cli = _cli_values(demo_cfg, month, list(HEADLINE_IDS))
    checked = 0
    for iid, value in cli.items():
        ind = INDICATORS[iid]
        shown = by_name[ind.zh]
        if value == "":
            assert shown == "—"
            continue
        assert shown.replace(ind.unit, "").strip() == value, (iid, shown, value)
        checked += 1
    assert checked >= 8
    # Chinese fonts named in the styles, East Asian attribute included (Word/WPS)
    rfonts = doc.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert rfonts.get(qn("w:eastAsia")) == "宋体"
    assert doc.styles["Heading 1"].element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "黑体"
    text = "\n".join(p.text for p in doc.paragraphs)
    for title in ("资源配置", "医疗服务与质量", "费用控制", "分级诊疗与双向转诊", "健康管理", "数据上报质量",
                  "附录一、指标定义", "附录二、数据完整性说明"):
        assert title in text


def test_docx_section_figures_equal_compute(demo_cfg, month, docx_path) -> None:
    import docx

    from metrics.catalogue import INDICATORS
    from metrics.engine import compute
    from reports.sections import SECTIONS
    from reports.text import value_text

    doc = docx.Document(str(docx_path))
    ids = [i for s in SECTIONS for i in s.indicator_ids if "county" in INDICATORS[i].levels]
    df = compute(ids, "county", "month", month, month, mart_url=demo_cfg.mart_url)
    expected = {INDICATORS[r.indicator_id].zh: value_text(r.value, INDICATORS[r.indicator_id].decimals)
                for r in df.itertuples()}
    seen = 0
    for spec in SECTIONS:
        if not spec.indicator_ids:
            continue
        table = _table_after(doc, spec.title)
        assert [c.text for c in table.rows[0].cells][:2] == ["指标", "本月值"]
        for row in table.rows[1:]:
            name = row.cells[0].text.split("（")[0]
            shown = row.cells[1].text.split(" ")[0].rstrip("%")
            assert shown == expected[name], (name, shown, expected[name])
            seen += 1
    assert seen >= 30


def test_county_ranking_follows_engine_order(demo_cfg, month) -> None:
    from metrics.catalogue import INDICATORS
    from metrics.engine import compute
    from reports.content import build_report

    report = build_report(month, mart_url=demo_cfg.mart_url)
    section = next(s for s in report.sections if s.key == "cost")
    ranking = section.ranking
    assert ranking is not None and ranking.rows
    ranking.rows = [r for r in ranking.rows if r["rank"] != "…"]     # the gap between best and worst
    ind = INDICATORS[ranking.indicator_id]
    df = compute([ind.id], "institution", "month", month, month, mart_url=demo_cfg.mart_url)
    values = dict(zip(df["org_name"], df["value"]))
    shown = [float(r["value_text"]) for r in ranking.rows]
    assert shown == sorted(shown)                 # 门诊次均费用: lower is better, best first
    for r in ranking.rows:
        assert r["value_text"] == f"{round(values[r['org_name']], ind.decimals):.{ind.decimals}f}"


def test_pdf_has_pages_of_chinese_text(demo_cfg, month) -> None:
    import weasyprint

    from reports.charts import render_all
    from reports.content import build_report
    from reports.html_writer import render_html

    report = render_all(build_report(month, mart_url=demo_cfg.mart_url))
    document = weasyprint.HTML(string=render_html(report)).render()
    assert len(document.pages) >= 3
    pdf = document.write_pdf()
    assert pdf.startswith(b"%PDF")
    fonts = list(document.fonts.values())
    assert any(b"CJK" in f.name for f in fonts)            # the Noto CJK fonts are embedded
    assert {f.name: f.missing for f in fonts if f.missing} == {}    # no character drawn as a missing glyph


def test_custom_xlsx_figures_equal_compute(demo_cfg, month) -> None:
    import openpyxl

    from metrics.catalogue import INDICATORS
    from metrics.engine import compute
    from reports.custom import CustomSpec, custom_frame, to_xlsx

    ids = ["op_cost_per_visit", "bed_occupancy", "htn_standard_rate", "op_antibiotic_rate", "up_referrals"]
    spec = CustomSpec(ids, level="township", grain="month", start="2026-07", end=month)
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(custom_frame(spec, mart_url=demo_cfg.mart_url))))
    assert {"资源", "质量", "费用", "健康管理", "转诊与分级诊疗", "说明"} <= set(wb.sheetnames)
    df = compute(ids, "township", "month", "2026-07", month, mart_url=demo_cfg.mart_url)
    expected = {(INDICATORS[r.indicator_id].zh, r.org_code, r.period): r for r in df.itertuples()}
    checked = 0
    for name in wb.sheetnames[:-1]:
        ws = wb[name]
        assert ws.freeze_panes == "B2"
        header = [c.value for c in ws[1]]
        col = {h: n for n, h in enumerate(header)}
        for row in ws.iter_rows(min_row=2, values_only=True):
            r = expected[(row[col["指标"]], row[col["代码"]], row[col["期间"]])]
            dec = INDICATORS[r.indicator_id].decimals
            if r.value == r.value:
                assert row[col["值"]] == round(r.value, dec)
            assert row[col["分子"]] == pytest.approx(r.numerator, rel=1e-12)     # sums of money as stored
            checked += 1
    assert checked == len(df)


def test_manager_cannot_generate_or_download_other_report(flask_app, app_cfg, client_as) -> None:
    from dashboard.accounts.models import AuditLog
    from dashboard.accounts.service import get_user_view, read_demo_accounts
    from dashboard.reporting import service
    from mart.connection import read_df
    from metrics.scope import FULL_SCOPE
    from tests.test_security import rows

    manager = read_demo_accounts(app_cfg)["manager"][0]
    mine = set(get_user_view(app_cfg, manager).inst_codes)
    insts = read_df(app_cfg.mart_url, "SELECT inst_code FROM institution WHERE level <> 'village' ORDER BY 1")
    other = next(c for c in insts["inst_code"] if c not in mine)
    c = client_as("manager")
    origin = {"Origin": "http://localhost"}
    before = len(rows(app_cfg, AuditLog, action="report.denied"))
    for org in (other, None):
        r = c.post("/api/reports/generate", json={"month": "2026-10", "org": org, "format": "html"}, headers=origin)
        assert r.status_code == 403
    assert len(rows(app_cfg, AuditLog, action="report.denied")) == before + 2
    # a county report a leader generated: listed for nobody but leaders, not downloadable by the manager
    county_id = service.start(app_cfg, "2026-10", "html", None, FULL_SCOPE, "leader")
    done = service.run(app_cfg, county_id, FULL_SCOPE)
    assert done.state == "done", done.message
    assert c.get(f"/api/reports/{county_id}/download").status_code == 403
    assert c.get(f"/api/reports/{county_id}").status_code == 403
    assert county_id not in [r["id"] for r in c.get("/api/reports").get_json()]
    denied = rows(app_cfg, AuditLog, action="report.denied")
    assert len(denied) == before + 4 and denied[-1].actor == manager
    leader = client_as("leader")
    r = leader.get(f"/api/reports/{county_id}/download")
    assert r.status_code == 200 and "运行监测月报" in r.get_data(as_text=True)
    # the manager's own institution: allowed, generated in the background, downloadable
    own = sorted(mine)[0]
    r = c.post("/api/reports/generate", json={"month": "2026-10", "org": own, "format": "html"}, headers=origin)
    assert r.status_code == 202
    own_id = r.get_json()["id"]
    import time
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        state = c.get(f"/api/reports/{own_id}").get_json()
        if state["state"] != "running":
            break
        time.sleep(0.5)
    assert state["state"] == "done", state
    assert c.get(f"/api/reports/{own_id}/download").status_code == 200


def test_generate_due_reports_once_per_month(app_cfg) -> None:
    from dashboard.reporting.service import generate_due_reports, reports_dir
    first = generate_due_reports(app_cfg, formats=("docx",))     # (html: the test above made it already)
    assert [r.state for r in first] == ["done"] and first[0].created_by == "auto"
    assert (reports_dir(app_cfg) / f"{first[0].month}_county_{first[0].id}.docx").is_file()
    assert generate_due_reports(app_cfg, formats=("docx", "html")) == []


def test_custom_template_saved_per_user(app_cfg) -> None:
    from dashboard.reporting.templates_store import list_templates, load_template, save_template
    from reports.custom import CustomSpec
    spec = CustomSpec(["alos"], level="institution", grain="quarter", start="2026-01", end="2026-09")
    tid = save_template(app_cfg, "leader", "季度住院日", spec)
    assert save_template(app_cfg, "leader", "季度住院日", spec) == tid          # same name: overwritten
    assert (tid, "季度住院日") in list_templates(app_cfg, "leader")
    assert load_template(app_cfg, "leader", tid) == spec
    assert load_template(app_cfg, "manager", tid) is None                     # another user's template
    with pytest.raises(ValueError):
        save_template(app_cfg, "leader", "  ", spec)


def test_custom_report_keeps_to_the_managers_institutions(demo_cfg, month) -> None:
    from metrics.engine import IndicatorError
    from metrics.scope import manager_scope
    from queries import org as qorg
    from reports.custom import CustomSpec, custom_frame

    tree = qorg.org_tree(demo_cfg.mart_url)
    own = sorted(tree.loc[tree["level"] != "village", "inst_code"])[:2]
    spec = CustomSpec(["op_cost_per_visit", "alos"], level="institution", grain="quarter", start="2026-01", end=month)
    df = custom_frame(spec, manager_scope(own), demo_cfg.mart_url)
    assert not df.empty and set(df["org_code"]) <= set(own)
    assert len(set(custom_frame(spec, mart_url=demo_cfg.mart_url)["org_code"])) > len(own)
    with pytest.raises(IndicatorError, match="请至少选择一个指标"):
        custom_frame(CustomSpec([], start="2026-01", end=month), mart_url=demo_cfg.mart_url)
    with pytest.raises(IndicatorError, match="起始月份晚于结束月份"):
        custom_frame(CustomSpec(["alos"], start=month, end="2026-01"), mart_url=demo_cfg.mart_url)
