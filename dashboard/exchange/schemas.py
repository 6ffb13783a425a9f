"""Request bodies of the exchange-node API and of the node settings form, validated with pydantic.

Times are ISO 8601; aware times are converted to naive local time; a time before 2000 or more than one day in
the future is refused (a node with a broken clock must not poison the history).
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dashboard.county_clock import county_now, to_county
from dashboard.exchange.models import JOB_CODES

MAX_MESSAGE = 4000
MAX_LOG_LINES = 1000
MAX_LOG_SEQ = 10**9
MAX_ROWS = 10**11
EARLIEST = dt.datetime(2000, 1, 1)
RUN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$"


def to_local_naive(value: dt.datetime) -> dt.datetime:
    """Aware → naive county wall time (MART_TIMEZONE); naive stays as it is (taken as county time)."""
    return to_county(value)


def _sane_time(value: dt.datetime) -> dt.datetime:
    value = to_local_naive(value)
    if value < EARLIEST:
        raise ValueError("time before 2000-01-01")
    if value > county_now() + dt.timedelta(days=1):
        raise ValueError("time more than one day in the future")
    return value


Timestamp = Annotated[dt.datetime, AfterValidator(_sane_time)]
RowCount = Annotated[int, Field(ge=0, le=MAX_ROWS, strict=True)]
Percent = Annotated[float, Field(ge=0, le=100, strict=True)]   # "cpu": "10" is refused


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class HeartbeatIn(_Body):
    ts: Timestamp
    version: str | None = Field(default=None, max_length=32)
    cpu: Percent | None = None
    mem: Percent | None = None
    disk: Percent | None = None
    backlog: RowCount | None = None


class RunIn(_Body):
    run_id: str = Field(pattern=RUN_ID_PATTERN)
    job_code: Literal[JOB_CODES]  # type: ignore[valid-type]
    started_at: Timestamp
    status: Literal["running", "success", "failed"]
    finished_at: Timestamp | None = None
    rows_extracted: RowCount | None = None
    rows_loaded: RowCount | None = None
    rows_rejected: RowCount | None = None
    error: str | None = Field(default=None, max_length=MAX_MESSAGE)

    @model_validator(mode="after")
    def _consistent(self) -> RunIn:
        if self.status != "running" and self.finished_at is None:
            raise _field_error("finished_at", "required when status is success or failed")
        if self.status == "running" and self.finished_at is not None:
            raise _field_error("finished_at", "must be empty while the run is running")
        if self.finished_at is not None and self.finished_at < self.started_at:
            raise _field_error("finished_at", "before started_at")
        if self.rows_extracted is not None:
            for name in ("rows_loaded", "rows_rejected"):
                value = getattr(self, name)
                if value is not None and value > self.rows_extracted:
                    raise _field_error(name, "greater than rows_extracted")
        return self


class LogLineIn(_Body):
    """One log line. ``seq`` (optional) is the node's line number within the run: a line whose seq the run
    already has is skipped, so a node may resend a POST after a timeout without storing its lines twice."""
    ts: Timestamp
    level: Literal["DEBUG", "INFO", "WARN", "WARNING", "ERROR"]
    message: str = Field(min_length=1, max_length=MAX_MESSAGE)
    seq: Annotated[int, Field(ge=0, le=MAX_LOG_SEQ, strict=True)] | None = None

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class LogsIn(BaseModel):
    logs: list[LogLineIn] = Field(min_length=1, max_length=MAX_LOG_LINES)


class AckIn(_Body):
    state: Literal["picked", "done", "failed"]
    run_id: str | None = Field(default=None, pattern=RUN_ID_PATTERN)
    message: str | None = Field(default=None, max_length=MAX_MESSAGE)


class NodeSettingsIn(_Body):
    """Map settings of a node (admin form)."""
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    zoom: int | None = Field(default=None, ge=1, le=20)
    city: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=300)


class FieldError(ValueError):
    """A cross-field check that names its field (pydantic would report it on the whole model)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _field_error(field: str, message: str) -> ValueError:
    return FieldError(field, message)


def field_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    """pydantic errors as ``[{"field": "a.b", "message": "..."}]`` (cross-field errors keep their field)."""
    out = []
    for err in exc.errors(include_url=False):
        ctx_err = (err.get("ctx") or {}).get("error")
        loc = [str(p) for p in err.get("loc", ())]
        if isinstance(ctx_err, FieldError):
            loc = loc + [ctx_err.field]
            message = ctx_err.message
        else:
            message = err.get("msg", "invalid")
            if message.startswith("Value error, "):
                message = message[len("Value error, "):]
        field = ".".join(loc) or "body"
        out.append({"field": prefix + field if field != "body" else field, "message": message})
    return out
