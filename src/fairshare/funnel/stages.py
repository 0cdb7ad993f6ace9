"""Funnel stages: conversion and velocity, overall and by channel, campaign, team, segment and rep.

Every fact is an Ibis expression over the facts layer (`ws.facts`: lead and opportunity facts);
only aggregated tables come into pandas. Stage names and size bands come from the definitions file
(`fairshare.toml`).

"As of": what is still open (a lead not yet contacted, an open opportunity) is judged at `as_of`,
by default the latest event time in the warehouse (the maximum of touch, activity, lifecycle,
lead-creation and opportunity created/closed times).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from fairshare.config import Definitions
from fairshare.facts import Facts, TemporaryTables
from fairshare.facts.leads import lead_stage_names, stage_names
from fairshare.intervals import rate_interval
from fairshare.periods import DAY_SECONDS, naive_utc, seconds

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

#: Dimensions accepted by `Funnel.breakdown` (`segment` expands to industry, size_band, region).
DIMENSIONS = ("channel", "campaign", "source_team", "industry", "size_band", "region", "rep")
SEGMENT = ("industry", "size_band", "region")

FUNNEL_COLUMNS = ["stage", "position", "cohort", "next_stage", "entered", "advanced", "decided", "rate",
                  "ci_low", "ci_high", "median_days"]  # fmt: skip
BREAKDOWN_COLUMNS = ["dimension", "value", *FUNNEL_COLUMNS]


class Funnel:
    """Funnel facts and tables of one workspace, judged as of `as_of` (default: latest event time)."""

    def __init__(self, ws: Workspace, as_of: dt.datetime | str | None = None, level: float = 0.9):
        self.ws = ws
        self.definitions: Definitions = ws.definitions
        self.level = level
        self.facts: Facts = ws.facts
        self.as_of = naive_utc(as_of) if as_of is not None else self.facts.latest_event_time

    def table(self, name: str) -> ir.Table:
        """A canonical table of the workspace (looked up once per data version)."""
        return self.facts.table(name)

    # --- facts (Ibis) ------------------------------------------------------------------------

    @property
    def temporary(self) -> TemporaryTables:
        """Where this funnel's extra tables are materialised (the facts' temporary tables)."""
        return self.facts.temporary

    @property
    def lead_stage_names(self) -> list[str]:
        return lead_stage_names(self.definitions)

    @property
    def stage_names(self) -> list[str]:
        """The funnel order: lead stages, then opportunity, then the won stage."""
        return stage_names(self.definitions)

    def first_contacts(self) -> ir.Table:
        """Per lead: the first sales activity at or after creation (see `fairshare.facts.leads`)."""
        return self.facts.first_contacts()

    def opportunity_facts(self, cached: bool = True) -> ir.Table:
        """One row per opportunity (`fairshare.facts.opportunities`): `cached` (default) returns the
        temporary warehouse table computed once per data version; `cached=False` the expression
        over the canonical tables (for showing its SQL)."""
        return self.facts.opportunities(cached=cached)

    def lead_facts(self, cached: bool = True) -> ir.Table:
        """One row per lead (`fairshare.facts.leads`; `cached` as in `opportunity_facts`)."""
        return self.facts.leads(cached=cached)

    # --- funnel tables -------------------------------------------------------------------------

    def _stage_aggregates(self, lf: ir.Table, by: str | None) -> ir.Table:
        n_lead = len(self.lead_stage_names)
        aggs = {}
        for k in range(n_lead + 1):  # lead stages and opportunity: conversion to the next one (leads)
            aggs[f"entered_{k}"] = lf[f"reached_{k}"].cast("int64").sum()
            if k < n_lead:
                aggs[f"advanced_{k}"] = lf[f"reached_{k + 1}"].cast("int64").sum()
                gap = (seconds(lf[f"at_{k + 1}"]) - seconds(lf[f"at_{k}"])) / DAY_SECONDS
                aggs[f"days_{k}"] = gap.quantile(0.5, where=gap >= 0)
        if by is None:
            return lf.aggregate(**aggs)
        return lf.group_by(value=lf[by].cast("string")).aggregate(**aggs)

    def _opportunity_aggregates(self, of: ir.Table, by: str | None) -> ir.Table:
        days = (seconds(of.closed_at) - seconds(of.created_at)) / DAY_SECONDS
        aggs = dict(
            opportunities=of.count(),
            closed=of.is_closed.cast("int64").sum(),
            won=of.is_won.cast("int64").sum(),
            won_days=days.quantile(0.5, where=of.is_won & (days >= 0)),
        )
        if by is None:
            return of.aggregate(**aggs)
        return of.group_by(value=of[by].cast("string")).aggregate(**aggs)

    def _rows(self, lead_agg: pd.Series | None, opp_agg: pd.Series | None) -> list[dict]:
        names = self.stage_names
        n_lead = len(self.lead_stage_names)
        rows = []
        for k, stage in enumerate(names):
            row = {"stage": stage, "position": k, "next_stage": names[k + 1] if k + 1 < len(names) else None}
            if k < n_lead:
                g = lead_agg if lead_agg is not None else {}
                entered, advanced = g.get(f"entered_{k}", 0), g.get(f"advanced_{k}", 0)
                row.update(cohort="leads", entered=entered, advanced=advanced, decided=entered,
                           median_days=g.get(f"days_{k}", np.nan))  # fmt: skip
            elif k == n_lead:  # opportunity → won: the win rate among closed opportunities
                g = opp_agg if opp_agg is not None else {}
                row.update(cohort="opportunities", entered=g.get("opportunities", 0), advanced=g.get("won", 0),
                           decided=g.get("closed", 0), median_days=g.get("won_days", np.nan))  # fmt: skip
            else:
                g = opp_agg if opp_agg is not None else {}
                row.update(cohort="opportunities", entered=g.get("won", 0), advanced=np.nan, decided=np.nan,
                           median_days=np.nan)  # fmt: skip
            rows.append(row)
        return rows

    def _finish(self, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        for c in ("entered", "advanced", "decided"):
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("Float64").fillna(np.nan).astype(float)
        has_next = frame["next_stage"].notna()
        adv = frame["advanced"].where(has_next, np.nan)
        dec = frame["decided"].where(has_next, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["rate"] = np.where(dec > 0, adv / dec, np.nan)
        low, high = rate_interval(adv.fillna(0), dec.fillna(0), self.level)
        frame["ci_low"] = np.where(has_next, low, np.nan)
        frame["ci_high"] = np.where(has_next, high, np.nan)
        frame["median_days"] = pd.to_numeric(frame["median_days"], errors="coerce").astype(float)
        for c in ("entered",):
            frame[c] = frame[c].fillna(0).astype("int64")
        return frame[columns].reset_index(drop=True)

    def stages(self, leads: ir.Table | None = None, opportunities: ir.Table | None = None) -> pd.DataFrame:
        """The funnel table (FUNNEL_COLUMNS): one row per stage in funnel order.

        Lead stages use the lead cohort (reached = reached this or a later stage; rate = advanced /
        entered); the opportunity row's rate is the win rate among closed opportunities (all
        opportunities, with or without a lead); median_days is the median time to the next stage.
        """
        lf = leads if leads is not None else self.lead_facts()
        of = opportunities if opportunities is not None else self.opportunity_facts()
        lead_agg = self._stage_aggregates(lf, None).execute().iloc[0]
        opp_agg = self._opportunity_aggregates(of, None).execute().iloc[0]
        return self._finish(pd.DataFrame(self._rows(lead_agg, opp_agg)), FUNNEL_COLUMNS)

    def breakdown(self, by: str | list[str] = "channel") -> pd.DataFrame:
        """The funnel by dimension (BREAKDOWN_COLUMNS): channel, campaign, source_team, industry,
        size_band, region, rep (or `segment` = industry, size_band, region). Lead stages group leads by
        the lead's value (rep = the rep of the first contact); the opportunity rows group opportunities
        by theirs (rep = owner)."""
        dims: list[str] = []
        for d in [by] if isinstance(by, str) else list(by):
            dims += list(SEGMENT) if d == "segment" else [d]
        unknown = [d for d in dims if d not in DIMENSIONS]
        if unknown:
            raise ValueError(f"unknown dimension(s) {unknown}; known: {', '.join(DIMENSIONS)}, segment")
        lf, of = self.lead_facts(), self.opportunity_facts()
        lead_parts = [self._stage_aggregates(lf, d).mutate(dimension=ibis.literal(d)) for d in dims]
        opp_parts = [self._opportunity_aggregates(of, d).mutate(dimension=ibis.literal(d)) for d in dims]
        lead_all = ibis.union(*lead_parts).execute()  # one query for every dimension
        opp_all = ibis.union(*opp_parts).execute()
        rows = []
        for d in dims:
            lead_agg = lead_all[lead_all["dimension"] == d].set_index("value")
            opp_agg = opp_all[opp_all["dimension"] == d].set_index("value")
            values = sorted(set(lead_agg.index) | set(opp_agg.index), key=lambda v: (pd.isna(v), str(v)))
            for v in values:
                la = lead_agg.loc[v] if v in lead_agg.index else None
                oa = opp_agg.loc[v] if v in opp_agg.index else None
                rows += [{"dimension": d, "value": v, **r} for r in self._rows(la, oa)]
        if not rows:
            return pd.DataFrame(columns=BREAKDOWN_COLUMNS)
        return self._finish(pd.DataFrame(rows), BREAKDOWN_COLUMNS)
