"""Rep quality: activity, speed to lead, contact rate, SLA compliance, and closing ability net of lead quality.

Closing ability compares what a rep's leads did with what the lead model expected of the same leads
when they arrived (before any sales work; out-of-fold, see `fairshare.scoring.arrival_quality`):

- reps who own opportunities (AEs, AMs): their closed opportunities; expected win = P(win | opportunity)
  at arrival = p_win_at_arrival / p_opportunity_at_arrival;
- other reps (SDRs): the leads they worked first; expected win = p_win_at_arrival.

The raw gap per lead, d = (wins − expected wins) / leads, is shrunk toward the team mean by empirical
Bayes (normal–normal; between-rep variance by the method of moments): ability = μ + B (d − μ) with
B = τ² / (τ² + v), v = Σ p(1 − p) / n². The interval is ability ± z √(B v) (90% by default). Reps
with fewer than `min_leads` leads get no rank: they are not ranked on noise.

Columns of the `reps` table (stable): rep_id, team, leads, wins, expected_wins, win_rate, ability,
ci_low, ci_high, revenue, expected_revenue, revenue_above_expected, calls_per_day, emails_per_day,
meetings_per_day, hours, speed_to_lead_hours, contact_rate, sla_compliance, rank, note.

Without lead scores (no leads imported) an opportunity's expected win is the pooled observed win
rate of all closed opportunities; `note` says so for the reps concerned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis
import numpy as np
import pandas as pd
from ibis import _
from scipy.stats import norm

from fairshare import warehouse
from fairshare.scoring.features import CONNECTED_OUTCOMES

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

REP_COLUMNS = [
    "rep_id", "team", "leads", "wins", "expected_wins", "win_rate", "ability", "ci_low", "ci_high", "revenue",
    "expected_revenue", "revenue_above_expected", "calls_per_day", "emails_per_day", "meetings_per_day", "hours",
    "speed_to_lead_hours", "contact_rate", "sla_compliance", "rank", "note",
]  # fmt: skip
LEAD_QUALITY_COLUMNS = ["lead_id", "p_opportunity_at_arrival", "p_win_at_arrival", "expected_amount"]


def shrink(gap: np.ndarray, variance: np.ndarray, groups: np.ndarray, level: float = 0.9) -> pd.DataFrame:
    """Empirical-Bayes shrinkage of per-rep gaps toward their group's mean.

    Returns columns ability, ci_low, ci_high, weight (B: 1 = own data only, 0 = group mean only).
    """
    gap, variance, groups = np.asarray(gap, float), np.asarray(variance, float), np.asarray(groups)
    ability = np.full(gap.size, np.nan)
    sd = np.full(gap.size, np.nan)
    weight = np.full(gap.size, np.nan)
    for g in pd.unique(groups):
        in_group = groups == g
        m = in_group & np.isfinite(gap) & np.isfinite(variance)
        if not m.any():
            continue
        precision = 1.0 / np.maximum(variance[m], 1e-12)
        mu = float(np.sum(precision * gap[m]) / np.sum(precision))
        tau2 = max(0.0, float(np.var(gap[m], ddof=1)) - float(np.mean(variance[m]))) if m.sum() > 1 else 0.0
        b = tau2 / (tau2 + variance[m])
        ability[m] = mu + b * (gap[m] - mu)
        sd[m] = np.sqrt(b * variance[m] + (1 - b) ** 2 / np.sum(precision))
        weight[m] = b
        empty = in_group & ~m  # no leads yet: the team's prior
        ability[empty] = mu
        sd[empty] = np.sqrt(tau2 + 1.0 / np.sum(precision))
        weight[empty] = 0.0
    z = norm.ppf(0.5 + level / 2)
    return pd.DataFrame(
        {"ability": ability, "ci_low": ability - z * sd, "ci_high": ability + z * sd, "weight": weight}
    )


@dataclass
class RepQuality:
    """Rates reps from a workspace and the lead table (with p_*_at_arrival columns).

    `min_leads`: fewer leads than this → no rank. `level`: interval level.
    """

    min_leads: int = 20
    level: float = 0.9

    def fit(self, ws: Workspace, leads: pd.DataFrame) -> pd.DataFrame:
        """The `reps` table (columns `REP_COLUMNS`), best-ranked first within each team."""
        con = ws.con
        sla_hours = ws.definitions.sla.first_contact_hours
        ae_teams = set(ws.definitions.teams.ae)
        reps = con.table("reps").select("rep_id", "team").to_pandas().set_index("rep_id")
        first = first_touch_by_rep(con)
        activity = activity_by_rep(con)
        units = closing_units(con, leads, first, ae_teams, reps)

        out = reps.copy()
        g = units.groupby("rep_id")
        out["leads"] = g.size().reindex(out.index).fillna(0).astype(int)
        out["wins"] = g["won"].sum().reindex(out.index).fillna(0).astype(int)
        out["expected_wins"] = g["expected"].sum().reindex(out.index).fillna(0.0)
        out["revenue"] = g["revenue"].sum().reindex(out.index).fillna(0.0)
        out["expected_revenue"] = g["expected_revenue"].sum().reindex(out.index).fillna(0.0)
        variance = (
            (units["expected"] * (1 - units["expected"])).groupby(units["rep_id"]).sum().reindex(out.index)
        )
        n = out["leads"].replace(0, np.nan)
        out["win_rate"] = out["wins"] / n
        gap = (out["wins"] - out["expected_wins"]) / n
        shrunk = shrink(gap.to_numpy(), (variance / n**2).to_numpy(), out["team"].to_numpy(), self.level)
        out[["ability", "ci_low", "ci_high"]] = shrunk[["ability", "ci_low", "ci_high"]].to_numpy()
        out["revenue_above_expected"] = out["revenue"] - out["expected_revenue"]
        out = out.join(activity, how="left")
        speed = first.groupby("rep_id")["hours_to_first_touch"]
        out["speed_to_lead_hours"] = speed.median().reindex(out.index)
        out["sla_compliance"] = (
            (first["hours_to_first_touch"] <= sla_hours).groupby(first["rep_id"]).mean().reindex(out.index)
        )
        rankable = out["leads"] >= self.min_leads
        out["rank"] = out["ability"].where(rankable).groupby(out["team"]).rank(ascending=False, method="min")
        pooled = units.loc[units["pooled"], "rep_id"].unique() if "pooled" in units else []
        rate = units.attrs.get("pooled_win_rate", np.nan)
        out["note"] = np.where(
            out.index.isin(pooled),
            f"expected wins from the pooled observed win rate of closed opportunities ({rate:.1%}): "
            "no lead scores",
            "",
        )
        out = out.reset_index().rename(columns={"index": "rep_id"})
        out = out.sort_values(["team", "rank", "rep_id"], na_position="last", kind="stable")
        return out.reindex(columns=REP_COLUMNS).reset_index(drop=True)


def first_touch_by_rep(con: ibis.BaseBackend) -> pd.DataFrame:
    """The first rep activity on each lead: lead_id, rep_id, hours_to_first_touch (from lead creation)."""
    acts = warehouse.activities_with_account(con)
    leads = warehouse.leads_with_account(con).select(
        l_id=_.lead_id, l_contact=_.contact_id, l_at=_.created_at
    )
    on_lead = acts.filter(_.lead_id.notnull()).select("lead_id", "rep_id", "at")
    j = on_lead.join(leads, on_lead.lead_id == leads.l_id).filter(_.at >= _.l_at)
    first = j.group_by("lead_id").agg(
        rep_id=j.rep_id.argmin(j.at),
        first_at=j.at.min(),
        created_at=j.l_at.min(),
    )
    frame = first.to_pandas()
    frame["hours_to_first_touch"] = (
        pd.to_datetime(frame["first_at"]) - pd.to_datetime(frame["created_at"])
    ).dt.total_seconds() / 3600.0
    return frame[["lead_id", "rep_id", "hours_to_first_touch"]]


def activity_by_rep(con: ibis.BaseBackend) -> pd.DataFrame:
    """calls/emails/meetings per working day, hours of logged work, contact rate; indexed by rep_id."""
    acts = con.table("activities")
    reach = acts.kind.isin(["call", "email", "social"]) & acts.outcome.notnull()
    agg = acts.group_by("rep_id").agg(
        calls=(acts.kind == "call").cast("int64").sum(),
        emails=(acts.kind == "email").cast("int64").sum(),
        meetings=acts.kind.isin(["meeting", "demo"]).cast("int64").sum(),
        seconds=acts.duration_s.fill_null(0.0).sum(),
        attempts=reach.cast("int64").sum(),
        connects=(reach & acts.outcome.isin(CONNECTED_OUTCOMES)).cast("int64").sum(),
        first_day=acts.at.min().date(),
        last_day=acts.at.max().date(),
    )
    frame = agg.to_pandas().set_index("rep_id")
    if frame.empty:
        return pd.DataFrame(
            columns=["calls_per_day", "emails_per_day", "meetings_per_day", "hours", "contact_rate"]
        )
    first = pd.to_datetime(frame["first_day"]).to_numpy().astype("datetime64[D]")
    last = pd.to_datetime(frame["last_day"]).to_numpy().astype("datetime64[D]")
    days = np.maximum(np.busday_count(first, last + np.timedelta64(1, "D")), 1)
    return pd.DataFrame(
        {
            "calls_per_day": frame["calls"] / days,
            "emails_per_day": frame["emails"] / days,
            "meetings_per_day": frame["meetings"] / days,
            "hours": frame["seconds"] / 3600.0,
            "contact_rate": (frame["connects"] / frame["attempts"].replace(0, np.nan)).astype(float),
        },
        index=frame.index,
    )


def closing_units(
    con: ibis.BaseBackend, leads: pd.DataFrame, first: pd.DataFrame, ae_teams: set[str], reps: pd.DataFrame
) -> pd.DataFrame:
    """One row per (rep, unit): rep_id, won, expected, revenue, expected_revenue.

    Opportunity owners are judged on their closed opportunities, other reps on the leads they worked first.
    """
    quality = leads.set_index("lead_id")
    p_win = quality["p_win_at_arrival"].clip(1e-4, 1 - 1e-4)
    p_opp = quality["p_opportunity_at_arrival"].clip(1e-4, 1.0)
    opps = (
        con.table("opportunities")
        .filter(_.is_closed.fill_null(False) & _.owner_rep_id.notnull())
        .select(
            "opportunity_id", "lead_id", rep_id=_.owner_rep_id, won=_.is_won.fill_null(False), amount=_.amount
        )
        .to_pandas()
    )
    owners = reps.index[reps["team"].isin(ae_teams)]
    pooled_rate = float(opps["won"].astype(float).mean()) if len(opps) else np.nan  # all closed, all owners
    opps = opps[opps["rep_id"].isin(owners)]
    given_opp = (p_win / p_opp).clip(1e-4, 1 - 1e-4)
    if len(given_opp):
        opps["expected"] = opps["lead_id"].map(given_opp).fillna(float(given_opp.mean()))
        opps["pooled"] = False
    else:  # no lead scores: the pooled observed win rate of closed opportunities
        opps["expected"] = float(np.clip(pooled_rate, 1e-4, 1 - 1e-4)) if len(opps) else np.nan
        opps["pooled"] = True
    opps["won"] = opps["won"].astype(int)
    opps["revenue"] = np.where(opps["won"] == 1, opps["amount"], 0.0)
    opps["expected_revenue"] = opps["expected"] * opps["amount"]

    worked = first[~first["rep_id"].isin(owners)].copy()
    worked = worked[worked["lead_id"].isin(quality.index)]
    outcomes = lead_results(con)
    worked = worked.join(outcomes, on="lead_id", how="inner")
    worked = worked[worked["resolved"]]
    worked["expected"] = worked["lead_id"].map(p_win).astype(float)
    amount = (
        quality["expected_amount"] if "expected_amount" in quality else pd.Series(0.0, index=quality.index)
    )
    worked["expected_revenue"] = worked["expected"] * worked["lead_id"].map(amount).astype(float).fillna(0.0)
    worked["pooled"] = False
    cols = ["rep_id", "won", "expected", "revenue", "expected_revenue", "pooled"]
    units = pd.concat([opps[cols], worked[cols]], ignore_index=True).astype({"pooled": bool})
    units.attrs["pooled_win_rate"] = pooled_rate
    return units


def lead_results(con: ibis.BaseBackend) -> pd.DataFrame:
    """won (0/1), revenue and resolved per lead (see `fairshare.scoring.features.lead_outcomes`)."""
    from fairshare.scoring.features import lead_outcomes

    out = lead_outcomes(con)
    return pd.DataFrame(
        {
            "won": out["won"].astype(int),
            "revenue": out["won_amount"],
            "resolved": out["resolved"].astype(bool),
        }
    )


def results(ws: Workspace, upstream: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The `reps` table of a run (uses upstream['leads'] when it has the arrival columns)."""
    leads = upstream.get("leads")
    if int(ws.table("leads").count().execute()) == 0:  # no lead scores: opportunities only
        leads = pd.DataFrame(
            {c: pd.Series(dtype=object if c == "lead_id" else float) for c in LEAD_QUALITY_COLUMNS}
        )
    elif leads is None or "p_win_at_arrival" not in leads:
        from fairshare.scoring import arrival_quality

        arrival = arrival_quality(ws)
        base = leads.set_index("lead_id") if leads is not None else pd.DataFrame(index=arrival.index)
        leads = base.drop(columns=[c for c in arrival.columns if c in base]).join(arrival, how="right")
        leads = leads.rename_axis("lead_id").reset_index()
    return {"reps": RepQuality(min_leads=ws.definitions.reps.min_leads).fit(ws, leads)}
