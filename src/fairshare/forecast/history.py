"""Deal history: the warehouse facts a deal forecast needs, loaded once, and point-in-time snapshots.

A snapshot at time `s` is every opportunity open at `s` (created by `s`, not closed by `s`) with
features computed only from events stamped at or before `s`: the stage then (latest lifecycle row),
days in it against the typical time in that stage, activity recency and volume, stakeholders
engaged, the owner's win rate from deals closed by `s`. Each feature block reports the latest
event time it used (`as_of`), and `check_point_in_time` raises `LeakageError` when one is after `s`
(the lead scorer's guard). Labels (won inside a window after `s`) are built separately and are
never features.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import ibis
import numpy as np
import pandas as pd
from ibis import _

from fairshare.forecast.pipeline import WinCurve
from fairshare.scoring.features import LeakageError

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

DAY = pd.Timedelta(days=1)
_LOADED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # facts (one per data version) -> history
NO_OWNER = "(none)"
FLOOR = pd.Timestamp("1900-01-01")
#: a feature block: (history, open deals at s, s) -> frame indexed like `open` with an `as_of` column
SnapshotBlock = Callable[["DealHistory", pd.DataFrame, pd.Timestamp], pd.DataFrame]


@dataclass
class DealHistory:
    """Opportunities (won/closed resolved as in the funnel), their stage entries, and the activities
    and touches on their accounts, as pandas frames (one query each)."""

    opps: pd.DataFrame
    stages: pd.DataFrame  # opportunity_id, stage, stage_index, at (every lifecycle row of an open stage)
    activities: pd.DataFrame  # at, opportunity_id, account_id, contact_id
    engagement: pd.DataFrame  # at, account_id, contact_id (activities and touches with a contact)
    opp_contacts: pd.DataFrame  # opportunity_id, contact_id
    stage_names: list[str]
    latest: pd.Timestamp
    extra_blocks: Sequence[SnapshotBlock] = field(default_factory=tuple)

    @classmethod
    def of(cls, ws: Workspace) -> DealHistory:
        """The history of `ws` at its current data version (loaded once per `ws.facts`)."""
        facts = ws.facts
        if facts not in _LOADED:
            _LOADED[facts] = cls.load(ws)
        return _LOADED[facts]

    @classmethod
    def load(cls, ws: Workspace) -> DealHistory:
        stage_names = list(ws.definitions.funnel.opportunity_stages)
        of = ws.facts.opportunities()
        cols = ["opportunity_id", "account_id", "owner_rep_id", "created_at", "closed_at", "is_won", "is_closed",
                "amount", "source_team", "channel"]  # fmt: skip
        opps = of.select(*cols).execute()
        opps["rep_id"] = opps["owner_rep_id"].fillna(NO_OWNER).astype(str)
        opps["closed_at"] = pd.to_datetime(opps["closed_at"])
        opps["created_at"] = pd.to_datetime(opps["created_at"])
        opps["is_won"] = opps["is_won"].fillna(False).astype(bool)
        undated = opps["is_closed"].fillna(False).astype(bool) & opps["closed_at"].isna()
        opps = opps[~undated].reset_index(drop=True)  # closed at an unknown time: never point-in-time
        opps["amount"] = opps["amount"].fillna(0.0).astype(float)
        opps["source"] = opps["source_team"].fillna("other").astype(str)
        lc = ws.table("lifecycle")
        lc = lc.filter((lc.entity == "opportunity") & lc.stage.isin(stage_names))
        stages = lc.select(opportunity_id=_.entity_id, stage=_.stage, at=_.at).execute()
        stages["stage_index"] = stages["stage"].map({s: i for i, s in enumerate(stage_names)}).astype(int)
        stages = stages.sort_values("at", kind="stable").reset_index(drop=True)
        accounts = of.select("account_id").distinct()
        act = ws.table("activities")
        activities = act.select("at", "opportunity_id", "account_id", "contact_id").execute()
        touches = ws.table("touches")
        touches = touches.filter(touches.contact_id.notnull())
        touches = touches.semi_join(accounts, touches.account_id == accounts.account_id)
        contacts = ws.table("contacts").select(c_id=_.contact_id, c_account=_.account_id)
        t = touches.left_join(contacts, touches.contact_id == contacts.c_id)
        t = t.select(at=_.at, account_id=ibis.coalesce(_.account_id, _.c_account), contact_id=_.contact_id)
        engagement = pd.concat(
            [
                activities.loc[activities["contact_id"].notna(), ["at", "account_id", "contact_id"]],
                t.execute(),
            ],
            ignore_index=True,
        )
        opp_contacts = ws.table("opportunity_contacts").select("opportunity_id", "contact_id").execute()
        times = [
            opps["created_at"].max(),
            opps["closed_at"].max(),
            activities["at"].max(),
            stages["at"].max(),
        ]
        latest = max((pd.Timestamp(x) for x in times if pd.notna(x)), default=FLOOR)
        for frame in (opps, stages, activities, engagement, opp_contacts):  # plain objects: fast isin/groupby
            for col in ("opportunity_id", "entity_id", "account_id", "contact_id", "rep_id"):
                if col in frame:
                    frame[col] = frame[col].astype(object)
        return cls(opps, stages, activities, engagement, opp_contacts, stage_names, latest)

    # --- what is known at s ----------------------------------------------------------------------------

    def open_at(self, s: pd.Timestamp) -> pd.DataFrame:
        """Opportunities created by `s` and not closed by `s` (later closes count as open)."""
        o = self.opps
        mask = (o["created_at"] <= s) & ~(o["closed_at"] <= s)
        cols = ["opportunity_id", "account_id", "rep_id", "created_at", "amount", "source"]
        return o.loc[mask, cols].reset_index(drop=True)

    def closed_by(self, s: pd.Timestamp) -> pd.DataFrame:
        o = self.opps
        return o[o["closed_at"] <= s]

    def won_between(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Deals won with `closed_at` in [start, end)."""
        o = self.opps
        return o[o["is_won"] & (o["closed_at"] >= start) & (o["closed_at"] < end)]

    def typical_days(self, s: pd.Timestamp) -> dict[int, float]:
        """Median days spent in each stage by spells that had ended (moved on or closed) by `s`."""
        st = self.stages[self.stages["at"] <= s]
        if st.empty:
            return {}
        nxt = st.groupby("opportunity_id")["at"].shift(-1)
        closed = self.opps.set_index("opportunity_id")["closed_at"]
        end = nxt.fillna(
            pd.Series(pd.to_datetime(closed.reindex(st["opportunity_id"]).to_numpy()), index=st.index)
        )
        done = end.notna() & (end <= s)
        days = ((end - st["at"]) / DAY)[done]
        return days.groupby(st.loc[done, "stage_index"]).median().to_dict()

    def curves(self, s: pd.Timestamp, min_spells: int = 20) -> dict[int, WinCurve]:
        """Aalen–Johansen win curves known at `s`: one per stage index from the stage's entries
        (first entry per deal), and the pooled curve from creation under index -1 (also used for a
        stage with fewer than `min_spells` entries). Cached per `s`."""
        cache = self.__dict__.setdefault("_curves", {})
        if s in cache:
            return cache[s]
        o = self.opps[self.opps["created_at"] <= s]
        known = o["closed_at"] <= s
        event = pd.Series(np.where(known, np.where(o["is_won"], 1, 2), 0), index=o["opportunity_id"])
        end = pd.Series(o["closed_at"].where(known, s).to_numpy(), index=o["opportunity_id"])
        out = {-1: WinCurve().fit(((end.to_numpy() - o["created_at"].to_numpy()) / DAY), event.to_numpy())}
        st = self.stages[self.stages["at"] <= s].drop_duplicates(["opportunity_id", "stage_index"])
        for i, g in st.groupby("stage_index"):
            if len(g) >= min_spells:
                ids = g["opportunity_id"]
                out[int(i)] = WinCurve().fit(((end.reindex(ids).to_numpy() - g["at"].to_numpy()) / DAY),
                                           event.reindex(ids).fillna(0).to_numpy(int))  # fmt: skip
        cache[s] = out
        return out

    def curve_probability(self, s: pd.Timestamp, snap: pd.DataFrame, horizon: float) -> np.ndarray:
        """P(won within `horizon` days) of each snapshot deal from its stage curve at `s` (by days in
        stage), or from the pooled curve by age when its stage has no curve of its own."""
        curves = self.curves(s)
        stage = snap["stage_index"].to_numpy(int)
        p = curves[-1].probability(snap["age_days"].to_numpy(float), horizon)
        for i, curve in curves.items():
            mask = stage == i
            if i >= 0 and mask.any():
                p[mask] = curve.probability(snap["days_in_stage"].to_numpy(float)[mask], horizon)
        return p

    def snapshot(self, s: pd.Timestamp) -> pd.DataFrame:
        """Features of the deals open at `s` (one row per deal), from the blocks, each checked point in time."""
        s = pd.Timestamp(s)
        open_ = self.open_at(s)
        frame = open_.copy()
        blocks: list[tuple[str, SnapshotBlock]] = [
            ("stage", stage_block), ("activity", activity_block), ("stakeholders", stakeholder_block),
            ("rep", rep_block),
            *[(getattr(b, "__name__", f"extra_{i}"), b) for i, b in enumerate(self.extra_blocks)],
        ]  # fmt: skip
        for name, block in blocks:
            part = block(self, open_, s)
            check_point_in_time(name, part, s)
            frame = frame.join(part.drop(columns="as_of"))
        frame["age_days"] = ((s - frame["created_at"]) / DAY).to_numpy(float)
        frame["log_amount"] = np.log1p(frame["amount"].clip(lower=0))
        return frame


def check_point_in_time(name: str, block: pd.DataFrame, s: pd.Timestamp) -> None:
    """Raise LeakageError when `block` used an event after the snapshot time `s` (or says nothing)."""
    if "as_of" not in block.columns:
        raise LeakageError(f"feature block {name!r} has no as_of column (latest event time it used)")
    late = pd.to_datetime(block["as_of"]) > s
    if late.any():
        example = block.loc[late, "as_of"].iloc[0]
        raise LeakageError(
            f"feature block {name!r} uses events after the snapshot time for {int(late.sum())} deal(s), "
            f"e.g. an event at {example} > snapshot at {s}"
        )


def _latest(*stamps: pd.Series) -> pd.Series:
    out = stamps[0].fillna(FLOOR)
    for x in stamps[1:]:
        out = np.maximum(out, x.fillna(FLOOR))
    return out


# --- feature blocks ---------------------------------------------------------------------------------------


def stage_block(h: DealHistory, open_: pd.DataFrame, s: pd.Timestamp) -> pd.DataFrame:
    """Stage at `s` (latest lifecycle row by then; -1 unknown), days in it, and that against the median
    days past deals spent in the same stage (`stage_overdue` > 1: longer than usual)."""
    st = h.stages[(h.stages["at"] <= s) & h.stages["opportunity_id"].isin(open_["opportunity_id"])]
    last = st.groupby("opportunity_id").tail(1).set_index("opportunity_id")
    ids = open_["opportunity_id"]
    idx = last["stage_index"].reindex(ids).to_numpy()
    entered = pd.to_datetime(last["at"].reindex(ids)).reset_index(drop=True)
    since = entered.fillna(open_["created_at"])
    days = ((s - since) / DAY).to_numpy(float)
    typical = h.typical_days(s)
    stage_index = np.nan_to_num(idx, nan=-1.0)
    usual = np.array([typical.get(int(i), np.nan) for i in stage_index])
    pooled = np.nanmedian(list(typical.values())) if typical else np.nan
    usual = np.where(np.isnan(usual), pooled, usual)
    overdue = np.where(np.isfinite(usual) & (usual > 0), days / np.where(usual > 0, usual, 1.0), 1.0)
    out = pd.DataFrame({"stage_index": stage_index, "days_in_stage": days, "stage_overdue": overdue})
    out["as_of"] = _latest(entered, open_["created_at"]).to_numpy()
    return out


def activity_block(
    h: DealHistory, open_: pd.DataFrame, s: pd.Timestamp, window_days: float = 14.0
) -> pd.DataFrame:
    """Sales activities on the deal (or its account) by `s`: count in the last `window_days`, total, and
    days since the latest one (age of the deal when there is none)."""
    a = h.activities[h.activities["at"] <= s]
    on_opp = a[a["opportunity_id"].isin(open_["opportunity_id"])]
    by_opp = on_opp.groupby("opportunity_id")["at"]
    recent = on_opp[on_opp["at"] > s - window_days * DAY].groupby("opportunity_id").size()
    acc = a[a["account_id"].isin(open_["account_id"])]
    by_acc = acc.groupby("account_id")["at"]
    ids, accs = open_["opportunity_id"], open_["account_id"]
    last_opp = pd.to_datetime(by_opp.max().reindex(ids)).reset_index(drop=True)
    last_acc = pd.to_datetime(by_acc.max().reindex(accs)).reset_index(drop=True)
    last = _latest(last_opp, last_acc).where(last_opp.notna() | last_acc.notna())
    out = pd.DataFrame({
        "activities_recent": recent.reindex(ids).fillna(0).to_numpy(float),
        "activities_total": by_opp.size().reindex(ids).fillna(0).to_numpy(float),
        "account_activities": by_acc.size().reindex(accs).fillna(0).to_numpy(float),
        "days_since_activity": ((s - last.fillna(open_["created_at"])) / DAY).to_numpy(float),
    })  # fmt: skip
    out["as_of"] = last.to_numpy()
    return out


def stakeholder_block(
    h: DealHistory, open_: pd.DataFrame, s: pd.Timestamp, window_days: float = 30.0
) -> pd.DataFrame:
    """Stakeholders engaged: distinct contacts of the account active (touch or activity) in the last
    `window_days`, and the deal's listed contacts (opportunity_contacts) active by `s`."""
    e = h.engagement[(h.engagement["at"] <= s) & h.engagement["account_id"].isin(open_["account_id"])]
    recent = e[e["at"] > s - window_days * DAY]
    active = recent.groupby("account_id")["contact_id"].nunique()
    oc = h.opp_contacts[h.opp_contacts["opportunity_id"].isin(open_["opportunity_id"])]
    seen = e.groupby("contact_id")["at"].max()
    oc = oc.assign(last=pd.to_datetime(seen.reindex(oc["contact_id"]).to_numpy()))
    engaged = oc[oc["last"].notna()].groupby("opportunity_id")["contact_id"].nunique()
    last = pd.to_datetime(recent.groupby("account_id")["at"].max().reindex(open_["account_id"])).reset_index(
        drop=True
    )
    last_oc = pd.to_datetime(oc.groupby("opportunity_id")["last"].max().reindex(open_["opportunity_id"]))
    out = pd.DataFrame({
        "contacts_active": active.reindex(open_["account_id"]).fillna(0).to_numpy(float),
        "stakeholders_engaged": engaged.reindex(open_["opportunity_id"]).fillna(0).to_numpy(float),
    })  # fmt: skip
    out["as_of"] = _latest(last, last_oc.reset_index(drop=True)).to_numpy()
    return out


def rep_block(h: DealHistory, open_: pd.DataFrame, s: pd.Timestamp, prior: float = 20.0) -> pd.DataFrame:
    """The owner's win rate on deals closed by `s`, shrunk to the pooled rate with `prior` pseudo-deals
    (as a logit), and the owner's open deals at `s` (load)."""
    closed = h.closed_by(s)
    won, n = float(closed["is_won"].sum()), float(len(closed))
    pooled = (won + 1.0) / (n + 2.0)
    g = closed.groupby("rep_id")["is_won"].agg(["sum", "count"])
    w = g["sum"].reindex(open_["rep_id"]).fillna(0).to_numpy(float)
    c = g["count"].reindex(open_["rep_id"]).fillna(0).to_numpy(float)
    rate = (w + prior * pooled) / (c + prior)
    load = open_.groupby("rep_id")["opportunity_id"].transform("size").to_numpy(float)
    last = closed.groupby("rep_id")["closed_at"].max().reindex(open_["rep_id"]).reset_index(drop=True)
    out = pd.DataFrame({"rep_win_logit": np.log(rate / (1 - rate)), "rep_open_deals": load})
    out["as_of"] = _latest(pd.to_datetime(last), open_["created_at"]).to_numpy()
    return out
