"""Shocks: one change in the company's mechanism from a given date on, to test a diagnosis against truth.

Five shocks, each off unless its `at` date is set and its `size` is above 0 (docs/simulator.md, "Shocks"):

- `lead_quality`: a share `size` of the inbound leads created from `at` on come from poor-fit accounts (a bought
  list, a loose MQL rule): same volume, lower P(win) on what a model can see.
- `sdr_capacity`: SDRs work a share `size` fewer inbound leads per day from `at` on (leavers not replaced, time
  moved elsewhere); outbound prospecting is unchanged.
- `ae_skill`: the win logit of every opportunity opened from `at` on falls by `size` (AE skill, or a worse offer).
- `spend`: every paid/owned channel spends a share `size` less from `at` on (the budget replay mechanism).
- `deal_size`: opportunities opened from `at` on are a share `size` smaller.

The `shocks_off` scenario replays the same company (same dice) with every shock off, so the truth table
`shocks` can give each shock's $ effect per quarter: factual (shocked) minus the replay.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from fairshare.simulate.company import Company
from fairshare.simulate.config import Shock, Shocks, SimulationConfig
from fairshare.simulate.outbound import business_slots, contact_of
from fairshare.simulate.scenarios import Scenario
from fairshare.simulate.streams import Streams

__all__ = ["SHOCK_COLUMNS", "SHOCKS_OFF", "Shock", "Shocks"]  # the knobs live in config.py with the others

#: the replay of the same company without its shocks
SHOCKS_OFF = "shocks_off"
#: log-weight per unit of observed fit with which a poor-fit (lead_quality) account is drawn
POOR_FIT_SLOPE = 1.5
SHOCK_COLUMNS = [
    "shock", "at", "size", "period", "factual_revenue", "counterfactual_revenue", "effect",
    "factual_expected_revenue", "counterfactual_expected_revenue", "expected_effect",
]  # fmt: skip


def _day(cfg: SimulationConfig, shock: Shock) -> int:
    return (shock.at - cfg.start).days


def _on(cfg: SimulationConfig, scenario: Scenario, name: str) -> Shock | None:
    shock = cfg.shocks.active().get(name)
    return shock if shock is not None and scenario.shocks else None


def with_spend_cut(cfg: SimulationConfig, scenario: Scenario) -> Scenario:
    """`scenario` with the spend shock as budget changes of every paid/owned channel (unchanged when off)."""
    shock = _on(cfg, scenario, "spend")
    if shock is None:
        return scenario
    day = max(0, _day(cfg, shock))
    cut = tuple((c, 1.0 - min(shock.size, 1.0), day) for c in cfg.channels)
    return replace(scenario, budget=scenario.budget + cut)


def poor_fit_leads(cfg: SimulationConfig, company: Company, streams: Streams, scenario: Scenario,
                   lead: dict[str, np.ndarray], inbound: np.ndarray, key: tuple) -> None:  # fmt: skip
    """lead_quality: move a share of the inbound leads created from `at` on to poor-fit accounts (in place;
    new arrays, so the lead's dice, keyed before the move, stay the same in the replay)."""
    shock = _on(cfg, scenario, "lead_quality")
    if shock is None:
        return
    moved = inbound & (lead["created"] >= _day(cfg, shock))
    moved &= streams.uniform("shock_lead_quality", *key, slot=0) < shock.size
    w = np.exp(-POOR_FIT_SLOPE * company.fit_observed)
    cum = np.cumsum(w) / w.sum()
    pick = np.minimum(
        np.searchsorted(cum, streams.uniform("shock_lead_quality", *key, slot=1)), company.n - 1
    )
    account = np.where(moved, pick, lead["account"])
    while moved.any():  # a lead's id is (account, day, source): a move onto a taken id is not made
        ident = (account * 100_000 + lead["day"]) * 4 + lead["src"]
        _, first, counts = np.unique(ident, return_inverse=True, return_counts=True)
        clash = moved & (counts[first] > 1)
        if not clash.any():
            break
        moved &= ~clash
        account = np.where(moved, pick, lead["account"])
    lead["account"] = account
    lead["contact"] = np.where(
        moved,
        contact_of(company, account, streams.uniform("shock_lead_quality", *key, slot=2)),
        lead["contact"],
    )


def queue_slots(cfg: SimulationConfig, company: Company, scenario: Scenario, slots: np.ndarray,
                rate: float) -> np.ndarray:  # fmt: skip
    """sdr_capacity: the inbound queue's slots (reps × days) with the capacity lost from `at` on."""
    shock = _on(cfg, scenario, "sdr_capacity")
    if shock is None or not scenario.sdr:
        return slots
    day = max(0, _day(cfg, shock))
    reduced = business_slots(company.business_day, rate * max(0.0, 1.0 - shock.size))
    out = np.array(slots, copy=True)
    out[:, day:] = np.minimum(out[:, day:], reduced[None, day:])
    return out


def win_logit_drop(cfg: SimulationConfig, scenario: Scenario, opened: np.ndarray) -> np.ndarray | float:
    """ae_skill: what the win logit of each opportunity (opened at `opened`, NaN: none) loses."""
    shock = _on(cfg, scenario, "ae_skill")
    if shock is None:
        return 0.0
    return np.where(np.nan_to_num(opened, nan=-1.0) >= _day(cfg, shock), shock.size, 0.0)


def deal_size_factor(cfg: SimulationConfig, scenario: Scenario, opened: np.ndarray) -> np.ndarray | float:
    """deal_size: the factor on each opportunity's amount (opened at `opened`, NaN: none)."""
    shock = _on(cfg, scenario, "deal_size")
    if shock is None:
        return 1.0
    return np.where(np.nan_to_num(opened, nan=-1.0) >= _day(cfg, shock), 1.0 - min(shock.size, 0.99), 1.0)


def shock_truth(
    cfg: SimulationConfig, quarters: dict[str, pd.DataFrame], summaries: list[dict]
) -> pd.DataFrame:
    """Truth table `shocks`: per active shock, per full quarter and for the whole period ("all"), won revenue
    (by close date) and expected revenue (leads by creation) of the shocked company, of its replay without
    shocks, and the difference (the shock's $ effect; negative for a drop)."""
    active = cfg.shocks.active()
    if SHOCKS_OFF not in quarters or not active:
        return pd.DataFrame(columns=SHOCK_COLUMNS)
    f = quarters["factual"].set_index("period")
    c = quarters[SHOCKS_OFF].set_index("period")
    by = {s["scenario"]: s for s in summaries}
    whole = pd.DataFrame(
        {
            "won_revenue": [by["factual"]["won_revenue"]],
            "expected_revenue": [by["factual"]["expected_revenue"]],
        },
        index=["all"],
    )
    whole_c = pd.DataFrame({"won_revenue": [by[SHOCKS_OFF]["won_revenue"]],
                            "expected_revenue": [by[SHOCKS_OFF]["expected_revenue"]]}, index=["all"])  # fmt: skip
    f = pd.concat([f[["won_revenue", "expected_revenue"]], whole])
    c = pd.concat([c[["won_revenue", "expected_revenue"]], whole_c])
    rows = []
    for name, shock in active.items():
        for period in f.index:
            rows.append({
                "shock": name, "at": shock.at.isoformat(), "size": shock.size, "period": period,
                "factual_revenue": f.loc[period, "won_revenue"], "counterfactual_revenue": c.loc[period, "won_revenue"],
                "effect": f.loc[period, "won_revenue"] - c.loc[period, "won_revenue"],
                "factual_expected_revenue": f.loc[period, "expected_revenue"],
                "counterfactual_expected_revenue": c.loc[period, "expected_revenue"],
                "expected_effect": f.loc[period, "expected_revenue"] - c.loc[period, "expected_revenue"],
            })  # fmt: skip
    return pd.DataFrame(rows, columns=SHOCK_COLUMNS)
