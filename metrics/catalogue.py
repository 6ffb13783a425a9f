"""The indicator catalogue as data: measures declared once, indicators built from them (INDICATORS.md).

A *measure* names one aggregate of one rollup table (``queries.measures`` turns it into SQL from whitelists):
a column, an optional named filter, and how it combines over the months of a period (``flow`` = sum,
``last`` = value of the period's last month, ``avg`` = monthly average). Derived measures combine others
(``sum`` of signed parts, ``ratio`` of two). An *indicator* is ``factor × numerator / denominator`` as a ratio of
sums over every row of the org and period asked for.

The catalogue validates itself at import: unknown measures, levels the basis or the measures' tables cannot
serve, missing labels or bad targets raise :class:`CatalogueError` with the indicator id and the reason.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.labels import LEVEL_ZH
from queries.measure_spec import FILTERS as FILTERS
from queries.measure_spec import TABLE_ORG as TABLE_ORG
from queries.measure_spec import TABLE_SOURCE as TABLE_SOURCE
from queries.measure_spec import Measure

LEVELS = ("county", "township", "institution", "department", "doctor")
GRAINS = ("year", "quarter", "month")
TOPICS: dict[str, str] = {
    "resources": "资源", "quality": "质量", "cost": "费用", "referrals": "转诊与分级诊疗",
    "health": "健康管理", "exchange": "数据质量与交换",
}
BASIS_ZH = {"provider": "机构口径 (按就诊机构)", "residence": "居民口径 (按居住乡镇)", "county": "全县口径"}



class CatalogueError(ValueError):
    """The catalogue itself is inconsistent (raised at import)."""


@dataclass(frozen=True)
class Indicator:
    """One indicator of INDICATORS.md."""
    id: str
    zh: str
    en: str
    topic: str
    numerator: str | None
    denominator: str | None
    factor: float
    unit: str
    decimals: int
    direction: str                    # 'up' | 'down' | 'band'
    target_low: float | None
    target_high: float | None
    target_text: str
    basis: str                        # 'provider' | 'residence' | 'county'
    levels: tuple[str, ...]
    source: str
    numerator_zh: str = ""
    denominator_zh: str = ""
    definition: str = ""
    available: bool = True
    unavailable_reason: str = ""      # English first: the engine's refusals and the generated reference
    unavailable_zh: str = ""          # the same reason as pages show it (Chinese only)
    kind: str = "ratio"               # 'ratio' | 'count' | 'growth' | 'exchange' | 'unavailable'
    growth_of: str | None = None
    township_by: str = "provider"     # how township rows group: by institution location or by residence
    target_by_inst_level: tuple[tuple[str, float | None, float | None], ...] = ()
    note: str = ""
    # What an org without a single row reads as (like MetricFlow's ``fill_nulls_with``): 0 for counts and for the
    # numerator/denominator of ratios of counted things ("none"); None keeps a missing value ("missing").
    fill_nulls_with: float | None = 0.0
    # A flow over a stock (bed-days available, doctor workdays, population): in a period the data covers only in
    # part, the stock denominator is scaled to the days covered, so the running month reads like a whole one.
    scale_denominator: bool = False

    @property
    def topic_zh(self) -> str:
        return TOPICS[self.topic]

    @property
    def measures(self) -> tuple[str, ...]:
        return tuple(m for m in (self.numerator, self.denominator) if m)

    def target_for(self, inst_level: str | None = None) -> tuple[float | None, float | None]:
        """(low, high) target, specialised for an institution level where INDICATORS.md says so."""
        for lvl, lo, hi in self.target_by_inst_level:
            if lvl == inst_level:
                return lo, hi
        return self.target_low, self.target_high


# --------------------------------------------------------------------------------------------------------------
# Measures
# --------------------------------------------------------------------------------------------------------------
def _m(id: str, zh: str, table: str, column: str, *filters: str, kind: str = "flow", inst: str | None = "default",
       count: bool = False) -> Measure:
    if inst == "default":
        inst = TABLE_ORG[table].get("inst", (None,))[0]
    return Measure(id, zh, table, column, tuple(filters), kind, inst, count)


def _sum(id: str, zh: str, *parts: tuple[str, int], count: bool = False) -> Measure:
    return Measure(id, zh, kind="sum", parts=tuple(parts), is_count=count)


def _ratio(id: str, zh: str, a: str, b: str) -> Measure:
    return Measure(id, zh, kind="ratio", parts=((a, 1), (b, 1)))


_MEASURE_LIST = [
    # resources (resource_month)
    _m("open_beds_last", "实际开放床位数 (期末月)", "r_res_month", "open_beds", kind="last"),
    _m("open_beds_avg", "平均开放床位数 (月均)", "r_res_month", "open_beds", kind="avg"),
    _m("occupied_bed_days", "实际占用总床日数", "r_res_month", "occupied_bed_days"),
    _m("bed_capacity", "实际开放总床日数 (开放床位×当月天数)", "r_res_month", "bed_capacity"),
    _m("doctors_last", "执业(助理)医师数 (期末月)", "r_res_month", "doctors", kind="last"),
    _m("nurses_last", "注册护士数 (期末月)", "r_res_month", "nurses", kind="last"),
    _m("gps_last", "全科医生数 (期末月)", "r_res_month", "gps", kind="last"),
    _m("doctor_workdays", "医师工作日总数 (医师数×当月工作日)", "r_res_month", "doctor_workdays"),
    _m("village_clinics_last", "村卫生室数 (期末月上报资源的)", "r_res_month", "reporting", "village", kind="last",
       count=True),
    _m("village_ecg_last", "配备心电设备的村卫生室数 (期末月)", "r_res_month", "has_ecg", "village", kind="last"),
    _m("medical_revenue", "医疗收入", "r_res_month", "medical_revenue"),
    _m("medical_service_revenue", "医疗服务收入", "r_res_month", "medical_service_revenue"),
    _m("personnel_expense", "人员经费", "r_res_month", "personnel_expense"),
    _m("business_expense", "业务活动费用", "r_res_month", "business_expense"),
    _m("personnel_primary", "基层机构人员经费", "r_res_month", "personnel_expense", "primary"),
    _m("paid_staff_primary", "基层机构在职职工数 (各月合计)", "r_res_month", "paid_staff", "primary"),
    _m("personnel_lead", "牵头医院人员经费", "r_res_month", "personnel_expense", "lead"),
    _m("paid_staff_lead", "牵头医院在职职工数 (各月合计)", "r_res_month", "paid_staff", "lead"),
    _ratio("income_per_staff_primary", "基层机构人均人员经费", "personnel_primary", "paid_staff_primary"),
    _ratio("income_per_staff_lead", "牵头医院人均人员经费", "personnel_lead", "paid_staff_lead"),
    _m("posted_doctors_last", "期末在岗的县级派驻基层中级及以上职称医师数", "r_posting_month", "posted", kind="last"),
    Measure("population", "常住人口数", "population", "population", kind="population", is_count=True),
    # outpatient
    _m("op_visits", "门急诊人次", "r_op_month", "visits", count=True),
    _m("op_abx_visits", "使用抗菌药物的门诊人次", "r_op_month", "abx_visits"),
    _m("op_tcm_visits", "中医类诊疗人次", "r_op_month", "tcm_visits"),
    _m("op_visits_primary", "基层医疗卫生机构门急诊人次", "r_op_month", "visits", "primary", count=True),
    _m("op_visits_resident", "本县居民在县域内门急诊人次", "r_op_month", "visits", "resident", count=True),
    _m("op_total_cost", "门诊总费用", "r_op_month", "total_cost"),
    _m("op_drug_cost", "门诊药品费用", "r_op_month", "drug_cost"),
    _m("op_insurance_paid", "门诊医保基金支付", "r_op_month", "insurance_paid"),
    _m("op_insurance_resident", "本县居民县域内门诊医保基金支付", "r_op_month", "insurance_paid", "resident"),
    _m("op_insurance_primary", "基层机构门诊医保基金支付", "r_op_month", "insurance_paid", "primary"),
    # inpatient
    _m("discharges", "出院人次", "r_ip_month", "discharges", count=True),
    _m("ip_abx_discharges", "使用抗菌药物的出院人次", "r_ip_month", "abx_discharges"),
    _m("antibiotic_ddd", "抗菌药物累计DDD数", "r_ip_month", "antibiotic_ddd"),
    _m("bed_days", "出院者占用总床日数", "r_ip_month", "bed_days", count=True),
    _m("surgeries", "手术出院人次 (手术级别≥1)", "r_ip_month", "surgeries", count=True),
    _m("surgeries_34", "三、四级手术出院人次", "r_ip_month", "surgeries_34"),
    _m("mis_surgeries", "微创手术出院人次", "r_ip_month", "mis_surgeries"),
    _m("low_risk", "低风险组病例数", "r_ip_month", "low_risk", count=True),
    _m("low_risk_died", "低风险组死亡病例数", "r_ip_month", "low_risk_died"),
    _m("died", "住院死亡人次", "r_ip_month", "died"),
    _m("readmit31", "出院31天内再住院人次", "r_ip_month", "readmit31"),
    _m("ip_total_cost", "住院总费用", "r_ip_month", "total_cost"),
    _m("ip_drug_cost", "住院药品费用", "r_ip_month", "drug_cost"),
    _m("ip_material_cost", "住院卫生材料费用", "r_ip_month", "material_cost"),
    _m("ip_insurance_paid", "住院医保基金支付", "r_ip_month", "insurance_paid"),
    _m("ip_insurance_resident", "本县居民县域内住院医保基金支付", "r_ip_month", "insurance_paid", "resident"),
    _m("ip_insurance_primary", "基层机构住院医保基金支付", "r_ip_month", "insurance_paid", "primary"),
    _m("discharges_county_inst", "县级医院出院人次", "r_ip_month", "discharges", "county_inst", count=True),
    _m("discharges_resident", "本县居民在县域内出院人次", "r_ip_month", "discharges", "resident", count=True),
    _m("discharges_insured_resident", "参保居民县域内出院人次", "r_ip_month", "discharges", "insured_resident",
       count=True),
    _m("ip_cost_insured_resident", "参保居民县域内住院总费用", "r_ip_month", "total_cost", "insured_resident"),
    # outside settlements (every row is an insured resident's)
    _m("os_rows", "县外就医结算人次", "r_os_month", "settlements", count=True),
    _m("os_inpatient", "县外住院结算人次", "r_os_month", "settlements", "os_inpatient", count=True),
    _m("os_outpatient", "县外门诊结算人次", "r_os_month", "settlements", "os_outpatient", count=True),
    _m("os_referred", "有转诊单的县外就医结算人次", "r_os_month", "referred"),
    _sum("os_unreferred", "无转诊单的县外就医结算人次", ("os_rows", 1), ("os_referred", -1), count=True),
    _m("os_insurance_paid", "县外就医医保基金支付", "r_os_month", "insurance_paid"),
    # referrals
    _m("ref_up", "上转人次", "r_ref_month", "referrals", "up", inst="from_inst_code", count=True),
    _m("ref_up_outside", "转往县外的上转人次", "r_ref_month", "referrals", "up", "to_outside", inst="from_inst_code",
       count=True),
    _m("ref_down", "下转人次", "r_ref_month", "referrals", "down", inst="from_inst_code", count=True),
    _m("ref_down_county", "县级医院下转人次", "r_ref_month", "referrals", "down", "county_inst",
       inst="from_inst_code"),
    _m("ref_received", "转入县域内机构的转诊人次", "r_ref_month", "referrals", "to_in_county", inst="to_inst_code",
       count=True),
    _m("ref_responded_24h", "24小时内响应的转诊人次", "r_ref_month", "responded_24h", "to_in_county",
       inst="to_inst_code"),
    _m("ref_accepted", "接收 (已接收或已完成) 的转诊人次", "r_ref_month", "referrals", "to_in_county", "ref_accepted",
       inst="to_inst_code"),
    _m("ref_decided", "已接收、已完成或被拒绝的转诊人次", "r_ref_month", "referrals", "to_in_county", "ref_decided",
       inst="to_inst_code", count=True),
    # lab
    _m("lab_orders", "检验申请数 (开单机构)", "r_lab_month", "orders", inst="ordering_inst_code", count=True),
    _m("lab_timely", "及时报告的检验申请数", "r_lab_month", "timely", inst="ordering_inst_code"),
    _m("lab_critical", "危急值检验数 (检验机构)", "r_lab_month", "critical", inst="performing_inst_code", count=True),
    _m("lab_critical_15", "15分钟内通报的危急值数", "r_lab_month", "critical_15", inst="performing_inst_code"),
    _m("lab_orders_primary", "基层机构检验申请数", "r_lab_month", "orders", "primary", inst="ordering_inst_code",
       count=True),
    _m("lab_regional_primary", "基层机构送区域中心检验的申请数", "r_lab_month", "orders", "primary", "regional",
       inst="ordering_inst_code"),
    # chronic disease management (registrations active on the last day of the period)
    _m("htn_registered", "期末在管高血压患者数", "r_chronic_month", "registered", "htn", kind="last", count=True),
    _m("htn_standard", "期末规范管理的高血压患者数", "r_chronic_month", "standard", "htn", kind="last"),
    _m("htn_controlled", "期末血压控制满意的高血压患者数", "r_chronic_month", "controlled", "htn", kind="last"),
    _m("dm_registered", "期末在管糖尿病患者数", "r_chronic_month", "registered", "dm", kind="last", count=True),
    _m("dm_standard", "期末规范管理的糖尿病患者数", "r_chronic_month", "standard", "dm", kind="last"),
    _m("dm_controlled", "期末血糖控制满意的糖尿病患者数", "r_chronic_month", "controlled", "dm", kind="last"),
    _m("chronic_persons", "期末在管慢病患者人数 (去重)", "r_chronic_month", "registered", "any_disease", kind="last",
       inst=None, count=True),
    Measure("chronic_hosp_persons", "期内有住院 (县域内出院或县外住院结算) 的期末在管慢病患者人数 (去重)",
            "r_chronic_hosp", "patient_id", kind="distinct"),
    # data exchange (application database, per institution and day; source registered by the web package)
    *[Measure(mid, zh, "exchange", mid, kind="appdb", inst_col="inst_code", is_count=True) for mid, zh in (
        ("scheduled_slots", "计划作业次数"), ("timely_slots", "在规定时间窗内成功的计划作业次数"),
        ("finished_runs", "已结束的作业次数"), ("success_runs", "状态为成功的作业次数"),
        ("expected_hours", "节点应在线小时数"), ("online_hours", "节点有心跳的小时数"),
        ("rows_extracted", "抽取行数之和"), ("rows_rejected", "被拒收行数之和"))],
    # derived
    _sum("self_pay", "个人自付费用 (门诊+住院 总费用−医保支付)", ("op_total_cost", 1), ("op_insurance_paid", -1),
         ("ip_total_cost", 1), ("ip_insurance_paid", -1)),
    _sum("total_cost_all", "门诊和住院总费用", ("op_total_cost", 1), ("ip_total_cost", 1)),
    _sum("resident_care_in_county", "本县居民县域内门急诊和出院人次", ("op_visits_resident", 1),
         ("discharges_resident", 1), count=True),
    _sum("resident_care_all", "本县居民县域内门急诊和出院人次 + 县外就医结算人次", ("op_visits_resident", 1),
         ("discharges_resident", 1), ("os_rows", 1), count=True),
    _sum("insured_ip_all", "参保居民县域内出院人次 + 县外住院结算人次", ("discharges_insured_resident", 1),
         ("os_inpatient", 1), count=True),
    _sum("insurance_resident_in_county", "本县居民县域内医保基金支付 (门诊+住院)", ("op_insurance_resident", 1),
         ("ip_insurance_resident", 1)),
    _sum("insurance_resident_all", "本县居民医保基金支付 (县域内+县外)", ("op_insurance_resident", 1),
         ("ip_insurance_resident", 1), ("os_insurance_paid", 1)),
    _sum("insurance_primary", "基层机构医保基金支付 (门诊+住院)", ("op_insurance_primary", 1),
         ("ip_insurance_primary", 1)),
    _sum("insurance_in_county", "县域内机构医保基金支付 (门诊+住院)", ("op_insurance_paid", 1),
         ("ip_insurance_paid", 1)),
    _sum("resident_visits_all", "本县居民县域内门急诊人次 + 县外门诊结算人次", ("op_visits_resident", 1),
         ("os_outpatient", 1)),
    _sum("resident_admissions_all", "本县居民县域内出院人次 + 县外住院结算人次", ("discharges_resident", 1),
         ("os_inpatient", 1)),
]
MEASURES: dict[str, Measure] = {m.id: m for m in _MEASURE_LIST}


# --------------------------------------------------------------------------------------------------------------
# Indicators
# --------------------------------------------------------------------------------------------------------------
ALL5 = LEVELS
INST3 = ("county", "township", "institution")
RES2 = ("county", "township")
C1 = ("county",)


def _i(*, factor: float, levels: tuple[str, ...], **fields: object) -> Indicator:
    """One indicator, every field by name (the names of :class:`Indicator`)."""
    return Indicator(factor=float(factor), levels=tuple(levels), **fields)


_RES_REF = "国家卫生健康委《“十四五”优质高效医疗卫生服务体系建设实施方案》参考值"
_PERF = "国家二级公立医院绩效考核"
_STAT = "卫生健康统计调查制度"
_M2024 = "紧密型县域医疗卫生共同体建设监测指标 (2024)"
_EXCHANGE_SRC = "数据交换监测 (平台应用数据库)"
_QUALITATIVE_ZH = "定性指标，按文件资料评估；数据契约中没有对应数据，平台不计算"

_INDICATOR_LIST = [
    # ---- resources
    _i(id="beds_per_1k", zh="每千常住人口床位数", en="Beds per 1,000 residents", topic="resources",
       numerator="open_beds_last", denominator="population", factor=1000, unit="张", decimals=2, direction="up",
       target_low=7.4, target_high=None, target_text="≥ 7.4 (参考)", basis="county", levels=RES2, source=_RES_REF,
       note="乡镇按机构所在地统计: 乡镇的床位数为位于该乡镇的机构床位之和"),
    _i(id="doctors_per_1k", zh="每千常住人口执业(助理)医师数", en="Licensed doctors per 1,000 residents",
       topic="resources", numerator="doctors_last", denominator="population", factor=1000, unit="人", decimals=2,
       direction="up", target_low=3.2, target_high=None, target_text="≥ 3.2 (参考)", basis="county", levels=C1,
       source=_RES_REF),
    _i(id="nurses_per_1k", zh="每千常住人口注册护士数", en="Registered nurses per 1,000 residents", topic="resources",
       numerator="nurses_last", denominator="population", factor=1000, unit="人", decimals=2, direction="up",
       target_low=3.8, target_high=None, target_text="≥ 3.8 (参考)", basis="county", levels=C1, source=_RES_REF),
    _i(id="gps_per_10k", zh="每万常住人口全科医生数", en="General practitioners per 10,000 residents",
       topic="resources", numerator="gps_last", denominator="population", factor=10000, unit="人", decimals=2,
       direction="up", target_low=3.93, target_high=None, target_text="≥ 3.93 (参考)", basis="county", levels=C1,
       source=_RES_REF),
    _i(id="nurse_doctor_ratio", zh="医护比", en="Nurse-to-doctor ratio", topic="resources", numerator="nurses_last",
       denominator="doctors_last", factor=1, unit="", decimals=2, direction="up", target_low=1.2, target_high=None,
       target_text="≥ 1.2 (参考)", basis="provider", levels=INST3, source=_PERF),
    _i(id="bed_occupancy", zh="病床使用率", en="Bed occupancy rate", topic="resources", numerator="occupied_bed_days",
       denominator="bed_capacity", factor=100, unit="%", decimals=1, direction="band", target_low=75, target_high=93,
       target_text="75%–93%", basis="provider", levels=INST3, source=_STAT, scale_denominator=True),
    _i(id="bed_turnover", zh="病床周转次数", en="Bed turnover", topic="resources", numerator="discharges",
       denominator="open_beds_avg", factor=1, unit="次", decimals=2, direction="up", target_low=None, target_high=None,
       target_text="参考: 每月 ≥ 2.5 次", basis="provider", levels=INST3, source=_STAT, scale_denominator=True),
    _i(id="alos", zh="平均住院日", en="Average length of stay", topic="resources", numerator="bed_days",
       denominator="discharges", factor=1, unit="天", decimals=1, direction="down", target_low=None, target_high=9,
       target_text="县级 ≤ 9 天, 乡镇 ≤ 7 天", basis="provider", levels=ALL5, source=_PERF,
       target_by_inst_level=(("township", None, 7.0), ("village", None, 7.0))),
    _i(id="doctor_daily_visits", zh="医师日均担负诊疗人次", en="Daily visits per doctor", topic="resources",
       numerator="op_visits", denominator="doctor_workdays", factor=1, unit="人次", decimals=1, direction="band",
       target_low=8, target_high=20, target_text="8–20 (参考)", basis="provider", levels=INST3, source=_STAT,
       scale_denominator=True),
    _i(id="posted_doctors_per_10k", zh="每万常住人口派驻基层医师数",
       en="County doctors posted to primary care per 10,000 "
       "residents", topic="resources", numerator="posted_doctors_last", denominator="population", factor=10000,
       unit="人", decimals=2, direction="up", target_low=1, target_high=None, target_text="≥ 1 (参考)", basis="county",
       levels=C1, source=_M2024 + " #4"),
    _i(id="village_ecg_coverage", zh="心电设备村级覆盖率", en="Village clinics with an ECG device", topic="resources",
       numerator="village_ecg_last", denominator="village_clinics_last", factor=100, unit="%", decimals=1,
       direction="up", target_low=100, target_high=None, target_text="100%", basis="county", levels=RES2,
       source=_M2024 + " #5", note="乡镇按村卫生室所在地统计"),
    # volumes leaders read (counts: a month without a case is 0)
    _i(id="op_er_visits", zh="门急诊人次", en="Outpatient and emergency visits", topic="resources",
       numerator="op_visits", denominator=None, factor=1, unit="人次", decimals=0, direction="band", target_low=None,
       target_high=None, target_text="监测", basis="provider", levels=ALL5, source=_STAT, kind="count"),
    _i(id="discharges", zh="出院人次", en="Discharges", topic="resources", numerator="discharges", denominator=None,
       factor=1, unit="人次", decimals=0, direction="band", target_low=None, target_high=None, target_text="监测",
       basis="provider", levels=ALL5, source=_STAT, kind="count"),
    _i(id="surgeries", zh="手术台次", en="Surgeries", topic="resources", numerator="surgeries", denominator=None,
       factor=1, unit="台次", decimals=0, direction="band", target_low=None, target_high=None, target_text="监测",
       basis="provider", levels=ALL5, source=_STAT, kind="count", note="出院患者中手术级别≥1的人次"),
    _i(id="lab_orders", zh="检验人次", en="Lab orders", topic="resources", numerator="lab_orders", denominator=None,
       factor=1, unit="人次", decimals=0, direction="band", target_low=None, target_high=None, target_text="监测",
       basis="provider", levels=INST3, source=_STAT, kind="count", note="按开单机构"),
    # ---- quality
    _i(id="op_antibiotic_rate", zh="门诊抗菌药物使用率", en="Outpatient antibiotic use rate", topic="quality",
       numerator="op_abx_visits", denominator="op_visits", factor=100, unit="%", decimals=1, direction="down",
       target_low=None, target_high=20, target_text="≤ 20%", basis="provider", levels=ALL5,
       source="抗菌药物临床应用管理"),
    _i(id="ip_antibiotic_rate", zh="住院患者抗菌药物使用率", en="Inpatient antibiotic use rate", topic="quality",
       numerator="ip_abx_discharges", denominator="discharges", factor=100, unit="%", decimals=1, direction="down",
       target_low=None, target_high=60, target_text="≤ 60%", basis="provider", levels=ALL5,
       source="抗菌药物临床应用管理"),
    _i(id="antibiotic_intensity", zh="抗菌药物使用强度", en="Antibiotic use density (DDDs per 100 bed-days)",
       topic="quality", numerator="antibiotic_ddd", denominator="bed_days", factor=100, unit="DDDs/百人天", decimals=1,
       direction="down", target_low=None, target_high=40, target_text="≤ 40", basis="provider", levels=ALL5,
       source=_PERF),
    _i(id="surgery_share", zh="出院患者手术占比", en="Share of discharges with surgery", topic="quality",
       numerator="surgeries", denominator="discharges", factor=100, unit="%", decimals=1, direction="up",
       target_low=None, target_high=None, target_text="参考", basis="provider", levels=ALL5, source=_PERF),
    _i(id="surgery_34_share", zh="出院患者三、四级手术占比", en="Share of level 3–4 surgeries", topic="quality",
       numerator="surgeries_34", denominator="surgeries", factor=100, unit="%", decimals=1, direction="up",
       target_low=None, target_high=None, target_text="参考", basis="provider", levels=ALL5, source=_PERF),
    _i(id="mis_share", zh="微创手术占比", en="Share of minimally invasive surgeries", topic="quality",
       numerator="mis_surgeries", denominator="surgeries", factor=100, unit="%", decimals=1, direction="up",
       target_low=None, target_high=None, target_text="参考", basis="provider", levels=ALL5, source=_PERF),
    _i(id="low_risk_mortality", zh="低风险组病例死亡率", en="Low-risk group mortality", topic="quality",
       numerator="low_risk_died", denominator="low_risk", factor=100, unit="%", decimals=2, direction="down",
       target_low=None, target_high=0, target_text="0", basis="provider", levels=ALL5, source=_PERF),
    _i(id="ip_mortality", zh="住院患者死亡率", en="Inpatient mortality", topic="quality", numerator="died",
       denominator="discharges", factor=100, unit="%", decimals=2, direction="down", target_low=None, target_high=None,
       target_text="参考", basis="provider", levels=ALL5, source=_STAT),
    _i(id="readmission_31d", zh="出院31天内再住院率", en="31-day readmission rate", topic="quality",
       numerator="readmit31", denominator="discharges", factor=100, unit="%", decimals=1, direction="down",
       target_low=None, target_high=5, target_text="≤ 5% (参考)", basis="provider", levels=ALL5,
       source="医疗质量控制指标", note="再住院指同一患者出院后31天内在县域内任一机构再次入院"),
    _i(id="lab_timeliness", zh="检验报告及时率", en="Lab reports on time", topic="quality", numerator="lab_timely",
       denominator="lab_orders", factor=100, unit="%", decimals=1, direction="up", target_low=95, target_high=None,
       target_text="≥ 95%", basis="provider", levels=INST3, source="临床检验专业医疗质量控制指标",
       note="按开单机构; 急诊 报告−采样 ≤ 60 分钟, 其他 ≤ 24 小时; 未报告或无采样时间视为不及时"),
    _i(id="critical_notify_rate", zh="危急值15分钟内通报率", en="Critical values notified within 15 minutes",
       topic="quality", numerator="lab_critical_15", denominator="lab_critical", factor=100, unit="%", decimals=1,
       direction="up", target_low=100, target_high=None, target_text="100%", basis="provider", levels=INST3,
       source="临床检验专业医疗质量控制指标", note="按检验机构"),
    _i(id="regional_lab_share", zh="基层检验区域中心送检占比",
       en="Primary-care lab orders sent to the regional centre", topic="quality", numerator="lab_regional_primary",
       denominator="lab_orders_primary", factor=100, unit="%", decimals=1, direction="up", target_low=None,
       target_high=None, target_text="参考", basis="provider", levels=INST3, source="招标文件: 区域检验系统",
       note="按开单机构"),
    # ---- cost
    _i(id="op_cost_per_visit", zh="门诊次均费用", en="Outpatient cost per visit", topic="cost",
       numerator="op_total_cost", denominator="op_visits", factor=1, unit="元", decimals=2, direction="down",
       target_low=None, target_high=None, target_text="监测", basis="provider", levels=ALL5, source=_PERF),
    _i(id="ip_cost_per_discharge", zh="住院次均费用", en="Inpatient cost per discharge", topic="cost",
       numerator="ip_total_cost", denominator="discharges", factor=1, unit="元", decimals=2, direction="down",
       target_low=None, target_high=None, target_text="监测", basis="provider", levels=ALL5, source=_PERF),
    _i(id="op_drug_per_visit", zh="门诊次均药品费用", en="Outpatient drug cost per visit", topic="cost",
       numerator="op_drug_cost", denominator="op_visits", factor=1, unit="元", decimals=2, direction="down",
       target_low=None, target_high=None, target_text="监测", basis="provider", levels=ALL5, source=_PERF),
    _i(id="op_drug_share", zh="门诊药占比", en="Outpatient drug share", topic="cost", numerator="op_drug_cost",
       denominator="op_total_cost", factor=100, unit="%", decimals=1, direction="down", target_low=None,
       target_high=40, target_text="≤ 40% (参考)", basis="provider", levels=ALL5, source=_STAT),
    _i(id="ip_drug_share", zh="住院药占比", en="Inpatient drug share", topic="cost", numerator="ip_drug_cost",
       denominator="ip_total_cost", factor=100, unit="%", decimals=1, direction="down", target_low=None,
       target_high=30, target_text="≤ 30% (参考)", basis="provider", levels=ALL5, source=_STAT),
    _i(id="ip_material_share", zh="住院耗材占比", en="Inpatient material share", topic="cost",
       numerator="ip_material_cost", denominator="ip_total_cost", factor=100, unit="%", decimals=1, direction="down",
       target_low=None, target_high=20, target_text="≤ 20% (参考)", basis="provider", levels=ALL5, source=_STAT),
    _i(id="op_cost_growth", zh="门诊次均费用增幅", en="Growth of outpatient cost per visit", topic="cost",
       numerator="op_total_cost", denominator="op_visits", factor=100, unit="%", decimals=1, direction="down",
       target_low=None, target_high=5, target_text="≤ 5% (参考)", basis="provider", levels=ALL5, source=_PERF,
       kind="growth", growth_of="op_cost_per_visit", numerator_zh="本期门诊次均费用 − 上年同期门诊次均费用",
       denominator_zh="上年同期门诊次均费用"),
    _i(id="ip_cost_growth", zh="住院次均费用增幅", en="Growth of inpatient cost per discharge", topic="cost",
       numerator="ip_total_cost", denominator="discharges", factor=100, unit="%", decimals=1, direction="down",
       target_low=None, target_high=5, target_text="≤ 5% (参考)", basis="provider", levels=ALL5, source=_PERF,
       kind="growth", growth_of="ip_cost_per_discharge", numerator_zh="本期住院次均费用 − 上年同期住院次均费用",
       denominator_zh="上年同期住院次均费用"),
    _i(id="insured_ip_cost_in_county", zh="参保人县域内住院次均费用",
       en="In-county inpatient cost per insured resident "
       "discharge", topic="cost", numerator="ip_cost_insured_resident", denominator="discharges_insured_resident",
       factor=1, unit="元", decimals=2, direction="down", target_low=None, target_high=None,
       target_text="监测 (看同比)", basis="residence", levels=RES2, source=_M2024 + " #10", township_by="residence"),
    _i(id="service_revenue_share", zh="医疗服务收入占医疗收入比例", en="Medical service revenue share", topic="cost",
       numerator="medical_service_revenue", denominator="medical_revenue", factor=100, unit="%", decimals=1,
       direction="up", target_low=35, target_high=None, target_text="≥ 35% (参考)", basis="provider", levels=INST3,
       source=_PERF),
    _i(id="personnel_expense_share", zh="人员经费占比", en="Personnel expense share", topic="cost",
       numerator="personnel_expense", denominator="business_expense", factor=100, unit="%", decimals=1, direction="up",
       target_low=None, target_high=None, target_text="参考", basis="provider", levels=INST3, source=_PERF),
    _i(id="primary_lead_income_ratio", zh="基层与牵头医院人均收入比值",
       en="Primary-care to lead-hospital per-capita income "
       "ratio", topic="cost", numerator="income_per_staff_primary", denominator="income_per_staff_lead", factor=1,
       unit="", decimals=2, direction="up", target_low=0.8, target_high=None, target_text="≥ 0.8 (参考)",
       basis="county", levels=C1, source=_M2024 + " #6"),
    _i(id="self_pay_share", zh="个人自付比例", en="Out-of-pocket share", topic="cost", numerator="self_pay",
       denominator="total_cost_all", factor=100, unit="%", decimals=1, direction="down", target_low=None,
       target_high=30, target_text="≤ 30% (参考)", basis="provider", levels=ALL5, source="医疗保障"),
    # ---- referrals
    _i(id="up_referrals", zh="上转人次", en="Upward referrals", topic="referrals", numerator="ref_up",
       denominator=None, factor=1, unit="人次", decimals=0, direction="band", target_low=None, target_high=None,
       target_text="监测", basis="provider", levels=INST3, source="招标文件: 双向转诊", kind="count",
       note="按转出机构"),
    _i(id="down_referrals", zh="下转人次", en="Downward referrals", topic="referrals", numerator="ref_down",
       denominator=None, factor=1, unit="人次", decimals=0, direction="up", target_low=None, target_high=None,
       target_text="监测", basis="provider", levels=INST3, source="招标文件: 双向转诊", kind="count",
       note="按转出机构"),
    _i(id="up_referrals_outside", zh="上转县外人次", en="Upward referrals out of the county", topic="referrals",
       numerator="ref_up_outside", denominator=None, factor=1, unit="人次", decimals=0, direction="band",
       target_low=None, target_high=None, target_text="监测", basis="provider", levels=INST3,
       source="招标文件: 双向转诊", kind="count", note="按转出机构; 上转人次中转往县外医院的部分"),
    _i(id="outside_settlements", zh="县外就医结算人次", en="Out-of-county care settlements", topic="referrals",
       numerator="os_rows", denominator=None, factor=1, unit="人次", decimals=0, direction="band", target_low=None,
       target_high=None, target_text="监测", basis="residence", levels=RES2, source="医疗保障", kind="count",
       township_by="residence", note="按参保人居住地"),
    _i(id="outside_referred", zh="县外就医有序转诊人次", en="Out-of-county care with a referral", topic="referrals",
       numerator="os_referred", denominator=None, factor=1, unit="人次", decimals=0, direction="up", target_low=None,
       target_high=None, target_text="监测", basis="residence", levels=RES2, source="医疗保障", kind="count",
       township_by="residence", note="按参保人居住地; 有转诊单的县外就医结算"),
    _i(id="outside_unreferred", zh="县外自行就医人次", en="Out-of-county care without a referral", topic="referrals",
       numerator="os_unreferred", denominator=None, factor=1, unit="人次", decimals=0, direction="down",
       target_low=None, target_high=None, target_text="监测", basis="residence", levels=RES2, source="医疗保障",
       kind="count", township_by="residence", note="按参保人居住地; 无转诊单的县外就医结算"),
    _i(id="down_up_ratio", zh="下转与上转人次比", en="Down-to-up referral ratio", topic="referrals",
       numerator="ref_down", denominator="ref_up", factor=1, unit="", decimals=2, direction="up", target_low=0.5,
       target_high=None, target_text="≥ 0.5 (参考)", basis="provider", levels=INST3, source="招标文件: 双向转诊",
       note="按转出机构"),
    _i(id="county_down_share", zh="县级医院下转患者占比", en="Share of county-hospital patients referred down",
       topic="referrals", numerator="ref_down_county", denominator="discharges_county_inst", factor=100, unit="%",
       decimals=1, direction="up", target_low=3, target_high=None, target_text="≥ 3% (参考)", basis="provider",
       levels=INST3, source="紧密型县域医共体建设监测指标 (2020)"),
    _i(id="referral_acceptance", zh="转诊接收率", en="Referral acceptance rate", topic="referrals",
       numerator="ref_accepted", denominator="ref_decided", factor=100, unit="%", decimals=1, direction="up",
       target_low=90, target_high=None, target_text="≥ 90%", basis="provider", levels=INST3,
       source="招标文件: 双向转诊", note="按转入机构 (县域内)"),
    _i(id="referral_response_24h", zh="转诊24小时响应率", en="Referrals answered within 24 hours", topic="referrals",
       numerator="ref_responded_24h", denominator="ref_received", factor=100, unit="%", decimals=1, direction="up",
       target_low=95, target_high=None, target_text="≥ 95%", basis="provider", levels=INST3,
       source="招标文件: 双向转诊", note="按转入机构 (县域内)"),
    _i(id="primary_visit_share", zh="县域内基层医疗卫生机构诊疗人次占比", en="Share of county visits at primary care",
       topic="referrals", numerator="op_visits_primary", denominator="op_visits", factor=100, unit="%", decimals=1,
       direction="up", target_low=65, target_high=None, target_text="≥ 65%", basis="county", levels=RES2,
       source=_M2024 + " #7", township_by="residence",
       note="全县: 县域内机构的全部诊疗人次; 乡镇: 该乡镇居民的诊疗人次"),
    _i(id="in_county_ip_share", zh="参保人县域内住院人次占比",
       en="Share of insured residents' admissions in the county", topic="referrals",
       numerator="discharges_insured_resident", denominator="insured_ip_all", factor=100, unit="%", decimals=1,
       direction="up", target_low=90, target_high=None, target_text="≥ 90%", basis="residence", levels=RES2,
       source=_M2024 + " #11", township_by="residence"),
    _i(id="in_county_visit_rate", zh="县域就诊率", en="In-county care rate", topic="referrals",
       numerator="resident_care_in_county", denominator="resident_care_all", factor=100, unit="%", decimals=1,
       direction="up", target_low=90, target_high=None, target_text="≥ 90%", basis="residence", levels=RES2,
       source="分级诊疗考核", township_by="residence"),
    _i(id="orderly_outflow_rate", zh="县外就医有序转诊率", en="Referred share of out-of-county care",
       topic="referrals", numerator="os_referred", denominator="os_rows", factor=100, unit="%", decimals=1,
       direction="up", target_low=60, target_high=None, target_text="≥ 60% (参考)", basis="residence", levels=RES2,
       source="同类平台口径", township_by="residence"),
    _i(id="tcm_visit_share", zh="县域内中医类诊疗量占比", en="Share of TCM visits", topic="referrals",
       numerator="op_tcm_visits", denominator="op_visits", factor=100, unit="%", decimals=1, direction="up",
       target_low=25, target_high=None, target_text="≥ 25% (参考)", basis="provider", levels=ALL5,
       source=_M2024 + " #12"),
    _i(id="insurance_in_county_share", zh="医保基金县域内支出占比", en="Share of insurance fund spent in the county",
       topic="referrals", numerator="insurance_resident_in_county", denominator="insurance_resident_all", factor=100,
       unit="%", decimals=1, direction="up", target_low=80, target_high=None, target_text="≥ 80% (参考)",
       basis="residence", levels=RES2, source=_M2024 + " #8", township_by="residence"),
    _i(id="insurance_primary_share", zh="县域内基层医保基金支出占比",
       en="Share of in-county insurance fund spent at primary "
       "care", topic="referrals", numerator="insurance_primary", denominator="insurance_in_county", factor=100,
       unit="%", decimals=1, direction="up", target_low=20, target_high=None, target_text="≥ 20% (参考)",
       basis="county", levels=C1, source=_M2024 + " #9"),
    # ---- health management
    _i(id="htn_standard_rate", zh="高血压患者规范管理率", en="Hypertension standard-management rate", topic="health",
       numerator="htn_standard", denominator="htn_registered", factor=100, unit="%", decimals=1, direction="up",
       target_low=60, target_high=None, target_text="≥ 60% (参考)", basis="residence", levels=INST3,
       source="国家基本公共卫生服务规范", township_by="residence", note="乡镇按居住地; 机构按管理机构"),
    _i(id="dm_standard_rate", zh="糖尿病患者规范管理率", en="Diabetes standard-management rate", topic="health",
       numerator="dm_standard", denominator="dm_registered", factor=100, unit="%", decimals=1, direction="up",
       target_low=60, target_high=None, target_text="≥ 60% (参考)", basis="residence", levels=INST3,
       source="国家基本公共卫生服务规范", township_by="residence", note="乡镇按居住地; 机构按管理机构"),
    _i(id="htn_control_rate", zh="高血压患者血压控制率", en="Hypertension control rate", topic="health",
       numerator="htn_controlled", denominator="htn_registered", factor=100, unit="%", decimals=1, direction="up",
       target_low=None, target_high=None, target_text="参考", basis="residence", levels=INST3,
       source="国家基本公共卫生服务规范", township_by="residence", note="乡镇按居住地; 机构按管理机构"),
    _i(id="dm_control_rate", zh="糖尿病患者血糖控制率", en="Diabetes control rate", topic="health",
       numerator="dm_controlled", denominator="dm_registered", factor=100, unit="%", decimals=1, direction="up",
       target_low=None, target_high=None, target_text="参考", basis="residence", levels=INST3,
       source="国家基本公共卫生服务规范", township_by="residence", note="乡镇按居住地; 机构按管理机构"),
    _i(id="chronic_hospitalization_rate", zh="慢性病健康管理人群住院率",
       en="Hospitalisation rate of managed chronic patients", topic="health", numerator="chronic_hosp_persons",
       denominator="chronic_persons", factor=100, unit="%", decimals=1, direction="down", target_low=None,
       target_high=None, target_text="参考", basis="residence", levels=RES2, source=_M2024 + " #13",
       township_by="residence", scale_denominator=True),
    _i(id="visits_per_capita", zh="居民人均就诊次数", en="Visits per resident", topic="health",
       numerator="resident_visits_all", denominator="population", factor=1, unit="次", decimals=2, direction="band",
       target_low=None, target_high=None, target_text="监测", basis="residence", levels=RES2, source=_STAT,
       township_by="residence", scale_denominator=True),
    _i(id="hospitalization_rate", zh="居民住院率", en="Resident hospitalisation rate", topic="health",
       numerator="resident_admissions_all", denominator="population", factor=100, unit="%", decimals=2,
       direction="band", target_low=None, target_high=None, target_text="监测", basis="residence", levels=RES2,
       source=_STAT, township_by="residence", scale_denominator=True),
    # ---- data quality and exchange (app database, through the measure source the web package registers)
    _i(id="upload_timeliness", zh="数据上传及时率", en="Upload timeliness", topic="exchange", numerator="timely_slots",
       denominator="scheduled_slots", factor=100, unit="%", decimals=1, direction="up", target_low=98,
       target_high=None, target_text="≥ 98%", basis="provider", levels=("county", "institution"), source=_EXCHANGE_SRC,
       kind="exchange", numerator_zh="在规定时间窗内成功的计划作业次数", denominator_zh="计划作业次数"),
    _i(id="job_success_rate", zh="交换作业成功率", en="Exchange job success rate", topic="exchange",
       numerator="success_runs", denominator="finished_runs", factor=100, unit="%", decimals=1, direction="up",
       target_low=99, target_high=None, target_text="≥ 99%", basis="provider", levels=("county", "institution"),
       source=_EXCHANGE_SRC, kind="exchange", numerator_zh="状态为成功的作业次数", denominator_zh="已结束的作业次数"),
    _i(id="node_online_rate", zh="交换节点在线率", en="Exchange nodes online", topic="exchange",
       numerator="online_hours", denominator="expected_hours", factor=100, unit="%", decimals=1, direction="up",
       target_low=100, target_high=None, target_text="100%", basis="provider", levels=("county",),
       source=_EXCHANGE_SRC, kind="exchange", numerator_zh="节点有心跳的小时数 (整点小时内至少一次心跳)",
       denominator_zh="节点应在线小时数"),
    _i(id="reject_rate", zh="数据拒收率", en="Rejected rows rate", topic="exchange", numerator="rows_rejected",
       denominator="rows_extracted", factor=100, unit="%", decimals=2, direction="down", target_low=None,
       target_high=0.5, target_text="≤ 0.5%", basis="provider", levels=("county", "institution"), source=_EXCHANGE_SRC,
       kind="exchange", numerator_zh="被拒收行数之和", denominator_zh="抽取行数之和"),
    # ---- not computable from the data contract
    _i(id="monitor_2024_1", zh="紧密型医共体建设定性指标 #1 (责权清晰)",
       en="2024 monitoring indicator #1 (qualitative)", topic="health", numerator=None, denominator=None, factor=1,
       unit="", decimals=0, direction="up", target_low=None, target_high=None, target_text="定性", basis="county",
       levels=C1, source=_M2024 + " #1", available=False, kind="unavailable",
       unavailable_reason="not available: qualitative indicator assessed by document review "
       "(定性指标, 数据契约无对应数据)", unavailable_zh=_QUALITATIVE_ZH),
    _i(id="monitor_2024_2", zh="紧密型医共体建设定性指标 #2 (运行高效)",
       en="2024 monitoring indicator #2 (qualitative)", topic="health", numerator=None, denominator=None, factor=1,
       unit="", decimals=0, direction="up", target_low=None, target_high=None, target_text="定性", basis="county",
       levels=C1, source=_M2024 + " #2", available=False, kind="unavailable",
       unavailable_reason="not available: qualitative indicator assessed by document review "
       "(定性指标, 数据契约无对应数据)", unavailable_zh=_QUALITATIVE_ZH),
    _i(id="monitor_2024_3", zh="紧密型医共体建设定性指标 #3 (监管有力)",
       en="2024 monitoring indicator #3 (qualitative)", topic="health", numerator=None, denominator=None, factor=1,
       unit="", decimals=0, direction="up", target_low=None, target_high=None, target_text="定性", basis="county",
       levels=C1, source=_M2024 + " #3", available=False, kind="unavailable",
       unavailable_reason="not available: qualitative indicator assessed by document review "
       "(定性指标, 数据契约无对应数据)", unavailable_zh=_QUALITATIVE_ZH),
    _i(id="premature_chronic_mortality", zh="重大慢性病过早死亡率",
       en="Premature mortality from major chronic diseases", topic="health", numerator=None, denominator=None,
       factor=100, unit="%", decimals=2, direction="down", target_low=None, target_high=None, target_text="参考",
       basis="county", levels=C1, source=_M2024 + " #14", available=False, kind="unavailable",
       unavailable_reason="not available: needs a death registry (需要死因监测登记数据)",
       unavailable_zh="需要死因监测登记数据，数据契约中没有，平台暂不计算"),
]


# --------------------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------------------
def base_measures(measure_id: str, measures: dict[str, Measure] | None = None) -> list[str]:
    """The stored (non-derived) measures a measure is computed from."""
    measures = MEASURES if measures is None else measures
    m = measures[measure_id]
    if not m.derived:
        return [m.id]
    out: list[str] = []
    for part, _sign in m.parts:
        out += [x for x in base_measures(part, measures) if x not in out]
    return out


def level_supported(measure: Measure, level: str, township_by: str) -> str | None:
    """None when a stored measure can be grouped at ``level``; else the reason it cannot."""
    org = TABLE_ORG[measure.table]
    if level == "county":
        return None
    if measure.kind == "population":
        return None if level == "township" else "人口数只到乡镇 (population exists for areas only)"
    if level == "township":
        if township_by == "residence":
            return None if "res" in org else f"{measure.id} 无居住地 (has no residence area)"
        return None if measure.inst_col else f"{measure.id} 无机构 (has no institution)"
    if level == "institution":
        return None if measure.inst_col else f"{measure.id} 无机构 (has no institution)"
    key = "dept" if level == "department" else "doctor"
    return None if key in org else f"{measure.id} 无{LEVEL_ZH[level]} (has no {level})"


def validate(indicators: dict[str, Indicator], measures: dict[str, Measure]) -> None:
    """Raise CatalogueError at the first inconsistency (called at import and by tests)."""
    for m in measures.values():
        if not m.zh:
            raise CatalogueError(f"measure {m.id}: missing zh label")
        if m.kind not in ("flow", "last", "avg", "population", "distinct", "sum", "ratio", "appdb"):
            raise CatalogueError(f"measure {m.id}: unknown kind {m.kind!r}")
        if m.derived:
            for part, sign in m.parts:
                if part not in measures:
                    raise CatalogueError(f"measure {m.id}: unknown part measure {part!r}")
                if sign not in (1, -1):
                    raise CatalogueError(f"measure {m.id}: sign must be ±1")
            continue
        if m.kind == "appdb":
            continue
        if m.table not in TABLE_ORG:
            raise CatalogueError(f"measure {m.id}: unknown table {m.table!r}")
        if m.inst_col and m.inst_col not in TABLE_ORG[m.table].get("inst", ()):
            raise CatalogueError(f"measure {m.id}: {m.table} has no institution column {m.inst_col!r}")
        for f in m.filters:
            if f not in FILTERS:
                raise CatalogueError(f"measure {m.id}: unknown filter {f!r}")
            if m.table not in FILTERS[f]:
                raise CatalogueError(f"measure {m.id}: filter {f!r} does not apply to {m.table}")
    for ind in indicators.values():
        where = f"indicator {ind.id}"
        if not ind.zh or not ind.en:
            raise CatalogueError(f"{where}: missing zh or en label")
        if ind.topic not in TOPICS:
            raise CatalogueError(f"{where}: unknown topic {ind.topic!r}")
        if ind.direction not in ("up", "down", "band"):
            raise CatalogueError(f"{where}: direction must be up, down or band")
        if ind.basis not in ("provider", "residence", "county"):
            raise CatalogueError(f"{where}: unknown basis {ind.basis!r}")
        if not ind.levels or any(lv not in LEVELS for lv in ind.levels):
            raise CatalogueError(f"{where}: levels must be a non-empty subset of {LEVELS}")
        if ind.kind not in ("ratio", "count", "growth", "exchange", "unavailable"):
            raise CatalogueError(f"{where}: unknown kind {ind.kind!r}")
        if ind.target_low is not None and ind.target_high is not None and ind.target_low > ind.target_high:
            raise CatalogueError(f"{where}: target_low > target_high")
        if ind.direction == "band" and (ind.target_low is None) != (ind.target_high is None):
            raise CatalogueError(f"{where}: a band needs both ends or none")
        if not ind.available:
            if not ind.unavailable_reason.startswith("not available"):
                raise CatalogueError(f"{where}: unavailable_reason must start with 'not available'")
            if not ind.unavailable_zh:
                raise CatalogueError(f"{where}: missing unavailable_zh (the reason pages show)")
            continue
        if ind.kind == "exchange":
            if any(mid not in measures or measures[mid].kind != "appdb" for mid in ind.measures) or \
                    len(ind.measures) != 2:
                raise CatalogueError(f"{where}: an exchange indicator needs appdb numerator and denominator")
            continue
        if ind.numerator is None:
            raise CatalogueError(f"{where}: missing numerator")
        for mid in ind.measures:
            if mid not in measures:
                raise CatalogueError(f"{where}: unknown measure {mid!r}")
        if ind.kind == "count" and ind.denominator is not None:
            raise CatalogueError(f"{where}: a count has no denominator")
        if ind.kind == "ratio" and ind.denominator is None:
            raise CatalogueError(f"{where}: a ratio needs a denominator")
        if ind.kind == "growth" and ind.growth_of not in indicators:
            raise CatalogueError(f"{where}: growth_of must name an indicator")
        if ind.basis == "residence" and any(lv in ("department", "doctor") for lv in ind.levels):
            raise CatalogueError(f"{where}: level not allowed by basis residence (department/doctor)")
        if ind.basis == "county" and any(lv in ("department", "doctor") for lv in ind.levels) and \
                ind.id != "tcm_visit_share":
            raise CatalogueError(f"{where}: level not allowed by basis county")
        for lv in ind.levels:
            for mid in ind.measures:
                for base in base_measures(mid, measures):
                    reason = level_supported(measures[base], lv, ind.township_by)
                    if reason:
                        raise CatalogueError(f"{where}: level {lv!r} not allowed by its measures: {reason}")


def _fill_text(ind: Indicator) -> Indicator:
    """Default the Chinese numerator/denominator labels and definition from the measures."""
    from dataclasses import replace
    num_zh = ind.numerator_zh or (MEASURES[ind.numerator].zh if ind.numerator in MEASURES else "")
    den_zh = ind.denominator_zh or (MEASURES[ind.denominator].zh if ind.denominator in MEASURES else "")
    if ind.definition:
        definition = ind.definition
    elif not ind.available:
        definition = ind.unavailable_zh
    elif ind.kind == "count":
        definition = f"{ind.zh} = {num_zh}"
    else:
        factor = "" if ind.factor == 1 else f" × {ind.factor:g}"
        definition = f"{ind.zh} = {num_zh} ÷ {den_zh}{factor}"
    return replace(ind, numerator_zh=num_zh, denominator_zh=den_zh, definition=definition)


INDICATORS: dict[str, Indicator] = {}
for _ind in _INDICATOR_LIST:
    if _ind.id in INDICATORS:
        raise CatalogueError(f"duplicate indicator id {_ind.id}")
    INDICATORS[_ind.id] = _fill_text(_ind)
validate(INDICATORS, MEASURES)


def computable_ids(level: str | None = None) -> list[str]:
    """Ids of the indicators the engine computes from the mart (optionally only those allowed at ``level``); the
    exchange ones (:func:`appdb_ids`) need the app-database measure source the web app and the CLI install."""
    return [i.id for i in INDICATORS.values() if i.available and i.kind != "exchange"
            and (level is None or level in i.levels)]


def appdb_ids(level: str | None = None) -> list[str]:
    """Ids of the indicators computed from the application database (exchange figures)."""
    return [i.id for i in INDICATORS.values() if i.available and i.kind == "exchange"
            and (level is None or level in i.levels)]
