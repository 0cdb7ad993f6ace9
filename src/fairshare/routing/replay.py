"""`QueueReplay`: replay the company's lead flow under a queue policy, with each rep's capacity (SimPy).

The leads that waited in a queue (not sourced by the reps themselves) arrive at their observed times.
Each qualifying rep works business days (9-17 UTC) and takes one lead at a time from the waiting
pool: `fifo` oldest first, `lifo` newest first, `value` highest value per hour first, `round_robin`
leads dealt to reps in turn at arrival, each rep oldest first. A lead waiting longer than
`max_wait_days` is lost (never contacted). A lead occupies the rep for its share of the rep's
measured day: (8 h / leads started per working day) x effort_hours / mean effort_hours.

A worked lead's chance to win comes from a logistic model fitted on the resolved leads:
logit P(win) = a + b logit(p_win_at_arrival) + c log(1 + days waited) for contacted leads; a lead
never contacted wins nothing (as in the data). Replications resample the leads, refit the model
on a bootstrap of the resolved leads and draw the wins, so the intervals carry all three.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

POLICIES = ("value", "fifo", "lifo", "round_robin")
REPLAY_COLUMNS = ["policy", "metric", "mean", "ci_low", "ci_high", "replications"]
METRICS = ("won_revenue", "leads_worked", "speed_to_lead_hours", "calls_per_hour")
DAY_START, DAY_HOURS = 9.0, 8.0


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def speed_model(history: pd.DataFrame, rng: np.random.Generator | None = None,
                quality_prior_sd: float = 0.5) -> np.ndarray:  # fmt: skip
    """Coefficients (a, b, c) of logit P(win) = a + b logit(p_win_at_arrival) + c log(1 + wait days), contacted leads.

    p_win_at_arrival is the lead model's calibrated P(win), so b is shrunk toward 1 (prior sd
    `quality_prior_sd`): a company with few contacted wins does not unlearn its own lead model. The
    known directions hold (b >= 0: better leads win more; c <= 0: a slower first contact never helps,
    as the lead model's monotone rule) unless the data's rank correlation shows the opposite with its
    90% interval on the other side of zero. With `rng`, the fit is on a bootstrap of the leads.
    """
    from scipy.optimize import minimize
    from scipy.special import expit

    from fairshare.scoring.model import direction_evidence

    data = history[history["resolved"] & history["wait_hours"].notna()]
    if rng is not None:
        data = data.iloc[rng.integers(0, len(data), len(data))]
    quality = _logit(data["p_win_at_arrival"].to_numpy(float))
    wait = np.log1p(data["wait_hours"].to_numpy(float) / 24.0)
    y = data["won"].to_numpy(float)
    if len(np.unique(y)) < 2:
        return np.array([_logit(np.array([y.mean()]))[0], 0.0, 0.0])
    _, q_low, q_high, _ = direction_evidence(quality, y)
    _, w_low, w_high, _ = direction_evidence(wait, y)
    bounds = [(None, None), (None if q_high < 0 else 0.0, None), (None, None if w_low > 0 else 0.0)]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = theta[0] + theta[1] * quality + theta[2] * wait
        p = expit(eta)
        prior = np.array([0.0, (theta[1] - 1) / quality_prior_sd**2, theta[2] / 100.0])
        value = (
            float(np.sum(np.logaddexp(0, eta) - y * eta)) + 0.5 * (theta[1] - 1) ** 2 / quality_prior_sd**2
        )
        value += 0.5 * theta[2] ** 2 / 100.0  # a weak ridge (sd 10) keeps c finite on separable data
        grad = np.array([np.sum(p - y), np.sum((p - y) * quality), np.sum((p - y) * wait)]) + prior
        return value, grad

    start = np.array([_logit(np.array([y.mean()]))[0] - float(np.mean(quality)), 1.0, 0.0])
    return minimize(loss, start, jac=True, bounds=bounds, method="L-BFGS-B").x


def rep_capacity(history: pd.DataFrame, business: np.ndarray, min_days: int = 5) -> pd.DataFrame:
    """Per rep: leads_per_day it can start, and saturated_days, from when it first contacted queued leads.

    Throughput is not capacity: a rep whose queue never backs up starts only what arrives. A business
    day is saturated for a rep when one of its leads had arrived before the day's start and still
    waited past the day's end; on those days the rep started all it could, so capacity is its starts
    per saturated day. With fewer than `min_days` saturated days the queue never bound: capacity is
    at least its busiest day's starts, and that lower bound is used (the replay then queues little).
    `history` needs first_rep, arrival_hours and wait_hours (NaN: never contacted).
    """
    data = history.dropna(subset=["first_rep", "wait_hours"])
    first = (data["arrival_hours"] + data["wait_hours"]).to_numpy(float)
    first_day = np.floor(first / 24).astype(int)
    # the first whole day the lead waited through: its arrival day if it arrived before work started
    start = np.ceil((data["arrival_hours"].to_numpy(float) - DAY_START) / 24).astype(int)
    rows = []
    for rep, idx in data.groupby("first_rep").indices.items():
        starts = pd.Series(first_day[idx]).value_counts()
        waited = {
            d for i in idx for d in range(max(start[i], 0), first_day[i]) if d < len(business) and business[d]
        }
        if len(waited) >= min_days:
            per_day = float(starts.reindex(sorted(waited)).fillna(0).mean())
        else:
            per_day = float(starts.max())
        rows.append({"rep_id": rep, "leads_per_day": per_day, "saturated_days": len(waited)})
    return pd.DataFrame(rows, columns=["rep_id", "leads_per_day", "saturated_days"])


def _next_work_time(t: float, business: np.ndarray) -> float:
    """The first working moment at or after hour t (business days 9-17)."""
    day = int(t // 24)
    while day < len(business):
        start, end = day * 24 + DAY_START, day * 24 + DAY_START + DAY_HOURS
        if business[day] and t < end:
            return max(t, start)
        day += 1
        t = day * 24.0
    return float("inf")


def _after_work(t: float, hours: float, business: np.ndarray) -> float:
    """The wall-clock hour at which `hours` of working time started at hour t are done."""
    while hours > 1e-9:
        t = _next_work_time(t, business)
        if t == float("inf"):
            return t
        end = (t // 24) * 24 + DAY_START + DAY_HOURS
        step = min(hours, end - t)
        t, hours = t + step, hours - step
    return t


def replay_once(leads: pd.DataFrame, reps: list[str], slot_hours: dict[str, float], policy: str,
                max_wait_hours: float, business: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:  # fmt: skip
    """One replay: per lead, the rep and hour of first contact (NaN: never contacted)."""
    import simpy

    env = simpy.Environment()
    arrival = leads["arrival_hours"].to_numpy(float)
    vph = leads["value_per_hour"].to_numpy(float)
    effort = leads["effort_hours"].to_numpy(float)
    scale = effort / max(float(np.mean(effort)), 1e-9)
    order = np.argsort(arrival, kind="stable")
    first = np.full(len(leads), np.nan)
    owner = np.full(len(leads), "", dtype=object)
    pools: dict[str, list[int]] = {r: [] for r in reps} if policy == "round_robin" else {"": []}
    wake = {"event": env.event()}
    tie = rng.permutation(len(leads))  # random tie-break among equal keys

    def arrivals():
        for k, i in enumerate(order):
            yield env.timeout(max(arrival[i] - env.now, 0.0))
            pools[reps[k % len(reps)] if policy == "round_robin" else ""].append(int(i))
            wake["event"].succeed()
            wake["event"] = env.event()

    def pick(pool: list[int]) -> int | None:
        live = [i for i in pool if env.now - arrival[i] <= max_wait_hours]
        pool[:] = live
        if not live:
            return None
        if policy == "value":
            best = max(live, key=lambda i: (vph[i], -tie[i]))
        elif policy == "lifo":
            best = max(live, key=lambda i: (arrival[i], -tie[i]))
        else:  # fifo, round_robin
            best = min(live, key=lambda i: (arrival[i], tie[i]))
        pool.remove(best)
        return best

    def rep_process(rep: str):
        pool = pools[rep if policy == "round_robin" else ""]
        while True:
            start = _next_work_time(env.now, business)
            if start == float("inf"):
                return
            if start > env.now:
                yield env.timeout(start - env.now)
            i = pick(pool)
            if i is None:
                end_of_day = (env.now // 24) * 24 + DAY_START + DAY_HOURS
                yield wake["event"] | env.timeout(max(end_of_day - env.now, 1e-6))
                continue
            first[i], owner[i] = env.now, rep
            done = _after_work(env.now, slot_hours[rep] * scale[i], business)
            if done == float("inf"):
                return
            yield env.timeout(done - env.now)

    env.process(arrivals())
    for rep in reps:
        env.process(rep_process(rep))
    env.run(until=len(business) * 24.0)
    return pd.DataFrame({"first_hours": first, "rep_id": owner}, index=leads.index)


class QueueReplay(BaseEstimator):
    """Replays of the lead flow under each policy (`POLICIES`), with `replications` and interval `level`.

    `fit(history, reps, start)`: `history` has one row per queued lead (arrival_hours since `start`,
    p_win_at_arrival, expected_amount, value_per_hour, effort_hours, calls, wait_hours (NaN: never
    contacted), won, resolved); `reps` has rep_id and leads_per_day. Learned: `result_` (`REPLAY_COLUMNS`,
    one row per policy and metric), `uplift_` (won revenue over fifo per policy, with interval).
    """

    def __init__(self, policies: tuple[str, ...] = POLICIES, replications: int = 20, max_wait_days: float = 5.0,
                 level: float = 0.9, random_state: int = 0):  # fmt: skip
        self.policies = policies
        self.replications = replications
        self.max_wait_days = max_wait_days
        self.level = level
        self.random_state = random_state

    def fit(self, history: pd.DataFrame, reps: pd.DataFrame, business: np.ndarray) -> QueueReplay:
        unknown = set(self.policies) - set(POLICIES)
        if unknown:
            raise ValueError(f"unknown queue policies {sorted(unknown)}; choose from {', '.join(POLICIES)}")
        if history.empty or reps.empty:
            raise ValueError("the replay needs queued leads and at least one rep with measured capacity")
        rng = np.random.default_rng(self.random_state)
        rep_ids = sorted(reps["rep_id"])
        slot = dict(zip(reps["rep_id"], DAY_HOURS / reps["leads_per_day"].clip(lower=1e-3), strict=True))
        draws: dict[str, list[dict[str, float]]] = {p: [] for p in self.policies}
        for _ in range(self.replications):
            sample = history.iloc[rng.integers(0, len(history), len(history))].reset_index(drop=True)
            coef = speed_model(history, rng)
            u = rng.uniform(size=len(sample))
            seed = int(rng.integers(2**31))
            for policy in self.policies:
                out = replay_once(sample, rep_ids, slot, policy, self.max_wait_days * 24, business,
                                  np.random.default_rng(seed))  # fmt: skip
                wait = out["first_hours"] - sample["arrival_hours"]
                worked = wait.notna().to_numpy()
                logit = coef[0] + coef[1] * _logit(sample["p_win_at_arrival"].to_numpy(float))
                logit = logit + coef[2] * np.log1p(np.nan_to_num(wait.to_numpy(float)) / 24)
                won = worked & (u < 1 / (1 + np.exp(-logit)))
                hours = (sample["effort_hours"] * worked).sum()
                draws[policy].append({
                    "won_revenue": float((sample["expected_amount"] * won).sum()),
                    "leads_worked": float(worked.sum()),
                    "speed_to_lead_hours": float(np.nanmedian(wait)) if worked.any() else float("nan"),
                    "calls_per_hour": float((sample["calls"] * worked).sum() / hours) if hours > 0 else float("nan"),
                })  # fmt: skip
        self.draws_ = {p: pd.DataFrame(d) for p, d in draws.items()}
        q = ((1 - self.level) / 2, (1 + self.level) / 2)
        rows = []
        for policy, frame in self.draws_.items():
            for metric in METRICS:
                v = frame[metric].dropna()
                rows.append({"policy": policy, "metric": metric, "mean": float(v.mean()),
                             "ci_low": float(v.quantile(q[0])), "ci_high": float(v.quantile(q[1])),
                             "replications": len(v)})  # fmt: skip
        self.result_ = pd.DataFrame(rows, columns=REPLAY_COLUMNS)
        if "fifo" in self.draws_:
            base = self.draws_["fifo"]["won_revenue"]
            up = []
            for policy, frame in self.draws_.items():
                d = frame["won_revenue"] - base  # paired: same leads, model and dice
                up.append({"policy": policy, "uplift": float(d.mean()), "ci_low": float(d.quantile(q[0])),
                           "ci_high": float(d.quantile(q[1]))})  # fmt: skip
            self.uplift_ = pd.DataFrame(up)
            extra = self.uplift_.rename(columns={"uplift": "mean"}).assign(
                metric="won_revenue_over_fifo", replications=self.replications
            )
            self.result_ = pd.concat([self.result_, extra[REPLAY_COLUMNS]], ignore_index=True)
        return self
