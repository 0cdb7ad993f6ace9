"""SDR outbound on an account x period panel: treatments fixed before the outcome, never counts it shapes.

A row is an account in a period (`[contribution] panel_period_days`, 14). The treatment is that the
account got SDR prospecting in the period (with `panel_lookback_days` > 0: that it ENTERED a sequence,
i.e. outbound after that many days without): decided when the period's first attempt is made, unlike
the number of outbound activities, which cadences shape (they repeat on silence and stop on
engagement). The outcome is the won revenue of opportunities created in the window after the period
starts (`panel_window_days`, 14); the controls are the account's state at the period's start only
(firmographics, age, prior and previous-period touches, leads, opportunities, outbound).
Why not "entering" with a 56-day window (the design before): accounts that SDRs keep picking stay in
outbound for many periods, and entering x window missed about half of the outbound-sourced revenue
(median estimate 0.46x the truth on 10 simulated worlds); "any outbound" with window = period counts
each period's work once (median 1.1x, 8 of 10 intervals cover, tests/contribution/test_simulator.py).
Three strategies, each with its own estimate and interval (`outbound_strategies`):

- `panel_dml`: DML IRM (ATT per entering account-period, folds and standard errors by account),
  total = ATT x entries; rests on no unmeasured confounding given the state at the period's start.
- `capacity_iv`: SDR capacity (rep-days with SDR work per period: weeks off, hires, leavers) moves the
  number of entries and not demand; 2SLS of the outcome on entering, instrumented by capacity, standard
  errors by period. Identified only when capacity varies (`capacity_min_variation`) and moves entries
  (first-stage F >= `capacity_min_f`).
- `holdout`: the account experiment `outbound_holdout_experiment` whose `holdout_arm` gets no outbound:
  difference in won revenue per account (`ExperimentAnalysis`) x accounts not held out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from fairshare.config import ContributionSettings
from fairshare.contribution.incremental import IncrementalEffect, TooFewUnits

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

PANEL_CONFOUNDERS = [
    "industry", "region", "log_employees", "log_annual_revenue", "age_days", "period",
    "prior_touches", "recent_touches", "prior_leads", "recent_leads", "prior_opportunities",
    "prior_outbound", "recent_outbound", "period_touches",
]  # fmt: skip


#: Columns of the panel `account_periods` builds (one row per account and period before the at-risk filter).
PANEL_COLUMNS = 19


def _period_index(expr, start: pd.Timestamp, days: int):
    seconds = float(pd.Timestamp(start).timestamp())
    return ((expr.epoch_seconds() - seconds) / (days * 86400.0)).floor().cast("int64")


def panel_events(ws: Workspace, period_days: int) -> dict:
    """Per-(account, period) counts from the warehouse: outbound, touches, leads, opportunities, won revenue.

    Also the won deals (for the heavy-tail check) and SDR rep-days worked per period (capacity).
    """
    from ibis import _

    from fairshare import warehouse
    from fairshare.contribution.exposures import CONVERSION_KIND, sdr_outbound_activities

    con = ws.con
    opps = ws.table("opportunities")
    touches = warehouse.touches_with_account(con).filter(
        _.account_id.notnull() & (_.kind.isnull() | (_.kind != CONVERSION_KIND))
    )
    leads = warehouse.leads_with_account(con).filter(_.account_id.notnull())
    outbound, sdr_acts = sdr_outbound_activities(ws)
    times = [touches.at.min(), leads.created_at.min(), opps.created_at.min(), outbound.at.min()]
    ends = [touches.at.max(), leads.created_at.max(), opps.created_at.max(), outbound.at.max()]
    start = min(pd.Timestamp(t) for t in (e.execute() for e in times) if t is not None and not pd.isna(t))
    end = max(pd.Timestamp(t) for t in (e.execute() for e in ends) if t is not None and not pd.isna(t))
    n_periods = int((end - start).days // period_days) + 1  # as account_periods lays the panel out
    rows = int(ws.table("accounts").count().execute()) * n_periods
    warehouse.check_feature_cells(
        "account-period panel", rows, PANEL_COLUMNS, ws.definitions.workspace.max_feature_cells
    )

    def counts(table, at: str, name: str, **extra):
        p = _period_index(table[at], start, period_days)
        return (
            table.mutate(period=p)
            .group_by(["account_id", "period"])
            .agg(**{name: _.count()}, **extra)
            .execute()
        )

    won = opps.filter(_.is_won.fill_null(False))
    return {
        "start": start,
        "end": end,
        "outbound": counts(outbound, "at", "outbound"),
        "touches": counts(touches, "at", "touches"),
        "leads": counts(leads, "created_at", "leads"),
        "opportunities": counts(opps, "created_at", "opportunities"),
        "won": counts(won, "created_at", "won_deals", won_revenue=_.amount.sum()),
        "deals": won.select("opportunity_id", "account_id", "amount", "created_at").execute(),
        "capacity": sdr_acts.mutate(
            period=_period_index(sdr_acts.at, start, period_days), day=_.at.truncate("D")
        )
        .group_by("period")
        .agg(rep_days=(_.rep_id.cast("string") + "|" + _.day.cast("string")).nunique())
        .execute(),
        "accounts": ws.table("accounts")
        .select("account_id", "industry", "region", "employees", "annual_revenue", "created_at")
        .execute(),
    }


def _dense(frame: pd.DataFrame, value: str, index: pd.Index, n_periods: int) -> np.ndarray:
    out = np.zeros((len(index), n_periods))
    if frame.empty:
        return out
    rows = index.get_indexer(frame["account_id"])
    cols = frame["period"].to_numpy(int)
    ok = (rows >= 0) & (cols >= 0) & (cols < n_periods)
    np.add.at(out, (rows[ok], cols[ok]), frame[value].to_numpy(float)[ok])
    return out


def _before(m: np.ndarray, periods: int | None = None) -> np.ndarray:
    """Sum over the `periods` periods before each period (all earlier periods when None)."""
    c = np.concatenate([np.zeros((m.shape[0], 1)), np.cumsum(m, axis=1)], axis=1)
    t = np.arange(m.shape[1])
    lo = np.zeros_like(t) if periods is None else np.maximum(t - periods, 0)
    return c[:, t] - c[:, lo]


def account_periods(events: dict, settings: ContributionSettings) -> pd.DataFrame:
    """The panel: account-periods at risk of entering a sequence, treatment, outcome and start-of-period state.

    At risk: no outbound in the lookback before the period. `entered`: outbound in the period. Outcome
    `won_revenue`: won amount of opportunities created in [period start, period start + window) (within the
    data). The won revenue of the period itself is never a control.
    """
    p_days = settings.panel_period_days
    n_periods = int((events["end"] - events["start"]).days // p_days) + 1
    window = max(1, round(settings.panel_window_days / p_days))
    lookback = int(np.ceil(settings.panel_lookback_days / p_days))
    acc = events["accounts"].drop_duplicates("account_id").reset_index(drop=True)
    index = pd.Index(acc["account_id"])
    out = _dense(events["outbound"], "outbound", index, n_periods)
    touches = _dense(events["touches"], "touches", index, n_periods)
    leads = _dense(events["leads"], "leads", index, n_periods)
    opps = _dense(events["opportunities"], "opportunities", index, n_periods)
    won = _dense(events["won"], "won_revenue", index, n_periods)
    after = np.concatenate([np.cumsum(won[:, ::-1], axis=1)[:, ::-1], np.zeros((len(index), 1))], axis=1)
    t = np.arange(n_periods)
    outcome = after[:, t] - after[:, np.minimum(t + window, n_periods)]
    recent_out = _before(out, lookback) if lookback else np.zeros_like(out)
    at_risk = recent_out == 0
    starts = events["start"] + pd.to_timedelta(t * p_days, unit="D")
    created = pd.to_datetime(acc["created_at"]).to_numpy("datetime64[ns]")
    age = (starts.to_numpy("datetime64[ns]")[None, :] - created[:, None]) / np.timedelta64(1, "D")
    i, j = np.nonzero(at_risk)
    panel = pd.DataFrame({
        "account_id": index.to_numpy()[i], "period": j, "period_start": starts[j],
        "entered": (out[i, j] > 0).astype(float), "won_revenue": outcome[i, j],
        "age_days": np.nan_to_num(age[i, j], nan=np.nan),
        "prior_touches": _before(touches)[i, j], "recent_touches": _before(touches, 1)[i, j],
        "prior_leads": _before(leads)[i, j], "recent_leads": _before(leads, lookback or 1)[i, j],
        "prior_opportunities": _before(opps)[i, j], "prior_outbound": _before(out)[i, j],
        "recent_outbound": _before(out, 1)[i, j],
        "period_touches": touches.sum(axis=0)[j],
    })  # fmt: skip
    firmo = acc.set_index("account_id")
    panel["industry"] = firmo["industry"].reindex(panel["account_id"]).to_numpy()
    panel["region"] = firmo["region"].reindex(panel["account_id"]).to_numpy()
    panel["log_employees"] = np.log1p(
        firmo["employees"].astype(float).reindex(panel["account_id"]).to_numpy()
    )
    panel["log_annual_revenue"] = np.log1p(
        firmo["annual_revenue"].astype(float).reindex(panel["account_id"]).to_numpy()
    )
    cap = events["capacity"].set_index("period")["rep_days"].reindex(range(n_periods)).fillna(0.0)
    panel["capacity"] = cap.to_numpy(float)[j]
    panel.attrs.update(n_periods=n_periods, window_periods=window, lookback_periods=lookback,
                       period_days=p_days, start=events["start"], end=events["end"],
                       capacity=tuple(cap.to_numpy(float).tolist()))  # fmt: skip
    return panel


def heavy_deals(deals: pd.DataFrame, share: float) -> tuple[float, list[str]]:
    """(total won revenue, warnings naming each deal that is at least `share` of it)."""
    total = float(deals["amount"].sum()) if len(deals) else 0.0
    if total <= 0:
        return total, []
    big = deals.loc[deals["amount"] >= share * total].sort_values("amount", ascending=False)
    return total, [
        f"deal {r.opportunity_id} (account {r.account_id}) is {r.amount / total:.0%} of all won revenue "
        f"({r.amount:,.0f}): outcomes are capped at the winsor percentile, so it cannot drive the estimate alone"
        for r in big.itertuples()
    ]


def winsorized(y: np.ndarray, percentile: float) -> tuple[np.ndarray, float]:
    """y capped at `percentile` of its positive values, and the cap."""
    positive = y[y > 0]
    if not positive.size or percentile >= 100:
        return y, float("inf")
    cap = float(np.percentile(positive, percentile))
    return np.minimum(y, cap), cap


def strategy(name: str, estimate, ci_low, ci_high, identified: bool, reason: str, **extra) -> dict:
    """One strategy of a unit: its own estimate and interval, whether it identifies the unit, and why."""
    return {"name": name, "estimate": _num(estimate), "ci_low": _num(ci_low), "ci_high": _num(ci_high),
            "identified": bool(identified), "reason": reason, **extra}  # fmt: skip


def _num(v) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def panel_dml(panel: pd.DataFrame, kw: dict, settings: ContributionSettings) -> dict:
    """DML IRM ATT per entering account-period on the panel; total = ATT x entries."""
    y, cap = winsorized(panel["won_revenue"].to_numpy(float), settings.winsor_percentile)
    d = panel["entered"].to_numpy(float)
    x = panel[[c for c in PANEL_CONFOUNDERS if c in panel and panel[c].notna().any()]]
    try:
        m = IncrementalEffect(method="irm_atte", **kw).fit(x, d, y, groups=panel["account_id"].to_numpy())
    except TooFewUnits as e:
        return strategy("panel_dml", None, None, None, False, f"not estimated: {e}")
    lookback = panel.attrs["lookback_periods"]
    treatment = (f"entered an outbound sequence (no outbound in the {lookback} period(s) before)" if lookback
                 else "SDR outbound in the period")  # fmt: skip
    reason = (f"account x {panel.attrs['period_days']}-day periods; treatment: {treatment}; outcome: won revenue of "
              f"opportunities created in the next {panel.attrs['window_periods']} period(s), capped at "
              f"{cap:,.0f}; controls: state at the period start; DML IRM ATT x {m.n_exposed_} entries, "
              f"standard errors by account; {m.sensitivity_}")  # fmt: skip
    if m.overlap_warning_:
        reason += f"; overlap: {m.overlap_warning_}"
    return strategy("panel_dml", m.total_, m.total_ci_low_, m.total_ci_high_, True, reason,
                    effect_per_unit=m.effect_, n_units=m.n_units_, n_exposed=m.n_exposed_,
                    robustness_value=m.robustness_value_)  # fmt: skip


def _residual(v: np.ndarray, w: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(w, v, rcond=None)
    return v - w @ coef


def capacity_iv(panel: pd.DataFrame, level: float, settings: ContributionSettings) -> dict:
    """2SLS of the window's won revenue on entering, instrumented by the period's SDR capacity.

    Controls: a linear period trend, the period's marketing touches and the account's start-of-period
    state; standard errors clustered by period (t with periods - 1 degrees of freedom). Identified when the
    capacity of the full periods has a coefficient of variation >= `capacity_min_variation` and the
    first-stage F >= `capacity_min_f`.
    """
    full = np.asarray(panel.attrs["capacity"], float)[: max(panel.attrs["n_periods"] - 1, 1)]
    cv = float(np.std(full) / np.mean(full)) if full.size and np.mean(full) > 0 else 0.0
    n_periods = int(panel["period"].nunique())
    if cv < settings.capacity_min_variation or n_periods < 4:
        return strategy("capacity_iv", None, None, None, False,
                        f"SDR capacity barely varies (coefficient of variation {cv:.2f} across periods, "
                        f"needs {settings.capacity_min_variation:g}): no capacity variation to use")  # fmt: skip
    y, _ = winsorized(panel["won_revenue"].to_numpy(float), settings.winsor_percentile)
    numeric = ["period", "period_touches", "log_employees", "log_annual_revenue", "prior_touches", "recent_touches",
               "prior_leads", "recent_leads", "prior_opportunities", "prior_outbound", "recent_outbound"]  # fmt: skip
    w = np.column_stack(
        [np.ones(len(panel)), panel[[c for c in numeric if c in panel]].fillna(0.0).to_numpy(float)]
    )
    z = _residual(panel["capacity"].to_numpy(float), w)
    d = _residual(panel["entered"].to_numpy(float), w)
    y = _residual(y, w)
    groups = panel["period"].to_numpy()
    zd, zz = float(z @ d), float(z @ z)
    pi = zd / zz
    se_pi = np.sqrt(np.sum(pd.Series(z * (d - pi * z)).groupby(groups).sum().to_numpy() ** 2)) / zz
    f_stat = float((pi / se_pi) ** 2) if se_pi > 0 else 0.0
    if f_stat < settings.capacity_min_f:
        return strategy("capacity_iv", None, None, None, False,
                        f"SDR capacity varies (CV {cv:.2f}) but barely moves sequence entries (first-stage F "
                        f"{f_stat:.1f} < {settings.capacity_min_f:g}): weak instrument")  # fmt: skip
    beta = float(z @ y) / zd
    se = np.sqrt(np.sum(pd.Series(z * (y - beta * d)).groupby(groups).sum().to_numpy() ** 2)) / abs(zd)
    n = float(panel["entered"].sum())
    crit = stats.t.ppf(0.5 + level / 2, n_periods - 1)
    return strategy("capacity_iv", beta * n, (beta - crit * se) * n, (beta + crit * se) * n, True,
                    f"SDR capacity (rep-days with SDR work per period, CV {cv:.2f}) instruments sequence entries "
                    f"(first-stage F {f_stat:.1f}); 2SLS effect per entry x {n:.0f} entries, standard errors by "
                    f"period ({n_periods}); assumes capacity changes (weeks off, hires, leavers) do not follow demand",
                    effect_per_unit=beta)  # fmt: skip


def holdout(ws: Workspace, experiment_id: str, level: float, settings: ContributionSettings, n_accounts: int,
            units: pd.DataFrame | None = None) -> dict | None:  # fmt: skip
    """Lift in won revenue per account of the accounts that got the work over the holdout arm of `experiment_id`,
    x accounts that got it (None when the workspace has no such experiment)."""
    from fairshare.contribution.experiments import ExperimentAnalysis, experiment_units

    units = experiment_units(ws) if units is None else units
    if units.empty:
        return None
    group = units.loc[(units["experiment_id"] == experiment_id) & (units["unit_type"] == "account")].copy()
    arm = settings.holdout_arm
    if group.empty or not group["arm"].eq(arm).any():
        return None
    group["arm"] = np.where(group["arm"].eq(arm), "control", "worked")
    counts = group["arm"].value_counts()
    if len(counts) < 2 or counts.min() < 10:
        return strategy("holdout", None, None, None, False,
                        f"experiment {experiment_id}: too few accounts per arm ({counts.to_dict()})")  # fmt: skip
    y, cap = winsorized(group["won_revenue"].to_numpy(float), settings.winsor_percentile)
    group["won_revenue"] = y
    covariates = ["pre_won_revenue"] if group["pre_won_revenue"].std() > 0 else []
    res = ExperimentAnalysis(covariates=covariates, level=level, outcome="won_revenue").fit(group).result_
    row = res.loc[res["arm"] == "worked"].iloc[0]
    reached = n_accounts - int(counts["control"])
    return strategy("holdout", row["estimate"] * reached, row["ci_low"] * reached, row["ci_high"] * reached, True,
                    f"randomized holdout {experiment_id}: {int(counts['control'])} accounts held out; lift in won "
                    f"revenue per account ({row['method']}) x {reached} accounts not held out; outcomes capped at "
                    f"{cap:,.0f}", effect_per_unit=float(row["estimate"]))  # fmt: skip


def outbound_strategies(
    ws: Workspace, kw: dict, settings: ContributionSettings, units: pd.DataFrame | None = None
) -> tuple[list[dict], dict]:
    """The SDR outbound strategies (panel DML, capacity IV, holdout) and the panel's facts.

    `units`: `experiment_units(ws)` when the caller has read it already."""
    events = panel_events(ws, settings.panel_period_days)
    total, warnings_ = heavy_deals(events["deals"], settings.large_deal_share)
    facts = {"won_revenue": total, "warnings": warnings_, "start": events["start"], "end": events["end"]}
    if events["outbound"].empty:
        return [], facts
    panel = account_periods(events, settings)
    level = kw.get("level", settings.level)
    found = [panel_dml(panel, kw, settings), capacity_iv(panel, level, settings)]
    experiment = holdout(
        ws, settings.outbound_holdout_experiment, level, settings, len(events["accounts"]), units
    )
    if experiment is not None:
        found.append(experiment)
    facts.update(n_rows=len(panel), n_entries=int(panel["entered"].sum()))
    return found, facts
