"""What the measure reader can aggregate: the rollup tables' org columns, named filters, and the shape of a measure.

The catalogue (metrics/catalogue.py) declares measures with these; the reader (queries/measures.py) turns them into
SQL. They live on the query side so that reading the mart never needs the catalogue above it (DESIGN.md §3)."""
from __future__ import annotations

from dataclasses import dataclass

# What each rollup table can be grouped by: institution columns (provider basis), department/doctor columns,
# and the residence-area column. ``population`` is the area table.
TABLE_ORG: dict[str, dict] = {
    "r_op_month": {"inst": ("inst_code",), "dept": "dept_code", "doctor": "doctor_code", "res": "res_area"},
    "r_ip_month": {"inst": ("inst_code",), "dept": "dept_code", "doctor": "doctor_code", "res": "res_area"},
    "r_lab_month": {"inst": ("ordering_inst_code", "performing_inst_code")},
    "r_ref_month": {"inst": ("from_inst_code", "to_inst_code")},
    "r_os_month": {"res": "res_area"},
    "r_res_month": {"inst": ("inst_code",)},
    "r_chronic_month": {"inst": ("managing_inst_code",), "res": "area_code"},
    "r_chronic_hosp": {"res": "area_code"},
    "r_posting_month": {"inst": ("to_inst_code",)},
    "population": {"res": "area_code"},
}
# Source fact table of each rollup, for the completeness flag (None: not tied to monthly uploads of institutions).
TABLE_SOURCE = {
    "r_op_month": "outpatient_visit", "r_ip_month": "inpatient_discharge", "r_lab_month": "lab_order",
    "r_res_month": "resource_month", "r_ref_month": None, "r_os_month": None, "r_chronic_month": None,
    "r_chronic_hosp": None, "r_posting_month": None, "population": None,
}
# Named filters and the tables they apply to (their SQL is in queries.measures.FILTER_SQL).
FILTERS: dict[str, tuple[str, ...]] = {
    "resident": ("r_op_month", "r_ip_month"),
    "insured_resident": ("r_ip_month",),
    "primary": ("r_op_month", "r_ip_month", "r_res_month", "r_lab_month"),
    "county_inst": ("r_ip_month", "r_ref_month"),
    "lead": ("r_res_month",),
    "village": ("r_res_month",),
    "up": ("r_ref_month",), "down": ("r_ref_month",),
    "to_in_county": ("r_ref_month",), "to_outside": ("r_ref_month",), "ref_accepted": ("r_ref_month",), "ref_decided": ("r_ref_month",),
    "regional": ("r_lab_month",),
    "os_inpatient": ("r_os_month",), "os_outpatient": ("r_os_month",),
    "htn": ("r_chronic_month",), "dm": ("r_chronic_month",), "any_disease": ("r_chronic_month",),
}


@dataclass(frozen=True)
class Measure:
    """One named, reusable aggregate.

    kind: ``flow`` (sum over the period's months), ``last`` (stock: the period's last month), ``avg`` (stock:
    monthly average), ``population`` (resident population of the area), ``distinct`` (distinct registered
    chronic patients hospitalised in the period), ``sum`` (signed sum of ``parts``), ``ratio`` (parts[0]/parts[1]),
    ``appdb`` (a daily count per institution from a registered source of ``metrics.sources``, summed over the
    period's days; ``table`` names the source).
    """
    id: str
    zh: str
    table: str | None = None
    column: str | None = None
    filters: tuple[str, ...] = ()
    kind: str = "flow"
    inst_col: str | None = None       # institution column used for provider grouping and filters
    is_count: bool = False            # a count of cases (small-sample rule applies as a denominator)
    parts: tuple[tuple[str, int], ...] = ()

    @property
    def derived(self) -> bool:
        return self.kind in ("sum", "ratio")
