"""Masking of personal identifiers (个人信息保护法): resident ID numbers and mobile phone numbers.

The one masking function of the product (``mask_text``; ``mask_value``/``mask_frame`` apply it to structures and
tables). It runs where text comes in (exchange run errors, logs and command messages, audit rows, account display
names) and again where text is shown (log tables, user table, audit details), so a number stored before a format
was known is still masked on display.

Formats recognised, anywhere in a text (also glued to letters: ``ID110105…``, ``idcard:…abc``):

- resident ID: 18 digits (the last may be ``X``) or the old 15 digits, optionally with a space, hyphen or dot
  between the groups people write (6-8-4, 6-4-4-4, 15 digits as 6-6-3: ``110105 19900101 1234``,
  ``110105-1990-0101-123X``);
- mainland mobile: ``1[3-9]`` + 9 digits, optionally ``+86``/``86``/``0086`` before it and separators
  (``138-1234-5678``, ``138 1234 5678``, ``+86 138 1234 5678``);
- full-width digits and ``Ｘ`` (``１３８１２３４５６７８``) count as digits (they are normalised first).

``110105199001011234`` → ``110105********1234``; ``13812345678`` → ``138****5678``.
"""
from __future__ import annotations

import re
from typing import Any

_FULL_WIDTH = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)}, "Ｘ": "X", "ｘ": "x",
                             "\u3000": " ", "－": "-", "＋": "+"})
_SEP = r"[ \-.]?"      # one optional separator, only between the groups people write
# 18-digit ID (last may be X) as 6-8-4 or 6-4-4-4 groups, or the old 15-digit ID as 6-6-3; not inside a digit run
# nor the decimals of a number (63.926940639269404). The birth date inside must be a date (year 18xx–20xx or two
# digits, month 01–12, day 01–31), as in every real ID: a timestamp with a suffix (a node's run id
# ``20261205143312-1234``) is not an ID.
_MMDD = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
ID_RE = re.compile(rf"(?<!\d)(?<!\d\.)(\d{{6}}{_SEP}(?:(?:18|19|20)\d\d{_MMDD}|(?:18|19|20)\d\d{_SEP}{_MMDD})"
                   rf"{_SEP}\d{{3}}[\dXx]|\d{{6}}{_SEP}\d\d{_MMDD}{_SEP}\d{{3}})(?!\d)")
# Mainland mobile as 3-4-4 groups, optionally with a country prefix (+86, 0086, 86); not inside a digit run.
PHONE_RE = re.compile(rf"(?<![\d+])(?<!\d\.)((?:(?:\+|00)?86[ \-]?)?)(1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}})(?!\d)")

def _digits(s: str) -> str:
    return re.sub(r"[^\dXx]", "", s)


def _mask_id(m: re.Match) -> str:
    d = _digits(m.group(1))
    return f"{d[:6]}{'*' * (len(d) - 10)}{d[-4:]}"


def _mask_phone(m: re.Match) -> str:
    d = _digits(m.group(2))
    return f"{m.group(1)}{d[:3]}****{d[-4:]}"


def mask_text(s: Any) -> Any:
    """Mask ID numbers and mobile numbers in a string; non-strings are returned unchanged."""
    if not isinstance(s, str) or not s:
        return s
    if not any(c.isdigit() for c in s):
        return s
    s = s.translate(_FULL_WIDTH)
    s = ID_RE.sub(_mask_id, s)
    return PHONE_RE.sub(_mask_phone, s)


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
    s = (s or "").translate(_FULL_WIDTH)
    return bool(ID_RE.search(s) or PHONE_RE.search(s))
