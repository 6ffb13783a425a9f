"""My cockpit's store (real app database): order kept, refusals in Chinese that change nothing, reset, audit."""
from __future__ import annotations

import pytest

from dashboard.accounts.cockpit_cards import CockpitCardsError, chosen_cards, save_cards
from dashboard.accounts.service import read_demo_accounts

ALLOWED = ["alos", "bed_occupancy", "op_antibiotic_rate"]
ACTOR = ("test:cockpit", "", "")


def test_order_kept_refusals_change_nothing_and_reset(app_cfg):
    from dashboard.accounts.logs import audit_log
    username = read_demo_accounts(app_cfg)["manager"][0]
    save_cards(app_cfg, username, ["op_antibiotic_rate", "alos"], ALLOWED)
    assert chosen_cards(app_cfg, username) == ["op_antibiotic_rate", "alos"]
    with pytest.raises(CockpitCardsError, match="不能选择的指标"):
        save_cards(app_cfg, username, ["alos", "no_such_indicator"], ALLOWED)
    assert chosen_cards(app_cfg, username) == ["op_antibiotic_rate", "alos"]
    with pytest.raises(CockpitCardsError, match="账号不存在"):
        save_cards(app_cfg, "nobody-here", ["alos"], ALLOWED)
    save_cards(app_cfg, username, ["alos", "alos", "bed_occupancy"], ALLOWED)     # duplicates once
    assert chosen_cards(app_cfg, username) == ["alos", "bed_occupancy"]
    save_cards(app_cfg, username, [], ALLOWED)
    assert chosen_cards(app_cfg, username) is None
    actions = list(audit_log(app_cfg, days=1)["action"].astype(str))
    assert any("驾驶舱" in a or a.startswith("cockpit.") for a in actions)
