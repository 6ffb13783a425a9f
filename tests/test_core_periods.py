"""core.periods: the one month helper (and core imports nothing of ours)."""
from __future__ import annotations

import ast
from pathlib import Path

from core.periods import (
    add_months,
    days_in_month,
    month_first_day,
    month_index,
    month_last_day,
    month_range,
    month_str,
)


def test_month_range() -> None:
    assert month_range("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert month_range("2025-03", "2025-03") == ["2025-03"] and month_range("2025-03", "2025-02") == []


def test_month_arithmetic() -> None:
    assert month_str(month_index("2026-12")) == "2026-12"
    assert add_months("2026-01", -1) == "2025-12" and add_months("2025-11", 14) == "2027-01"
    assert [days_in_month(month_index(m)) for m in ("2024-02", "2025-02", "2026-12", "2026-04")] == [29, 28, 31, 30]
    assert month_first_day(month_index("2026-03")).isoformat() == "2026-03-01"
    assert month_last_day(month_index("2026-12")).isoformat() == "2026-12-31"


def test_core_imports_nothing_of_ours() -> None:
    ours = {"dashboard", "layouts", "metrics", "queries", "mart", "geo", "bench", "tools"}
    for path in (Path(__file__).resolve().parents[1] / "core").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] in ours for n in names), (path.name, names)
