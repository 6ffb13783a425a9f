"""Real-world loader input: encodings, delimiters, Excel workbooks, lenient normalisers, code patterns, the one
lead hospital and the delete path — against real DuckDB marts."""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from mart.delete import delete_rows
from mart.loader import LoadError, load_directory
from mart.readers import ReadOptions, cell_name, lenient_time, sniff_delimiter, unthousand
from mart.schema import TABLES
from tests.test_loader import (
    AREA,
    GOOD,
    INSTITUTION,
    VISITS,
    find,
    loaded,  # noqa: F401 — a fixture, used by name
    make_cfg,
    query,
    reject,
    snapshot,
    write_csv,
    write_set,
)

DATA = Path(__file__).resolve().parent / "data"


def write_delim(directory: Path, table: str, rows: list[dict], encoding: str, delimiter: str = ",") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{table}.csv"
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.DictWriter(fh, fieldnames=TABLES[table].column_names, delimiter=delimiter,
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def contract_content(cfg) -> dict:
    return {t: v for t, v in snapshot(cfg).items() if t in TABLES}


@pytest.mark.parametrize("encoding, delimiter", [("gbk", ","), ("gb18030", "\t"), ("utf-16", "\t"),
                                                 ("utf-8-sig", ";"), ("utf-8", "\t")])
def test_encodings_and_delimiters_load_the_same_rows(tmp_path: Path, encoding: str, delimiter: str) -> None:
    reference = make_cfg(tmp_path / "ref")
    load_directory(reference, write_set(tmp_path / "utf8", GOOD))
    cfg = make_cfg(tmp_path / "other")
    for table, rows in GOOD.items():
        write_delim(tmp_path / "in", table, rows, encoding, delimiter)
    report = load_directory(cfg, tmp_path / "in")
    assert report.rows == {t: len(r) for t, r in GOOD.items()}
    assert contract_content(cfg) == contract_content(reference)
    assert query(cfg, "SELECT name FROM area WHERE level = 'county'") == [("示例县",)]
    if encoding in ("gbk", "gb18030", "utf-16"):
        assert any("area.csv: 按" in w for w in report.warnings), report.warnings


def test_excel_made_gbk_sample_loads(tmp_path: Path) -> None:
    """tests/data/excel_gbk: what Excel's "CSV (逗号分隔)" writes on a Chinese Windows (GBK, CRLF, no BOM)."""
    raw = (DATA / "excel_gbk" / "area.csv").read_bytes()
    assert b"\r\n" in raw and not raw.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    cfg = make_cfg(tmp_path)
    report = load_directory(cfg, DATA / "excel_gbk")
    assert report.rows["area"] == 3
    assert query(cfg, "SELECT name FROM area ORDER BY area_code") == [("示例县",), ("城关镇",), ("东溪乡",)]


def test_forced_encoding_and_undetectable_file(tmp_path: Path) -> None:
    write_delim(tmp_path / "in", "area", AREA, "gbk")
    cfg = make_cfg(tmp_path)
    assert load_directory(cfg, tmp_path / "in", options=ReadOptions(encoding="gb18030")).rows == {"area": 3}
    with pytest.raises(LoadError) as info:
        load_directory(cfg, tmp_path / "in", options=ReadOptions(encoding="no-such-codec"))
    assert "unknown encoding" in info.value.message()


def test_delimiter_sniffing_only_when_unambiguous() -> None:
    area = TABLES["area"]
    assert sniff_delimiter("area_code\tname\tlevel", area)[0] == "\t"
    assert sniff_delimiter("area_code;name;level", area)[0] == ";"
    assert sniff_delimiter("foo,bar", area)[0] is None


def test_normalisers_are_opt_in_and_counted(loaded, tmp_path: Path) -> None:
    rows = [dict(v, visit_time=t, total_cost=c) for v, t, c in zip(
        VISITS[:3], ["2025/3/7 8:05", "20250308 9:30", "2025-03-09 10:00:00"], ["1,186.50", "186.50", "2,000"])]
    write_csv(tmp_path / "in", "outpatient_visit", rows)
    err = reject(loaded, tmp_path / "in")             # without the options: refused, named
    find(err, row=1, column="visit_time", value="2025/3/7 8:05")
    find(err, row=1, column="total_cost", value="1,186.50")
    report = load_directory(loaded, tmp_path / "in", options=ReadOptions(lenient_dates=True, thousands=True))
    notes = "\n".join(report.warnings)
    assert "--lenient-dates: 改写了 2 个单元格" in notes and "--thousands: 改写了 2 个单元格" in notes
    got = query(loaded, "SELECT visit_id, CAST(visit_time AS VARCHAR), CAST(total_cost AS VARCHAR) "
                        "FROM outpatient_visit WHERE visit_id IN ('OP000001', 'OP000002') ORDER BY 1")
    assert got == [("OP000001", "2025-03-07 08:05:00", "1186.50"), ("OP000002", "2025-03-08 09:30:00", "186.50")]


def test_normaliser_units() -> None:
    assert lenient_time("2025/3/7", "date") == "2025-03-07"
    assert lenient_time("20250307", "date") == "2025-03-07"
    assert lenient_time("2025-03-07", "date") is None          # already ISO: unchanged, not counted
    assert lenient_time("2025/3", "month") == "2025-03"
    assert lenient_time("3/7/2025", "date") is None            # day-first/month-first is ambiguous: not guessed
    assert unthousand("1,234,567.8") == "1234567.8" and unthousand("12,34") is None
    assert cell_name(6, 1) == "B7" and cell_name(0, 26) == "AA1"


def _workbook(path: Path, tables: dict[str, list[dict]], numeric_codes: bool = False) -> Path:
    """Write the tables into one workbook per table the way Excel users do: numbers as numbers, times as dates."""
    path.mkdir(parents=True, exist_ok=True)
    for table, rows in tables.items():
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = TABLES[table].zh
        cols = TABLES[table].columns
        sheet.append([c.name for c in cols])
        for row in rows:
            out = []
            for c in cols:
                v = row.get(c.name, "")
                if v == "":
                    out.append(None)
                elif c.type in ("int", "bigint", "flag"):
                    out.append(int(v))
                elif c.type in ("float", "money"):
                    out.append(float(v))
                elif c.type == "datetime":
                    out.append(dt.datetime.fromisoformat(v))
                elif c.type == "code" and numeric_codes and v.isdigit():
                    out.append(int(v))
                else:
                    out.append(v)
            sheet.append(out)
        book.save(path / f"{table}.xlsx")
    return path


def test_xlsx_loads_like_csv(tmp_path: Path) -> None:
    reference = make_cfg(tmp_path / "ref")
    load_directory(reference, write_set(tmp_path / "utf8", GOOD))
    cfg = make_cfg(tmp_path / "x")
    report = load_directory(cfg, _workbook(tmp_path / "xlsx", GOOD))
    assert report.rows == {t: len(r) for t, r in GOOD.items()}
    assert contract_content(cfg) == contract_content(reference)
    assert any("读取工作表 行政区划" in w for w in report.warnings)


def test_numeric_code_cell_is_refused_naming_the_cell(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path)
    err = None
    with pytest.raises(LoadError) as info:
        load_directory(cfg, _workbook(tmp_path / "xlsx", {"area": AREA}, numeric_codes=True))
    err = info.value
    issue = find(err, file="area.xlsx", row=1, column="area_code", reason="单元格 A2 是数字")
    assert "设置为文本格式" in issue.reason
    find(err, file="area.xlsx", row=2, column="parent_code", reason="单元格 D3")


def test_xlsx_beside_csv_of_same_table_is_refused(loaded, tmp_path: Path) -> None:
    write_csv(tmp_path / "both", "area", AREA)
    _workbook(tmp_path / "both", {"area": AREA})
    err = reject(loaded, tmp_path / "both")
    assert "more than one file" in err.errors[0].reason


@pytest.mark.parametrize("column, value", [("area_code", "9.90001E+08"), ("area_code", "330100103.0"),
                                           ("area_code", "3301001"), ("parent_code", "3.301E+05")])
def test_area_code_must_look_like_one(loaded, tmp_path: Path, column: str, value: str) -> None:
    row = dict(AREA[2], area_code="330100103", name="新乡")
    row[column] = value
    write_csv(tmp_path / "bad", "area", [row])
    err = reject(loaded, tmp_path / "bad")          # nothing changes
    find(err, file="area.csv", row=1, column=column, value=value, reason="6、9 或 12 位数字")


def test_patient_area_and_institution_codes(loaded, tmp_path: Path) -> None:
    write_csv(tmp_path / "v", "outpatient_visit", [dict(VISITS[0], patient_area_code="3.30100E+08")])
    find(reject(loaded, tmp_path / "v"), column="patient_area_code", reason="6、9 或 12 位数字")
    write_csv(tmp_path / "i", "institution", [dict(INSTITUTION[1], inst_code="T 004", is_lead="0")])
    find(reject(loaded, tmp_path / "i"), column="inst_code", value="T 004", reason="不能含空格")


def test_second_lead_institution_is_refused(loaded, tmp_path: Path) -> None:
    write_csv(tmp_path / "lead", "institution", [dict(INSTITUTION[1], inst_code="H002", is_lead="1")])
    issue = find(reject(loaded, tmp_path / "lead"), column="is_lead", reason="牵头医院最多一家")
    assert "H001" in issue.reason and "H002" in issue.reason
    # handing the lead over in one load (old lead set to 0) is fine
    write_csv(tmp_path / "swap", "institution", [dict(INSTITUTION[0], is_lead="0"),
                                                 dict(INSTITUTION[1], inst_code="H002", is_lead="1")])
    load_directory(loaded, tmp_path / "swap")
    assert query(loaded, "SELECT inst_code FROM institution WHERE is_lead = 1") == [("H002",)]


def test_delete_path(loaded, tmp_path: Path) -> None:
    # a stray township (what Excel made of a code before patterns were enforced) is deleted again
    con_rows = query(loaded, "SELECT count(*) FROM area")[0][0]
    write_csv(tmp_path / "add", "area", [dict(AREA[2], area_code="330100199", name="误导入")])
    load_directory(loaded, tmp_path / "add")
    (tmp_path / "del").mkdir()
    (tmp_path / "del" / "area.delete.csv").write_text("area_code\n330100199\n", encoding="gbk")
    before = snapshot(loaded)
    report = delete_rows(loaded, tmp_path / "del")
    assert report.rows == {"area": 1} and query(loaded, "SELECT count(*) FROM area")[0][0] == con_rows
    assert snapshot(loaded)["mart_meta"] != before["mart_meta"]       # new data version
    # unknown key, and a row facts still reference: refused, nothing deleted
    (tmp_path / "del" / "area.delete.csv").write_text("area_code\n330100199\n330100102\n", encoding="utf-8")
    (tmp_path / "del" / "institution.delete.csv").write_text("inst_code\nT003\n", encoding="utf-8")
    before = snapshot(loaded)
    with pytest.raises(LoadError) as info:
        delete_rows(loaded, tmp_path / "del")
    find(info.value, file="area.delete.csv", row=1, value="330100199", reason="no such row")
    assert snapshot(loaded) == before
    (tmp_path / "del" / "area.delete.csv").unlink()
    with pytest.raises(LoadError) as info:
        delete_rows(loaded, tmp_path / "del")
    find(info.value, file="institution.delete.csv", value="T003", reason="outpatient_visit.inst_code 的 1 行引用")
    assert snapshot(loaded) == before
    # with its visits in the same call it goes, all at once
    (tmp_path / "del" / "outpatient_visit.delete.csv").write_text("visit_id\nOP000006\n", encoding="utf-8")
    report = delete_rows(loaded, tmp_path / "del")
    assert report.rows == {"outpatient_visit": 1, "institution": 1}
    assert query(loaded, "SELECT count(*) FROM institution WHERE inst_code = 'T003'") == [(0,)]


def test_delete_from_the_command_line(loaded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mart.loader_cli import load_command
    monkeypatch.setenv("DATA_DIR", str(loaded.data_dir))
    monkeypatch.setenv("MART_URL", loaded.mart_url)
    (tmp_path / "del").mkdir()
    (tmp_path / "del" / "department.delete.csv").write_text("dept_code\nH001-NK\n", encoding="utf-8")
    result = CliRunner().invoke(load_command, [str(tmp_path / "del"), "--delete"])
    assert result.exit_code == 1 and "未删除任何数据" in result.output and "staff.dept_code" in result.output


def _csv_to_xlsx(src: Path, dst: Path, table: str) -> None:
    """One exported CSV as an Excel user's workbook (write-only openpyxl): numbers as numbers, times as Excel
    dates, codes as text."""
    cols = {c.name: c for c in TABLES[table].columns}
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(table)
    with src.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        sheet.append(header)
        kinds = [cols[h].type if h in cols else "text" for h in header]
        for row in reader:
            out = []
            for kind, v in zip(kinds, row):
                if v == "":
                    out.append(None)
                elif kind in ("int", "bigint", "flag"):
                    out.append(int(v))
                elif kind in ("float", "money"):
                    out.append(float(v))
                elif kind == "datetime":
                    out.append(dt.datetime.fromisoformat(v))
                elif kind == "date":
                    out.append(dt.date.fromisoformat(v))
                else:
                    out.append(v)
            sheet.append(out)
    book.save(dst)


def _indicators(cfg, tmp: Path) -> str:
    import os
    import subprocess
    import sys
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DATA_DIR": str(cfg.data_dir), "MART_URL": cfg.mart_url, "APP_DB_URL": cfg.app_db_url}
    r = subprocess.run([sys.executable, "app.py", "indicators", "--ids", "all", "--level", "institution", "--grain",
                        "quarter", "--from", "2026-01", "--to", "2026-09"], cwd=root, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_demo_export_as_gb18030_and_xlsx_gives_the_same_indicators(demo_cfg, tmp_path: Path) -> None:
    """The tiny demo exported, rewritten as GB18030 CSV and as .xlsx workbooks, loads into fresh marts with
    exactly the rows and the indicators of its UTF-8 load."""
    from mart.export import export_mart
    export_mart(demo_cfg, tmp_path / "utf8", fmt="csv")
    (tmp_path / "gb").mkdir()
    (tmp_path / "xlsx").mkdir()
    for path in (tmp_path / "utf8").iterdir():
        text = path.read_text(encoding="utf-8-sig")
        (tmp_path / "gb" / path.name).write_bytes(text.replace("\n", "\r\n").encode("gb18030"))
        _csv_to_xlsx(path, tmp_path / "xlsx" / f"{path.stem}.xlsx", path.stem)
    marts = {}
    for name in ("utf8", "gb", "xlsx"):
        cfg = make_cfg(tmp_path / f"mart_{name}")
        load_directory(cfg, tmp_path / name)
        marts[name] = cfg
    content = {name: contract_content(cfg) for name, cfg in marts.items()}
    assert content["gb"] == content["utf8"] and content["xlsx"] == content["utf8"]
    reference = _indicators(marts["utf8"], tmp_path)
    assert len(reference.splitlines()) > 100
    for name in ("gb", "xlsx"):
        _same_indicators(_indicators(marts[name], tmp_path), reference)


def _same_indicators(got: str, want: str) -> None:
    """Equal indicator CSVs, byte for byte: decimal measures are summed as DECIMAL (``mart.rollups.exact_sum``), so
    neither the load path nor the order of the rows nor DuckDB's parallel summing can move a printed digit."""
    assert got == want
