"""Masking of personal identifiers (个人信息保护法): resident ID numbers and mobile phone numbers.

``110105199001011234`` → ``110105********1234``; ``13812345678`` → ``138****5678``.
"""
from __future__ import annotations

import re
from typing import Any

# 18-digit resident ID (last char may be X), not part of a longer digit run.
ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
# Mainland mobile numbers, optionally with +86 / 86 prefix, not part of a longer digit run.
PHONE_RE = re.compile(r"(?<!\d)((?:\+?86[- ]?)?1[3-9]\d)\d{4}(\d{4})(?!\d)")
# What an unmasked identifier looks like (used by tests to scan pages, exports and logs).
UNMASKED_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])|(?<!\d)1[3-9]\d{9}(?!\d)")


def mask_text(s: Any) -> Any:
    """Mask ID numbers and phone numbers in a string; non-strings are returned unchanged."""
    if not isinstance(s, str) or not s:
        return s
    s = ID_RE.sub(lambda m: f"{m.group(1)}********{m.group(2)}", s)
    return PHONE_RE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", s)


def mask_value(v: Any) -> Any:
    """Mask a value of any JSON-like type (strings inside lists and dicts too)."""
    if isinstance(v, str):
        return mask_text(v)
    if isinstance(v, dict):
        return {k: mask_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(mask_value(x) for x in v)
    return v


def mask_frame(df):  # noqa: ANN001, ANN201  (pandas DataFrame in, DataFrame out)
    """Copy of a DataFrame with every text column masked (for exports)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype).startswith("str"):
            out[col] = out[col].map(mask_text)
    return out


def has_unmasked(s: str) -> bool:
    """True when ``s`` still contains something that looks like an ID number or a mobile number."""
    return bool(UNMASKED_RE.search(s or ""))
