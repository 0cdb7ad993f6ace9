"""Spend → inbound leads under a changed budget from the marketing-mix model's fitted response.

A thin adapter over `fairshare.contribution.mix.MixModel` (fitted, not changed): the mix model is
fitted on the weekly (x region) inbound demand known at `as_of` (`demand.weekly_demand`, weeks that
ended by then; won revenue and maturity dropped, they would look ahead), and a budget is pushed
through each channel's chosen adstock and saturation: extra leads in week t of channel c =
β_c · (sat(adstock(new spend)_t / top_c) − sat(adstock(base spend)_t / top_c)), per region, where
top_c is the channel's largest adstocked week in the history (the model's own scaling). The mix
model's block bootstrap gives each channel's uncertainty: the draws of its lost demand over the
fitted one scale β_c per Monte Carlo draw (the shape held at its fitted choice).

Used by the what-if only for channels the mix model identifies (`result_`); otherwise the what-if
falls back to its Poisson response (`whatif.ResponseModel`) and says so.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from ibis import _
from sklearn.base import BaseEstimator

from fairshare.contribution.demand import NOT_INBOUND, weekly_demand
from fairshare.contribution.mix import MixModel, geometric_adstock, logistic_saturation
from fairshare.periods import naive_utc

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

RESPONSE_COLUMNS = ["channel", "identified", "reason", "decay", "saturation", "coefficient", "lost",
                    "lost_ci_low", "lost_ci_high"]  # fmt: skip
WEEK = pd.Timedelta(days=7)


class MixResponse(BaseEstimator):
    """Inbound leads per week under a changed budget from a `MixModel` fitted on the data known at `as_of`.

    After `fit(ws, as_of)`: `result_` (RESPONSE_COLUMNS, one row per channel with spend), `model_` (the
    fitted MixModel), `channels_`, `opportunity_rate_` (share of inbound leads at least 90 days old that
    became an opportunity), `name_`.
    """

    def __init__(self, n_boot: int = 100, base_weeks: int = 13, random_state: int | None = 0):
        self.n_boot = n_boot
        self.base_weeks = base_weeks
        self.random_state = random_state

    def fit(self, ws: Workspace, as_of: dt.datetime | str | pd.Timestamp) -> MixResponse:
        at = pd.Timestamp(naive_utc(as_of))
        frame = weekly_demand(ws)
        if frame.empty:
            raise ValueError("no weekly spend and inbound leads to fit the mix model on")
        frame = frame.loc[frame["week"] + WEEK <= at].drop(
            columns=["won_revenue", "maturity"], errors="ignore"
        )
        if frame["week"].nunique() < 8 or frame["leads"].sum() <= 0:
            raise ValueError(
                f"only {frame['week'].nunique()} weeks of spend and inbound leads before {at:%Y-%m-%d}"
            )
        self.model_ = MixModel(n_boot=self.n_boot, random_state=self.random_state).fit(frame)
        m = self.model_
        self.channels_ = list(m.channels_)
        rows = m.result_[m.result_["unit"] == "channel"].set_index("key")
        self.result_ = pd.DataFrame(
            {
                "channel": self.channels_,
                "identified": [bool(rows.at[c, "identified"]) for c in self.channels_],
                "reason": [str(rows.at[c, "reason"]) for c in self.channels_],
                "decay": [m.grid_[k][0] for k in m.choice_],
                "saturation": [m.grid_[k][1] for k in m.choice_],
                "coefficient": m.coef_,
                "lost": [float(rows.at[c, "lost"]) for c in self.channels_],
                "lost_ci_low": [float(rows.at[c, "lost_ci_low"]) for c in self.channels_],
                "lost_ci_high": [float(rows.at[c, "lost_ci_high"]) for c in self.channels_],
            },
            columns=RESPONSE_COLUMNS,
        )
        self.opportunity_rate_ = _inbound_opportunity_rate(ws, at)
        self.name_ = "mix model (adstock x saturation per channel, block bootstrap)"
        return self

    def identifies(self, channels: list[str]) -> tuple[bool, str]:
        """Whether the fitted mix model identifies every one of `channels`, and why not."""
        table = self.result_.set_index("channel")
        why = [f"{c}: no spend in the mix frame" if c not in table.index else f"{c}: {table.at[c, 'reason']}"
               for c in channels if c not in table.index or not table.at[c, "identified"]]  # fmt: skip
        return not why, "; ".join(why)

    def extra_leads(
        self, columns: list[str], base_future: np.ndarray, new_future: np.ndarray, n_draws: int, rng
    ) -> np.ndarray:
        """(draws × weeks × len(columns)) extra inbound leads when the national weekly spend of `columns`
        goes from `base_future` to `new_future` (weeks × columns), spread over regions like the last
        `base_weeks` weeks of spend."""
        m = self.model_
        n_w, n_r = len(m.weeks_), len(m.regions_)
        weeks = base_future.shape[0]
        out = np.zeros((n_draws, weeks, len(columns)))
        for j, name in enumerate(columns):
            if name not in self.channels_:
                continue
            c = self.channels_.index(name)
            past = m.spend_[c]  # weeks × regions
            recent = past[-self.base_weeks :].sum(axis=0)
            share = recent / recent.sum() if recent.sum() > 0 else np.full(n_r, 1.0 / n_r)
            decay, lam = m.grid_[m.choice_[c]]
            top = geometric_adstock(past, decay, m.adstock_max_lag).max()
            if top <= 0 or m.coef_[c] <= 0:
                continue

            def response(
                future: np.ndarray, past=past, share=share, decay=decay, lam=lam, top=top
            ) -> np.ndarray:
                spend = np.vstack([past, future[:, None] * share[None, :]])
                a = geometric_adstock(spend, decay, m.adstock_max_lag)[n_w:]
                return logistic_saturation(a / top, lam).sum(axis=1)  # summed over regions

            diff = m.coef_[c] * (response(new_future[:, j]) - response(base_future[:, j]))
            point = float(m.contribution_[c].sum())
            boot = m.boot_lost_[:, c] / point if point > 0 else np.ones(len(m.boot_lost_))
            out[:, :, j] = boot[rng.integers(boot.size, size=n_draws)][:, None] * diff[None, :]
        return out

    def opportunity_rates(self, channels: list[str]) -> np.ndarray:
        """Leads → opportunities per channel: the inbound leads' share (the mix outcome is all inbound leads)."""
        return np.full(len(channels), self.opportunity_rate_)


def _inbound_opportunity_rate(ws: Workspace, at: pd.Timestamp, settle_days: float = 90.0) -> float:
    """Share of inbound leads (as the mix model counts them) created by `at` − `settle_days` that had
    an opportunity by `at`."""
    t = at.to_pydatetime()
    cutoff = (at - pd.Timedelta(days=settle_days)).to_pydatetime()
    leads = ws.table("leads").filter(_.created_at <= cutoff)
    leads = leads.filter(_.source_team.isnull() | ~_.source_team.isin(list(NOT_INBOUND)))
    opps = ws.table("opportunities").filter((_.created_at <= t) & _.lead_id.notnull())
    opps = opps.select(o_lead=_.lead_id).distinct()
    joined = leads.left_join(opps, leads.lead_id == opps.o_lead)
    counts = joined.aggregate(n=_.count(), converted=_.o_lead.count()).execute()
    n = int(counts["n"].iloc[0])
    return float(counts["converted"].iloc[0]) / n if n else 0.0
