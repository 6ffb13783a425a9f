"""The org hierarchy of the mart: county › township › institution › department › doctor."""
from __future__ import annotations

import pandas as pd

from queries.measures import read_df, read_frame  # share the engine call's connection when one is open
from queries.periods import memoised

# The org tree changes only with a load: the lookups below are remembered per state of the mart
# (queries.periods.memoised), so a page's breadcrumbs and names cost no query on a warm server.


def org_tree(mart_url: str) -> pd.DataFrame:
    """Institutions with type, level, township (code, name), lead flag, coordinates and parent institution."""
    return memoised("org_tree", mart_url, (), lambda: _org_tree(mart_url)).copy()


def _org_tree(mart_url: str) -> pd.DataFrame:
    return read_df(mart_url, """
SELECT i.inst_code, i.name, i.inst_type, i.level, i.area_code AS township_code, t.name AS township_name,
       i.is_lead, i.lon, i.lat, i.parent_inst_code
FROM institution i LEFT JOIN area t ON t.area_code = i.area_code
ORDER BY i.inst_code""")


def townships(mart_url: str) -> pd.DataFrame:
    """Townships (area_code, name, parent_code, population)."""
    return read_df(mart_url, "SELECT area_code, name, parent_code, population FROM area "
                             "WHERE level = 'township' ORDER BY area_code")


def county(mart_url: str) -> dict:
    """The county: {'code', 'name', 'population'} (population falls back to the townships' sum)."""
    return dict(memoised("county", mart_url, (), lambda: _county(mart_url)))


def _county(mart_url: str) -> dict:
    df = read_df(mart_url, """
SELECT c.area_code AS code, c.name,
       COALESCE(NULLIF(c.population, 0), (SELECT SUM(t.population) FROM area t WHERE t.level = 'township'))
         AS population
FROM area c WHERE c.level = 'county' ORDER BY c.area_code""")
    if df.empty:
        return {"code": None, "name": "全县", "population": None}
    row = df.iloc[0]
    return {"code": row["code"], "name": row["name"],
            "population": None if pd.isna(row["population"]) else int(row["population"])}


def departments(mart_url: str, inst_code: str) -> pd.DataFrame:
    """Departments of one institution."""
    return read_df(mart_url, "SELECT dept_code, inst_code, name, category FROM department "
                             "WHERE inst_code = :inst ORDER BY dept_code", {"inst": inst_code})


def doctors(mart_url: str, dept_code: str) -> pd.DataFrame:
    """Doctors of one department."""
    return read_df(mart_url, "SELECT staff_code AS doctor_code, name, inst_code, dept_code, title, is_gp FROM staff "
                             "WHERE dept_code = :dept AND role = 'doctor' ORDER BY staff_code", {"dept": dept_code})


def all_departments(mart_url: str) -> pd.DataFrame:
    """Every department (dept_code, inst_code, name)."""
    return read_df(mart_url, "SELECT dept_code, inst_code, name FROM department")


def all_doctors(mart_url: str) -> pd.DataFrame:
    """Every staff member who can be a row's doctor (doctor_code, inst_code, dept_code, name)."""
    return read_frame(mart_url, "SELECT staff_code AS doctor_code, inst_code, dept_code, name FROM staff")


def _default_url(mart_url: str | None) -> str:
    if mart_url:
        return mart_url
    from core.config import load_config
    return load_config().mart_url


def org_level(code: str, mart_url: str | None = None) -> str | None:
    """'county', 'township', 'institution', 'department' or 'doctor' for a code, None when unknown."""
    url = _default_url(mart_url)
    return memoised("org_level", url, (code,), lambda: _org_level(url, code))


def _org_level(url: str, code: str) -> str | None:
    df = read_df(url, """
SELECT level AS lvl FROM area WHERE area_code = :c
UNION ALL SELECT 'institution' FROM institution WHERE inst_code = :c
UNION ALL SELECT 'department' FROM department WHERE dept_code = :c
UNION ALL SELECT 'doctor' FROM staff WHERE staff_code = :c""", {"c": code})
    return None if df.empty else str(df.iloc[0]["lvl"])


def org_name(mart_url: str, code: str) -> str | None:
    """Display name of any org code."""
    return memoised("org_name", mart_url, (code,), lambda: _org_name(mart_url, code))


def _org_name(mart_url: str, code: str) -> str | None:
    df = read_df(mart_url, """
SELECT name FROM area WHERE area_code = :c
UNION ALL SELECT name FROM institution WHERE inst_code = :c
UNION ALL SELECT name FROM department WHERE dept_code = :c
UNION ALL SELECT name FROM staff WHERE staff_code = :c""", {"c": code})
    return None if df.empty else str(df.iloc[0]["name"])


def org_path(mart_url: str, code: str) -> list[tuple[str, str, str]]:
    """Breadcrumbs from the county down to ``code``: [(level, code, name), …]; [] for an unknown code."""
    return list(memoised("org_path", mart_url, (code,), lambda: tuple(_org_path(mart_url, code))))


def _org_path(mart_url: str, code: str) -> list[tuple[str, str, str]]:
    level = org_level(code, mart_url)
    if level is None:
        return []
    path: list[tuple[str, str, str]] = []
    inst = dept = None
    if level == "doctor":
        row = read_df(mart_url, "SELECT s.staff_code, s.name, s.inst_code, s.dept_code FROM staff s "
                                "WHERE s.staff_code = :c", {"c": code}).iloc[0]
        path.append(("doctor", row["staff_code"], row["name"]))
        inst, dept = row["inst_code"], row["dept_code"]
    if level == "department" or dept:
        row = read_df(mart_url, "SELECT dept_code, name, inst_code FROM department WHERE dept_code = :c",
                      {"c": dept or code})
        if not row.empty:
            path.append(("department", row.iloc[0]["dept_code"], row.iloc[0]["name"]))
            inst = row.iloc[0]["inst_code"]
    township = None
    if level == "institution" or inst:
        row = read_df(mart_url, "SELECT inst_code, name, area_code FROM institution WHERE inst_code = :c",
                      {"c": inst or code}).iloc[0]
        path.append(("institution", row["inst_code"], row["name"]))
        township = row["area_code"]
    if level == "township" or township:
        row = read_df(mart_url, "SELECT area_code, name, level FROM area WHERE area_code = :c",
                      {"c": township or code}).iloc[0]
        if row["level"] == "township":
            path.append(("township", row["area_code"], row["name"]))
    c = county(mart_url)
    if c["code"] is not None:
        path.append(("county", c["code"], c["name"]))
    return list(reversed(path))
