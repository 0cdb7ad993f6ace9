"""`WorkQueue`: each rep's next-best open leads, by expected dollars per hour of work.

A lead's worth per hour is its value (P(win) × expected amount) over its expected effort (rep
hours), both from the lead model. Leads a rep already works stay with that rep; unworked leads go,
most valuable per hour first, to the qualifying rep with the most free hours. Each rep's queue is
ordered by urgency tier (an uncontacted lead whose first-contact SLA falls due within
`urgent_hours` comes first: speed to lead decays fast), then by value per hour; `fits_capacity`
marks the leads that fit the rep's measured hours per working day over `days`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

QUEUE_COLUMNS = [
    "rep_id", "lead_id", "account_id", "rank", "p_win", "value", "effort_hours", "value_per_hour", "sla_due_at",
    "urgent", "fits_capacity", "assigned",
]  # fmt: skip


class WorkQueue(BaseEstimator):
    """Per-rep work queues over open leads (scikit-learn shape: `fit(...)` then `result_`).

    Parameters: `urgent_hours` (an uncontacted lead due within this many hours jumps the queue),
    `days` (working days of capacity the `fits_capacity` flag covers), `default_hours_per_day`
    (capacity of a rep with no measured activity).

    `fit(leads, open_leads, reps, as_of)`: `leads` is the scored lead table (lead_id, account_id,
    p_win, value, effort_hours, value_per_hour); `open_leads` has lead_id, sla_due_at (NaT once
    contacted) and owner_rep_id (the rep already working it, or null); `reps` has rep_id and
    hours_per_day (only these reps receive unworked leads). Learned: `result_` (`QUEUE_COLUMNS`,
    one row per open lead, ranked within rep), `capacity_` (rep_id → hours per day).
    """

    def __init__(self, urgent_hours: float = 4.0, days: float = 1.0, default_hours_per_day: float = 4.0):
        self.urgent_hours = urgent_hours
        self.days = days
        self.default_hours_per_day = default_hours_per_day

    def fit(
        self, leads: pd.DataFrame, open_leads: pd.DataFrame, reps: pd.DataFrame, as_of: pd.Timestamp
    ) -> WorkQueue:
        if self.urgent_hours < 0 or self.days <= 0 or self.default_hours_per_day <= 0:
            raise ValueError("urgent_hours must be >= 0, days and default_hours_per_day > 0")
        cols = ["lead_id", "account_id", "p_win", "value", "effort_hours", "value_per_hour"]
        frame = open_leads[["lead_id", "sla_due_at", "owner_rep_id"]].merge(
            leads[cols], on="lead_id", how="inner"
        )
        due = pd.to_datetime(frame["sla_due_at"], utc=True)
        now = (
            pd.Timestamp(as_of).tz_localize("UTC")
            if pd.Timestamp(as_of).tzinfo is None
            else pd.Timestamp(as_of)
        )
        frame["urgent"] = due.notna() & (due >= now) & (due <= now + pd.Timedelta(hours=self.urgent_hours))
        hours = reps.set_index("rep_id")["hours_per_day"].astype(float)
        hours = hours.where(hours > 0, self.default_hours_per_day).fillna(self.default_hours_per_day)
        self.capacity_ = hours.to_dict()
        frame["assigned"] = frame["owner_rep_id"].notna()
        frame["rep_id"] = frame["owner_rep_id"]
        frame = frame.sort_values(["urgent", "value_per_hour", "lead_id"], ascending=[False, False, True])
        frame = self._assign(frame)
        frame = frame.sort_values(["rep_id", "urgent", "value_per_hour", "lead_id"],
                                  ascending=[True, False, False, True], kind="stable")  # fmt: skip
        frame["rank"] = frame.groupby("rep_id").cumcount() + 1
        budget = frame["rep_id"].map(self.capacity_).fillna(self.default_hours_per_day) * self.days
        used = frame.groupby("rep_id")["effort_hours"].cumsum()
        frame["fits_capacity"] = (
            used - frame["effort_hours"] < budget
        ).to_numpy()  # the lead starts within budget
        self.result_ = frame.reindex(columns=QUEUE_COLUMNS).reset_index(drop=True)
        return self

    def _assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Unworked leads, best first, each to the qualifying rep whose queue is lightest for its capacity."""
        if not self.capacity_:
            return frame.dropna(subset=["rep_id"])
        reps = sorted(self.capacity_)
        load = {r: float(frame.loc[frame["rep_id"] == r, "effort_hours"].sum()) for r in reps}
        owner = frame["rep_id"].to_numpy(dtype=object)
        effort = frame["effort_hours"].to_numpy(float)
        for i in np.flatnonzero(pd.isna(owner)):
            rep = min(reps, key=lambda r: (load[r] / self.capacity_[r], r))
            owner[i] = rep
            load[rep] += effort[i]
        return frame.assign(rep_id=owner)
