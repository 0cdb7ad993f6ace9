"""Weekly inbound demand, spend and lead value from the warehouse: the input of the marketing-mix model.

Everything is aggregated in the warehouse (Ibis): spend by week, channel and region; inbound leads (every
source except SDR outbound, AE and partner leads) by creation week and region; the won revenue of those
leads by creation week (cohort); and the revenue-weighted distribution of the lag from lead to close,
which says how much of a late cohort's revenue has closed by the end of the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from ibis import _

from fairshare import warehouse

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

#: Prefix of the weekly frame's spend columns: `spend__<channel>`.
SPEND_PREFIX = "spend__"
#: Lead sources that are not inbound demand (outbound prospecting, AE-sourced, partner referrals).
NOT_INBOUND = ("sdr", "ae", "partner")
NATIONAL = "all"


def _region_of_spend(ws: Workspace):
    """Spend rows with a `region` (spend.region, else the campaign's region, else none)."""
    spend = ws.table("spend")
    if "region" in spend.columns:
        return spend, True
    campaigns = ws.table("campaigns")
    if "region" in campaigns.columns:
        c = campaigns.select(c_id=_.campaign_id, c_region=_.region)
        j = spend.left_join(c, spend.campaign_id == c.c_id)
        return j.mutate(region=j.c_region).drop("c_id", "c_region"), True
    return spend, False


def weekly_demand(ws: Workspace, not_inbound: Sequence[str] = NOT_INBOUND) -> pd.DataFrame:
    """One row per week (x region when spend has regions): `leads`, `spend__<channel>`, `won_revenue`, `maturity`.

    `leads` counts inbound leads created that week (source team not in `not_inbound`; a missing source
    counts as inbound), `won_revenue` is what those leads have won so far, `maturity` the share of a
    cohort's eventual won revenue that closes within the weeks left until the end of the data
    (revenue-weighted lag from lead creation to close, taken from cohorts old enough to have closed).
    Spend without a region is spread over the regions in proportion to their accounts.
    `frame.attrs`: `regional` (bool), `period_start`, `period_end`.
    """
    spend, regional = _region_of_spend(ws)
    spend = spend.mutate(week=_.date.cast("timestamp").truncate("W"))
    leads = warehouse.leads_with_account(ws.con)
    leads = leads.filter(_.source_team.isnull() | ~_.source_team.isin(list(not_inbound)))
    accounts = ws.table("accounts").select(a_id=_.account_id, a_region=_.region)
    leads = leads.left_join(accounts, leads.account_id == accounts.a_id)
    leads = leads.mutate(
        week=_.created_at.truncate("W"), region=_.a_region.fill_null("(none)").cast("string")
    )
    opps = ws.table("opportunities").filter(_.is_won.fill_null(False) & _.lead_id.notnull())
    lw = leads.select(l_id=_.lead_id, l_week=_.week, l_region=_.region, l_created=_.created_at)
    won = opps.join(lw, opps.lead_id == lw.l_id)
    group = ["week", "region"] if regional else ["week"]
    lead_counts = leads.group_by(group).agg(leads=_.count()).execute()
    cohort = (
        won.mutate(week=_.l_week, region=_.l_region).group_by(group).agg(won_revenue=_.amount.sum()).execute()
    )
    lags = (
        won.filter(_.closed_at.notnull())
        .mutate(
            lag_days=(_.closed_at.epoch_seconds() - _.l_created.epoch_seconds()) / 86400.0,
            created=_.l_created,
        )
        .select("lag_days", "created", "amount")
        .execute()
    )  # one row per won inbound deal: few rows, needed for the lag distribution
    if regional:
        s = spend.group_by(["week", "channel", "region"]).agg(amount=_.amount.sum()).execute()
        s["region"] = s["region"].astype("string")
        national = s.loc[s["region"].isna()].drop(columns="region")
        s = s.loc[s["region"].notna()]
        if len(national):
            share = ws.table("accounts").group_by("region").agg(n=_.count()).execute()
            share = share.loc[share["region"].notna()].assign(w=lambda d: d["n"] / d["n"].sum())
            spread = national.merge(share[["region", "w"]], how="cross")
            spread["amount"] *= spread.pop("w")
            s = pd.concat([s, spread.drop(columns="n", errors="ignore")], ignore_index=True)
        wide = s.pivot_table(index=["week", "region"], columns="channel", values="amount", aggfunc="sum")
    else:
        s = spend.group_by(["week", "channel"]).agg(amount=_.amount.sum()).execute()
        wide = s.pivot_table(index="week", columns="channel", values="amount", aggfunc="sum")
    wide = wide.fillna(0.0).add_prefix(SPEND_PREFIX).reset_index()
    for part in (lead_counts, cohort, wide):
        part["week"] = pd.to_datetime(part["week"])
    frame = wide.merge(lead_counts, on=group, how="outer").merge(cohort, on=group, how="left")
    start = max(
        frame.loc[frame.filter(like=SPEND_PREFIX).sum(axis=1) > 0, "week"].min(), lead_counts["week"].min()
    )
    end = lead_counts["week"].max()
    frame = frame.loc[(frame["week"] >= start) & (frame["week"] <= end)].fillna(0.0)
    if not regional:
        frame["region"] = NATIONAL
    frame = frame.sort_values(["week", "region"]).reset_index(drop=True)
    end_at = pd.Timestamp(end) + pd.Timedelta(days=7)
    age_days = (end_at - frame["week"]).dt.total_seconds() / 86400.0 - 3.5
    frame["maturity"] = _maturity(lags, end_at)(age_days.to_numpy(float))
    frame.attrs.update(regional=regional, period_start=pd.Timestamp(start), period_end=end_at)
    return frame


def _maturity(lags: pd.DataFrame, end: pd.Timestamp):
    """F(age): revenue-weighted share of won revenue closed within `age` days of lead creation.

    Estimated on cohorts created at least half the period before the end, whose lags up to that horizon
    are all observed; beyond the horizon F = 1 (no later closes can be seen).
    """
    if lags.empty:
        return lambda age: np.ones_like(age)
    created = pd.to_datetime(lags["created"])
    span = (end - created.min()).total_seconds() / 86400.0
    horizon = span / 2
    old = (end - created).dt.total_seconds().to_numpy() / 86400.0 >= horizon
    lag = lags["lag_days"].to_numpy(float)[old]
    amount = lags["amount"].to_numpy(float)[old]
    if amount.sum() <= 0:
        return lambda age: np.ones_like(age)
    order = np.argsort(lag)
    lag, cum = lag[order], np.cumsum(amount[order]) / amount.sum()
    closed_by_horizon = (
        cum[np.searchsorted(lag, horizon, side="right") - 1] if (lag <= horizon).any() else 1.0
    )

    def f(age: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(lag, np.clip(age, 0, None), side="right") - 1
        share = np.where(pos >= 0, cum[np.maximum(pos, 0)], 0.0) / max(closed_by_horizon, 1e-9)
        return np.clip(np.where(age >= horizon, 1.0, share), 1e-3, 1.0)

    return f


HOLDOUT_ARM, CONTROL_ARM = "holdout", "control"


def holdout_lifts(ws: Workspace, model, level: float = 0.9) -> pd.DataFrame | None:
    """Removal effects measured by randomized account holdouts (arms `holdout`/`control`), as lift tests.

    Each experiment with unit_type account and those two arms measures marketing (or the channel its
    experiment_id names, e.g. `paid_search-holdout`; else the id must contain `marketing`) switched off: removal = (control - holdout) mean won
    revenue per account after assignment x the accounts that kept marketing. The experiment covers the
    weeks after assignment; it is scaled to the whole period by the mix model's own time profile of the
    effect (`model.removal_share`, Meridian's duration adjustment). Columns: unit, key, estimate, ci_low,
    ci_high (money, whole period), experiment_id, n_holdout. None without such an experiment.
    """
    from fairshare.contribution.experiments import ExperimentAnalysis, experiment_units

    units = experiment_units(ws)
    if units.empty:
        return None
    units = units.loc[(units["unit_type"] == "account") & units["arm"].isin([HOLDOUT_ARM, CONTROL_ARM])]
    n_accounts = int(ws.table("accounts").count().execute())
    rows = []
    for eid, group in units.groupby("experiment_id", sort=True):
        counts = group["arm"].value_counts()
        if counts.get(HOLDOUT_ARM, 0) < 2 or counts.get(CONTROL_ARM, 0) < 2:
            continue
        key = next((c for c in model.channels_ if c in str(eid)), "all" if "marketing" in str(eid) else None)
        if key is None:  # a holdout of something else (e.g. SDR outbound)
            continue
        covariates = ["pre_won_revenue"] if group["pre_won_revenue"].std() > 0 else []
        res = (
            ExperimentAnalysis(control=CONTROL_ARM, covariates=covariates, level=level, outcome="won_revenue")
            .fit(group)
            .result_
        )
        r = res.iloc[-1]  # the adjusted estimate when there is one
        kept = n_accounts - int(counts[HOLDOUT_ARM])
        since = pd.to_datetime(group["assigned_at"]).min()
        share = model.removal_share(key, since) if pd.notna(since) else 1.0
        if share <= 0:
            continue
        scale = kept / share
        rows.append({
            "unit": "marketing" if key == "all" else "channel", "key": key,
            "estimate": -r["estimate"] * scale, "ci_low": -r["ci_high"] * scale, "ci_high": -r["ci_low"] * scale,
            "experiment_id": eid, "n_holdout": int(counts[HOLDOUT_ARM]),
        })  # fmt: skip
    return pd.DataFrame(rows) if rows else None
