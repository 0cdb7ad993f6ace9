"""The sales queue replayed from the warehouse: what other leads gain when a channel's leads vanish.

With a capacity-bound SDR queue (leads wait, some are never contacted), a channel's leads take
contacts from other leads. Switching the channel off frees those contacts: leads that were dropped
get contacted and every later lead is reached sooner. That displacement is part of the channel's
true incremental value and is invisible to per-account estimates, which see only the channel's own
accounts. `SalesQueue` rebuilds the queue from the data (arrival times, who worked each lead, the
longest observed wait), calibrates each rep's daily capacity so that the replay reproduces the
observed never-contacted share, and replays it without a random share of one source's leads.

Displacement (money) = sum over other leads of
    newly contacted x value of a contact at its replayed wait + speed effect x change in log(1 + hours),
with the value of a contact and the speed effect taken from the DML lead rows (`sdr_contact`,
`speed_to_lead`). With no waiting queue the replay changes nothing and displacement is 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: First-contact hour of a business day in the replay (reps start at 09:00).
WORKDAY_START = 9 / 24


class SalesQueue:
    """FIFO queues per rep, one capacity per rep and business day, leads dropped after the longest observed wait.

    Parameters
    ----------
    draws: random removals averaged per displacement.
    random_state: int or numpy Generator (routing of never-contacted leads, removals).

    Fitted attributes: capacity_ (new leads a rep starts per business day), max_wait_days_,
    never_contacted_share_ (observed, judged leads), replayed_share_ (calibrated replay), n_queued_, n_reps_.
    """

    def __init__(self, draws: int = 20, random_state: int | np.random.Generator | None = 0) -> None:
        self.draws = draws
        self.random_state = random_state

    def fit(self, leads: pd.DataFrame) -> SalesQueue:
        """Leads from `exposures.lead_exposures` (needs queued, created_at, contacted, hours_to_first_contact)."""
        self.rng_ = np.random.default_rng(self.random_state)
        q = leads.loc[leads["queued"]].sort_values("created_at").reset_index(drop=True)
        if len(q) < 20 or not q["contacted"].any():
            raise ValueError(f"need queued leads with contacts to replay the queue (got {len(q)})")
        created = pd.to_datetime(q["created_at"])
        origin = created.min().normalize()
        self.origin_ = origin
        self.arrival_ = ((created - origin).dt.total_seconds() / 86400).to_numpy(float)
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
        missing = rep.isna().to_numpy()
        rep = rep.to_numpy(float, copy=True)
        rep[missing] = self.rng_.integers(self.n_reps_, size=int(missing.sum()))
        self.rep_ = rep.astype(int)
        end = self.arrival_.max()
        self.judged_ = self.arrival_ < end - self.max_wait_days_ - 1
        days = np.arange(0, int(np.ceil(end + self.max_wait_days_)) + 2)
        self.workdays_ = days[(origin + pd.to_timedelta(days, unit="D")).day_of_week < 5].astype(float)
        self.leads_ = q
        self.n_queued_ = len(q)
        self.never_contacted_share_ = (
            float(1 - q.loc[self.judged_, "contacted"].mean()) if self.judged_.any() else 0.0
        )
        low, high = 0.01, 50.0
        for _ in range(30):  # never-contacted share falls with capacity: bisect on the log scale
            mid = float(np.sqrt(low * high))
            share = self._dropped_share(mid)
            low, high = (mid, high) if share > self.never_contacted_share_ else (low, mid)
        self.capacity_ = float(np.sqrt(low * high))
        self.replayed_share_ = self._dropped_share(self.capacity_)
        self.contacted_, self.hours_ = self.replay(np.ones(len(q), bool))
        return self

    def _dropped_share(self, capacity: float) -> float:
        contacted, _ = self.replay(np.ones(self.n_queued_, bool), capacity)
        return float(1 - contacted[self.judged_].mean()) if self.judged_.any() else 0.0

    def replay(self, keep: np.ndarray, capacity: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Contacted (bool) and hours to first contact (NaN if never) of every queued lead, keeping only `keep`."""
        capacity = self.capacity_ if capacity is None else capacity
        contacted = np.zeros(self.n_queued_, bool)
        hours = np.full(self.n_queued_, np.nan)
        for r in range(self.n_reps_):
            idx = np.flatnonzero((self.rep_ == r) & keep)
            if not len(idx):
                continue
            arrival = self.arrival_[idx]
            head, budget = 0, 0.0
            for day in self.workdays_:
                now = day + WORKDAY_START
                budget = min(budget + capacity, capacity + 1.0)  # idle capacity is not banked
                while head < len(idx) and arrival[head] <= now and budget >= 1.0:
                    if now - arrival[head] <= self.max_wait_days_:
                        contacted[idx[head]] = True
                        hours[idx[head]] = (now - arrival[head]) * 24
                        budget -= 1.0
                    head += 1
                while head < len(idx) and now - arrival[head] > self.max_wait_days_:
                    head += 1  # waited too long: dropped, never contacted
                if head >= len(idx):
                    break
        return contacted, hours

    def displacement(
        self, candidates: np.ndarray, share: float, contact_value: float, speed_effect: float
    ) -> dict[str, float]:
        """Value gained by the other leads when each candidate lead vanishes with probability `share`.

        candidates: boolean mask over `leads_` (the source's queued leads); contact_value: revenue of
        contacting a lead at the average observed wait; speed_effect: revenue per unit of log(1 + hours)
        (negative when waiting costs). Returns displacement, newly_contacted, log_hours_saved (means over draws)
        and the two coefficients (contacts, contact_log_hours, log_hours_saved) of the linear value.
        """
        share = float(np.clip(share, 0.0, 1.0))
        contacted, hours = self.contacted_, self.hours_
        mean_log = float(np.nanmean(np.log1p(hours[contacted]))) if contacted.any() else 0.0
        new, new_log, saved = [], [], []
        for _ in range(self.draws if 0 < share < 1 else 1):
            removed = candidates & (self.rng_.random(self.n_queued_) < share)
            c2, h2 = self.replay(~removed)
            others = ~removed
            gained = others & c2 & ~contacted
            both = others & c2 & contacted
            new.append(gained.sum())
            new_log.append(float((np.log1p(h2[gained]) - mean_log).sum()))
            saved.append(float((np.log1p(hours[both]) - np.log1p(h2[both])).sum()))
        n_new, n_log, n_saved = float(np.mean(new)), float(np.mean(new_log)), float(np.mean(saved))
        value = n_new * contact_value + speed_effect * n_log - speed_effect * n_saved
        return {"displacement": value, "newly_contacted": n_new, "contact_log_hours": n_log,
                "log_hours_saved": n_saved}  # fmt: skip
