"""Read a test client's response as a person would see its text: JSON is decoded, not searched in its spelling.

Dash may answer Chinese as ``\\uXXXX`` escapes (plotly/Dash without orjson) or as UTF-8; tests must not depend on
which, so every response body that is JSON is parsed and dumped again with ``ensure_ascii=False``."""
from __future__ import annotations

import json
from typing import Any


def body_text(resp: Any) -> str:
    """The body of a Flask test response (or a requests response) as text, with JSON decoded."""
    raw = resp.get_data(as_text=True) if hasattr(resp, "get_data") else resp.text
    ctype = resp.headers.get("Content-Type", "") or ""
    if "json" in ctype or raw[:1] in "{[":
        try:
            return json.dumps(json.loads(raw), ensure_ascii=False)
        except ValueError:
            return raw
    return raw
