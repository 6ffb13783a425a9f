"""Component ids and option lists of 报表中心 /reports (shared by the page and its callbacks)."""

PREFIX = "rep-"
READY, MONTH, ORG, FORMAT, GENERATE, JOB, POLL, PROGRESS, LIST = (
    f"{PREFIX}{n}" for n in ("ready", "month", "org", "format", "generate", "job", "poll", "progress", "list"))
C_INDICATORS, C_LEVEL, C_GRAIN, C_START, C_END, C_ORGS = (
    f"{PREFIX}c-{n}" for n in ("indicators", "level", "grain", "start", "end", "orgs"))
C_PREVIEW, C_EXPORT, C_DOWNLOAD, C_GRID, C_MESSAGE = (
    f"{PREFIX}c-{n}" for n in ("preview", "export", "download", "grid", "message"))
T_NAME, T_SAVE, T_PICK, T_MESSAGE = (f"{PREFIX}t-{n}" for n in ("name", "save", "pick", "message"))

FORMAT_OPTIONS = [{"label": "Word", "value": "docx"}, {"label": "PDF", "value": "pdf"},
                  {"label": "网页", "value": "html"}]
LEVEL_OPTIONS = [{"label": "全县", "value": "county"}, {"label": "乡镇", "value": "township"},
                 {"label": "机构", "value": "institution"}]
GRAIN_OPTIONS = [{"label": "月", "value": "month"}, {"label": "季", "value": "quarter"},
                 {"label": "年", "value": "year"}]
