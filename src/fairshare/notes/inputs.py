"""The notes area's inputs from the warehouse: note facts, opportunity stages, activities, rep units."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from ibis import _

if TYPE_CHECKING:
    from fairshare.notes.themes import NoteThemes
    from fairshare.workspace import Workspace


def _utc(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, utc=True)


def note_inputs(ws: Workspace) -> dict[str, pd.DataFrame]:
    """notes (`ws.facts.notes`), deals (`ws.facts.opportunities`), stages (opportunity_id, stage, at,
    stage_index: position in the funnel, closed stages last) and opportunity activities."""
    f = ws.definitions.funnel
    notes = ws.facts.notes().execute()
    deals = ws.facts.opportunities().execute()
    lc = ws.table("lifecycle")
    stages = (
        lc.filter(_.entity == "opportunity")
        .select(opportunity_id=_.entity_id, stage=_.stage, at=_.at)
        .execute()
    )
    order = {name: i for i, name in enumerate(f.opportunity_stages)}
    stages["stage_index"] = stages["stage"].map(order).fillna(len(order)).astype(int)
    acts = ws.table("activities").filter(_.opportunity_id.notnull())
    activities = acts.select("opportunity_id", "at", "rep_id", "kind").execute()
    return {"notes": notes, "deals": deals, "stages": stages, "activities": activities}


def factor_inputs(ws: Workspace, inputs: dict, model: NoteThemes, tagged: pd.DataFrame,
                  leads: pd.DataFrame | None) -> dict[str, pd.DataFrame]:  # fmt: skip
    """The units `RepFactors.fit` reads: meetings with their follow-ups, objections, demos, active days."""
    s = ws.definitions.notes
    deals = inputs["deals"].set_index("opportunity_id")
    quality = deals[["amount", "region", "lead_id"]].copy()
    if leads is not None and "p_win_at_arrival" in leads:
        quality["p_win"] = quality["lead_id"].map(leads.set_index("lead_id")["p_win_at_arrival"])
    quality = quality.drop(columns="lead_id")
    acts = inputs["activities"].copy()
    acts["at"] = _utc(acts["at"])
    meets = acts[acts["kind"].isin(s.meeting_kinds)].sort_values("at")
    follow = acts[acts["kind"].isin(s.follow_up_kinds)]
    meets = meets.assign(next_at=meets.groupby("opportunity_id")["at"].shift(-1))
    pairs = meets.reset_index().merge(follow[["opportunity_id", "rep_id", "at"]], on=["opportunity_id", "rep_id"],
                                      suffixes=("", "_f"))  # fmt: skip
    window = pairs["at"] + pd.Timedelta(days=s.follow_up_days)
    inside = (
        (pairs["at_f"] > pairs["at"])
        & (pairs["at_f"] <= window)
        & (pairs["next_at"].isna() | (pairs["at_f"] < pairs["next_at"]))
    )
    pairs = pairs[inside]
    g = pairs.groupby("index")
    meetings = meets.reset_index()[["index", "opportunity_id", "rep_id", "at"]].set_index("index")
    meetings["follow_ups"] = g.size().reindex(meetings.index).fillna(0)
    meetings["hours_to_follow_up"] = ((g["at_f"].min() - g["at"].first()).dt.total_seconds() / 3600).reindex(
        meetings.index
    )
    meetings = meetings.join(quality, on="opportunity_id").reset_index(drop=True)

    terms = set(s.objection_terms)
    objection_ids = [
        i for i, t in enumerate(model.terms_) if terms & {w for term in t[:3] for w in term.split()}
    ]
    t = tagged[tagged["theme_id"].isin(objection_ids) & ~tagged["at_close"].astype(bool)].sort_values("at")
    first = t.groupby(["opportunity_id", "theme_id"]).agg(first=("sentiment", "first"), best=("sentiment", "max"),
                                                          n=("sentiment", "size"), rep_id=("owner_rep_id", "first"))  # fmt: skip
    first["overcome"] = ((first["n"] > 1) & (first["best"] > first["first"])).astype(float)
    objections = first.reset_index().join(quality, on="opportunity_id")

    st = inputs["stages"]
    reached = st.groupby("opportunity_id")["stage_index"].max()
    closed = deals[deals["is_closed"].fillna(False).astype(bool)]
    demo = reached[(reached >= 1) & reached.index.isin(closed.index)]
    won = closed["is_won"].fillna(False).astype(bool)
    demos = pd.DataFrame({"opportunity_id": demo.index, "rep_id": closed.loc[demo.index, "owner_rep_id"].to_numpy(),
                          "proposal": ((demo.to_numpy() >= 2) & (demo.to_numpy() < len(ws.definitions.funnel.opportunity_stages)))
                          | won.loc[demo.index].to_numpy()}).join(quality, on="opportunity_id")  # fmt: skip
    demos["proposal"] = demos["proposal"].astype(float)

    every = ws.table("activities").select("rep_id", "at").execute()
    every["day"] = _utc(every["at"]).dt.normalize()
    span = pd.bdate_range(every["day"].min().tz_localize(None), every["day"].max().tz_localize(None))
    active = every.groupby("rep_id")["day"].nunique().rename("active_days").reset_index()
    active["business_days"] = len(span)
    reps_with_deals = set(deals["owner_rep_id"].dropna())
    active = active[active["rep_id"].isin(reps_with_deals)]
    return {"meetings": meetings, "objections": objections, "demos": demos, "active": active}
