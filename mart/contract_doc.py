"""Generate ``docs/data-contract.md`` from ``mart.schema.TABLES`` (the data contract as data).

    python -m mart.contract_doc            write docs/data-contract.md
    python -m mart.contract_doc --check    exit 1 when the committed file is stale

The document is for the IT departments of the institutions: it must be enough to produce the import files.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mart.loader import MAX_ISSUES, TYPE_MAX
from mart.schema import DATE_MAX_DAYS_AFTER_LOAD, DATE_MIN, LOAD_ORDER, TABLES, Column, Table

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "data-contract.md"

TYPE_TEXT = {
    "code": "代码 (文本)",
    "text": "文本",
    "int": "整数",
    "bigint": "整数",
    "float": "数字",
    "money": "金额 (元, ≤2 位小数)",
    "flag": "标志 0/1",
    "date": "日期 YYYY-MM-DD",
    "datetime": "时间 YYYY-MM-DD HH:MM[:SS]",
    "month": "月份 YYYY-MM",
}

INTRO = f"""\
# 数据接入规范 (data contract)

> 本文件由 `python -m mart.contract_doc` 根据 `mart/schema.py` 自动生成, 请勿手工修改。
> Generated from `mart/schema.py` by `python -m mart.contract_doc`; do not edit by hand.

医共体运营监测平台的监管数据集市 (supervision data mart) 通过 `python app.py load 目录` 导入数据。
本规范说明各医疗机构信息科需要提供的文件、列、类型和取值要求。

## 1. 文件 (files)

- **一表一文件**: 文件名为 `<表名>.csv`、`<表名>.xlsx` (或 `.xls`) 或 `<表名>.parquet`, 例如
  `outpatient_visit.csv`。表名见下文各节标题, 不区分大小写 (`Department.CSV` 即 `department.csv`)。一次导入
  可以只提供部分表; 同一张表只能有一个文件 (不能同时提供 CSV 和 Excel 或 Parquet)。目录中其他文件名会给出
  警告并被忽略。
- **CSV**: 编码可以是 UTF-8 (可带 BOM)、GBK/GB18030 (Excel "CSV (逗号分隔)" 和多数 HIS 导出的编码) 或 UTF-16
  (Excel "Unicode 文本"), 自动识别并在结果中说明按哪种编码读取; 识别不可靠时拒绝并提示用 `--encoding`
  指定 (如 `--encoding gb18030`)。分隔符为逗号、制表符或分号, 仅当表头只能按其中一种分出列名时自动选用。
  第一行为表头 (列名), 含分隔符、引号或换行的值用英文双引号包围, 值内的双引号写成两个双引号 (`""`)。
- **Excel** (`.xlsx`/`.xls`): 读取名为表名 (如 `area` 或 `行政区划`) 的工作表, 没有则读第一个工作表; 第一行为
  表头。**代码列必须是文本格式的单元格**: 代码列中的数字单元格被拒绝并给出单元格位置 (如 `B7`), 因为 Excel
  已经去掉了前导零或把 `330100101` 变成了 `3.30100E+08`; 请把该列设置为"文本"格式后重新录入或导入。数字、
  日期和时间单元格按其值读取。
- **宽松格式 (需显式打开)**: `--lenient-dates` 接受 `2025/3/7`、`2025.3.7`、`2025-3-7`、`20250307` (可带
  `H:MM[:SS]` 时间) 形式的日期/时间和 `2025/3`、`202503` 形式的月份; `--thousands` 接受带千分位的数字
  (`1,234.50`)。两者都报告改写了多少个单元格 (按列), 从不静默改写。
- **Parquet**: 列名同 CSV 表头; 列可以是文本, 也可以是相应的原生类型 (整数、小数、DATE、TIMESTAMP)。
  不带时区的 TIMESTAMP 视为本地时间; 带时区的 TIMESTAMP WITH TIME ZONE 换算为本地时间 (见下文"时间")。
- **列的顺序不限**; 表头必须包含全部必填列。缺少可选列时按空值处理。未知的多余列给出警告并被忽略。
  列名不区分大小写, 首尾空格会被去掉。
- 空文件 (没有表头或没有数据行) 会被拒绝。

## 2. 取值 (values)

- **代码一律是文本**: 机构代码、区划代码、人员代码、患者标识等按文本处理, 前导零有意义
  (`0012` 与 `12` 不同)。值首尾的空格会被去掉。
- **空值**: 可选列留空 (CSV 中两个逗号之间什么都不写)。必填列不能为空。
- **时间**为本地时间 (北京时间), ISO 8601 格式 `YYYY-MM-DD HH:MM:SS`, 也可以省略秒 `YYYY-MM-DD HH:MM`,
  日期与时间之间可以用空格或 `T`; 可带最多 6 位小数秒。**日期** `YYYY-MM-DD`; **月份** `YYYY-MM`。
  月、日、时必须两位 (`2025-03-01`, 不是 `2025-3-1`)。
- **带 UTC 偏移的时间** (`2025-03-01 12:15:00+08:00`, `2025-03-01T04:15:00Z`, `+0800`, `+08`) 以及 Parquet 的
  TIMESTAMP WITH TIME ZONE 列会换算为县域本地时间 (环境变量 `MART_TIMEZONE`, 默认 `Asia/Shanghai`) 后存储:
  上面两个例子都存为 `2025-03-01 12:15:00`。数据集市只存本地时间, 行按本地时间归入日和月。
- **日期范围**: 每个日期和时间须在 {DATE_MIN} 至导入当日后 {DATE_MAX_DAYS_AFTER_LOAD} 天之间 (`2999-01-01`、
  `1900-01-01` 这类录入错误会被拒绝并报告行和列; 范围在 `mart/schema.py` 的 `DATE_MIN`、
  `DATE_MAX_DAYS_AFTER_LOAD` 中配置)。
- **金额**单位为元, 最多 2 位小数, 不带千分位和货币符号 (`1234.50`, 不是 `1,234.50` 或 `¥1234.5`)。
- **整数**不带小数点, 最大 {TYPE_MAX["int"]} (`bigint` 列最大 {TYPE_MAX["bigint"]});
  **数字**可以带小数点 (不接受 NaN/Infinity)。**金额**最大 {TYPE_MAX["money"]:.2f}。超出范围的值报告"超出范围"及最大值。
- **标志** (是/否) 写 `1` 或 `0`。
- **代码表**: "取值/范围"列列出的代码必须原样使用 (英文小写)。
- **代码格式**: 区划代码 (`area_code`、`parent_code`、`patient_area_code`) 为 6、9 或 12 位数字 (县、乡镇、村),
  不能是科学计数法 (`3.31099E+08`) 或带小数点 (`331099000.0`); 机构代码、人员代码不能含空格。
- **牵头医院**: 导入后数据集市中 `is_lead = 1` 的机构最多一家 (移交牵头医院时在同一次导入中把原牵头医院改为 0)。
- **引用**: "引用"列给出的 `表.列` 中必须存在该值 —— 要么已在数据集市中, 要么在同一次导入的文件中。
- **患者**: `patient_id` 是假名化的患者标识, 不需要姓名和身份证号。`patient_area_code` 是患者居住乡镇的区划代码;
  不属于本县区划的代码表示非本县居民。

## 3. 导入规则 (loading)

- **全部成功或全部不导入**: 一次导入的所有文件在一个事务中加载; 发现任何错误, 任何数据都不会写入,
  命令以非零状态退出。
- **按主键替换**: 主键 (每节的"主键") 已存在的行被新行替换, 不会产生重复; 其他行保持不变。
  因此重复导入同一批文件是安全的, 更正数据时只需重新提供更正后的行。
- **同一文件中主键重复**是错误。
- **删除**: 导入只会新增或替换行。要删除行, 在一个目录中为每张表放一个 `<表名>.delete.csv` (表头含该表的
  主键列, 每行一个要删除的主键; 编码与分隔符同上), 运行 `python app.py load 目录 --delete`。同样全部成功或
  全部不删除: 主键在数据集市中不存在, 或要删除的行仍被其他行引用 (如仍有门诊记录的机构) 时拒绝并列出; 引用它的
  行可在同一次删除中一并提供 (如 `outpatient_visit.delete.csv`)。删除后重建受影响的汇总表。
- **错误报告**: 每个错误给出 文件、数据行号、列、值 和 原因, 例如

      outpatient_visit.csv, 第 12 行数据 (data row 12), 列 total_cost, 值 '-5.00': 不能为负数 (must not be negative)

  数据行号从 1 开始, 不计表头 (第 N 行数据在 Excel 中为第 N+1 行)。文件级错误 (编码、缺列、空文件) 没有行号。
  CSV 格式错误 (列数不符、引号未闭合) 逐行列出并给出该行原文; 不满足校验规则的行给出规则中各列的值。
  一次最多列出 {MAX_ISSUES} 个错误, 其余只给出数量 ("… 以及另外 N 个错误")。
- **校验规则**: 除各列要求外, 部分表还有行级校验规则 (见各节), 写法为 SQL 条件, 每行必须满足。
- 导入成功后打印各表行数、用时和每秒行数; 页面在下次查询时读到新数据。

## 4. 表 (tables)

按下列顺序准备文件可保证引用总能解析 (同一次导入中顺序无关):
{", ".join(f"`{name}`" for name in LOAD_ORDER)}。
"""


def _cell(text: str) -> str:
    """Escape a value for a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _range(col: Column) -> str:
    parts = []
    if col.domain:
        parts.append(" / ".join(f"`{d}`" for d in col.domain))
    if col.pattern_doc:
        parts.append(col.pattern_doc)
    if col.type == "flag":
        parts.append("`0` / `1`")
    else:
        if col.min is not None and col.max is not None:
            parts.append(f"{col.min:g} – {col.max:g}")
        elif col.min is not None:
            parts.append(f"≥ {col.min:g}")
        elif col.max is not None:
            parts.append(f"≤ {col.max:g}")
    return "; ".join(parts)


def _table_section(table: Table) -> str:
    lines = [f"### `{table.name}` — {table.zh}", ""]
    if table.doc:
        lines += [table.doc, ""]
    lines.append(f"- 文件: `{table.name}.csv`、`{table.name}.xlsx` 或 `{table.name}.parquet`")
    lines.append(f"- 主键 (key): {' + '.join(f'`{k}`' for k in table.key)}")
    if table.period_column:
        lines.append(f"- 按 `{table.period_column}` 归入月份 (month of the row)")
    if table.checks:
        lines.append("- 校验规则 (every row must satisfy): " + "; ".join(f"`{c}`" for c in table.checks))
    lines += ["", "| 列 column | 类型 type | 必填 required | 取值/范围 domain/range | 引用 reference | 含义 meaning "
              "| 示例 example |", "|---|---|---|---|---|---|---|"]
    for col in table.columns:
        lines.append("| " + " | ".join([
            f"`{col.name}`", TYPE_TEXT[col.type], "是" if col.required else "否", _cell(_range(col)),
            f"`{col.ref}`" if col.ref else "", _cell(col.doc), f"`{_cell(col.example)}`" if col.example else "",
        ]) + " |")
    header = ",".join(table.column_names)
    example = ",".join(_csv_value(c.example) for c in table.columns)
    lines += ["", "CSV 示例 (example):", "", "```csv", header, example, "```"]
    return "\n".join(lines) + "\n"


def _csv_value(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(ch in value for ch in ',"\n') else value


def render() -> str:
    """The whole document as Markdown."""
    sections = [_table_section(TABLES[name]) for name in LOAD_ORDER]
    return INTRO + "\n" + "\n".join(sections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/data-contract.md from mart/schema.py")
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed document is stale")
    parser.add_argument("--output", type=Path, default=DOC_PATH)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run python -m mart.contract_doc", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
