"""Patient and visit dimensions of the outpatient and inpatient facts: members and their SQL (the write side).

Each dimension splits the visits (``outpatient_visit``) and discharges (``inpatient_discharge``) into members
that always add up to the whole: every row falls into exactly one member, ``unknown`` (未知) taking what is
missing or invalid. The per-row member expressions below are what the dimension rollups (``mart.rollups``) group
by; they are plain SQL over the fact's alias (``{a}``) and the joined department (``{d}``) that DuckDB,
PostgreSQL (``mart.pg.to_postgres``) and Spark (sqlglot) all read.

* ``icd_chapter``   ICD-10 chapter of ``diagnosis_code`` (first letter and two digits; 22 chapters)
* ``insurance``     ``is_insured``: 医保 / 自费
* ``age_band``      visit (discharge) year minus ``patient_birth_year``: 0–6, 7–17, 18–44, 45–64, 65+
* ``sex``           ``patient_sex``
* ``visit_type``    outpatient only: 门诊 or 急诊 (``is_emergency``) × 西医 or 中医 (``is_tcm``)
* ``dept_category`` the category of the visit's department (no department: 未知)
"""
from __future__ import annotations

UNKNOWN = ("unknown", "未知")

# ICD-10 chapters (WHO): (member code = the chapter's code range, Chinese name, first code, last code).
ICD_CHAPTERS: tuple[tuple[str, str, str, str], ...] = (
    ("A00-B99", "某些传染病和寄生虫病", "A00", "B99"),
    ("C00-D48", "肿瘤", "C00", "D48"),
    ("D50-D89", "血液及造血器官疾病和某些免疫疾患", "D50", "D89"),
    ("E00-E90", "内分泌、营养和代谢疾病", "E00", "E90"),
    ("F00-F99", "精神和行为障碍", "F00", "F99"),
    ("G00-G99", "神经系统疾病", "G00", "G99"),
    ("H00-H59", "眼和附器疾病", "H00", "H59"),
    ("H60-H95", "耳和乳突疾病", "H60", "H95"),
    ("I00-I99", "循环系统疾病", "I00", "I99"),
    ("J00-J99", "呼吸系统疾病", "J00", "J99"),
    ("K00-K93", "消化系统疾病", "K00", "K93"),
    ("L00-L99", "皮肤和皮下组织疾病", "L00", "L99"),
    ("M00-M99", "肌肉骨骼系统和结缔组织疾病", "M00", "M99"),
    ("N00-N99", "泌尿生殖系统疾病", "N00", "N99"),
    ("O00-O99", "妊娠、分娩和产褥期", "O00", "O99"),
    ("P00-P96", "起源于围生期的某些情况", "P00", "P96"),
    ("Q00-Q99", "先天性畸形、变形和染色体异常", "Q00", "Q99"),
    ("R00-R99", "症状、体征和异常所见", "R00", "R99"),
    ("S00-T98", "损伤、中毒和外因的某些其他后果", "S00", "T98"),
    ("V01-Y98", "疾病和死亡的外因", "V01", "Y98"),
    ("Z00-Z99", "影响健康状态和与保健机构接触的因素", "Z00", "Z99"),
    ("U00-U99", "特殊目的编码", "U00", "U99"),
)

AGE_BANDS: tuple[tuple[str, str, int, int | None], ...] = (
    ("0-6", "0–6岁", 0, 6), ("7-17", "7–17岁", 7, 17), ("18-44", "18–44岁", 18, 44),
    ("45-64", "45–64岁", 45, 64), ("65+", "65岁及以上", 65, None),
)

DEPT_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("internal", "内科"), ("surgery", "外科"), ("pediatrics", "儿科"), ("obstetrics", "妇产科"),
    ("tcm", "中医科"), ("emergency", "急诊科"), ("general", "全科"), ("lab", "检验科"), ("imaging", "影像科"),
    ("other", "其他科室"),
)

# Dimension id → (Chinese label, ((member code, Chinese label), …) with unknown last).
MEMBERS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "icd_chapter": ("疾病章节 (ICD-10)", tuple((c, f"{c} {zh}") for c, zh, _lo, _hi in ICD_CHAPTERS) + (UNKNOWN,)),
    "insurance": ("医保类别", (("insured", "医保"), ("self_pay", "自费"), UNKNOWN)),
    "age_band": ("年龄段", tuple((c, zh) for c, zh, _lo, _hi in AGE_BANDS) + (UNKNOWN,)),
    "sex": ("性别", (("male", "男"), ("female", "女"), UNKNOWN)),
    "visit_type": ("就诊类型", (("op_western", "门诊·西医"), ("op_tcm", "门诊·中医"), ("er_western", "急诊·西医"),
                                ("er_tcm", "急诊·中医"), UNKNOWN)),
    "dept_category": ("科室类别", DEPT_CATEGORIES + (UNKNOWN,)),
}

# Fact table → (alias in the rollup row SQL, time column giving the visit year).
FACTS = {"outpatient_visit": ("v", "visit_time"), "inpatient_discharge": ("d", "discharge_time")}
# Dimensions each fact can be split by (visit type is a property of outpatient visits only).
FACT_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "outpatient_visit": tuple(MEMBERS),
    "inpatient_discharge": tuple(d for d in MEMBERS if d != "visit_type"),
}


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_DIGITS = ", ".join(f"'{d}'" for d in range(10))


def _icd_letter_ranges() -> dict[str, list[tuple[int, int, str]]]:
    """Letter → [(first number, last number, chapter)] from :data:`ICD_CHAPTERS` (a chapter spanning letters
    covers 00–99 of the letters inside its range)."""
    out: dict[str, list[tuple[int, int, str]]] = {}
    for code, _zh, lo, hi in ICD_CHAPTERS:
        for n in range(ord(lo[0]), ord(hi[0]) + 1):
            letter = chr(n)
            first = int(lo[1:]) if letter == lo[0] else 0
            last = int(hi[1:]) if letter == hi[0] else 99
            out.setdefault(letter, []).append((first, last, code))
    return out


def _icd_sql(a: str) -> str:
    """The chapter of ``{a}.diagnosis_code`` (its first three characters after trimming: a letter, in either case,
    and two digits; anything else is unknown). Equality and integer comparisons only: the letter is looked up once by a
    simple CASE, the letters split between chapters (C/D, H) by the integer of the two digits — no string
    ranges, which PostgreSQL compares through the collation (strcoll) on every row."""
    # upper() maps one character to one (DuckDB, PostgreSQL) and never to a digit: the two digits are read from the
    # trimmed code itself, only the letter is upper-cased (upper() is a locale call per character on PostgreSQL)
    code = f"trim({a}.diagnosis_code)"
    number = f"CAST(substr({code}, 2, 2) AS INTEGER)"
    whens = []
    for letter, ranges in sorted(_icd_letter_ranges().items()):
        if len(ranges) == 1 and ranges[0][:2] == (0, 99):
            member = _lit(ranges[0][2])
        else:
            inner = " ".join(f"WHEN {number} BETWEEN {first} AND {last} THEN {_lit(code)}"
                             for first, last, code in ranges)
            member = f"CASE {inner} ELSE 'unknown' END"
        whens.append(f"WHEN {_lit(letter)} THEN {member}")
    return (f"CASE WHEN substr({code}, 2, 1) IN ({_DIGITS}) AND substr({code}, 3, 1) IN ({_DIGITS}) "
            f"THEN CASE upper(substr({code}, 1, 1)) {' '.join(whens)} ELSE 'unknown' END ELSE 'unknown' END")


def _age_sql(a: str, time_col: str) -> str:
    age = f"(CAST(EXTRACT(YEAR FROM {a}.{time_col}) AS INTEGER) - {a}.patient_birth_year)"
    whens = " ".join(f"WHEN {age} <= {hi} THEN {_lit(code)}" if hi is not None else f"ELSE {_lit(code)}"
                     for code, _zh, _lo, hi in AGE_BANDS)
    return f"CASE WHEN {a}.patient_birth_year IS NULL OR {age} < 0 THEN 'unknown' {whens} END"


def member_sql(dimension: str, fact: str, dept_alias: str = "dp") -> str:
    """SQL of the member code of one fact row (``fact``'s alias as in ``mart.rollups``; the department joined as
    ``dept_alias`` for ``dept_category``). Every row gets exactly one member of :data:`MEMBERS`."""
    if dimension not in FACT_DIMENSIONS[fact]:
        raise KeyError(f"{fact} cannot be split by {dimension}")
    a, time_col = FACTS[fact]
    if dimension == "icd_chapter":
        return _icd_sql(a)
    if dimension == "insurance":
        return f"CASE WHEN {a}.is_insured = 1 THEN 'insured' WHEN {a}.is_insured = 0 THEN 'self_pay' ELSE 'unknown' END"
    if dimension == "age_band":
        return _age_sql(a, time_col)
    if dimension == "sex":
        return f"CASE WHEN {a}.patient_sex IN ('male', 'female') THEN {a}.patient_sex ELSE 'unknown' END"
    if dimension == "visit_type":
        return (f"CASE WHEN {a}.is_emergency IS NULL OR {a}.is_tcm IS NULL THEN 'unknown' "
                f"WHEN {a}.is_emergency = 1 THEN CASE WHEN {a}.is_tcm = 1 THEN 'er_tcm' ELSE 'er_western' END "
                f"WHEN {a}.is_tcm = 1 THEN 'op_tcm' ELSE 'op_western' END")
    known = ", ".join(_lit(c) for c, _zh in DEPT_CATEGORIES)
    return (f"CASE WHEN {dept_alias}.dept_code IS NULL THEN 'unknown' "
            f"WHEN {dept_alias}.category IN ({known}) THEN {dept_alias}.category ELSE 'other' END")
