"""自助分析 /analysis in headless Chromium on the live server (tiny demo mart): a township × 疾病章节 pivot shows the
engine's numbers, exports them, a member cell opens its panel, an org × period cell drills to the indicator page,
the URL restores the view, a manager's department rows stay inside the scope, and a phone does not scroll
sideways."""
from __future__ import annotations

import csv
import io

import pytest

from metrics.scope import FULL_SCOPE

pytestmark = pytest.mark.browser

IND = "op_cost_per_visit"


def _num(text: str) -> float | None:
    text = text.strip().replace(",", "").rstrip("%")
    return None if text in ("", "—") else float(text)


def grid_cells(page) -> dict[tuple[str, str], str]:
    """{(row code, column id): shown text} of the grid's rendered rows (AG Grid writes row-id and col-id)."""
    return page.evaluate("""() => {
        const out = {};
        document.querySelectorAll('#an-grid .ag-center-cols-container .ag-row').forEach(r => {
            r.querySelectorAll('.ag-cell').forEach(c => {
                out[r.getAttribute('row-id') + '|' + c.getAttribute('col-id')] = c.innerText; });
        });
        return out; }""")


def open_pivot(page, search: str) -> None:
    page.goto(f"{page.base_url}/analysis{search}")
    page.wait_for_selector("#an-grid .ag-center-cols-container .ag-row .ag-cell", timeout=30000)
    page.wait_for_function("() => !document.querySelector('#an-grid')?.closest('[data-dash-is-loading=true]')")


@pytest.fixture(scope="module")
def end_month(app_cfg) -> str:
    from queries.periods import last_complete_month
    return last_complete_month(app_cfg.mart_url)


def test_township_by_chapter_pivot_drill_export_and_url(page_as, app_cfg, end_month, tmp_path):
    from metrics.dimensions import DIMENSIONS
    from metrics.engine import compute
    page = page_as("leader")
    search = f"?grain=month&period={end_month}&ind={IND}&rows=township&cols=icd_chapter"
    open_pivot(page, search)
    split = compute([IND], "township", "month", end_month, end_month, scope=FULL_SCOPE, mart_url=app_cfg.mart_url,
                    comparisons=False, by="icd_chapter")
    members = [c for c, _n in DIMENSIONS["icd_chapter"].members]
    shown = {k: _num(v) for k, v in grid_cells(page).items() if "|c" in k}
    checked = 0
    for key, value in shown.items():
        code, col = key.split("|")
        row = split[(split["org_code"] == code) & (split["member"] == members[int(col[1:])])]
        expected = row["value"].iloc[0]
        if expected != expected:
            assert value is None, key
        else:
            assert value == pytest.approx(round(float(expected), 2)), key
            checked += 1
    assert checked >= 10

    # export: the CSV holds the grid's numbers
    with page.expect_download() as dl:
        page.click("#an-export-csv")
    path = tmp_path / "pivot.csv"
    dl.value.save_as(path)
    table = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    names = dict(zip(split["org_name"], split["org_code"]))
    assert table[0][0] == "乡镇" and table[-1][0] == "合计"
    for line in table[1:-1]:
        for i, cell in enumerate(line[1:len(members) + 1]):
            key = f"{names[line[0]]}|c{i}"
            if key in shown:
                assert _num(cell) == shown[key], key

    # a member cell opens the member's panel (the indicator page cannot take a member)
    code, col = next(k.split("|") for k, v in shown.items() if v is not None)
    page.click(f"#an-grid .ag-center-cols-container .ag-row[row-id='{code}'] .ag-cell[col-id='{col}']")
    page.wait_for_selector(".an-panel-title")
    assert DIMENSIONS["icd_chapter"].member_name(members[int(col[1:])]) in page.inner_text(".an-panel-title")

    # the view is in the URL: a fresh page from the address restores the pickers and the grid
    url = page.url
    again = page_as("leader")
    again.goto(url)
    again.wait_for_selector("#an-grid .ag-center-cols-container .ag-row .ag-cell", timeout=30000)
    assert "门诊次均费用" in again.inner_text("#an-ind") and "按乡镇" in again.inner_text("#an-rows")
    assert "疾病章节" in again.inner_text("#an-cols")

    # a picker writes the URL: 季 (the grain) on an org × period pivot, then a cell drills to the indicator page
    open_pivot(page, f"?grain=month&period={end_month}&ind={IND}&rows=township")
    page.click("#an-grain label:has-text('季')")
    page.wait_for_url("**grain=quarter**")
    open_pivot(page, page.url[page.url.index("?"):])
    first = page.locator("#an-grid .ag-center-cols-container .ag-row").first
    row_code = first.get_attribute("row-id")
    first.locator(".ag-cell[col-id='c0']").click()
    page.wait_for_url(f"**/indicator/{IND}?**org={row_code}**")
    assert "grain=quarter" in page.url
    # and back: the indicator page opens the pivot of the same indicator, grain, period and org
    page.click("#ind-to-analysis")
    page.wait_for_url(f"**/analysis?**org={row_code}**")
    page.wait_for_selector(f"#an-grid .ag-row[row-id='{row_code}'] .ag-cell", timeout=30000)
    assert "grain=quarter" in page.url


def test_manager_department_pivot_stays_in_scope(page_as, app_cfg, end_month):
    from queries.org import all_departments
    from tests.test_pages_callbacks import manager_institutions
    mine = manager_institutions(app_cfg)
    page = page_as("manager")
    open_pivot(page, f"?grain=month&period={end_month}&ind={IND}&rows=department")
    depts = all_departments(app_cfg.mart_url)
    own = set(depts.loc[depts["inst_code"].isin(mine), "dept_code"].astype(str))
    rows = {k.split("|")[0] for k in grid_cells(page)}
    assert rows and rows <= own


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080), (390, 844)])
def test_layout_fits_every_screen(page_as, end_month, size, tmp_path):
    page = page_as("leader")
    page.set_viewport_size({"width": size[0], "height": size[1]})
    open_pivot(page, f"?grain=month&period={end_month}&ind={IND}&rows=township&cols=icd_chapter")
    page.wait_for_selector("#an-heatmap .main-svg")
    assert page.evaluate("document.documentElement.scrollWidth") <= size[0]
    page.screenshot(path=str(tmp_path / f"analysis-{size[0]}x{size[1]}.png"), full_page=True)
