"""Prospecting verdict: cold calls, referrals, events or marketing leads, per rep-hour and per total $.

Per source program (the economics `source` key: marketing leads; partner leads; SDR/AE leads by the
prospecting motion of their first SDR activity): the won revenue of its leads over the rep hours
spent (every activity on its leads and their opportunities, plus prospecting activities that made
no lead), and over its total cost: those hours at each rep's hourly_cost (`[economics] hourly_cost`
when missing) plus, for marketing leads, all media spend. Intervals bootstrap accounts (an account's
leads, activities and deals move together); media spend is a known cost and is not resampled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import numpy as np
import pandas as pd
from ibis import _
from sklearn.base import BaseEstimator

from fairshare.economics import MARKETING_PROGRAM, NONE, Economics, _in_window

if TYPE_CHECKING:
    import datetime as dt

    from fairshare.workspace import Workspace

UNIT_COLUMNS = ["unit", "program", "hours", "cost", "revenue", "leads", "won"]
VERDICT_COLUMNS = [
    "program", "accounts", "leads", "won", "revenue", "rep_hours", "sales_cost", "media_spend", "cost",
    "revenue_per_rep_hour", "per_hour_ci_low", "per_hour_ci_high", "p_best_per_hour",
    "revenue_per_dollar", "per_dollar_ci_low", "per_dollar_ci_high", "p_best_per_dollar",
]  # fmt: skip
NAMES = {"cold_call": "cold calls", "referral": "referrals", "event": "events", "marketing": "marketing leads",
         "partner": "partner leads", "social": "social selling"}  # fmt: skip


def program_units(econ: Economics) -> pd.DataFrame:
    """Per account and source program: rep hours, sales cost, won revenue, leads, wins (`UNIT_COLUMNS`).

    `econ` is a fitted `Economics` (its window applies). A lead or activity with no account is its own unit.
    """
    acts = econ.activity_costs()
    keys = econ.lead_keys()
    keys = keys.filter(_in_window(keys.created_at, econ.start, econ.end))
    on_leads = (
        acts.filter(acts.lead_id.notnull()).group_by(h_lead=_.lead_id).agg(h=_.hours.sum(), c=_.cost.sum())
    )
    of = econ.funnel_.opportunity_facts()
    won = (
        of.filter(of.is_won & of.lead_id.notnull())
        .group_by(r_lead=_.lead_id)
        .agg(r=_.amount.sum(), w=_.count())
    )
    j = keys.left_join(on_leads, keys.lead_id == on_leads.h_lead).left_join(won, keys.lead_id == won.r_lead)
    leads = j.select(unit=ibis.coalesce(j.account_id.cast("string"), "lead:" + j.lead_id.cast("string")),
                     program=j.source, hours=j.h.fill_null(0.0), cost=j.c.fill_null(0.0),
                     revenue=j.r.fill_null(0.0).cast("float64"), leads=ibis.literal(1).cast("int64"),
                     won=j.w.fill_null(0).cast("int64"))  # fmt: skip
    loose = acts.filter(acts.lead_id.isnull() & (acts.source != NONE))
    loose = loose.select(unit=ibis.coalesce(loose.account_id.cast("string"), "activity:" + loose.activity_id.cast("string")),
                         program=_.source, hours=_.hours, cost=_.cost, revenue=ibis.literal(0.0),
                         leads=ibis.literal(0).cast("int64"), won=ibis.literal(0).cast("int64"))  # fmt: skip
    units = ibis.union(leads, loose).group_by(["unit", "program"])
    frame = units.agg(hours=_.hours.sum(), cost=_.cost.sum(), revenue=_.revenue.sum(), leads=_.leads.sum(),
                      won=_.won.sum()).execute()  # fmt: skip
    return frame[UNIT_COLUMNS].sort_values(["program", "unit"]).reset_index(drop=True)


class ProspectingVerdict(BaseEstimator):
    """Revenue per rep-hour and per total $ by source program, bootstrap intervals over accounts, a verdict.

    Parameters: `programs` (the programs compared; None: every program in the data), `level`,
    `replications` (account resamples), `random_state`.

    `fit(units, media_spend)`: `units` has `UNIT_COLUMNS` (one row per account and program);
    `media_spend` maps program → media $ (marketing: all media spend). Learned: `result_`
    (`VERDICT_COLUMNS`, one row per program; p_best_*: share of resamples where the program leads),
    `verdict_` (one line; "no clear winner" when the leader's interval overlaps another's).
    """

    def __init__(self, programs: tuple[str, ...] | None = None, level: float = 0.9, replications: int = 200,
                 random_state: int = 0):  # fmt: skip
        self.programs = programs
        self.level = level
        self.replications = replications
        self.random_state = random_state

    def fit(self, units: pd.DataFrame, media_spend: dict[str, float] | None = None) -> ProspectingVerdict:
        missing = set(UNIT_COLUMNS) - set(units.columns)
        if missing:
            raise ValueError(f"units lack columns {sorted(missing)}")
        if not 0 < self.level < 1 or self.replications < 2:
            raise ValueError("level must be in (0, 1) and replications >= 2")
        programs = list(self.programs) if self.programs else sorted(units["program"].astype(str).unique())
        media = pd.Series(media_spend or {}, dtype=float).reindex(programs).fillna(0.0).to_numpy()
        data = units[units["program"].isin(programs)]
        codes, accounts = pd.factorize(data["unit"])
        col = pd.Categorical(data["program"], categories=programs).codes
        shape = (len(accounts), len(programs))

        def matrix(name: str) -> np.ndarray:
            m = np.zeros(shape)
            np.add.at(m, (codes, col), data[name].to_numpy(float))
            return m

        hours, cost, revenue = matrix("hours"), matrix("cost"), matrix("revenue")
        rng = np.random.default_rng(self.random_state)
        n = len(accounts)
        weights = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(self.replications)]) if n else np.zeros((self.replications, 0))  # fmt: skip
        per_hour = _ratio(weights @ revenue, weights @ hours)
        per_dollar = _ratio(weights @ revenue, weights @ cost + media)
        q = ((1 - self.level) / 2, (1 + self.level) / 2)
        total_h, total_c, total_r = hours.sum(0), cost.sum(0), revenue.sum(0)
        frame = pd.DataFrame({
            "program": programs,
            "accounts": (pd.crosstab(codes, col).reindex(columns=range(len(programs)), fill_value=0) > 0).sum().to_numpy()
            if n else 0,
            "leads": data.groupby("program")["leads"].sum().reindex(programs).fillna(0).astype("int64").to_numpy(),
            "won": data.groupby("program")["won"].sum().reindex(programs).fillna(0).astype("int64").to_numpy(),
            "revenue": total_r, "rep_hours": total_h, "sales_cost": total_c, "media_spend": media,
            "cost": total_c + media,
            "revenue_per_rep_hour": _ratio(total_r, total_h),
            "per_hour_ci_low": _quantile(per_hour, q[0]),
            "per_hour_ci_high": _quantile(per_hour, q[1]),
            "p_best_per_hour": _p_best(per_hour),
            "revenue_per_dollar": _ratio(total_r, total_c + media),
            "per_dollar_ci_low": _quantile(per_dollar, q[0]),
            "per_dollar_ci_high": _quantile(per_dollar, q[1]),
            "p_best_per_dollar": _p_best(per_dollar),
        })  # fmt: skip
        self.result_ = frame[VERDICT_COLUMNS]
        self.verdict_ = verdict(self.result_)
        return self


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, float), np.asarray(den, float)
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den > 0)


def _quantile(draws: np.ndarray, q: float) -> np.ndarray:
    """Per program, the q-quantile of its resampled ratios (NaN when it has no hours or cost at all)."""
    out = np.full(draws.shape[1], np.nan)
    for k in range(draws.shape[1]):
        ok = draws[:, k][np.isfinite(draws[:, k])]
        if ok.size:
            out[k] = np.quantile(ok, q)
    return out


def _p_best(draws: np.ndarray) -> np.ndarray:
    """Share of resamples in which each program has the highest ratio (NaN ratios never lead)."""
    if draws.size == 0:
        return np.full(draws.shape[1], np.nan)
    filled = np.where(np.isnan(draws), -np.inf, draws)
    best = np.argmax(filled, axis=1)
    return np.bincount(best, minlength=draws.shape[1]) / draws.shape[0]


def _money(x: float) -> str:
    return f"${x:,.0f}" if abs(x) >= 100 else f"${x:,.2f}"


def _compare(table: pd.DataFrame, value: str, low: str, high: str) -> str:
    rows = table.dropna(subset=[value, low, high]).sort_values(value, ascending=False)
    if rows.empty:
        return "not measurable (no hours or cost recorded)"
    name = [NAMES.get(p, p) for p in rows["program"]]
    show = [f"{n} {_money(v)} [{_money(lo)}, {_money(hi)}]"
            for n, v, lo, hi in zip(name, rows[value], rows[low], rows[high], strict=True)]  # fmt: skip
    if len(rows) == 1:
        return f"only {show[0]} measured"
    ties = [s for s, h in zip(show[1:], rows[high].iloc[1:], strict=True) if h >= rows[low].iloc[0]]
    if ties:
        return f"no clear winner, {show[0]} overlaps {', '.join(ties)}"
    return f"{show[0]} is best, clear of the next, {show[1]}"


def verdict(table: pd.DataFrame) -> str:
    """The one-line verdict of a `ProspectingVerdict.result_` (or a run's stored table): won revenue per
    rep-hour and per total $, the leader named only when its interval clears every other program's."""
    hour = _compare(table, "revenue_per_rep_hour", "per_hour_ci_low", "per_hour_ci_high")
    dollar = _compare(table, "revenue_per_dollar", "per_dollar_ci_low", "per_dollar_ci_high")
    return f"Won revenue per rep-hour: {hour}; per total $ (media + sales time): {dollar}."


def prospecting_verdict(
    ws: Workspace, start: dt.datetime | None = None, end: dt.datetime | None = None, level: float = 0.9,
    econ: Economics | None = None,
) -> ProspectingVerdict:  # fmt: skip
    """The verdict of a workspace over [start, end), comparing `[economics] programs` (facts from `econ`)."""
    settings = ws.definitions.economics
    if econ is None:
        econ = Economics(start=start, end=end, level=level).facts_of(ws)
    media = float(econ.media_spend().amount.sum().execute() or 0.0)
    units = program_units(econ)
    model = ProspectingVerdict(
        programs=tuple(settings.programs), level=level, replications=settings.replications
    )
    return model.fit(units, {MARKETING_PROGRAM: media})


def results(ws: Workspace, upstream: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """The `fairshare run` contract: "prospecting_verdict" (the verdict line is `verdict(table)`)."""
    return {"prospecting_verdict": prospecting_verdict(ws).result_}
