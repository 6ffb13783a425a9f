"""docs/data-contract.md is generated from mart/schema.py and must stay in step with it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.config import Config
from mart.contract_doc import DOC_PATH, main, render
from mart.loader import LoadError, load_directory
from mart.schema import TABLES


def test_committed_document_is_current() -> None:
    assert DOC_PATH.exists(), "docs/data-contract.md is missing: run python -m mart.contract_doc"
    assert DOC_PATH.read_text(encoding="utf-8") == render(), "docs/data-contract.md is stale: run " \
        "python -m mart.contract_doc"
    assert main(["--check"]) == 0


def test_check_flags_a_stale_document(tmp_path: Path) -> None:
    stale = tmp_path / "data-contract.md"
    stale.write_text(render().replace("outpatient_visit", "op_visit", 1), encoding="utf-8")
    assert main(["--check", "--output", str(stale)]) == 1


def test_every_table_and_column_is_documented() -> None:
    text = render()
    for table in TABLES.values():
        section = text.split(f"### `{table.name}`", 1)[1].split("\n### ", 1)[0]
        for col in table.columns:
            assert re.search(rf"^\| `{col.name}` \|", section, re.M), f"{table.name}.{col.name} undocumented"
            if col.domain:
                assert all(f"`{d}`" in section for d in col.domain)
        assert " + ".join(f"`{k}`" for k in table.key) in section


def _examples(text: str) -> dict[str, str]:
    """The CSV example block of each table section."""
    out = {}
    for name in TABLES:
        section = text.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        out[name] = section.split("```csv\n", 1)[1].split("```", 1)[0]
    return out


def test_documented_examples_pass_every_check_but_references(tmp_path: Path) -> None:
    """The example rows are files the loader accepts cell by cell (only cross-references are left open)."""
    folder = tmp_path / "examples"
    folder.mkdir()
    for name, body in _examples(render()).items():
        (folder / f"{name}.csv").write_text(body, encoding="utf-8")
    cfg = Config(data_dir=tmp_path, mart_url=f"duckdb:///{tmp_path / 'mart.duckdb'}",
                 app_db_url=f"sqlite:///{tmp_path / 'app.db'}", cache_url="")
    with pytest.raises(LoadError) as info:
        load_directory(cfg, folder)
    assert info.value.errors, "expected dangling references"
    assert all("dangling reference" in e.reason for e in info.value.errors), info.value.message()
