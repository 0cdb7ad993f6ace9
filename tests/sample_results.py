"""Hand-made result tables with the documented columns, for fast API / dashboard / report tests."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

CHANNELS = ["paid_search", "paid_social", "email", "events", "webinar", "organic"]
MODELS = ["first_touch", "last_touch", "linear", "markov", "shapley"]


def sample_tables(n_leads: int = 2000, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Every result table the run stores, small and plausible (no model is fitted)."""
    rng = np.random.default_rng(seed)
    share = rng.dirichlet(np.ones(len(CHANNELS)), size=len(MODELS))
    attribution = pd.DataFrame(
        [
            {"model": m, "by": "channel", "key": c, "conversions": 120 * share[i, j], "revenue": 2e6 * share[i, j],
             "share": share[i, j], "ci_low": share[i, j] * 0.8, "ci_high": min(1.0, share[i, j] * 1.2)}
            for i, m in enumerate(MODELS)
            for j, c in enumerate(CHANNELS)
        ]
    )  # fmt: skip
    value = rng.lognormal(8, 1, n_leads)
    effort = rng.uniform(1, 20, n_leads)
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{i:05d}" for i in range(n_leads)],
            "account_id": [f"A{i % 300:04d}" for i in range(n_leads)],
            "p_opportunity": rng.uniform(0.05, 0.6, n_leads),
            "p_win": rng.uniform(0.01, 0.4, n_leads),
            "expected_amount": rng.uniform(5e3, 8e4, n_leads),
            "value": value,
            "value_low": value * 0.6,
            "value_high": value * 1.5,
            "effort_hours": effort,
            "value_per_hour": value / effort,
            "reasons": [
                json.dumps(["large account (500+ employees)", f"{i % 7} webinar visits"])
                for i in range(n_leads)
            ],
            "model": "lightgbm",
        }
    )
    reps = pd.DataFrame(
        {
            "rep_id": [f"R{i:02d}" for i in range(20)],
            "team": ["AE"] * 12 + ["SDR"] * 8,
            "leads": rng.integers(20, 200, 20),
            "wins": rng.integers(2, 40, 20),
            "expected_wins": rng.uniform(5, 30, 20),
            "ability": rng.normal(0, 0.1, 20),
        }
    )
    reps["ci_low"], reps["ci_high"] = reps["ability"] - 0.08, reps["ability"] + 0.08
    contribution = pd.DataFrame(
        {
            "unit": ["team", "team", "team", *["channel"] * 3],
            "key": ["marketing", "sdr", "ae", "paid_search", "events", "email"],
            "estimate": [9e5, 4e5, 1.3e6, 3e5, 2e5, 1e5],
            "level": 0.9,
            "method": ["not_identified", "panel_dml", "assumption", *["mix"] * 3],
            "n_units": 3000,
            "n_exposed": [2000, 1500, 900, 800, 300, 1200],
            "assumptions": "no unmeasured confounding given firmographics",
            "sensitivity": "robust to confounding of 10% partial R2",
            "overlap_warning": [False, False, True, False, False, False],
            "identified": [False, True, False, True, True, True],
            "period": "all history 2025-01-01..2025-12-31",
            "strategies": '[{"name": "panel_dml", "estimate": 4e5, "ci_low": 2.8e5, "ci_high": 5.2e5, '
            '"identified": true, "reason": "entries into outbound sequences"}]',
        }
    )
    contribution["ci_low"], contribution["ci_high"] = (
        contribution["estimate"] * 0.7,
        contribution["estimate"] * 1.3,
    )
    scorecard = pd.DataFrame(
        {
            "kpi": ["bookings", "pipeline_created", "never_contacted_share", "incremental_marketing"],
            "label": [
                "Bookings",
                "Pipeline created",
                "Leads never contacted",
                "Incremental revenue: marketing",
            ],
            "value": [3.2e6, 9.1e6, 0.36, 9e5],
            "unit": ["USD", "USD", "share", "USD"],
            "ci_low": [np.nan, np.nan, np.nan, 6.3e5],
            "ci_high": [np.nan, np.nan, np.nan, 1.17e6],
            "period": "2026-Q3",
            "previous_value": [2.9e6, 8.0e6, 0.31, 8e5],
            "change": [3e5, 1.1e6, 0.05, 1e5],
            "definition": [
                "sum of won amounts",
                "amount of opportunities created",
                "no activity",
                "DoubleML",
            ],
            "source": ["opportunities", "opportunities", "leads, activities", "result_contribution"],
        }
    )
    funnel = pd.DataFrame(
        {"stage": ["lead", "MQL", "SAL", "SQL", "opportunity", "won"], "entered": [5000, 2100, 1500, 900, 600, 180],
         "rate": [0.42, 0.71, 0.6, 0.67, 0.3, np.nan], "median_days": [3.0, 1.5, 4.0, 9.0, 40.0, np.nan]}
    )  # fmt: skip
    sla = pd.DataFrame(
        {"sla": ["first_contact", "mql_decision", "rejection_reason"], "compliance": [0.64, 0.81, 0.93],
         "ci_low": [0.61, 0.78, 0.9], "ci_high": [0.67, 0.84, 0.96], "breaches": [1800, 400, 30]}
    )  # fmt: skip
    breaches = pd.DataFrame({"sla": "first_contact_hours", "entity": "lead",
                             "entity_id": [f"L{i:05d}" for i in range(300)], "hours": rng.uniform(24, 200, 300)})  # fmt: skip
    stuck = pd.DataFrame({"opportunity_id": [f"O{i:04d}" for i in range(40)], "stage": "proposal",
                          "days_idle": rng.uniform(30, 90, 40), "amount": rng.uniform(1e4, 9e4, 40)})  # fmt: skip
    economics = pd.DataFrame(
        {"dimension": "channel", "key": CHANNELS, "spend": rng.uniform(1e4, 2e5, 6),
         "sales_cost": rng.uniform(5e3, 5e4, 6), "revenue": rng.uniform(1e5, 9e5, 6)}
    )  # fmt: skip
    economics["cost"] = economics["spend"] + economics["sales_cost"]
    economics["roi_attributed"] = economics["revenue"] / economics["cost"] - 1
    economics["roi_sourced"] = economics["roi_attributed"] * 0.7
    economics["roi_incremental"] = economics["roi_attributed"] * 0.5
    economics["roi_incremental_ci_low"] = economics["roi_incremental"] - 0.5
    economics["roi_incremental_ci_high"] = economics["roi_incremental"] + 0.5
    prospecting = pd.DataFrame(
        {"program": ["cold_call", "referral", "event", "marketing"], "revenue_per_rep_hour": [120.0, 900.0, 400.0, 650.0],
         "ci_low": [80.0, 600.0, 250.0, 500.0], "ci_high": [160.0, 1200.0, 550.0, 800.0]}
    )  # fmt: skip
    prospecting_verdict = pd.DataFrame(
        {"program": ["cold_call", "marketing"], "revenue_per_rep_hour": [3172.0, 8546.0],
         "per_hour_ci_low": [2230.0, 7283.0], "per_hour_ci_high": [4298.0, 9753.0],
         "revenue_per_dollar": [54.4, 6.3], "per_dollar_ci_low": [38.6, 5.2], "per_dollar_ci_high": [73.0, 7.4]}
    )  # fmt: skip
    validation = pd.DataFrame(
        {"model": ["scoring:lightgbm", "scoring:lightgbm", "contribution:marketing", "reps:ability"],
         "check": ["cross_validation", "cross_validation", "simulator_truth", "simulator_truth"],
         "metric": ["roc_auc", "brier", "incremental_revenue", "spearman(ability, true_skill)"],
         "value": [0.86, 0.11, 9e5, 0.7], "reference": [0.84, np.nan, 8.7e5, 0.5],
         "passed": pd.array([True, pd.NA, True, True], dtype="boolean"),
         "source": ["5-fold CV", "5-fold CV", "simulator replay", "simulated reps"]}
    )  # fmt: skip
    run_log = pd.DataFrame(
        {"area": ["funnel", "attribution"], "status": ["ok", "ok"], "tables": ["funnel,sla", "attribution"],
         "rows": [10, 30], "seconds": [0.5, 1.2], "message": ["", ""]}
    )  # fmt: skip
    n_queued = min(60, n_leads)
    queue = leads.head(n_queued).assign(
        rep_id=[f"R{12 + i % 8:02d}" for i in range(n_queued)], urgent=[i % 9 == 0 for i in range(n_queued)],
        sla_due_at=pd.NaT, fits_capacity=[i < 16 for i in range(n_queued)], assigned=True,
    ).sort_values(["rep_id", "urgent", "value_per_hour"], ascending=[True, False, False])  # fmt: skip
    queue["rank"] = queue.groupby("rep_id").cumcount() + 1
    queue = queue[["rep_id", "lead_id", "account_id", "rank", "p_win", "value", "effort_hours", "value_per_hour",
                   "sla_due_at", "urgent", "fits_capacity", "assigned"]]  # fmt: skip
    diagnosis = pd.DataFrame(
        [
            {
                "period": "2026Q1",
                "previous_period": "2025Q4",
                "as_of": "2026-04-01T00:00:00",
                "primary_cause": "sales capacity",
                "bookings": 2.6e6,
                "previous_bookings": 3.2e6,
            }
        ]
    )
    evidence = pd.DataFrame({
        "factor": ["lead_volume", "lead_quality", "coverage", "conversion", "deal_size", "bookings"],
        "cause": ["lead generation", "lead generation", "sales capacity", "sales execution", "deal size", ""],
        "description": ["leads", "quality", "contacted", "conversion", "size", "bookings"],
        "previous": [900, 0.12, 0.8, 1.2, 50e3, 3.2e6], "current": [910, 0.12, 0.62, 1.2, 50e3, 2.6e6],
        "change": [0.01, 0.0, -0.22, 0.0, 0.0, -0.19], "effect": [3e4, 0.0, -6.3e5, 0.0, 0.0, -6e5],
        "ci_low": [-1e5, -5e4, -8e5, -1e5, -1e5, -9e5], "ci_high": [1.5e5, 5e4, -4e5, 1e5, 1e5, -3e5],
    })  # fmt: skip
    recommendations = pd.DataFrame({
        "rank": [1, 2], "action": ["work the 310 never-contacted leads of the period", "answer leads within the SLA"],
        "cause": ["sales capacity", "sales capacity"], "effect": [1.3e6, 4e5], "ci_low": [9e5, 2e5],
        "ci_high": [1.7e6, 6e5], "detail": ["310 leads never contacted", "odds fall with each day"],
    })  # fmt: skip
    note_themes = pd.DataFrame({
        "theme": ["pricing / discount / price", "champion / pushing / internally", "closed won / contract / signed"],
        "theme_id": [0, 1, 2], "top_terms": ["pricing, discount", "champion, pushing", "closed won, contract"],
        "n_notes": [120, 90, 40], "n_deals": [80, 70, 40], "share_deals": [0.3, 0.25, 0.15],
        "win_rate": [0.25, 0.5, 1.0], "win_rate_without": [0.4, 0.33, 0.2], "lift": [0.62, 1.5, 5.0],
        "ci_low": [0.45, 1.2, 3.5], "ci_high": [0.85, 1.9, 7.1], "stage": ["demo", "discovery", "closed_won"],
        "share_at_close": [0.0, 0.0, 1.0], "sentiment": [-0.2, 0.4, 0.8], "examples": ["Pricing: too high", "", ""],
    })  # fmt: skip
    return {
        "note_themes": note_themes,
        "note_signals": pd.DataFrame({"model": ["with_notes", "without_notes"], "metric": "roc_auc",
                                      "mean": [0.78, 0.7], "std": [0.03, 0.04], "n_deals": 300, "as_of_days": 14.0}),
        "diagnosis": diagnosis,
        "diagnosis_evidence": evidence,
        "diagnosis_recommendations": recommendations,
        "queue": queue,
        "scorecard": scorecard, "funnel": funnel, "funnel_breakdown": funnel.assign(by="all"), "sla": sla,
        "sla_breaches": breaches, "stuck_pipeline": stuck, "attribution": attribution,
        "attribution_sourced": pd.DataFrame({"team": ["marketing", "sdr"], "sourced_revenue": [1.2e6, 8e5]}),
        "contribution": contribution, "contribution_reconciliation": pd.DataFrame({"total": [3.2e6]}),
        "experiment": pd.DataFrame({"experiment_id": ["E1"], "lift": [0.04], "ci_low": [-0.01], "ci_high": [0.09]}), "leads": leads, "reps": reps, "economics": economics,
        "prospecting": prospecting, "prospecting_verdict": prospecting_verdict, "validation": validation, "run_log": run_log,
        "speed_to_lead": pd.DataFrame({"source_team": ["all"], "leads": [5000], "never_contacted_share": [0.36],
                                       "median_hours": [30.5]}),
        "inputs": pd.DataFrame({"table": ["accounts", "leads"], "rows": [300, n_leads]}),
        "forecast": pd.DataFrame({"rep_id": ["R1", "R2", "all"], "period": ["2026-Q1"] * 3,
                                  "booked_to_date": [1e5, 2e5, 3e5], "p10": [1.2e5, 2.1e5, 3.5e5],
                                  "p50": [1.5e5, 2.5e5, 4.0e5], "p90": [1.9e5, 3.0e5, 4.7e5],
                                  "mean": [1.52e5, 2.52e5, 4.04e5], "commit": [1.8e5, 2.2e5, 4.0e5],
                                  "commit_gap": [3e4, -3e4, 0.0], "commit_percentile": [0.8, 0.3, 0.5]}),
    }  # fmt: skip
