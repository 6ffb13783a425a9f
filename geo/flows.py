"""Referral flows between townships for the county view of 医改动态监测 (issue 14).

Every county hospital stands in the county seat: drawn institution by institution, 20–40 lines converge on one
spot and hide its name and the hospitals. The county view therefore draws one line per township pair and
direction (summed volume, width by volume); the institution lines come back when a township or an institution
is chosen.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

FLOW_COLUMNS = ["direction", "from_inst_code", "to_inst_code", "referrals"]


def township_flows(flows: pd.DataFrame, town_of: Mapping[str, str]) -> pd.DataFrame:
    """Institution flows summed by (direction, township of the sender, township of the receiver).

    ``flows``: direction, from_inst_code, to_inst_code, referrals. The result has the same columns, the two
    codes being township codes, plus ``pairs`` (how many institution pairs each line sums). Flows within one
    township, or with an end whose township is unknown, have no line between two townships and are left out.
    """
    if flows.empty:
        return pd.DataFrame(columns=[*FLOW_COLUMNS, "pairs"])
    df = flows.assign(from_town=flows["from_inst_code"].map(town_of), to_town=flows["to_inst_code"].map(town_of))
    df = df.dropna(subset=["from_town", "to_town"])
    df = df[df["from_town"] != df["to_town"]]
    out = (df.groupby(["direction", "from_town", "to_town"], as_index=False)
           .agg(referrals=("referrals", "sum"), pairs=("referrals", "size"))
           .rename(columns={"from_town": "from_inst_code", "to_town": "to_inst_code"}))
    out["referrals"] = out["referrals"].astype(int)
    return out.sort_values(["direction", "referrals", "from_inst_code", "to_inst_code"],
                           ascending=[True, False, True, True], ignore_index=True)


def member_flows(flows: pd.DataFrame, pairs: pd.DataFrame, town_of: Mapping[str, str]) -> pd.DataFrame:
    """The institution flows that the township ``pairs`` (as drawn) sum: their ends are the map's dots."""
    if flows.empty or pairs.empty:
        return flows.iloc[0:0]
    keep = set(zip(pairs["direction"], pairs["from_inst_code"], pairs["to_inst_code"]))
    hit = [(d, town_of.get(a), town_of.get(b)) in keep
           for d, a, b in zip(flows["direction"], flows["from_inst_code"], flows["to_inst_code"])]
    return flows[hit]


def township_ends(positions: Mapping[str, tuple[float, float]], volume: Mapping[str, float],
                  town_of: Mapping[str, str], hubs: Iterable[str]) -> dict[str, list[str]]:
    """Township code → the institutions drawn for it, busiest first: those of ``hubs`` (the county hospitals,
    centres and 卫生院, not villages) with referrals in ``volume``, or its busiest institution when it has none.
    Villages are summed into their township's lines but not drawn."""
    hubs = set(hubs)
    ranked = sorted(((c, n) for c, n in volume.items() if c in positions and town_of.get(c) is not None),
                    key=lambda kv: (-kv[1], kv[0]))
    out: dict[str, list[str]] = {}
    for code, _n in ranked:
        town = town_of[code]
        if town not in out:
            out[town] = [code]
        elif code in hubs:
            out[town].append(code)
    return out


def township_anchors(where: Mapping[str, tuple[float, float]], positions: Mapping[str, tuple[float, float]],
                     ends: Mapping[str, list[str]], radius: float = 0.03) -> dict[str, tuple[float, float]]:
    """Township code → where its lines meet: its busiest institution's dot as drawn (``where``: inst → display
    lon/lat), or, where other drawn institutions stand within ``radius`` degrees of it (the county seat's
    hospitals, spread on a ring), the centre of those dots."""
    out = {}
    for town, codes in ends.items():
        top = positions[codes[0]]
        near = [where[c] for c in codes if c in where
                and abs(positions[c][0] - top[0]) < radius and abs(positions[c][1] - top[1]) < radius]
        if near:
            out[town] = (round(sum(p[0] for p in near) / len(near), 5), round(sum(p[1] for p in near) / len(near), 5))
    return out
