"""The reading stage of the loader: what a county IT department really hands over, turned into what DuckDB reads.

``prepare_text(src_path, table, options)`` looks at one ``<table>.csv`` or ``<table>.xlsx|xls`` file and returns a
:class:`Prepared`: the header names, the file DuckDB should read (the original file when it is already UTF-8 and
needs no change, else a UTF-8 copy in a temporary file), the delimiter and notes for the load report. Problems come
back as :class:`mart.loader.LoadIssue`-shaped tuples (file, row, column, value, reason) so that this module does
not import the loader.

- Encoding: UTF-8 (with or without BOM) is read as it is; UTF-16 (BOM) is converted; bytes that are not UTF-8
  are read as GB18030 (superset of GBK/GB2312) when a sample decodes so and its non-ASCII text is Chinese (a
  statistical detector cannot tell GBK from Big5 on a few names among ASCII codes), else as what
  ``charset-normalizer`` detects among UTF-16/GB18030. ``ReadOptions.encoding`` forces an encoding. Any other
  guess is refused with a hint to use ``--encoding``: a wrong guess would load garbled names silently. A file
  that differs from UTF-8 only in its encoding is transcoded in chunks; DuckDB still splits the fields.
- Delimiter: comma, tab or semicolon, chosen from the header only when exactly one of them splits it into
  contract column names.
- Excel workbooks (python-calamine): the sheet named after the table (``area`` or ``行政区划``), else the first
  sheet. Code columns must be text cells: a numeric code cell is refused naming the cell (e.g. ``B7``) because
  Excel has already lost leading zeros or turned 330100101 into 3.30100E+08.
- Opt-in normalisers (never silent: each reports how many cells it changed): ``lenient_dates`` rewrites
  ``2025/3/7``, ``2025.3.7``, ``2025-3-7`` and ``20250307`` (with an optional ``H:MM[:SS]`` time) to ISO dates;
  ``thousands`` removes thousands separators from numbers (``1,234.50`` → ``1234.50``).
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mart.schema import Table

_CHUNK = 4 << 20
_SAMPLE = 1 << 20
DELIMITERS = {",": "逗号 (comma)", "\t": "制表符 (tab)", ";": "分号 (semicolon)"}
EXCEL_FORMATS = ("xlsx", "xls")
# encodings accepted from detection (normalised codec name → codec used to read)
_DETECTED = {"utf_8": "utf-8", "gb18030": "gb18030", "gbk": "gb18030", "gb2312": "gb18030",
             "utf_16": "utf-16", "utf_16_le": "utf-16-le", "utf_16_be": "utf-16-be"}
_NUMERIC = ("int", "bigint", "float", "money")
_TIMES = ("date", "datetime", "month")

Issue = tuple  # (file, row, column, value, reason): the fields of mart.loader.LoadIssue


@dataclass(frozen=True)
class ReadOptions:
    """How to read the files of one load (``python app.py load`` options)."""
    encoding: str | None = None       # force this encoding for every CSV (e.g. gb18030, utf-16)
    lenient_dates: bool = False       # 2025/3/7, 20250307 → 2025-03-07
    thousands: bool = False           # 1,234.50 → 1234.50


@dataclass
class Prepared:
    """A file ready for DuckDB: UTF-8, header ``header``, fields separated by ``delimiter``."""
    path: Path
    header: list[str]
    delimiter: str = ","
    notes: list[str] = field(default_factory=list)
    temporary: bool = False

    def discard(self) -> None:
        """Remove the converted copy (nothing when DuckDB reads the original file)."""
        if self.temporary:
            self.path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------------------
# encodings


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    return None


def _first_bad_utf8(path: Path) -> tuple[int, int] | None:
    """(line, byte offset) of the first byte that is not UTF-8; None when the whole file is UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines = offset = 0
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return newlines + chunk.count(b"\n", 0, max(exc.start, 0)) + 1, offset + exc.start
            if not chunk:
                return None
            newlines += chunk.count(b"\n")
            offset += len(chunk)


def detect_encoding(path: Path) -> tuple[str | None, str]:
    """(codec to read ``path`` with, how it was chosen); codec None when the file is not one we read safely."""
    with path.open("rb") as fh:
        head = fh.read(_SAMPLE)
    bom = _bom_encoding(head)
    if bom:
        return bom, "BOM"
    if _first_bad_utf8(path) is None:
        return "utf-8", "UTF-8"
    # Mostly-ASCII files with a few Chinese names are too little for a statistical detector (charset-normalizer
    # guesses Big5, cp874 or ISO-8859-5 for such GBK files): GB18030 (superset of GBK/GB2312, what Excel and HIS
    # exports write on a Chinese Windows) is taken when the sample decodes and its non-ASCII text is Chinese.
    if _chinese_text(head, "gb18030"):
        return "gb18030", "GB18030"
    from charset_normalizer import from_bytes
    matches = list(from_bytes(head))
    best = min((m.chaos for m in matches), default=None)
    guess = next((m.encoding for m in matches if m.chaos == best), None)
    if guess in _DETECTED:
        return _DETECTED[guess], "charset-normalizer"
    return None, guess or "未知 (unknown)"


def _chinese_text(head: bytes, codec: str) -> bool:
    """True when ``head`` (a sample that may end inside a character) decodes as ``codec`` and at least 90 % of its
    non-ASCII characters are CJK ideographs, CJK punctuation or full-width forms."""
    try:
        text = codecs.getincrementaldecoder(codec)().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    wide = [ch for ch in text if ord(ch) > 127]
    cjk = sum(1 for ch in wide if "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef"
              or "\u3400" <= ch <= "\u4dbf")
    return bool(wide) and cjk >= 0.9 * len(wide)


def _decode_error(path: Path, codec: str) -> Issue | None:
    """The first place where ``path`` is not valid ``codec`` (as an issue), None when it decodes."""
    decoder = codecs.getincrementaldecoder(codec)()
    newlines = 0
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                line = newlines + chunk.count(b"\n", 0, max(exc.start, 0)) + 1
                where = "表头 (header)" if line == 1 else f"第 {line} 行 (line {line})"
                return (path.name, line - 1 if line > 1 else None, None, None,
                        f"文件不是 {codec} 编码, 首个无效字节在{where} (not valid {codec}); "
                        "请用 --encoding 指定正确的编码 (force the right encoding with --encoding)")
            if not chunk:
                return None
            newlines += text.count("\n")


# ---------------------------------------------------------------------------------------------------------------
# delimiter


def sniff_delimiter(header_line: str, table: Table) -> tuple[str | None, str]:
    """(delimiter, reason): the one of comma/tab/semicolon that splits the header into contract column names.

    None when no delimiter or more than one does (the reason says which): the loader then does not guess.
    """
    known = set(table.column_names)
    scores = {}
    for delim in DELIMITERS:
        names = next(csv.reader([header_line], delimiter=delim), [])
        scores[delim] = sum(1 for n in names if n.strip().lstrip("\ufeff").lower() in known)
    good = [d for d, n in scores.items() if n >= 2 or (n == 1 and len(known) == 1)]
    if len(good) == 1:
        return good[0], DELIMITERS[good[0]]
    if not good:
        return None, "表头中没有可识别的列名 (no contract column name in the header)"
    return None, "分隔符不明确: " + ", ".join(DELIMITERS[d] for d in good) + " 都可能 (ambiguous delimiter)"


# ---------------------------------------------------------------------------------------------------------------
# normalisers

_DATE_RE = re.compile(r"(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})|(\d{4})(\d{2})(\d{2})")
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(:\d{2}(\.\d{1,6})?)?")
_MONTH_RE = re.compile(r"(\d{4})[/.\-](\d{1,2})|(\d{4})(\d{2})")
_THOUSANDS_RE = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")


def lenient_time(value: str, kind: str) -> str | None:
    """ISO text of a date/datetime/month written the way Excel or a HIS writes it; None when not recognised or
    already ISO (nothing to change)."""
    text = value.strip()
    if kind == "month":
        m = _MONTH_RE.fullmatch(text)
        if not m:
            return None
        y, mo = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        out = f"{y}-{int(mo):02d}"
    else:
        date_part, _, time_part = text.partition(" ")
        if "T" in date_part and not time_part:
            date_part, _, time_part = date_part.partition("T")
        m = _DATE_RE.fullmatch(date_part)
        if not m:
            return None
        y, mo, d = m.group(1, 2, 3) if m.group(1) else m.group(4, 5, 6)
        out = f"{y}-{int(mo):02d}-{int(d):02d}"
        time_part = time_part.strip()
        if time_part:
            t = _TIME_RE.fullmatch(time_part)
            if kind != "datetime" or not t:
                return None
            out += f" {int(t.group(1)):02d}:{t.group(2)}{t.group(3) or ''}"
    return None if out == text else out


def unthousand(value: str) -> str | None:
    """The number without thousands separators (``1,234.50`` → ``1234.50``); None when there is none."""
    text = value.strip()
    return text.replace(",", "") if _THOUSANDS_RE.fullmatch(text) else None


# ---------------------------------------------------------------------------------------------------------------
# writing a normalised UTF-8 copy


def _temp_csv(stem: str) -> tuple[Path, io.TextIOWrapper]:
    fd, name = tempfile.mkstemp(prefix=f"mart-load-{stem}-", suffix=".csv")
    return Path(name), os.fdopen(fd, "w", encoding="utf-8", newline="")


def _rewrite(rows: Iterable[list[str]], header: list[str], table: Table, options: ReadOptions, stem: str) -> tuple[Path, list[str]]:
    """Write ``rows`` (lists of text) as a UTF-8 comma CSV, applying the opted-in normalisers; (path, notes)."""
    kinds: dict[int, str] = {}
    for i, name in enumerate(header):
        key = name.strip().lstrip("\ufeff").lower()
        if key in table.column_names:
            kinds[i] = table.column(key).type
    fixes: list[tuple[int, callable]] = []
    if options.lenient_dates:
        fixes += [(i, lambda v, k=k: lenient_time(v, k)) for i, k in kinds.items() if k in _TIMES]
    if options.thousands:
        fixes += [(i, unthousand) for i, k in kinds.items() if k in _NUMERIC]
    changed: dict[int, int] = {}
    path, fh = _temp_csv(stem)
    with fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(header)
        for row in rows:
            for i, fix in fixes:
                if i < len(row) and row[i]:
                    new = fix(row[i])
                    if new is not None:
                        row[i] = new
                        changed[i] = changed.get(i, 0) + 1
            out.writerow(row)
    notes = []
    for label, on, types in (("--lenient-dates", options.lenient_dates, _TIMES),
                             ("--thousands", options.thousands, _NUMERIC)):
        if not on:
            continue
        parts = [f"{header[i]} {n}" for i, n in sorted(changed.items()) if kinds[i] in types]
        total = sum(n for i, n in changed.items() if kinds[i] in types)
        notes.append(f"{label}: 改写了 {total} 个单元格 (changed {total} cells)" + (f": {', '.join(parts)}" if parts else ""))
    return path, notes


# ---------------------------------------------------------------------------------------------------------------
# CSV


def prepare_csv(path: Path, table: Table, options: ReadOptions) -> tuple[Prepared | None, list[Issue]]:
    """Read a CSV's encoding, header and delimiter; convert it to UTF-8 (and normalise) when needed."""
    notes: list[str] = []
    if options.encoding:
        try:
            codec = codecs.lookup(options.encoding).name
        except LookupError:
            return None, [(path.name, None, None, options.encoding, "未知的编码 (unknown encoding given to --encoding)")]
        issue = _decode_error(path, codec)
        if issue:
            return None, [issue]
        how = "--encoding"
    else:
        codec, how = detect_encoding(path)
        if codec is None:
            line, offset = _first_bad_utf8(path) or (1, 0)
            return None, [(path.name, line - 1 if line > 1 else None, None, None,
                           f"无法可靠识别文件编码 (猜测为 {how}; 不是 UTF-8, 首个无效字节在第 {line} 行, 偏移 {offset}); "
                           "请用 --encoding 指定, 如 --encoding gb18030 (cannot tell the encoding; use --encoding)")]
        issue = _decode_error(path, codec) if codec != "utf-8" else None
        if issue:
            return None, [issue]
    plain_utf8 = codecs.lookup(codec).name == "utf-8"
    if not plain_utf8:
        notes.append(f"{path.name}: 按 {codec} 编码读取 ({how})")
    with path.open("r", encoding=codec, newline="") as fh:
        head = fh.read(65536).lstrip("\ufeff")
    first = head.splitlines()[0] if head.strip() else ""
    if not first.strip():
        return None, [(path.name, None, None, None, "文件为空, 缺少表头行 (empty file: no header row)")]
    delim, why = sniff_delimiter(first, table)
    if delim is None:
        delim = ","          # let the header check name the missing columns
        if "不明确" in why:
            return None, [(path.name, None, None, None, why + "; 请另存为逗号分隔的 CSV")]
    elif delim != ",":
        notes.append(f"{path.name}: 分隔符为{why}")
    header = next(csv.reader([first], delimiter=delim))
    if plain_utf8 and not (options.lenient_dates or options.thousands):
        return Prepared(path, header, delim, notes), []
    if not (options.lenient_dates or options.thousands):
        # only the encoding differs: transcode in chunks (no CSV parsing in Python), DuckDB splits the fields
        out, fh_out = _temp_csv(table.name)
        decoder = codecs.getincrementaldecoder(codec)()
        with fh_out, path.open("rb") as fh_in:
            first_chunk = True
            while chunk := fh_in.read(_CHUNK):
                text = decoder.decode(chunk)
                if first_chunk:
                    text, first_chunk = text.lstrip("\ufeff"), False
                fh_out.write(text)
            fh_out.write(decoder.decode(b"", final=True))
        return Prepared(out, header, delim, notes, temporary=True), []
    with path.open("r", encoding=codec, newline="") as fh:
        reader = csv.reader(fh, delimiter=delim)
        next(reader, None)
        try:
            out, more = _rewrite(reader, [h.lstrip("\ufeff") for h in header], table, options, table.name)
        except csv.Error as exc:
            return None, [(path.name, reader.line_num - 1, None, None, f"CSV 格式错误 (malformed CSV): {exc}")]
    return Prepared(out, header, ",", notes + [f"{path.name}: {n}" for n in more], temporary=True), []


# ---------------------------------------------------------------------------------------------------------------
# Excel


def cell_name(row: int, col: int) -> str:
    """Excel's name of a 0-based (row, col) cell: (6, 1) → B7."""
    letters, n = "", col + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return f"{letters}{row + 1}"


def _excel_text(value: object, kind: str | None) -> str:
    """The contract text of one typed Excel cell (codes handled by the caller)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        value = value + dt.timedelta(microseconds=500) if value.microsecond % 1000 >= 500 else value
        value = value.replace(microsecond=value.microsecond // 1000 * 1000)   # Excel holds milliseconds
        if kind == "date":
            return value.date().isoformat()
        if kind == "month":
            return value.strftime("%Y-%m")
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return text + (f".{value.microsecond // 1000:03d}" if value.microsecond else "")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m") if kind == "month" else value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def prepare_excel(path: Path, table: Table, options: ReadOptions, cap: int = 100
                  ) -> tuple[Prepared | None, list[Issue]]:
    """Read the table's sheet of a workbook into a UTF-8 CSV copy; numeric cells in code columns are refused."""
    from python_calamine import CalamineWorkbook
    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - calamine raises several types for a broken workbook
        return None, [(path.name, None, None, None, f"无法读取 Excel 文件 (cannot read workbook): {str(exc)[:200]}")]
    names = book.sheet_names
    wanted = {table.name.lower(), table.zh}
    sheet_name = next((n for n in names if n.strip().lower() in wanted or n.strip() in wanted),
                      names[0] if names else None)
    if sheet_name is None:
        return None, [(path.name, None, None, None, "工作簿中没有工作表 (workbook has no sheet)")]
    rows = book.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
    while rows and all(v in ("", None) for v in rows[-1]):
        rows.pop()
    if not rows or all(v in ("", None) for v in rows[0]):
        return None, [(path.name, None, None, None, f"工作表 {sheet_name} 为空, 缺少表头行 (empty sheet: no header row)")]
    header = [_excel_text(v, None).strip() for v in rows[0]]
    while header and not header[-1]:
        header.pop()
    kinds = {i: table.column(h.lower()).type for i, h in enumerate(header) if h.lower() in table.column_names}
    issues: list[Issue] = []
    text_rows: list[list[str]] = []
    for r, row in enumerate(rows[1:], start=1):
        out = []
        for c in range(len(header)):
            value = row[c] if c < len(row) else None
            kind = kinds.get(c)
            if kind == "code" and isinstance(value, (int, float)) and not isinstance(value, bool):
                if len(issues) < cap:
                    issues.append((path.name, r, header[c], _excel_text(value, None),
                                   f"单元格 {cell_name(r, c)} 是数字, 代码列须为文本: 请把列 {cell_name(0, c)[:-1]} "
                                   "设置为文本格式后重新录入或导入 (a numeric cell in a code column: format the column "
                                   "as text; Excel drops leading zeros and writes long codes as 3.30100E+08)"))
                out.append("")
                continue
            out.append(_excel_text(value, kind))
        text_rows.append(out)
    if issues:
        return None, issues
    out_path, more = _rewrite(iter(text_rows), header, table, options, table.name)
    notes = [f"{path.name}: 读取工作表 {sheet_name} (sheet)"] + [f"{path.name}: {n}" for n in more]
    return Prepared(out_path, header, ",", notes, temporary=True), []


def prepare(path: Path, fmt: str, table: Table, options: ReadOptions | None = None
            ) -> tuple[Prepared | None, list[Issue]]:
    """Prepare a CSV or Excel file of ``table`` for DuckDB (see the module docstring)."""
    options = options or ReadOptions()
    if fmt in EXCEL_FORMATS:
        return prepare_excel(path, table, options)
    return prepare_csv(path, table, options)
