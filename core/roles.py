"""Roles and which pages and callbacks each role may use: the one place for the role → pages map.

The menu is built from the Dash page registry plus this map (``layouts/_nav.py``); a page needs one line here.

Deny by default: a page path or callback module not listed here is open to nobody.
"""
from __future__ import annotations

LEADER, MANAGER, OPERATOR, ADMIN, AUDITOR = "leader", "manager", "operator", "admin", "auditor"
SCREEN = "screen"   # the command-centre wall's PC: /screen only, read-only, no drill, no export
ROLES: tuple[str, ...] = (LEADER, MANAGER, OPERATOR, ADMIN, AUDITOR, SCREEN)
ROLE_ZH: dict[str, str] = {
    LEADER: "卫健局领导", MANAGER: "医院管理者", OPERATOR: "运维人员", ADMIN: "系统管理员", AUDITOR: "审计员",
    SCREEN: "指挥中心大屏",
}
ALL = frozenset(ROLES)
VIEWERS = frozenset({LEADER, MANAGER})

# Page path (exact, or prefix when it ends with "/") → roles allowed to open it.
PAGE_ROLES: dict[str, frozenset[str]] = {
    "/": VIEWERS,                              # 驾驶舱
    "/map/": VIEWERS,                          # 一张图
    "/indicator/": VIEWERS,                    # 指标分析
    "/indicators": VIEWERS,
    "/analysis": VIEWERS,                      # 自助分析
    "/topic/": VIEWERS,                        # 专题
    "/referrals": VIEWERS,                     # 双向转诊
    "/alerts": VIEWERS,                        # 预警中心
    "/quality": VIEWERS | {OPERATOR},          # 数据质量
    "/exchange": frozenset({OPERATOR, ADMIN}),  # 数据交换监测 (admin: node map settings)
    "/admin/users": frozenset({ADMIN}),        # 系统管理
    "/admin/alerts": frozenset({ADMIN}),       # 预警规则与通知渠道 (三权分立: leaders do not edit rules)
    "/admin/logs": frozenset({AUDITOR}),       # 审计日志
    "/reports": VIEWERS,                       # 报表中心
    "/screen": frozenset({LEADER, SCREEN}),    # 指挥中心大屏
    "/assessment": VIEWERS,                    # 综合评价 (ranking: aggregates; breakdown: own institutions)
    "/admin/assessment": frozenset({ADMIN}),   # 综合评价权重 (admin, audited)
}

# Callback module (last dotted part, matched as a prefix) → roles allowed to call its callbacks.
# ``shell`` serves every logged-in role; Dash's own router is checked by the page path it is asked for.
CALLBACK_MODULE_ROLES: dict[str, frozenset[str]] = {
    "shell": ALL,
    "home": VIEWERS, "cockpit": VIEWERS, "indicator": VIEWERS, "topic": VIEWERS, "map": VIEWERS,
    "referral": VIEWERS, "quality": VIEWERS | {OPERATOR}, "alerts": VIEWERS,
    "exchange": frozenset({OPERATOR, ADMIN}),
    # the two acts of /exchange, narrowed by module: re-run (operator), node map settings (admin)
    "exchange_rerun": frozenset({OPERATOR}), "exchange_settings": frozenset({ADMIN}),
    # dashboard/callbacks/admin.py holds both admin pages; each callback narrows to ADMIN or AUDITOR itself.
    "admin": frozenset({ADMIN, AUDITOR}),
    "admin_users": frozenset({ADMIN}), "admin_logs": frozenset({AUDITOR}), "admin_devices": frozenset({ADMIN}),
    "admin_alerts": frozenset({ADMIN}),       # dashboard/callbacks/admin_alerts.py: 预警规则 /admin/alerts
    "reports": VIEWERS,
    "catalogue": VIEWERS,                     # dashboard/callbacks/catalogue.py: 指标目录 /indicators
    "analysis": VIEWERS,                      # dashboard/callbacks/analysis.py: 自助分析 /analysis
    "screen": frozenset({LEADER, SCREEN}),     # dashboard/callbacks/screen.py: the wall's panels
    "assessment": VIEWERS,                    # dashboard/callbacks/assessment.py: 综合评价 /assessment
    "assessment_weights": frozenset({ADMIN}),  # dashboard/callbacks/assessment_weights.py: its weights (admin)
}

# Dash-internal modules whose callbacks are gated elsewhere (the page router: by the requested path).
DASH_INTERNAL_MODULES = ("dash.",)


def normalize_path(path: str) -> str:
    """The page a path names, as the router resolves it: no query or fragment, percent-decoded, backslashes as
    slashes, repeated slashes and ``.``/``..`` segments collapsed (``//admin/users`` → ``/admin/users``), so the
    role check and the page router never disagree about which page is asked for."""
    import posixpath
    from urllib.parse import unquote
    raw = unquote(str(path or "/").split("?", 1)[0].split("#", 1)[0]).replace("\\", "/")
    trailing = raw.endswith("/") and raw.strip("/") != ""
    norm = posixpath.normpath("/" + raw.lstrip("/"))
    norm = "/" + norm.lstrip("/")
    return norm + "/" if trailing and norm != "/" else norm


def roles_for_path(path: str) -> frozenset[str] | None:
    """Roles that may open ``path``; None when the path is not a gated page (e.g. Dash's 404 page)."""
    path = normalize_path(path)
    if path != "/" and path.endswith("/") and path not in PAGE_ROLES:
        path = path.rstrip("/")
    if path in PAGE_ROLES:
        return PAGE_ROLES[path]
    best: str | None = None
    for key in PAGE_ROLES:
        if key.endswith("/") and key != "/" and path.startswith(key):
            if best is None or len(key) > len(best):
                best = key
        elif key != "/" and path.startswith(key + "/"):
            if best is None or len(key) > len(best):
                best = key
    return PAGE_ROLES[best] if best else None


def may_open(role: str | None, path: str) -> bool:
    """True when ``role`` may open page ``path``; unknown paths (Dash 404) are open to every logged-in role."""
    if role not in ROLES:
        return False
    roles = roles_for_path(path)
    return True if roles is None else role in roles


def roles_for_callback_module(module: str) -> frozenset[str]:
    """Roles that may call callbacks defined in ``module`` (deny by default: unknown → nobody)."""
    last = module.rsplit(".", 1)[-1]
    best: str | None = None
    for key in CALLBACK_MODULE_ROLES:
        if last.startswith(key) and (best is None or len(key) > len(best)):
            best = key
    return CALLBACK_MODULE_ROLES[best] if best else frozenset()
