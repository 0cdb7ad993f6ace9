"""The sales queue replayed from the warehouse: what other leads gain when a channel's leads vanish.

With a capacity-bound SDR queue (leads wait, some are never contacted), a channel's leads take
contacts from other leads. Switching the channel off frees those contacts: leads that were dropped
get contacted and every later lead is reached sooner. That displacement is part of the channel's
true incremental value and is invisible to per-account estimates, which see only the channel's own
accounts. `SalesQueue` rebuilds the queue from the data (queue arrival times, who worked each lead,
the longest observed wait), calibrates each rep's daily capacity so that the replay reproduces the
observed never-contacted share, and replays it without a random share of one source's leads.

Queue discipline (the order in which a rep takes its waiting leads) is not assumed: `fifo` (oldest
first), `lifo` (newest first) and `priority` (highest lead score first, the score learned from the
data: the firmographic part of a logistic regression of contacted on the account's firmographics
and the queue load) are each calibrated and replayed, and `auto` keeps the one whose replay best
reproduces the observed outcomes: the never-contacted share and the distribution of hours to first
contact, within strata of the lead score (see `SalesQueue._mismatch`).

Displacement (money) = sum over other leads of
    newly contacted x value of a contact at its replayed wait + speed effect x change in log(1 + hours),
with the value of a contact (per lead: the `sdr_contact` fit's own prediction for that lead) and the speed
effect taken from the DML lead rows (`sdr_contact`, `speed_to_lead`). With no waiting queue the replay
changes nothing and displacement is 0.
"""

from __future__ import annotations

import heapq
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

#: Business hours of the replay (fractions of a day): reps take the leads that arrived before the end of
#: the work day and contact them at a random time of it (never sooner than `RESPONSE_HOURS` after arrival).
WORKDAY_START, WORKDAY_END = 9 / 24, 17 / 24
RESPONSE_HOURS = 1.0
DISCIPLINES = ("fifo", "lifo", "priority")
#: Account firmographics a lead score can use (whichever exist): numeric, then categorical.
NUMERIC_FIRMOGRAPHICS = ("log_employees", "log_annual_revenue")
CATEGORICAL_FIRMOGRAPHICS = ("industry", "region")
BISECTION_STEPS = 24


class SalesQueue(BaseEstimator):
    """Queues per rep, one capacity per rep and business day, leads dropped after the longest observed wait.

    Parameters
    ----------
    draws: random removals averaged per displacement.
    random_state: int or numpy Generator (routing of never-contacted leads, contact time of day, removals).
    discipline: "fifo" (oldest first), "lifo" (newest first), "priority" (highest learned lead score first,
        ties by arrival) or "auto" (each one calibrated and replayed; the one that best reproduces the
        observed contacts and waits is kept).

    Fitted attributes: result_ (= discipline_table_), discipline_ (the replayed discipline), discipline_scores_ (per candidate: mismatch
    between replay and observation, 0 = identical, lower is better; see `_mismatch`), discipline_table_ (the
    comparison: capacity, replayed share, status mismatch, log-wait error, median hours per candidate),
    description_ (one line for the assumptions), capacity_ (new leads a rep starts per business day),
    max_wait_days_, never_contacted_share_ (observed, judged leads), replayed_share_ (calibrated replay),
    contacted_ and hours_ (the calibrated replay of every queued lead), priority_ (learned lead score per
    queued lead, NaN without firmographics), n_queued_, n_reps_.
    """

    def __init__(
        self,
        draws: int = 20,
        random_state: int | np.random.Generator | None = 0,
        discipline: str = "auto",
    ) -> None:
        self.draws = draws
        self.random_state = random_state
        self.discipline = discipline

    # ---- fitting --------------------------------------------------------------------------------------------
    def fit(self, leads: pd.DataFrame) -> SalesQueue:
        """Leads from `exposures.lead_exposures` (needs queued, created_at, contacted, hours_to_first_contact).

        Optional: first_rep_id (who first worked the lead; leads nobody worked go to the busiest rep, see
        `_route`), mql_at (when a marketing lead entered the queue; else created_at), firmographics
        (log_employees, log_annual_revenue, industry, region) for the priority discipline.
        """
        if self.discipline not in (*DISCIPLINES, "auto"):
            raise ValueError(f"discipline must be one of {(*DISCIPLINES, 'auto')} (got {self.discipline!r})")
        self.rng_ = np.random.default_rng(self.random_state)
        q = leads.loc[leads["queued"]].sort_values("created_at").reset_index(drop=True)
        if len(q) < 20 or not q["contacted"].any():
            raise ValueError(f"need queued leads with contacts to replay the queue (got {len(q)})")
        created = pd.to_datetime(q["created_at"], utc=True)
        origin = created.min().normalize()
        self.origin_ = origin
        self.created_ = ((created - origin).dt.total_seconds() / 86400).to_numpy(float)
        arrival = self.created_.copy()
        if "mql_at" in q:  # a marketing lead enters the queue when it becomes an MQL
            mql = (pd.to_datetime(q["mql_at"], utc=True) - origin).dt.total_seconds().to_numpy(float) / 86400
            later = np.isfinite(mql) & (mql > arrival)
            arrival[later] = mql[later]
        self.arrival_ = arrival
        waits = q.loc[q["contacted"], "hours_to_first_contact"].clip(lower=0) / 24
        self.max_wait_days_ = float(waits.max())
        reps = q["first_rep_id"].dropna() if "first_rep_id" in q else pd.Series(dtype=str)
        names = sorted(reps.unique()) or ["rep"]
        self.n_reps_ = len(names)
        rep = (
            q["first_rep_id"].map({n: i for i, n in enumerate(names)})
            if len(reps)
            else pd.Series(np.nan, index=q.index)
        )
        self.rep_ = self._route(q, rep.to_numpy(float, copy=True))
        self.time_of_day_ = self.rng_.random(len(q))  # when in the work day a taken lead is contacted
        end = self.arrival_.max()
        self.judged_ = self.arrival_ < end - self.max_wait_days_ - 1
        days = np.arange(0, int(np.ceil(end + self.max_wait_days_)) + 2)
        self.workdays_ = days[(origin + pd.to_timedelta(days, unit="D")).day_of_week < 5].astype(float)
        self.leads_ = q
        self.n_queued_ = len(q)
        observed = q["contacted"].to_numpy(bool)
        self.never_contacted_share_ = self._never_contacted(observed)
        order = np.lexsort((np.arange(len(q)), self.arrival_))
        self._by_rep = [order[self.rep_[order] == r] for r in range(self.n_reps_)]
        self.priority_ = self._lead_score(q)
        candidates = [self.discipline] if self.discipline != "auto" else list(DISCIPLINES)
        if np.isnan(self.priority_).any():
            if self.discipline == "priority":
                raise ValueError("priority needs firmographics and both contacted and never-contacted leads")
            candidates = [c for c in candidates if c != "priority"]
        obs_hours = q["hours_to_first_contact"].to_numpy(float)
        rows = []
        for c in candidates:
            capacity = self._calibrate(c)
            contacted, hours = self.replay(np.ones(len(q), bool), capacity, c)
            rows.append({"discipline": c, "capacity": capacity,
                         "replayed_share": self._never_contacted(contacted),
                         **self._mismatch(observed, obs_hours, contacted, hours),
                         "_replay": (contacted, hours)})  # fmt: skip
        best = min(rows, key=lambda r: r["score"])  # ties: the first candidate (fifo)
        self.discipline_ = best["discipline"]
        self.capacity_ = best["capacity"]
        self.replayed_share_ = best["replayed_share"]
        self.contacted_, self.hours_ = best["_replay"]
        self.discipline_scores_ = {r["discipline"]: r["score"] for r in rows}
        self.discipline_table_ = pd.DataFrame([{k: v for k, v in r.items() if k != "_replay"} for r in rows])
        self.result_ = self.discipline_table_
        scores = ", ".join(f"{k} {v:.2f}" for k, v in self.discipline_scores_.items())
        how = "chosen" if self.discipline == "auto" else "set by the caller"
        self.description_ = (
            f"{self.discipline_} queue replay {how} (mismatch with the observed contacts and waits, lower is "
            f"better: {scores})"
        )
        return self

    def _route(self, q: pd.DataFrame, rep: np.ndarray) -> np.ndarray:
        """Rep of every queued lead: who first worked it, else the rep most likely to have left it waiting.

        A lead nobody worked waited for a rep who used all its capacity while the lead could wait, so it
        goes to the rep with the most work then (first contacts made during [arrival, arrival + longest
        wait] plus contacted leads that arrived in the longest wait before it), ties at random. (Routing
        them at random would hand them to reps that had time, and the calibration would then understate
        capacity and overstate waits.)
        """
        missing = np.isnan(rep)
        jitter = self.rng_.random((int(missing.sum()), self.n_reps_))
        known = ~missing & q["contacted"].to_numpy(bool)
        if not missing.any() or not known.any():
            rep[missing] = jitter.argmax(axis=1)
            return rep.astype(int)
        touched = self.created_ + q["hours_to_first_contact"].fillna(0).clip(lower=0).to_numpy(float) / 24
        t, wait = self.arrival_[missing], self.max_wait_days_
        work = np.empty_like(jitter)
        for r in range(self.n_reps_):
            mine = known & (rep == r)
            done, came = np.sort(touched[mine]), np.sort(self.arrival_[mine])
            work[:, r] = (np.searchsorted(done, t + wait, "right") - np.searchsorted(done, t, "left")
                          + np.searchsorted(came, t, "right") - np.searchsorted(came, t - wait, "left"))  # fmt: skip
        rep[missing] = (work + 1e-3 * jitter).argmax(axis=1)
        return rep.astype(int)

    def _lead_score(self, q: pd.DataFrame) -> np.ndarray:
        """Firmographic part of a logistic regression of contacted on firmographics + queue load (judged leads).

        Higher = taken sooner under `priority`. The load controls (queued arrivals per rep on the lead's day and
        over the preceding longest wait) absorb who is contacted because the queue was short, so the
        firmographic coefficients measure whom reps pick. NaN when no firmographic column exists or the
        judged leads are all contacted (or none is).
        """
        from sklearn.linear_model import LogisticRegression

        y = q["contacted"].to_numpy(bool)[self.judged_]
        parts = []
        for c in NUMERIC_FIRMOGRAPHICS:
            if c in q and q[c].notna().any():
                v = q[c].astype(float)
                z = ((v - v.mean()) / (v.std() or 1.0)).fillna(0.0)
                parts.append(pd.DataFrame({c: z, c + "^2": z**2}))  # fit can peak at a company size
        for c in CATEGORICAL_FIRMOGRAPHICS:
            if c in q and q[c].notna().any():
                v = q[c].astype(str)
                counts = v.value_counts()
                v = v.where(v.map(counts).ge(5), "other")
                parts.append(pd.get_dummies(v, prefix=c, dtype=float))
        if not parts or y.all() or not y.any():
            return np.full(len(q), np.nan)
        firmo = pd.concat(parts, axis=1).to_numpy(float)
        day = np.floor(self.arrival_)
        same_day = pd.Series(day).map(pd.Series(day).value_counts()).to_numpy(float)
        ordered = np.sort(self.arrival_)  # arrivals in the longest wait before this one
        since = np.searchsorted(ordered, self.arrival_ - self.max_wait_days_)
        backlog = np.searchsorted(ordered, self.arrival_) - since
        load = np.column_stack([np.log1p(same_day / self.n_reps_), np.log1p(backlog.clip(0) / self.n_reps_)])
        x = np.column_stack([firmo, load])
        x_std = x.std(axis=0)
        x_std[x_std == 0] = 1.0
        model = LogisticRegression(C=1.0, max_iter=2000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit((x / x_std)[self.judged_], y)
        beta = model.coef_[0][: firmo.shape[1]] / x_std[: firmo.shape[1]]
        self.priority_coef_ = dict(zip(pd.concat(parts, axis=1).columns, beta, strict=True))
        return firmo @ beta

    def _never_contacted(self, contacted: np.ndarray) -> float:
        """Share of the judged leads (arrived early enough to have been reached) that `contacted` leaves out."""
        return float(1 - contacted[self.judged_].mean()) if self.judged_.any() else 0.0

    def _calibrate(self, discipline: str) -> float:
        """Capacity whose replay reproduces the observed never-contacted share (bisection on the log scale).

        With no judged lead left uncontacted the queue never dropped anyone: capacity is not identified and
        the queue is treated as not binding (the highest capacity), so the replay displaces nothing.
        """
        low, high = 0.01, 50.0
        if self.never_contacted_share_ == 0:
            return high
        keep = np.ones(self.n_queued_, bool)
        for _ in range(BISECTION_STEPS):  # the never-contacted share falls with capacity
            mid = float(np.sqrt(low * high))
            contacted, _ = self.replay(keep, mid, discipline)
            share = self._never_contacted(contacted)
            low, high = (mid, high) if share > self.never_contacted_share_ else (low, mid)
        return float(np.sqrt(low * high))

    def _mismatch(
        self, observed: np.ndarray, obs_hours: np.ndarray, contacted: np.ndarray, hours: np.ndarray
    ) -> dict[str, float]:
        """How far a replay is from the observation (judged leads); `score` decides the discipline.

        score: within strata of the learned lead score (terciles; one stratum without it), the gap between
        the observed and replayed never-contacted shares plus the mean gap between the quantiles (2%..98%) of
        log(1 + hours to first contact) of the contacted leads, divided by log(1 + longest wait in hours);
        averaged over strata by size. 0 = the replay reproduces who is reached and how fast in every stratum.
        Distributions, not lead-by-lead agreement: which lead a rep takes on a given day also depends on
        exactly when its capacity falls, which the replay cannot know. The lead-by-lead figures are kept
        as diagnostics (status_mismatch: share of leads contacted in one and not the other; log_wait_error:
        mean |log(1 + hours) gap| of the leads contacted in both).
        """
        j = self.judged_
        if not j.any():
            return {"status_mismatch": 0.0, "log_wait_error": 0.0, "median_hours": float("nan"), "score": 0.0}
        o, c = observed & j, contacted & j
        log_obs, log_rep = np.log1p(np.nan_to_num(obs_hours).clip(0)), np.log1p(np.nan_to_num(hours))
        both = o & c
        scale = np.log1p(self.max_wait_days_ * 24)
        levels = np.quantile(self.priority_[j], [1 / 3, 2 / 3]) if not np.isnan(self.priority_).any() else []
        strata = np.digitize(self.priority_, levels) if len(levels) else np.zeros(self.n_queued_, int)
        score = 0.0
        for s in np.unique(strata[j]):
            m = strata == s
            gap = abs(o[m].sum() - c[m].sum()) / (j & m).sum()
            wait = min(_quantile_gap(log_obs[o & m], log_rep[c & m]) / scale, 1.0)
            score += (j & m).sum() / j.sum() * (gap + wait)
        return {"status_mismatch": float((o != c)[j].mean()),
                "log_wait_error": float(np.abs(log_obs - log_rep)[both].mean()) if both.any() else 0.0,
                "median_hours": float(np.median(hours[c])) if c.any() else float("nan"),
                "score": float(score)}  # fmt: skip

    # ---- replay ---------------------------------------------------------------------------------------------
    def replay(
        self, keep: np.ndarray, capacity: float | None = None, discipline: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Contacted (bool) and hours to first contact (NaN if never) of every queued lead, keeping only `keep`.

        Every business day each rep gains `capacity` (unused whole leads are lost, the fraction carries over)
        and takes, one per whole unit, its waiting leads that arrived before the end of the work day, in
        `discipline` order; a lead that could no longer be contacted within the longest observed wait by the
        end of the day is dropped.
        """
        capacity = self.capacity_ if capacity is None else capacity
        discipline = self.discipline_ if discipline is None else discipline
        contacted = np.zeros(self.n_queued_, bool)
        hours = np.full(self.n_queued_, np.nan)
        arr, created, tod = self.arrival_.tolist(), self.created_.tolist(), self.time_of_day_.tolist()
        rank = {"fifo": None, "lifo": -self.arrival_, "priority": -self.priority_}[discipline]
        key = None if rank is None else rank.tolist()  # heap key: smaller is taken first
        span, response, wait = WORKDAY_END - WORKDAY_START, RESPONSE_HOURS / 24, self.max_wait_days_
        workdays = self.workdays_.tolist()
        for idx in self._by_rep:
            idx = idx[keep[idx]].tolist()
            n = len(idx)
            if not n:
                continue
            head, budget, heap, taken = 0, 0.0, [], []
            for day in workdays:
                end = day + WORKDAY_END
                oldest = end - wait
                budget += capacity
                if key is None:  # fifo: one pointer
                    while head < n and arr[idx[head]] < oldest:
                        head += 1  # waited too long: dropped, never contacted
                    while budget >= 1.0 and head < n and arr[idx[head]] < end:
                        i = idx[head]
                        taken.append((i, day))
                        budget -= 1.0
                        head += 1
                    if head >= n:
                        break
                else:  # lifo / priority: a heap of the waiting leads, best key first, ties by arrival
                    while head < n and arr[idx[head]] < end:
                        i = idx[head]
                        heapq.heappush(heap, (key[i], arr[i], i))
                        head += 1
                    while budget >= 1.0 and heap:
                        _, a, i = heapq.heappop(heap)
                        if a < oldest:
                            continue  # waited too long: dropped
                        taken.append((i, day))
                        budget -= 1.0
                    if head >= n and not heap:
                        break
                budget -= float(int(budget))  # idle capacity is not banked
            for i, day in taken:
                t = max(day + WORKDAY_START + span * tod[i], arr[i] + response)
                contacted[i] = True
                hours[i] = (t - created[i]) * 24
        return contacted, hours

    def displacement(
        self, candidates: np.ndarray, share: float, contact_value: float | np.ndarray, speed_effect: float
    ) -> dict[str, float]:
        """Value gained by the other leads when each candidate lead vanishes with probability `share`.

        candidates: boolean mask over `leads_` (the source's queued leads); contact_value: revenue of
        contacting a lead at the average observed wait, one number or one per lead of `leads_` (the leads a
        freed queue newly contacts are the ones it served last, e.g. low-score leads under priority routing);
        speed_effect: revenue per unit of log(1 + hours) (negative when waiting costs). Returns displacement,
        newly_contacted, contact_value_gained, log_hours_saved (means over draws) and contact_log_hours.
        """
        share = float(np.clip(share, 0.0, 1.0))
        per_lead = np.broadcast_to(np.asarray(contact_value, dtype=float), (self.n_queued_,))
        contacted, hours = self.contacted_, self.hours_
        mean_log = float(np.nanmean(np.log1p(hours[contacted]))) if contacted.any() else 0.0
        new, new_value, new_log, saved = [], [], [], []
        for _ in range(self.draws if 0 < share < 1 else 1):
            removed = candidates & (self.rng_.random(self.n_queued_) < share)
            c2, h2 = self.replay(~removed)
            others = ~removed
            gained = others & c2 & ~contacted
            both = others & c2 & contacted
            new.append(gained.sum())
            new_value.append(float(per_lead[gained].sum()))
            new_log.append(float((np.log1p(h2[gained]) - mean_log).sum()))
            saved.append(float((np.log1p(hours[both]) - np.log1p(h2[both])).sum()))
        n_new, n_log, n_saved = float(np.mean(new)), float(np.mean(new_log)), float(np.mean(saved))
        gained_value = float(np.mean(new_value))
        value = gained_value + speed_effect * n_log - speed_effect * n_saved
        return {"displacement": value, "newly_contacted": n_new, "contact_value_gained": gained_value,
                "contact_log_hours": n_log, "log_hours_saved": n_saved}  # fmt: skip


def _quantile_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute gap between the 2%..98% quantiles of two samples (a Wasserstein-1 distance); inf if one is empty."""
    if not len(a) or not len(b):
        return float("inf") if len(a) != len(b) else 0.0
    levels = np.linspace(0.02, 0.98, 25)
    return float(np.abs(np.quantile(a, levels) - np.quantile(b, levels)).mean())
