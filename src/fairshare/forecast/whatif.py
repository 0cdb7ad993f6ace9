"""Spend → bookings what-if: bookings P10/P50/P90 of the next periods under a changed budget.

The chain, each link estimated from the workspace's own history up to `as_of`:

1. **Spend → leads.** Two routes. *Mix* (`mix_response.MixResponse`): the marketing-mix model of
   `fairshare.contribution.mix`, fitted on the weekly (x region) inbound demand known at `as_of`,
   pushes the new budget through each channel's adstock and saturation; used when it identifies every
   changed channel. *Poisson* (`ResponseModel`, the fallback): weekly marketing leads per channel
   follow the channel's adstocked spend, log E[leads_cw] = α_c + e · log(A_cw / Ā_c), A = geometric
   adstock with a weekly carry-over λ chosen by deviance on a grid; one elasticity e for all channels
   and a linear trend (a Poisson GLM; a channel's own series is too short to identify its curve); a
   budget change moves the leads of the weeks after `as_of` by (A_new / A_base)^e. The `route` column
   says which was used, `response` names it (and why the mix model was not used).
2. **Leads → opportunities**: the share of leads that became opportunities (per channel on the
   Poisson route, of all inbound leads on the mix route), and the observed days from lead to
   opportunity (the lag).
3. **Opportunities → bookings**: a deal created on day d is won inside period [s, e) with
   CIF₀(e − d) − CIF₀(s − d) (the pooled Aalen–Johansen curve from creation) and brings an amount
   bootstrapped from past wins.

The extra (or missing) wins are drawn per Monte Carlo draw (elasticity from its sampling
distribution, Poisson counts) and added to the deal forecast of each period (`DealForecast` with
`periods_ahead`), so the what-if interval carries both the base forecast's and the response's
uncertainty.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from ibis import _

from fairshare.forecast.deals import DealForecast
from fairshare.forecast.history import DAY, DealHistory
from fairshare.forecast.mix_response import MixResponse
from fairshare.forecast.pipeline import TOTAL, WinCurve
from fairshare.periods import naive_utc, period_bounds, period_label

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

WHATIF_COLUMNS = ["period", "change", "extra_leads", "extra_opportunities", "base_p10", "base_p50", "base_p90",
                  "p10", "p50", "p90", "delta_p10", "delta_p50", "delta_p90", "response", "route"]  # fmt: skip
WEEK = pd.Timedelta(days=7)
_CHANGE = re.compile(r"^\s*([\w\-:. ]+?)\s*=\s*([+-]?\d+(?:\.\d+)?)\s*(%?)\s*$")


@dataclass(frozen=True)
class BudgetChange:
    """A channel's weekly spend from `as_of` on: times `factor`, or (`amounts`) a new spend per period."""

    channel: str
    factor: float = 1.0
    amounts: tuple[tuple[str, float], ...] = ()  # (period label, spend in that period)

    def label(self) -> str:
        if self.amounts:
            return f"{self.channel}: " + ", ".join(f"{p}={a:,.0f}" for p, a in self.amounts)
        return f"{self.channel} {self.factor - 1:+.0%}"


def budget_changes(specs: list[str], spend_file: Path | str | None = None) -> list[BudgetChange]:
    """`channel=+20%` / `channel=-50%` / `channel=1.5` (a factor) strings and a CSV of
    `period,channel,amount` rows (new spend per period) as `BudgetChange`s."""
    out = []
    for spec in specs:
        m = _CHANGE.match(spec)
        if not m:
            raise ValueError(f"--spend takes channel=+20% or channel=1.2 (got {spec!r})")
        name, value, pct = m.group(1), float(m.group(2)), m.group(3)
        factor = 1.0 + value / 100.0 if pct else value
        if factor < 0:
            raise ValueError(f"a budget cannot go below zero: {spec!r}")
        out.append(BudgetChange(name, factor))
    if spend_file is not None:
        table = pd.read_csv(spend_file)
        missing = {"period", "channel", "amount"} - set(table.columns)
        if missing:
            raise ValueError(
                f"{spend_file}: needs columns period, channel, amount (missing {sorted(missing)})"
            )
        if (table["amount"] < 0).any():
            raise ValueError(f"{spend_file}: amount must be >= 0")
        for channel, rows in table.groupby("channel", sort=True):
            pairs = tuple((str(p), float(a)) for p, a in zip(rows["period"], rows["amount"], strict=True))
            out.append(BudgetChange(str(channel), amounts=pairs))
    if not out:
        raise ValueError("no budget change given: use --spend channel=+20% or --spend-file budget.csv")
    return out


def adstock(x: np.ndarray, carry: float) -> np.ndarray:
    """Geometric adstock along axis 0: a_t = x_t + carry · a_{t−1}."""
    out = np.zeros_like(x, dtype=float)
    acc = np.zeros(x.shape[1:])
    for t in range(x.shape[0]):
        acc = x[t] + carry * acc
        out[t] = acc
    return out


class ResponseModel:
    """Weekly marketing leads per channel ~ Poisson(exp(α_c + e · log(A_cw / Ā_c))) (module docstring)."""

    def __init__(self, carry_grid: tuple[float, ...] = (0.0, 0.3, 0.5, 0.7), min_weeks: int = 8,
                 burn_in_weeks: int = 8):  # fmt: skip
        self.carry_grid = carry_grid
        self.min_weeks = min_weeks
        self.burn_in_weeks = burn_in_weeks

    def fit(
        self, spend: pd.DataFrame, leads: pd.DataFrame, opportunity_share: pd.Series | None = None
    ) -> ResponseModel:
        """`spend`, `leads`: weeks × channels (same index and columns); `opportunity_share`: per channel, the
        share of its (settled) leads that became an opportunity (its mean for a channel without one)."""
        import statsmodels.api as sm

        channels = [c for c in spend.columns if spend[c].sum() > 0 and c in leads.columns]
        if len(spend) < self.min_weeks + self.burn_in_weeks or not channels:
            raise ValueError(f"need {self.min_weeks + self.burn_in_weeks}+ weeks of spend and marketing leads "
                             f"by channel (got {len(spend)})")  # fmt: skip
        best = None
        for carry in self.carry_grid:
            a = adstock(spend[channels].to_numpy(float), carry)
            rel = np.log(np.maximum(a, 1e-9) / np.maximum(a.mean(axis=0), 1e-9))
            keep = a > 0
            keep[: self.burn_in_weeks] = False  # adstock of spend before the data is unknown
            y = leads[channels].to_numpy(float)[keep]
            dummies = np.repeat(np.eye(len(channels))[None, :, :], len(a), axis=0)[keep]
            trend = np.repeat(np.linspace(-1, 1, len(a))[:, None], len(channels), axis=1)[keep]
            X = np.column_stack([dummies, trend, rel[keep]])  # the trend keeps growth out of the elasticity
            res = sm.GLM(y, X, family=sm.families.Poisson()).fit()
            if best is None or res.deviance < best[1].deviance:
                best = (carry, res, a.mean(axis=0))
        carry, res, mean = best
        scale = max(res.pearson_chi2 / max(res.df_resid, 1), 1.0)  # over-dispersion widens the se
        self.carry_, self.channels_ = carry, channels
        self.elasticity_ = float(res.params[-1])
        self.elasticity_se_ = float(res.bse[-1] * np.sqrt(scale))
        self.mean_adstock_ = dict(zip(channels, mean, strict=True))
        self.weekly_leads_ = leads[channels].tail(13).mean().to_dict()
        self.past_spend_ = spend[channels].to_numpy(float)
        share = opportunity_share if opportunity_share is not None else pd.Series(dtype=float)
        fill = float(share.mean()) if len(share) else 0.0
        self.opportunity_share_ = {c: float(share.get(c, fill)) for c in channels}
        self.name_ = (
            f"Poisson elasticity e={self.elasticity_:.2f}±{self.elasticity_se_:.2f}, carry {carry:.1f}/week"
        )
        return self

    def extra_leads(
        self, columns: list[str], base_future: np.ndarray, new_future: np.ndarray, n_draws: int, rng
    ) -> np.ndarray:
        """(draws × weeks × len(columns)) extra marketing leads when the weekly spend of `columns` goes
        from `base_future` to `new_future` (weeks × columns), each draw with its own elasticity."""
        e = rng.normal(self.elasticity_, self.elasticity_se_, size=n_draws)
        idx = [columns.index(c) for c in self.channels_]
        past = self.past_spend_
        ratio = self.lead_ratio(
            np.vstack([past, base_future[:, idx]]), np.vstack([past, new_future[:, idx]]), e
        )
        weekly = np.array([self.weekly_leads_[c] for c in self.channels_])
        out = np.zeros((n_draws, base_future.shape[0], len(columns)))
        out[:, :, idx] = (ratio[:, len(past) :, :] - 1.0) * weekly[None, None, :]
        return out

    def opportunity_rates(self, columns: list[str]) -> np.ndarray:
        """Leads → opportunities per channel of `columns` (0 for a channel the response does not model)."""
        return np.array([self.opportunity_share_.get(c, 0.0) for c in columns])

    def lead_ratio(self, base: np.ndarray, changed: np.ndarray, elasticity: np.ndarray) -> np.ndarray:
        """(draws × weeks × channels) ratio of leads under `changed` to leads under `base` spend
        (weeks × channels of spend, history then future), for each draw's elasticity."""
        a0 = adstock(base, self.carry_)
        a1 = adstock(changed, self.carry_)
        ratio = np.where(a0 > 0, a1 / np.maximum(a0, 1e-9), 1.0)
        e = np.clip(elasticity, 0.0, 1.5)[:, None, None]
        return np.power(np.maximum(ratio, 1e-9)[None], e)


def weekly_inputs(ws: Workspace, at: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Weekly spend and marketing leads by channel up to `at` (weeks ending at `at`), and per channel the
    leads' opportunity share and the days from lead to opportunity (only leads old enough to know)."""
    t = at.to_pydatetime()
    sp = ws.table("spend").filter(_.date < t).group_by("date", "channel").agg(amount=_.amount.sum()).execute()
    marketing = ws.definitions.teams.marketing_source_teams
    leads = ws.table("leads").filter((_.created_at <= t) & _.source_channel.notnull())
    leads = leads.filter(_.source_team.isin(marketing) | _.source_team.isnull())
    lead_rows = leads.select("lead_id", "created_at", channel=_.source_channel).execute()
    opps = ws.table("opportunities").filter((_.created_at <= t) & _.lead_id.notnull())
    opp_rows = opps.group_by("lead_id").agg(opp_at=_.created_at.min()).execute()
    weeks = np.floor((at - pd.to_datetime(sp["date"])) / WEEK).astype(int)
    spend = sp.assign(week=-weeks - 1).pivot_table(
        index="week", columns="channel", values="amount", aggfunc="sum"
    )
    lw = -np.floor((at - pd.to_datetime(lead_rows["created_at"])) / WEEK).astype(int) - 1
    leads_w = lead_rows.assign(week=lw).pivot_table(
        index="week", columns="channel", values="lead_id", aggfunc="count"
    )
    index = range(int(min(spend.index.min(), leads_w.index.min() if len(leads_w) else 0)), 0)
    spend = spend.reindex(index=index, fill_value=0.0).fillna(0.0)
    leads_w = leads_w.reindex(index=index, columns=spend.columns).fillna(0.0)
    first = spend.ne(0).any(axis=1).to_numpy().argmax() if len(spend) else 0
    spend, leads_w = spend.iloc[first:], leads_w.iloc[first:]
    joined = lead_rows.merge(opp_rows, on="lead_id", how="left")
    joined["lag"] = (pd.to_datetime(joined["opp_at"]) - pd.to_datetime(joined["created_at"])) / DAY
    return spend, leads_w, joined


def spend_whatif(
    ws: Workspace,
    changes: list[BudgetChange],
    as_of: dt.datetime | str | None = None,
    period: str = "quarter",
    periods: int = 2,
    n_draws: int = 4000,
    random_state: int | None = 0,
    response: ResponseModel | MixResponse | None = None,
    interval_scale: float | None = None,
    bases: list[DealForecast] | None = None,
    mix: MixResponse | None = None,
) -> pd.DataFrame:
    """WHATIF_COLUMNS, one row per period from the one open at `as_of`: bookings under today's budget
    (the deal forecast) and under `changes`, and the difference, each P10/P50/P90. The response is
    `response` when given, else the mix model (`mix`, fitted here when None) when it identifies every
    changed channel, else the Poisson `ResponseModel`; `route` says which."""
    rng = np.random.default_rng(random_state)
    history = DealHistory.of(ws)
    at = pd.Timestamp(naive_utc(as_of)) if as_of is not None else history.latest
    spend, leads, lead_opps = weekly_inputs(ws, at)
    unknown = [c.channel for c in changes if c.channel not in spend.columns]
    if unknown:
        raise ValueError(f"no spend recorded for {', '.join(unknown)}; channels with spend: "
                         f"{', '.join(map(str, spend.columns))}")  # fmt: skip
    changed = sorted({c.channel for c in changes})
    route, response = choose_response(ws, at, spend, leads, lead_opps, changed, response, mix, random_state)

    if bases is None:
        bases = base_forecasts(ws, at, period, periods, n_draws, random_state, interval_scale)
    horizon_end = pd.Timestamp(bases[-1].bounds_[1])
    n_weeks = int(np.ceil((horizon_end - at) / WEEK))
    future_days = at + WEEK * (np.arange(n_weeks) + 0.5)  # mid-week
    plan = spend.tail(13).mean()  # today's budget: the last quarter's weekly spend continues
    base_future = np.tile(plan.to_numpy(float), (n_weeks, 1))
    new_future = base_future.copy()
    cols = list(spend.columns)
    for ch in changes:
        j = cols.index(ch.channel)
        if ch.amounts:
            for label, amount in ch.amounts:
                hit = [i for i, d in enumerate(future_days) if _label(d, period) == label]
                if hit:
                    new_future[hit, j] = amount / _weeks_in(label, period)
        else:
            new_future[:, j] *= ch.factor
    extra_leads = response.extra_leads(
        cols, base_future, new_future, n_draws, rng
    )  # draws × weeks × channels
    extra_opps = extra_leads @ response.opportunity_rates(cols)  # draws × weeks
    settled = lead_opps[pd.to_datetime(lead_opps["created_at"]) <= at - 90 * DAY]
    lags = settled["lag"].dropna().to_numpy(float)
    lags = lags if lags.size else np.array([14.0])

    # opportunities -> bookings in each period
    o = history.opps[history.opps["created_at"] <= at]
    known = o["closed_at"] <= at
    ends = o["closed_at"].where(known, at)
    curve = WinCurve().fit(((ends - o["created_at"]) / DAY).to_numpy(float),
                         np.where(known, np.where(o["is_won"], 1, 2), 0))  # fmt: skip
    wins = o.loc[known & o["is_won"], "amount"].to_numpy(float)
    lag = float(np.mean(lags))
    rows = []
    for base in bases:
        s, e_ = (pd.Timestamp(x) for x in base.bounds_)
        created = future_days + lag * DAY
        won_share = np.array([_won_in(curve, (s - d) / DAY, (e_ - d) / DAY) for d in created])
        expected_wins = extra_opps @ won_share  # per draw, signed
        count = np.sign(expected_wins) * rng.poisson(np.abs(expected_wins))
        amounts = np.array([wins[rng.integers(wins.size, size=abs(int(k)))].sum() if wins.size else 0.0
                            for k in count])  # fmt: skip
        delta = np.sign(count) * amounts
        b = base.draws_[TOTAL].to_numpy()
        booked = float(base.result_.set_index("rep_id").loc[TOTAL, "booked_to_date"])
        new = np.maximum(b + delta, booked)
        in_period = (future_days >= s) & (future_days < e_)
        q = lambda x: np.quantile(x, [0.1, 0.5, 0.9])  # noqa: E731
        (b10, b50, b90), (p10, p50, p90), (d10, d50, d90) = q(b), q(new), q(new - b)
        rows.append({
            "period": base.period_, "change": "; ".join(c.label() for c in changes),
            "extra_leads": float(extra_leads[:, in_period, :].sum(axis=(1, 2)).mean()),
            "extra_opportunities": float(extra_opps[:, in_period].sum(axis=1).mean()),
            "base_p10": b10, "base_p50": b50, "base_p90": b90, "p10": p10, "p50": p50, "p90": p90,
            "delta_p10": d10, "delta_p50": d50, "delta_p90": d90, "response": response.name_, "route": route,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=WHATIF_COLUMNS)


def choose_response(
    ws: Workspace,
    at: pd.Timestamp,
    spend: pd.DataFrame,
    leads: pd.DataFrame,
    lead_opps: pd.DataFrame,
    channels: list[str],
    response=None,
    mix: MixResponse | None = None,
    random_state: int | None = 0,
) -> tuple[str, ResponseModel | MixResponse]:
    """The route of a what-if on `channels` and its fitted response: `response` as given ("given"), the
    mix model when it identifies every one of `channels` ("mix"), else the Poisson response ("poisson",
    its name saying why the mix model was not used)."""
    if response is not None:
        return "given", response
    why = ""
    try:
        mix = mix if mix is not None else MixResponse(random_state=random_state).fit(ws, at)
        ok, why = mix.identifies(channels)
        if ok:
            return "mix", mix
    except ValueError as exc:  # too little spend history for the mix model
        why = str(exc)
    poisson = ResponseModel().fit(spend, leads, channel_opportunity_share(lead_opps, at))
    poisson.name_ += f" (fallback: the mix model does not identify {why})"
    return "poisson", poisson


def channel_opportunity_share(
    lead_opps: pd.DataFrame, at: pd.Timestamp, settle_days: float = 90.0
) -> pd.Series:
    """Per channel, the share of marketing leads at least `settle_days` old that became an opportunity."""
    settled = lead_opps[pd.to_datetime(lead_opps["created_at"]) <= at - settle_days * DAY]
    return settled.groupby("channel")["opp_at"].apply(lambda x: x.notna().mean())


def base_forecasts(ws: Workspace, as_of, period: str = "quarter", periods: int = 2, n_draws: int = 4000,
                   random_state: int | None = 0, interval_scale: float | None = None) -> list[DealForecast]:  # fmt: skip
    """The deal forecasts of the period open at `as_of` and the `periods - 1` after it (today's budget)."""
    return [DealForecast(period=period, n_draws=n_draws, random_state=random_state, interval_scale=interval_scale,
                         periods_ahead=k).fit(ws, as_of=as_of) for k in range(periods)]  # fmt: skip


def channel_whatifs(ws: Workspace, factor: float = 1.2, as_of=None, period: str = "quarter", periods: int = 2,
                    n_draws: int = 2000, random_state: int | None = 0, interval_scale: float | None = None) -> pd.DataFrame:  # fmt: skip
    """WHATIF_COLUMNS for each channel with spend, its budget times `factor` from `as_of` on (one at a time);
    empty when the spend history is too short to fit the response."""
    history = DealHistory.of(ws)
    at = pd.Timestamp(naive_utc(as_of)) if as_of is not None else history.latest
    try:
        spend, leads, lead_opps = weekly_inputs(ws, at)
        poisson = ResponseModel().fit(spend, leads, channel_opportunity_share(lead_opps, at))
    except ValueError:
        return pd.DataFrame(columns=WHATIF_COLUMNS)
    try:
        mix = MixResponse(random_state=random_state).fit(ws, at)
    except ValueError:
        mix = None
    bases = base_forecasts(ws, at, period, periods, n_draws, random_state, interval_scale)
    tables = []
    for c in poisson.channels_:
        route, response = "poisson", poisson
        if mix is not None and mix.identifies([c])[0]:
            route, response = "mix", mix
        table = spend_whatif(ws, [BudgetChange(c, factor)], as_of=at, period=period, periods=periods,
                             n_draws=n_draws, random_state=random_state, response=response, bases=bases)  # fmt: skip
        tables.append(table.assign(route=route))
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=WHATIF_COLUMNS)


def _won_in(curve: WinCurve, start: float, end: float) -> float:
    """P(won in [start, end) days after creation) from the creation curve."""
    return float(max(curve.cif(np.array([end]))[0] - curve.cif(np.array([start]))[0], 0.0))


def _label(day: pd.Timestamp, period: str) -> str:
    return period_label(period_bounds(pd.Timestamp(day).to_pydatetime(), period)[1], period)


def _weeks_in(label: str, period: str) -> float:
    return {"quarter": 13.0, "month": 4.35, "year": 52.0}[period]
