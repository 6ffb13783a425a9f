"""The data contract of the supervision data mart, as data.

This module is the single source of truth for the mart's tables: the DDL, the loader's validation and
``docs/data-contract.md`` are all derived from ``TABLES``. Column types are logical types:

=========  ===========================  ==========================================
logical    SQL type                     file format
=========  ===========================  ==========================================
code       VARCHAR                      string code (kept as text: leading zeros matter)
text       VARCHAR                      free text
int        INTEGER                      whole number
bigint     BIGINT                       whole number
float      DOUBLE                       decimal number
money      DECIMAL(14,2)                yuan, at most 2 decimals
flag       SMALLINT                     0 or 1
date       DATE                         YYYY-MM-DD
datetime   TIMESTAMP                    YYYY-MM-DD HH:MM[:SS] (ISO 8601 local time)
month      VARCHAR                      YYYY-MM
=========  ===========================  ==========================================
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

# Plausible time range of every date and datetime cell (the loader refuses the rest with the row and column):
# nothing before DATE_MIN, nothing after the day of the load plus DATE_MAX_DAYS_AFTER_LOAD days (a clock one
# day ahead at a hospital is tolerated; 2999-01-01 would make the cockpit say 数据更新至 2999年).
DATE_MIN = "2000-01-01"
DATE_MAX_DAYS_AFTER_LOAD = 1

SQL_TYPES = {
    "code": "VARCHAR", "text": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "float": "DOUBLE",
    "money": "DECIMAL(14,2)", "flag": "SMALLINT", "date": "DATE", "datetime": "TIMESTAMP", "month": "VARCHAR",
}


@dataclass(frozen=True)
class Column:
    """One column of the data contract."""
    name: str
    type: str
    required: bool = True
    domain: tuple[str, ...] | None = None      # allowed values (codes)
    min: float | None = None                   # inclusive lower bound for numbers
    max: float | None = None                   # inclusive upper bound for numbers
    ref: str | None = None                     # "table.column" this value must exist in
    pattern: str | None = None                 # regular expression the whole text must match (codes)
    pattern_doc: str = ""                      # that rule in words (Chinese first), for errors and the contract
    doc: str = ""                              # meaning (Chinese first, English after)
    example: str = ""

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class Table:
    """One table of the data contract."""
    name: str
    zh: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    period_column: str | None = None           # column that places a row in a month (for rollups)
    doc: str = ""
    checks: tuple[str, ...] = field(default_factory=tuple)   # extra row-level SQL checks (valid when true)
    # Fact tables of millions of rows keep their key unique through the loader (staging checks, replace by key)
    # instead of a database PRIMARY KEY: DuckDB holds PK indexes in memory, which costs ~2× on bulk loads and does
    # not fit at province scale (hundreds of millions of rows).
    db_key: bool = True

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name}.{name}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


C = Column
INST_TYPES = ("general_hospital", "county_hospital", "tcm_hospital", "maternal_child", "community_center",
              "township_center", "village_clinic")
FLAG = dict(type="flag", domain=None, min=0, max=1)

# Optional patient attributes of visits and discharges (the 性别 and 年龄段 dimensions; files without them load
# as before and their rows count as 未知).
PATIENT_COLUMNS = (
    C("patient_sex", "code", required=False, domain=("male", "female", "unknown"),
      doc="患者性别 male 男 / female 女 / unknown 未知 (optional; empty = 未知)", example="female"),
    C("patient_birth_year", "int", required=False, min=1900, max=2100,
      doc="患者出生年份 (optional; not after the year of the visit or discharge; age = that year − birth year)",
      example="1958"),
)
# Columns added to the contract after marts were made: a mart made before gains them (empty) when opened.
ADDED_COLUMNS: tuple[tuple[str, Column], ...] = tuple(
    (t, c) for t in ("outpatient_visit", "inpatient_discharge") for c in PATIENT_COLUMNS)

TABLES: dict[str, Table] = {t.name: t for t in [
    Table("area", "行政区划", (
        C("area_code", "code", doc="区划代码 area code (county or township)", example="330100101"),
        C("name", "text", doc="名称 name", example="城关镇"),
        C("level", "code", domain=("county", "township"), doc="层级 level", example="township"),
        C("parent_code", "code", required=False, ref="area.area_code",
          doc="上级区划代码; empty for the county itself", example="330100"),
        C("population", "int", min=0, doc="常住人口 resident population", example="21500"),
    ), key=("area_code",), doc="The county and its townships with their resident population."),

    Table("institution", "医疗机构", (
        C("inst_code", "code", doc="机构代码 institution code", example="H001"),
        C("name", "text", doc="机构名称 name", example="县总医院"),
        C("inst_type", "code", domain=INST_TYPES, doc="机构类型 type", example="general_hospital"),
        C("level", "code", domain=("county", "township", "village"),
          doc="机构层级 (community centres count as township)", example="county"),
        C("area_code", "code", ref="area.area_code", doc="所在乡镇 township where it stands", example="330100101"),
        C("parent_inst_code", "code", required=False, ref="institution.inst_code",
          doc="上级机构 (a village clinic's township centre)", example=""),
        C("is_lead", "flag", min=0, max=1, doc="是否牵头医院 1 for the lead hospital", example="1"),
        C("approved_beds", "int", min=0, doc="编制床位 approved beds", example="600"),
        C("lon", "float", required=False, min=-180, max=180, doc="经度 WGS84 longitude", example="119.65"),
        C("lat", "float", required=False, min=-90, max=90, doc="纬度 WGS84 latitude", example="29.08"),
    ), key=("inst_code",), doc="Every institution of the medical community."),

    Table("department", "科室", (
        C("dept_code", "code", doc="科室代码 (unique in the county)", example="H001-NK"),
        C("inst_code", "code", ref="institution.inst_code", doc="所属机构", example="H001"),
        C("name", "text", doc="科室名称", example="内科"),
        C("category", "code", doc="科室类别 (internal, surgery, pediatrics, obstetrics, tcm, emergency, general, "
          "lab, imaging, other)", example="internal"),
    ), key=("dept_code",)),

    Table("staff", "人员", (
        C("staff_code", "code", doc="人员代码 (unique in the county)", example="D00012"),
        C("name", "text", doc="姓名 (may be masked)", example="张医生"),
        C("inst_code", "code", ref="institution.inst_code", doc="所属机构", example="H001"),
        C("dept_code", "code", required=False, ref="department.dept_code", doc="所属科室", example="H001-NK"),
        C("role", "code", domain=("doctor", "nurse", "pharmacist", "technician", "other"), doc="岗位", example="doctor"),
        C("title", "code", domain=("senior", "associate", "intermediate", "junior", "none"), doc="职称",
          example="intermediate"),
        C("is_gp", "flag", min=0, max=1, doc="是否全科医生", example="0"),
    ), key=("staff_code",)),

    Table("resource_month", "机构月度资源与收支", (
        C("month", "month", doc="月份 YYYY-MM", example="2025-03"),
        C("inst_code", "code", ref="institution.inst_code", doc="机构", example="H001"),
        C("open_beds", "int", min=0, doc="实际开放床位 (month end)", example="580"),
        C("occupied_bed_days", "int", min=0, doc="实际占用总床日数", example="14900"),
        C("doctors", "int", min=0, doc="执业(助理)医师数", example="210"),
        C("nurses", "int", min=0, doc="注册护士数", example="300"),
        C("gps", "int", min=0, doc="全科医生数", example="12"),
        C("ecg_devices", "int", min=0, doc="心电设备台数", example="8"),
        C("medical_revenue", "money", min=0, doc="医疗收入 (元)", example="28500000.00"),
        C("medical_service_revenue", "money", min=0, doc="医疗服务收入 (元)", example="9800000.00"),
        C("personnel_expense", "money", min=0, doc="人员经费 (元)", example="10200000.00"),
        C("business_expense", "money", min=0, doc="业务活动费用 (元)", example="27100000.00"),
        C("paid_staff", "int", min=0, doc="在职职工数 (for per-capita income)", example="720"),
    ), key=("month", "inst_code"), period_column="month",
        checks=("medical_service_revenue <= medical_revenue",)),

    Table("outpatient_visit", "门急诊就诊", (
        C("visit_id", "code", doc="就诊流水号", example="OP202503010001"),
        C("visit_time", "datetime", doc="就诊时间", example="2025-03-01 08:32:00"),
        C("inst_code", "code", ref="institution.inst_code", doc="就诊机构", example="H001"),
        C("dept_code", "code", required=False, ref="department.dept_code", doc="就诊科室", example="H001-NK"),
        C("doctor_code", "code", required=False, ref="staff.staff_code", doc="接诊医生", example="D00012"),
        C("patient_id", "code", doc="患者标识 (pseudonymous)", example="P00001234"),
        C("patient_area_code", "code", doc="患者居住乡镇; a code outside the county means a non-resident",
          example="330100101"),
        C("is_insured", "flag", min=0, max=1, doc="是否医保结算", example="1"),
        C("is_emergency", "flag", min=0, max=1, doc="是否急诊", example="0"),
        C("is_tcm", "flag", min=0, max=1, doc="是否中医类诊疗", example="0"),
        C("diagnosis_code", "code", required=False, doc="主诊断 ICD-10", example="J06.9"),
        C("total_cost", "money", min=0, doc="总费用 (元)", example="186.50"),
        C("drug_cost", "money", min=0, doc="药品费 (元)", example="72.30"),
        C("material_cost", "money", min=0, doc="卫生材料费 (元)", example="5.00"),
        C("insurance_paid", "money", min=0, doc="医保基金支付 (元)", example="90.00"),
        C("has_antibiotic", "flag", min=0, max=1, doc="是否使用抗菌药物", example="0"),
        *PATIENT_COLUMNS,
    ), key=("visit_id",), period_column="visit_time", db_key=False,
        checks=("drug_cost + material_cost <= total_cost + 0.01", "insurance_paid <= total_cost + 0.01",
                "patient_birth_year IS NULL OR patient_birth_year <= EXTRACT(YEAR FROM visit_time)")),

    Table("inpatient_discharge", "出院病例", (
        C("discharge_id", "code", doc="住院流水号", example="IP2025030001"),
        C("admit_time", "datetime", doc="入院时间", example="2025-02-24 10:00:00"),
        C("discharge_time", "datetime", doc="出院时间", example="2025-03-03 09:30:00"),
        C("inst_code", "code", ref="institution.inst_code", doc="机构", example="H001"),
        C("dept_code", "code", required=False, ref="department.dept_code", doc="出院科室", example="H001-NK"),
        C("doctor_code", "code", required=False, ref="staff.staff_code", doc="主治医生", example="D00012"),
        C("patient_id", "code", doc="患者标识", example="P00001234"),
        C("patient_area_code", "code", doc="患者居住乡镇", example="330100101"),
        C("is_insured", "flag", min=0, max=1, doc="是否医保结算", example="1"),
        C("diagnosis_code", "code", required=False, doc="主诊断 ICD-10", example="I63.9"),
        C("bed_days", "int", min=0, doc="实际占用床日", example="7"),
        C("surgery_level", "int", min=0, max=4, doc="手术级别 0 无, 1–4", example="0"),
        C("is_minimally_invasive", "flag", min=0, max=1, doc="是否微创手术", example="0"),
        C("is_low_risk", "flag", min=0, max=1, doc="是否低风险组病例", example="0"),
        C("outcome", "code", domain=("cured", "improved", "not_cured", "died", "other"), doc="离院结局",
          example="improved"),
        C("total_cost", "money", min=0, doc="总费用 (元)", example="6400.00"),
        C("drug_cost", "money", min=0, doc="药品费 (元)", example="1900.00"),
        C("material_cost", "money", min=0, doc="卫生材料费 (元)", example="900.00"),
        C("insurance_paid", "money", min=0, doc="医保基金支付 (元)", example="4200.00"),
        C("has_antibiotic", "flag", min=0, max=1, doc="是否使用抗菌药物", example="1"),
        C("antibiotic_ddd", "float", min=0, doc="抗菌药物累计DDD数", example="5.5"),
        *PATIENT_COLUMNS,
    ), key=("discharge_id",), period_column="discharge_time", db_key=False,
        checks=("discharge_time >= admit_time", "drug_cost + material_cost <= total_cost + 0.01",
                "insurance_paid <= total_cost + 0.01",
                "patient_birth_year IS NULL OR patient_birth_year <= EXTRACT(YEAR FROM discharge_time)")),

    Table("outside_settlement", "县外就医医保结算", (
        C("settlement_id", "code", doc="结算流水号", example="OS2025030001"),
        C("settle_date", "date", doc="结算日期", example="2025-03-05"),
        C("patient_id", "code", doc="患者标识", example="P00001234"),
        C("patient_area_code", "code", doc="患者居住乡镇", example="330100101"),
        C("setting", "code", domain=("outpatient", "inpatient"), doc="门诊/住院", example="inpatient"),
        C("hospital_name", "text", doc="就医医院名称", example="省人民医院"),
        C("total_cost", "money", min=0, doc="总费用 (元)", example="18000.00"),
        C("insurance_paid", "money", min=0, doc="医保基金支付 (元)", example="10800.00"),
        C("referral_id", "code", required=False, doc="转诊单号 (empty when not referred)", example="RF2025030001"),
    ), key=("settlement_id",), period_column="settle_date", db_key=False,
        checks=("insurance_paid <= total_cost + 0.01",)),

    Table("referral", "双向转诊", (
        C("referral_id", "code", doc="转诊单号", example="RF2025030001"),
        C("direction", "code", domain=("up", "down"), doc="方向 up 上转 / down 下转", example="up"),
        C("from_inst_code", "code", ref="institution.inst_code", doc="转出机构", example="T003"),
        C("to_inst_code", "code", required=False, ref="institution.inst_code",
          doc="转入机构 (empty when outside the county)", example="H001"),
        C("to_outside_name", "text", required=False, doc="县外转入医院名称", example=""),
        C("patient_id", "code", doc="患者标识", example="P00001234"),
        C("patient_area_code", "code", doc="患者居住乡镇", example="330100101"),
        C("setting", "code", domain=("outpatient", "inpatient"), doc="门诊/住院", example="inpatient"),
        C("request_time", "datetime", doc="申请时间", example="2025-03-01 09:00:00"),
        C("respond_time", "datetime", required=False, doc="响应时间 (empty while pending)",
          example="2025-03-01 11:20:00"),
        C("status", "code", domain=("pending", "accepted", "rejected", "completed", "cancelled"), doc="状态",
          example="completed"),
        C("diagnosis_code", "code", required=False, doc="诊断 ICD-10", example="I21.9"),
    ), key=("referral_id",), period_column="request_time", db_key=False,
        checks=("respond_time IS NULL OR respond_time >= request_time",
                "to_inst_code IS NOT NULL OR to_outside_name IS NOT NULL")),

    Table("lab_order", "检验申请", (
        C("order_id", "code", doc="检验申请单号", example="LB2025030100001"),
        C("order_time", "datetime", doc="开单时间", example="2025-03-01 08:40:00"),
        C("collect_time", "datetime", required=False, doc="采样时间", example="2025-03-01 08:55:00"),
        C("report_time", "datetime", required=False, doc="报告时间 (empty until reported)",
          example="2025-03-01 10:10:00"),
        C("ordering_inst_code", "code", ref="institution.inst_code", doc="开单机构", example="T003"),
        C("performing_inst_code", "code", ref="institution.inst_code", doc="检验机构", example="H001"),
        C("category", "code", doc="检验类别 (blood, biochem, immuno, micro, urine, other)", example="biochem"),
        C("is_emergency", "flag", min=0, max=1, doc="是否急诊", example="0"),
        C("is_critical", "flag", min=0, max=1, doc="是否危急值", example="0"),
        C("critical_notified_time", "datetime", required=False, doc="危急值通报时间", example=""),
    ), key=("order_id",), period_column="order_time", db_key=False,
        checks=("collect_time IS NULL OR collect_time >= order_time",
                "report_time IS NULL OR collect_time IS NULL OR report_time >= collect_time")),

    Table("chronic_patient", "慢病管理患者", (
        C("patient_id", "code", doc="患者标识", example="P00001234"),
        C("area_code", "code", ref="area.area_code", doc="居住乡镇", example="330100101"),
        C("managing_inst_code", "code", ref="institution.inst_code", doc="管理机构", example="T003"),
        C("disease", "code", domain=("hypertension", "diabetes"), doc="病种", example="hypertension"),
        C("registered_date", "date", doc="建档日期", example="2021-06-01"),
        C("deregistered_date", "date", required=False, doc="结案日期 (empty while managed)", example=""),
        C("is_standard_managed", "flag", min=0, max=1, doc="是否规范管理", example="1"),
        C("is_controlled", "flag", min=0, max=1, doc="是否控制满意", example="1"),
    ), key=("patient_id", "disease"),
        checks=("deregistered_date IS NULL OR deregistered_date >= registered_date",)),

    Table("posting", "派驻与巡诊", (
        C("staff_code", "code", ref="staff.staff_code", doc="人员", example="D00012"),
        C("from_inst_code", "code", ref="institution.inst_code", doc="派出机构", example="H001"),
        C("to_inst_code", "code", ref="institution.inst_code", doc="派驻机构", example="T003"),
        C("start_date", "date", doc="开始日期", example="2025-01-01"),
        C("end_date", "date", required=False, doc="结束日期 (empty while active)", example="2025-12-31"),
        C("kind", "code", domain=("long_term", "rounds"), doc="long_term 长期派驻 / rounds 巡诊", example="long_term"),
    ), key=("staff_code", "to_inst_code", "start_date"),
        checks=("end_date IS NULL OR end_date >= start_date",)),
]}

# Order in which tables can be loaded so that references resolve.
# What a code must look like (enforced by the loader, listed in docs/data-contract.md). An area code is the
# national administrative division code of 6 (county), 9 (township) or 12 (village) digits: '3.31099E+08' or
# '330100101.0' is what Excel made of it and would load as a new township nobody can match to a boundary.
AREA_CODE = (r"[0-9]{6}([0-9]{3}){0,2}", "6、9 或 12 位数字, 不能是科学计数法或带小数点 (6, 9 or 12 digits)")
NO_SPACE_CODE = (r"[^\s\x{3000}]+", "不能含空格 (no spaces)")
CODE_PATTERNS: dict[tuple[str, str], tuple[str, str]] = {
    ("area", "area_code"): AREA_CODE, ("area", "parent_code"): AREA_CODE,
    ("institution", "area_code"): AREA_CODE, ("chronic_patient", "area_code"): AREA_CODE,
    **{(t, "patient_area_code"): AREA_CODE for t in ("outpatient_visit", "inpatient_discharge",
                                                     "outside_settlement", "referral", "chronic_patient")},
    **{(t.name, c.name): NO_SPACE_CODE for t in TABLES.values() for c in t.columns
       if c.name.endswith("inst_code") or c.name in ("staff_code", "doctor_code")},
}
for (_table, _column), (_regex, _doc) in CODE_PATTERNS.items():
    if _column in TABLES[_table].column_names:
        TABLES[_table] = replace(TABLES[_table], columns=tuple(
            replace(c, pattern=_regex, pattern_doc=_doc) if c.name == _column else c for c in TABLES[_table].columns))

LOAD_ORDER = ["area", "institution", "department", "staff", "resource_month", "outpatient_visit",
              "inpatient_discharge", "outside_settlement", "referral", "lab_order", "chronic_patient", "posting"]
assert set(LOAD_ORDER) == set(TABLES)


def column_ddl(col: Column) -> str:
    parts = [f"{col.name} {col.sql_type}"]
    if col.required:
        parts.append("NOT NULL")
    checks = []
    if col.domain:
        values = ", ".join("'" + v + "'" for v in col.domain)
        checks.append(f"{col.name} IN ({values})")
    if col.min is not None:
        checks.append(f"{col.name} >= {col.min:g}")
    if col.max is not None:
        checks.append(f"{col.name} <= {col.max:g}")
    if col.type == "month":
        checks.append(f"length({col.name}) = 7")
    if checks:
        parts.append("CHECK (" + " AND ".join(checks) + ")")
    return " ".join(parts)


def table_ddl(table: Table) -> str:
    """CREATE TABLE statement (portable DuckDB / PostgreSQL)."""
    lines = [column_ddl(c) for c in table.columns]
    if table.db_key:
        lines.append(f"PRIMARY KEY ({', '.join(table.key)})")
    return f"CREATE TABLE IF NOT EXISTS {table.name} (\n  " + ",\n  ".join(lines) + "\n)"


META_DDL = [
    # one row per load / demo build; data_version drives cache invalidation
    """CREATE TABLE IF NOT EXISTS mart_meta (
  key VARCHAR PRIMARY KEY,
  value VARCHAR NOT NULL
)""",
    # the data version of each (table, month) a write touched; month '*' = the whole table, table '*' = everything
    """CREATE TABLE IF NOT EXISTS mart_version (
  tbl VARCHAR NOT NULL,
  month VARCHAR NOT NULL,
  version VARCHAR NOT NULL,
  PRIMARY KEY (tbl, month)
)""",
    """CREATE TABLE IF NOT EXISTS load_log (
  load_id INTEGER PRIMARY KEY,
  loaded_at TIMESTAMP NOT NULL,
  source VARCHAR NOT NULL,
  tables VARCHAR NOT NULL,
  rows_loaded BIGINT NOT NULL,
  months VARCHAR
)""",
]

VIEW_DDL = [
    # Flat org hierarchy: one row per doctor, with department, institution, township and county columns.
    """CREATE OR REPLACE VIEW v_org AS
SELECT c.area_code AS county_code, c.name AS county_name,
       t.area_code AS township_code, t.name AS township_name,
       i.inst_code, i.name AS inst_name, i.inst_type, i.level AS inst_level, i.is_lead,
       d.dept_code, d.name AS dept_name,
       s.staff_code AS doctor_code, s.name AS doctor_name
FROM institution i
JOIN area t ON t.area_code = i.area_code
LEFT JOIN area c ON c.area_code = t.parent_code
LEFT JOIN department d ON d.inst_code = i.inst_code
LEFT JOIN staff s ON s.dept_code = d.dept_code AND s.role = 'doctor'""",
]

CALENDAR_DDL = """CREATE TABLE IF NOT EXISTS calendar_month (
  month VARCHAR PRIMARY KEY,
  month_start DATE NOT NULL,
  month_end DATE NOT NULL,
  year INTEGER NOT NULL,
  quarter VARCHAR NOT NULL,
  days INTEGER NOT NULL,
  weekdays INTEGER NOT NULL
)"""


def all_ddl() -> list[str]:
    """Every statement that creates the mart's contract tables, meta tables, calendar and views."""
    # (without the CHECK, which DuckDB cannot add to a table; the loader validates these columns anyway)
    added = [f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS {c.name} {c.sql_type}" for t, c in ADDED_COLUMNS]
    return [table_ddl(TABLES[name]) for name in LOAD_ORDER] + added + META_DDL + [CALENDAR_DDL] + VIEW_DDL
