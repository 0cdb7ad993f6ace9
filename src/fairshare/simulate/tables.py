"""From simulated arrays to the canonical tables of `fairshare.schema` (names, columns, ids, UTC times)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from fairshare import schema
from fairshare.config import FunnelSettings
from fairshare.simulate.clock import timestamps
from fairshare.simulate.company import _FIRST, _LAST, INDUSTRIES, PERSONAS, REGIONS, TITLES, Company
from fairshare.simulate.config import SimulationConfig
from fairshare.simulate.marketing import ARRIVAL_CHANNELS, Marketing
from fairshare.simulate.outbound import PROSPECTING
from fairshare.simulate.sales import SOURCE_TEAM, Sales
from fairshare.simulate.scenarios import Scenario

FUNNEL = FunnelSettings()
LEAD_STAGES = FUNNEL.lead_stages  # lead, MQL, SAL, SQL
OPP_STAGES = [*FUNNEL.opportunity_stages, FUNNEL.won_stage, FUNNEL.lost_stage]
EXPERIMENT_ID = "ae-lead-program"
#: account holdouts (cfg.holdouts): from targeted marketing, from SDR prospecting
HOLDOUT_IDS = ("marketing-holdout", "sdr-outbound-holdout")


def _pick(ids: np.ndarray, idx: np.ndarray) -> pd.Series:
    """ids[idx] with None where idx < 0."""
    idx = np.asarray(idx, dtype=np.int64)
    out = (
        np.asarray(ids, dtype=object)[np.maximum(idx, 0)]
        if len(ids)
        else np.full(idx.size, None, dtype=object)
    )
    return pd.Series(np.where(idx >= 0, out, None), dtype="str")


def _frame(name: str, cols: dict[str, object]) -> pd.DataFrame:
    """A canonical table: exactly the schema's columns, in order, with its dtypes."""
    t = schema.table(name)
    frame = pd.DataFrame({c: cols[c] for c in t.column_names})
    for col in t.columns:
        s = frame[col.name]
        if col.dtype == "string":
            frame[col.name] = s.astype("str").where(s.notna(), None) if len(s) else s.astype("str")
        elif col.dtype == "float":
            frame[col.name] = s.astype("float64")
        elif col.dtype == "int":
            frame[col.name] = s.astype("int64")
        elif col.dtype == "bool":
            frame[col.name] = s.astype("bool")
    return frame


class Ids:
    """Stable ids derived from positions and keys (identical across scenarios)."""

    def __init__(self, cfg: SimulationConfig, company: Company) -> None:
        self.account = np.asarray([f"AC{i + 1:05d}" for i in range(company.n)], dtype=object)
        self.contact = np.asarray(
            [f"CT{i + 1:06d}" for i in range(company.contact_account.size)], dtype=object
        )
        self.rep = np.asarray([f"SDR{i + 1:02d}" for i in range(company.n_sdr)]
                              + [f"AE{i + 1:02d}" for i in range(company.n_ae)], dtype=object)  # fmt: skip
        suffix = [f"-{REGIONS[r]}" if r >= 0 else "" for r in company.campaign_region.tolist()]
        self.campaign = np.asarray(
            [f"CP-{c}-{k + 1:02d}{x}" for c, k, x in zip(company.campaign_channel, company.campaign_index_in_channel,
                                                         suffix, strict=True)], dtype=object)  # fmt: skip

    @staticmethod
    def leads(account: np.ndarray, day: np.ndarray, src: np.ndarray, prefix: str = "LD") -> np.ndarray:
        letters = ("M", "S", "P", "O")
        return np.asarray([f"{prefix}{a + 1:05d}-{d:04d}{letters[s]}" for a, d, s in
                           zip(account.tolist(), day.tolist(), src.tolist(), strict=True)], dtype=object)  # fmt: skip


def canonical_tables(cfg: SimulationConfig, company: Company, mk: Marketing, sales: Sales,
                     scenario: Scenario) -> dict[str, pd.DataFrame]:  # fmt: skip
    """The canonical tables of one simulated scenario, keyed by schema table name."""
    ids = Ids(cfg, company)
    start = cfg.start
    n = company.n
    out: dict[str, pd.DataFrame] = {}
    out["accounts"] = _frame("accounts", {
        "account_id": ids.account, "name": company.names, "industry": np.asarray(INDUSTRIES)[company.industry],
        "employees": company.employees, "annual_revenue": company.annual_revenue,
        "region": np.asarray(REGIONS)[company.region], "created_at": timestamps(start, company.created_day + 0.4),
    })  # fmt: skip
    persona = np.asarray(PERSONAS)[company.contact_persona]
    title_u = np.arange(persona.size) % 3
    titles = [TITLES[p][k % len(TITLES[p])] for p, k in zip(persona.tolist(), title_u.tolist(), strict=True)]
    out["contacts"] = _frame("contacts", {
        "contact_id": ids.contact, "account_id": ids.account[company.contact_account], "title": titles,
        "persona": persona, "created_at": timestamps(start, company.contact_created_day + 0.5),
    })  # fmt: skip
    n_rep = ids.rep.size
    is_ae = np.arange(n_rep) >= company.n_sdr
    rep_names = [f"{_FIRST[i % len(_FIRST)]} {_LAST[(i * 7) % len(_LAST)]}" for i in range(n_rep)]
    out["reps"] = _frame("reps", {
        "rep_id": np.concatenate([ids.rep, ["MGR-SDR", "MGR-AE"]]),
        "name": rep_names + ["Sam Lead", "Alex Chief"],
        "team": np.concatenate([np.where(is_ae, "AE", "SDR"), ["other", "other"]]),
        "manager_id": np.concatenate([np.where(is_ae, "MGR-AE", "MGR-SDR"), [None, None]]),
        "region": np.concatenate([np.asarray(REGIONS)[company.rep_region], ["NA", "NA"]]),
        "hired_at": timestamps(start, np.concatenate([company.rep_hired_day, [-2000, -2000]]) + 0.4),
        "hourly_cost": np.round(np.concatenate([company.rep_hourly_cost, [95.0, 120.0]]), 2),
    })  # fmt: skip
    if cfg.sdr_capacity_changes.enabled:  # leavers (an HR fact): an extra column, kept by the importer
        out["reps"]["left_at"] = timestamps(
            start, np.concatenate([company.rep_left_day, [np.nan, np.nan]]) + 0.7
        )
    on = np.asarray([scenario.channel_on(c) for c in company.campaign_channel])
    budget = np.concatenate([company.spend[c].sum(axis=1) for c in cfg.channels])
    out["campaigns"] = _frame("campaigns", {
        "campaign_id": ids.campaign[on],
        "name": [f"{c.replace('_', ' ').title()} #{k + 1}" + (f" {REGIONS[r]}" if r >= 0 else "") for c, k, r, o in
                 zip(company.campaign_channel, company.campaign_index_in_channel, company.campaign_region, on,
                     strict=True) if o],
        "channel": np.asarray(company.campaign_channel, dtype=object)[on],
        "started_at": timestamps(start, company.campaign_start[on]),
        "ended_at": timestamps(start, company.campaign_end[on] + 0.9999),
        "budget": np.round(budget[on], 2),
    })  # fmt: skip
    regional = bool((company.campaign_region >= 0).any())
    if regional:  # regional budgets (budget_flights.regional): an extra column, kept by the importer
        out["campaigns"]["region"] = np.asarray(REGIONS, dtype=object)[company.campaign_region[on]]
    rows = []
    base = 0
    for c in cfg.channels:
        s = mk.spend[c]
        camp, day = np.nonzero(s > 0)
        rows.append((np.full(camp.size, c, dtype=object), ids.campaign[base + camp], day, s[camp, day],
                     company.campaign_region[base + camp]))  # fmt: skip
        base += s.shape[0]
    sp_channel = np.concatenate([r[0] for r in rows])
    sp_campaign = np.concatenate([r[1] for r in rows])
    sp_day = np.concatenate([r[2] for r in rows])
    sp_amount = np.concatenate([r[3] for r in rows])
    order = np.lexsort((sp_campaign.astype(str), sp_day))
    out["spend"] = _frame("spend", {
        "date": pd.Series(np.datetime64(start.isoformat(), "D") + sp_day[order].astype("timedelta64[D]")).dt.date,
        "channel": sp_channel[order], "campaign_id": sp_campaign[order], "amount": sp_amount[order],
    })  # fmt: skip
    if regional:
        out["spend"]["region"] = np.asarray(REGIONS, dtype=object)[
            np.concatenate([r[4] for r in rows])[order]
        ]

    channels = np.asarray(cfg.all_channels, dtype=object)
    order = np.lexsort((mk.touch_kind, mk.touch_channel, mk.touch_account, np.round(mk.touch_time * 86400)))
    out["touches"] = _frame("touches", {
        "touch_id": [f"T{i + 1:07d}" for i in range(order.size)],
        "at": timestamps(start, mk.touch_time[order]),
        "contact_id": _pick(ids.contact, mk.touch_contact[order]),
        "account_id": ids.account[mk.touch_account[order]],
        "channel": channels[mk.touch_channel[order]],
        "campaign_id": _pick(ids.campaign, mk.touch_campaign[order]),
        "kind": np.asarray(schema.TOUCH_KINDS, dtype=object)[mk.touch_kind[order]],
        "cost": mk.touch_cost[order],
    })  # fmt: skip

    L, OP = sales.lead, sales.opp
    lead_ids = Ids.leads(L["account"], L["day"], L["src"])
    opp_ids = Ids.leads(L["account"], L["day"], L["src"], prefix="OP")
    src_channel = np.where(L["src"] == 0, channels[np.maximum(L["channel"], 0)],
                           np.where(L["src"] == 1, "outbound", "partner"))  # fmt: skip
    src_channel = np.where(L["src"] == 1, np.asarray(PROSPECTING, dtype=object)[np.maximum(L["method"], 0)],
                           src_channel) if L["src"].size else src_channel  # fmt: skip
    if (L["src"] == 3).any():  # unassisted arrivals: organic search, direct traffic, word of mouth
        arrival_channel = np.asarray(ARRIVAL_CHANNELS, dtype=object)[
            np.clip(L["channel"], 0, len(ARRIVAL_CHANNELS) - 1)
        ]
        src_channel = np.where(L["src"] == 3, arrival_channel, src_channel)
    lorder = np.argsort(L["created"], kind="stable")
    out["leads"] = _frame("leads", {
        "lead_id": lead_ids[lorder], "created_at": timestamps(start, L["created"][lorder]),
        "contact_id": ids.contact[L["contact"][lorder]], "account_id": ids.account[L["account"][lorder]],
        "source_channel": src_channel[lorder],
        "source_team": np.asarray(SOURCE_TEAM, dtype=object)[L["src"][lorder]],
        "campaign_id": _pick(ids.campaign, L["campaign"][lorder]),
    })  # fmt: skip

    is_opp = np.flatnonzero(OP["is_opp"])
    enter = OP["enter"]
    stage_idx = np.full(is_opp.size, 0)
    for s in range(1, 4):
        stage_idx = np.where(~np.isnan(enter[is_opp, s]), s, stage_idx)
    closed = OP["closed"][is_opp]
    won = OP["won"][is_opp]
    stage = np.asarray(OPP_STAGES, dtype=object)[np.where(closed, np.where(won, 4, 5), stage_idx)]
    oorder = is_opp[np.argsort(enter[is_opp, 0], kind="stable")]
    pos = {int(v): k for k, v in enumerate(is_opp.tolist())}
    sel = np.asarray([pos[int(i)] for i in oorder.tolist()], dtype=np.int64)
    out["opportunities"] = _frame("opportunities", {
        "opportunity_id": opp_ids[oorder], "account_id": ids.account[L["account"][oorder]],
        "created_at": timestamps(start, enter[oorder, 0]),
        "owner_rep_id": _pick(ids.rep, OP["owner"][oorder]), "lead_id": lead_ids[oorder],
        "closed_at": timestamps(start, enter[oorder, 4]), "stage": stage[sel] if sel.size else stage,
        "amount": OP["amount"][oorder], "is_closed": closed[sel] if sel.size else closed,
        "is_won": won[sel] if sel.size else won,
        "source_team": np.asarray(SOURCE_TEAM, dtype=object)[L["src"][oorder]],
    })  # fmt: skip
    oc_opp, oc_contact, oc_role = [], [], []
    for i in oorder.tolist():
        a = int(L["account"][i])
        lead_contact = int(L["contact"][i])
        members = [lead_contact] + [c for c in range(company.contact_offset[a],
                                                     company.contact_offset[a] + company.n_contacts[a])
                                    if c != lead_contact][:2]  # fmt: skip
        for k, c in enumerate(members):
            oc_opp.append(opp_ids[i])
            oc_contact.append(ids.contact[c])
            oc_role.append("champion" if k == 0 else PERSONAS[company.contact_persona[c]])
    out["opportunity_contacts"] = _frame(
        "opportunity_contacts", {"opportunity_id": oc_opp, "contact_id": oc_contact, "role": oc_role}
    )

    A = sales.activities
    aorder = np.lexsort((A["kind"].astype(str), A["rep"], np.round(A["time"] * 86400))) if A["time"].size else \
        np.zeros(0, dtype=np.int64)  # fmt: skip
    out["activities"] = _frame("activities", {
        "activity_id": [f"A{i + 1:07d}" for i in range(aorder.size)],
        "at": timestamps(start, A["time"][aorder]), "rep_id": ids.rep[A["rep"][aorder]],
        "contact_id": _pick(ids.contact, A["contact"][aorder]), "lead_id": _pick(lead_ids, A["lead"][aorder]),
        "account_id": _pick(ids.account, A["account"][aorder]),
        "opportunity_id": _pick(opp_ids, A["opp"][aorder]), "kind": A["kind"][aorder],
        "direction": A["direction"][aorder], "outcome": A["outcome"][aorder],
        "duration_s": A["duration"][aorder],
        "prospecting": pd.Series(A["prospecting"][aorder]).replace("", None),
        "notes": pd.Series(A["notes"][aorder]).replace("", None),
    })  # fmt: skip

    out["lifecycle"] = _lifecycle(start, L, OP, lead_ids, opp_ids)
    fc = sales.forecasts
    out["forecasts"] = _frame("forecasts", {
        "rep_id": [ids.rep[r] for r, *_ in fc], "period": [p for _, p, *_ in fc],
        "submitted_at": timestamps(start, np.asarray([t for _, _, t, *_ in fc], dtype=float)),
        "amount": [a for *_, a, _ in fc], "category": [c for *_, c in fc],
    })  # fmt: skip
    if cfg.experiment:
        ae_ids = ids.rep[company.n_sdr :]
        out["experiments"] = _frame("experiments", {
            "experiment_id": np.full(ae_ids.size, EXPERIMENT_ID), "unit_type": np.full(ae_ids.size, "rep"),
            "unit_id": ae_ids, "arm": np.where(sales.treated, "treatment", "control"),
            "assigned_at": timestamps(start, np.zeros(ae_ids.size)),
        })  # fmt: skip
    else:
        out["experiments"] = _frame("experiments", {c: [] for c in schema.table("experiments").column_names})
    holdouts = [(HOLDOUT_IDS[0], company.holdout_marketing, cfg.holdouts.marketing_share),
                (HOLDOUT_IDS[1], company.holdout_sdr, cfg.holdouts.sdr_share)]  # fmt: skip
    for exp_id, held, share in holdouts:
        if share > 0:  # randomized account holdouts, assigned the day before the period starts
            out["experiments"] = pd.concat([out["experiments"], _frame("experiments", {
                "experiment_id": np.full(n, exp_id), "unit_type": np.full(n, "account"), "unit_id": ids.account,
                "arm": np.where(held, "holdout", "control"), "assigned_at": timestamps(start, np.full(n, -1.0)),
            })], ignore_index=True)  # fmt: skip
    del n
    return {name: out[name] for name in schema.LOAD_ORDER}


def _lifecycle(start: dt.date, L: dict, OP: dict, lead_ids: np.ndarray, opp_ids: np.ndarray) -> pd.DataFrame:
    ent, eid, stage, at, reason = [], [], [], [], []

    def add(entity: str, idx: np.ndarray, name: str, t: np.ndarray, why: np.ndarray | None = None) -> None:
        ok = ~np.isnan(t)
        idx, t = idx[ok], t[ok]
        ent.append(np.full(idx.size, entity, dtype=object))
        eid.append((lead_ids if entity == "lead" else opp_ids)[idx])
        stage.append(np.full(idx.size, name, dtype=object))
        at.append(t)
        reason.append(np.full(idx.size, None, dtype=object) if why is None else why[ok])

    every = np.arange(L["src"].size)
    add("lead", every, LEAD_STAGES[0], L["created"])
    add("lead", every, FUNNEL.mql_stage, L["mql"])
    decided = L["decision_at"]
    add("lead", every, FUNNEL.accepted_stage, np.where(L["accepted"], decided, np.nan))
    add("lead", every, FUNNEL.rejected_stage, np.where(~L["accepted"], decided, np.nan),
        np.where(L["reason"] == "", None, L["reason"]))  # fmt: skip
    add("lead", every, LEAD_STAGES[3], L["sql_at"])
    enter = OP["enter"]
    for s in range(4):
        add("opportunity", every, OPP_STAGES[s], enter[:, s])
    add("opportunity", every, OPP_STAGES[4], np.where(OP["won"], enter[:, 4], np.nan))
    add("opportunity", every, OPP_STAGES[5], np.where(~OP["won"], enter[:, 4], np.nan))
    t = np.concatenate(at)
    e = np.concatenate(ent)
    i = np.concatenate(eid)
    order = np.lexsort((i.astype(str), np.round(t * 86400)))
    return _frame("lifecycle", {
        "entity": e[order], "entity_id": i[order], "stage": np.concatenate(stage)[order],
        "at": timestamps(start, t[order]), "reason": np.concatenate(reason)[order],
    })  # fmt: skip
