"""The one masking function: property tests over ID-card and mobile formats (hypothesis), and display names."""
from __future__ import annotations

import datetime as dt
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from core.masking import has_unmasked, mask_text

FULL = str.maketrans({str(i): chr(0xFF10 + i) for i in range(10)})
# Text around the number: letters, CJK, punctuation, but no digits (the digits of the output are then exactly
# those the masking kept).
filler = st.lists(st.sampled_from(list("abcYZ :：，。_/()[]=#张三李四身份证号码电话") + ["idcard:", "ID", "tel:"]),
                  max_size=6).map("".join)
sep = st.sampled_from(["", "", " ", "-", "."])


@st.composite
def id_numbers(draw) -> tuple[str, str]:
    """(as written, the plain digits) of an 18- or 15-digit resident ID in the ways people write it; its birth
    date is a real date, as in every ID."""
    area = draw(st.text("0123456789", min_size=6, max_size=6))
    born = draw(st.dates(min_value=dt.date(1880, 1, 1), max_value=dt.date(2026, 12, 31)))
    if draw(st.booleans()):
        digits = (area + f"{born:%Y%m%d}" + draw(st.text("0123456789", min_size=3, max_size=3))
                  + draw(st.sampled_from(list("0123456789Xx"))))
        s = draw(sep)
        written = (digits[:6] + s + digits[6:14] + s + digits[14:] if draw(st.booleans())
                   else s.join([digits[:6], digits[6:10], digits[10:14], digits[14:]]))
    else:
        digits = area + f"{born:%y%m%d}" + draw(st.text("0123456789", min_size=3, max_size=3))
        s = draw(sep)
        written = s.join([digits[:6], digits[6:12], digits[12:]])
    if draw(st.booleans()):
        written = written.translate(FULL)
    return written, digits


@st.composite
def mobiles(draw) -> tuple[str, str]:
    digits = "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
    s = draw(sep)
    written = s.join([digits[:3], digits[3:7], digits[7:]])
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "86-", "0086 "]))
    if draw(st.booleans()):
        written = written.translate(FULL)
    return prefix + written, digits


def _kept_digits(text: str) -> str:
    return re.sub(r"[^0-9Xx]", "", text.translate(str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)})))


@settings(max_examples=400, deadline=None)
@given(filler, id_numbers(), filler)
def test_every_id_format_is_masked(before: str, number: tuple[str, str], after: str) -> None:
    written, digits = number
    out = mask_text(before + written + after)
    # the only digits left are the first six and the last four: birth date and sequence are gone
    assert _kept_digits(out).upper() == (digits[:6] + digits[-4:]).upper(), (written, out)
    assert "*" * (len(digits) - 10) in out
    assert out.startswith(before) and out.endswith(after)
    assert not has_unmasked(out)


@settings(max_examples=400, deadline=None)
@given(filler, mobiles(), filler)
def test_every_mobile_format_is_masked(before: str, number: tuple[str, str], after: str) -> None:
    written, digits = number
    out = mask_text(before + written + after)
    assert _kept_digits(out).endswith(digits[:3] + digits[-4:]), (written, out)
    assert digits[:3] + "****" + digits[-4:] in out, (written, out)
    assert out.startswith(before) and out.endswith(after)
    assert not has_unmasked(out)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Nd",)), max_size=40))
def test_text_without_digits_is_unchanged(text: str) -> None:
    assert mask_text(text) == text


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31)),
       st.text("0123456789abcdef", min_size=4, max_size=4))
def test_run_ids_of_nodes_are_not_taken_for_ids(when: dt.datetime, suffix: str) -> None:
    """A node's run id in the documented format (timestamp, then 4 hex digits) is no ID number, also when the hex
    digits are all decimal (``…-20261205143312-1234``: 14 digits, a hyphen, 4 digits once failed the page scan)."""
    run_id = f"EX-H001-HIS_OP-{when:%Y%m%d%H%M%S}-{suffix}"
    assert mask_text(run_id) == run_id and not has_unmasked(run_id)


def test_probe_formats() -> None:
    cases = {"ID110105199001011234": "ID110105********1234",
             "idcard:110105199001011234abc": "idcard:110105********1234abc",
             "138-1234-5678": "138****5678", "138 1234 5678": "138****5678",
             "110105900101123": "110105*****1123", "１３８１２３４５６７８": "138****5678",
             "+86 138 1234 5678": "+86 138****5678", "2026-01-05 13812345678": "2026-01-05 138****5678",
             "at 2026-01-05 10:00, 41 rows": "at 2026-01-05 10:00, 41 rows"}
    assert {k: mask_text(k) for k in cases} == cases


def test_display_names_are_masked_in_the_user_table(app_cfg) -> None:
    from dashboard.accounts.service import create_user, get_user_view, list_users
    create_user(app_cfg, "phone-in-name", "leader", "Qx7!masked-pw9", [], display_name="王医生 138-1234-5678",
                is_demo=True)
    shown = [u.display_name for u in list_users(app_cfg) if u.username == "phone-in-name"]
    assert shown == ["王医生 138****5678"]
    assert get_user_view(app_cfg, "phone-in-name").display_name == "王医生 138****5678"
