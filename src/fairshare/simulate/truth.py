"""The hidden truth of a simulated world: per-scenario outcomes, incremental revenue, per-lead/rep/account facts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairshare.simulate.commits import calendar_quarters
from fairshare.simulate.company import Company
from fairshare.simulate.config import SimulationConfig
from fairshare.simulate.marketing import Marketing
from fairshare.simulate.notes import notes_truth
from fairshare.simulate.sales import SOURCE_TEAM, Sales
from fairshare.simulate.scenarios import Scenario
from fairshare.simulate.tables import EXPERIMENT_ID, Ids, timestamps

SCENARIO_COLUMNS = [
    "scenario", "won_revenue", "won_deals", "expected_revenue", "pipeline", "n_opportunities", "n_leads",
    "n_marketing_leads", "n_sdr_leads", "n_partner_leads", "n_touches", "spend", "n_queued_leads",
    "never_contacted_share", "median_speed_to_lead_hours",
]  # fmt: skip
INCREMENTAL_COLUMNS = [
    "unit", "scenario", "factual_revenue", "counterfactual_revenue", "incremental_revenue",
    "factual_expected_revenue", "counterfactual_expected_revenue", "incremental_expected_revenue",
    "incremental_deals", "incremental_pipeline", "incremental_leads",
    "replicates", "mean_incremental_revenue", "mean_incremental_expected_revenue", "se_incremental_expected_revenue",
]  # fmt: skip

QUARTER_COLUMNS = [
    "unit", "scenario", "period", "factual_revenue", "counterfactual_revenue", "incremental_revenue",
    "factual_expected_revenue", "counterfactual_expected_revenue", "incremental_expected_revenue",
    "incremental_leads", "incremental_inbound_leads", "incremental_marketing_leads",
]  # fmt: skip


def never_contacted_share(cfg: SimulationConfig, sales: Sales) -> tuple[int, float]:
    """Leads that waited for a first contact (MQL / partner) and arrived early enough to be judged: n, share never contacted."""
    L = sales.lead
    judged = L["queued"] & (L["arrival"] <= cfg.days - cfg.max_wait_days - 1)
    n = int(judged.sum())
    return n, float(np.isnan(L["first"][judged]).mean()) if n else 0.0


def scenario_summary(cfg: SimulationConfig, scenario: Scenario, mk: Marketing, sales: Sales) -> dict:
    """One row of truth['scenarios']."""
    L, OP = sales.lead, sales.opp
    won = OP["won"]
    n_q, share = never_contacted_share(cfg, sales)
    speed = L["speed_days"][L["queued"] & ~np.isnan(L["first"])] * 24
    return {
        "scenario": scenario.name,
        "won_revenue": float(OP["amount"][won].sum()),
        "won_deals": int(won.sum()),
        "expected_revenue": float((L["p_opp"] * L["p_win_given_opp"] * L["amount"]).sum()),
        "pipeline": float(OP["amount"][OP["is_opp"]].sum()),
        "n_opportunities": int(OP["is_opp"].sum()),
        "n_leads": int(L["src"].size),
        "n_marketing_leads": int((L["src"] == 0).sum()),
        "n_sdr_leads": int((L["src"] == 1).sum()),
        "n_partner_leads": int((L["src"] == 2).sum()),
        "n_touches": int(mk.touch_time.size),
        "spend": float(sum(s.sum() for s in mk.spend.values())),
        "n_queued_leads": n_q,
        "never_contacted_share": share,
        "median_speed_to_lead_hours": float(np.median(speed)) if speed.size else float("nan"),
    }


def unit_of(scenario: Scenario) -> str:
    if not scenario.marketing:
        return "marketing"
    if scenario.channels_off:
        return "channel:" + next(iter(scenario.channels_off))
    if scenario.queue_without:
        return "queue_without:" + next(iter(scenario.queue_without))
    if not scenario.sdr:
        return "sdr"
    if not scenario.sdr_outbound:
        return "sdr_outbound"
    if not scenario.ae:
        return "ae"
    if not scenario.shocks:
        return "shocks"
    return scenario.name


def incremental(summaries: list[dict], scenarios: dict[str, Scenario]) -> pd.DataFrame:
    """factual − counterfactual for every non-factual scenario (same seed: common random numbers)."""
    by = {s["scenario"]: s for s in summaries}
    f = by["factual"]
    rows = []
    for s in summaries:
        if s["scenario"] == "factual":
            continue
        sc = scenarios[s["scenario"]]
        rows.append({
            "unit": unit_of(sc), "scenario": s["scenario"],
            "factual_revenue": f["won_revenue"], "counterfactual_revenue": s["won_revenue"],
            "incremental_revenue": f["won_revenue"] - s["won_revenue"],
            "factual_expected_revenue": f["expected_revenue"], "counterfactual_expected_revenue": s["expected_revenue"],
            "incremental_expected_revenue": f["expected_revenue"] - s["expected_revenue"],
            "incremental_deals": f["won_deals"] - s["won_deals"],
            "incremental_pipeline": f["pipeline"] - s["pipeline"],
            "incremental_leads": f["n_leads"] - s["n_leads"],
        })  # fmt: skip
    return pd.DataFrame(rows, columns=INCREMENTAL_COLUMNS[:11])


def world_truth(cfg: SimulationConfig, company: Company, mk: Marketing, sales: Sales,
                scenario: Scenario) -> dict[str, pd.DataFrame]:  # fmt: skip
    """Per-lead, per-rep, per-account, event-log and experiment truth of one scenario."""
    ids = Ids(cfg, company)
    start = cfg.start
    L, OP = sales.lead, sales.opp
    lead_ids = Ids.leads(L["account"], L["day"], L["src"])
    opp_ids = Ids.leads(L["account"], L["day"], L["src"], prefix="OP")
    order = np.argsort(L["created"], kind="stable")
    p_win = L["p_opp"] * L["p_win_given_opp"]
    leads = pd.DataFrame({
        "lead_id": lead_ids, "account_id": ids.account[L["account"]],
        "source_team": np.asarray(SOURCE_TEAM, dtype=object)[L["src"]],
        "true_p_contact": L["p_connect"], "true_p_accept": L["p_accept"], "true_p_sql": L["p_sql"],
        "true_p_opportunity": L["p_opp"], "true_p_win_given_opportunity": L["p_win_given_opp"],
        "true_p_win": p_win, "true_amount": L["amount"], "true_expected_value": p_win * L["amount"],
        "in_buying_window": L["need"].astype(bool), "true_interest": L["interest"],
        "hidden_fit": company.fit[L["account"]],
    }).iloc[order].reset_index(drop=True)  # fmt: skip
    judged = L["queued"] & (L["arrival"] <= cfg.days - cfg.max_wait_days - 1)
    decision = np.where(np.isnan(L["decision_at"]), "", np.where(L["accepted"], "SAL", "rejected"))
    handler = np.where(L["handler"] >= 0, ids.rep[np.maximum(L["handler"], 0)], None)
    events = pd.DataFrame({
        "lead_id": lead_ids, "account_id": ids.account[L["account"]],
        "source_team": np.asarray(SOURCE_TEAM, dtype=object)[L["src"]],
        "created_at": timestamps(start, L["created"]), "mql_at": timestamps(start, L["mql"]),
        "queued": L["queued"], "assigned_rep_id": handler,
        "first_contact_at": timestamps(start, L["first"]), "connected_at": timestamps(start, L["connected_at"]),
        "decision_at": timestamps(start, L["decision_at"]), "decision": decision,
        "sql_at": timestamps(start, L["sql_at"]),
        "never_contacted": judged & np.isnan(L["first"]),
        "waiting_at_end": L["queued"] & ~judged & np.isnan(L["first"]), "dropped_after_wait": L["expired"],
        "speed_to_lead_hours": L["speed_days"] * 24,
        "opportunity_id": np.where(OP["is_opp"], opp_ids, None),
        "opportunity_created_at": timestamps(start, OP["enter"][:, 0]),
        "discovery_at": timestamps(start, OP["disc"]),
        "closed_at": timestamps(start, OP["enter"][:, 4]), "won": OP["won"],
    }).iloc[order].reset_index(drop=True)  # fmt: skip
    n_rep = ids.rep.size
    is_ae = np.arange(n_rep) >= company.n_sdr
    cap = np.where(is_ae, cfg.ae_new_opportunities_per_day, cfg.sdr_leads_per_day) * scenario.capacity
    treated = np.concatenate([np.zeros(company.n_sdr, bool), sales.treated])
    reps = pd.DataFrame({
        "rep_id": ids.rep, "team": np.where(is_ae, "AE", "SDR"), "true_skill": company.rep_skill,
        "contact_rate": company.rep_contact_rate, "capacity_per_day": cap,
        "prospects_per_day": np.where(is_ae, 0.0, cfg.sdr_prospects_per_day * scenario.capacity),
        "hourly_cost": company.rep_hourly_cost, "forecast_bias": np.where(is_ae, company.rep_forecast_bias, np.nan), "treated": treated,
    })  # fmt: skip
    acc = {
        "account_id": ids.account, "fit_observed": company.fit_observed,
        "fit_hidden_noise": company.fit_hidden_noise, "hidden_fit": company.fit, "in_market": company.in_market,
        "window_start": timestamps(start, np.where(company.in_market, company.window_start, np.nan)),
        "window_end": timestamps(start, np.where(company.in_market, company.window_end, np.nan)),
    }  # fmt: skip
    for ci, c in enumerate(cfg.all_channels):
        acc[f"touches_{c}"] = np.bincount(mk.touch_account[mk.touch_channel == ci], minlength=company.n)
    acc["peak_interest"] = mk.interest.max(axis=0).astype(float)
    acc["won_revenue"] = np.bincount(
        L["account"][OP["won"]], weights=OP["amount"][OP["won"]], minlength=company.n
    )
    accounts = pd.DataFrame(acc)
    ae_opp = OP["is_opp"] & (OP["owner"] >= company.n_sdr)
    ate = (
        float((OP["p_win_treated"] - OP["p_win_untreated"])[ae_opp].mean()) if ae_opp.any() else float("nan")
    )
    experiment = pd.DataFrame([{
        "experiment_id": EXPERIMENT_ID if cfg.experiment else "", "unit_type": "rep", "team": "AE",
        "effect_logit": cfg.experiment_effect if cfg.experiment else 0.0,
        "true_ate_win_prob": ate if cfg.experiment else 0.0,
        "n_treated_reps": int(sales.treated.sum()), "n_control_reps": int((~sales.treated).sum()),
        "n_opportunities": int(ae_opp.sum()),
        "revenue_effect": float("nan"), "expected_revenue_effect": float("nan"),
    }])  # fmt: skip
    out = {"leads": leads, "events": events, "reps": reps, "accounts": accounts, "experiment": experiment}
    if sales.notes is not None:  # cfg.notes: each note's theme and sentiment, the AEs' hidden traits
        out.update(
            notes_truth(cfg, company, sales.notes, {"opp": opp_ids, "rep": ids.rep, "owner": OP["owner"]})
        )
    return out


def quarter_summary(cfg: SimulationConfig, sales: Sales) -> pd.DataFrame:
    """Per full calendar quarter: won revenue closed in it; expected revenue and leads of the leads created in it."""
    L, OP = sales.lead, sales.opp
    closed = OP["enter"][:, 4]
    value = L["p_opp"] * L["p_win_given_opp"] * L["amount"]
    inbound = (L["src"] == 0) | (
        L["src"] == 3
    )  # marketing-sourced and unassisted arrivals: all inbound demand
    rows = []
    for period, qs, qe in calendar_quarters(cfg.start, cfg.days):
        made = (L["created"] >= qs) & (L["created"] < qe)
        rows.append({
            "period": period, "won_revenue": float(OP["amount"][OP["won"] & (closed >= qs) & (closed < qe)].sum()),
            "expected_revenue": float(value[made].sum()), "n_leads": int(made.sum()),
            "n_inbound_leads": int((made & inbound).sum()), "n_marketing_leads": int((made & (L["src"] == 0)).sum()),
        })  # fmt: skip
    return pd.DataFrame(rows)


def incremental_quarters(quarters: dict[str, pd.DataFrame], scenarios: dict[str, Scenario]) -> pd.DataFrame:
    """factual − counterfactual per unit and quarter: revenue by close date, expected revenue and leads by creation."""
    f = quarters["factual"].set_index("period")
    frames = []
    for name, q in quarters.items():
        if name == "factual":
            continue
        c = q.set_index("period")
        frames.append(pd.DataFrame({
            "unit": unit_of(scenarios[name]), "scenario": name, "period": f.index,
            "factual_revenue": f.won_revenue, "counterfactual_revenue": c.won_revenue,
            "incremental_revenue": f.won_revenue - c.won_revenue,
            "factual_expected_revenue": f.expected_revenue, "counterfactual_expected_revenue": c.expected_revenue,
            "incremental_expected_revenue": f.expected_revenue - c.expected_revenue,
            "incremental_leads": f.n_leads - c.n_leads, "incremental_inbound_leads": f.n_inbound_leads - c.n_inbound_leads,
            "incremental_marketing_leads": f.n_marketing_leads - c.n_marketing_leads,
        }).reset_index(drop=True))  # fmt: skip
    if not frames:
        return pd.DataFrame(columns=QUARTER_COLUMNS)
    return pd.concat(frames, ignore_index=True)[QUARTER_COLUMNS]
