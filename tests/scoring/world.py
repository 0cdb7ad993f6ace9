"""A tiny hand-made canonical world for scoring tests that need exact control over time stamps."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from fairshare import warehouse


def tiny_world(n_accounts: int = 60, rng: np.random.Generator | None = None) -> ibis.BaseBackend:
    """An in-memory warehouse: accounts, contacts, leads, touches, activities and opportunities.

    Bigger accounts with more touches win more often; every time stamp is known.
    """
    rng = rng or np.random.default_rng(0)
    start = pd.Timestamp("2025-01-01")
    accounts = pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(n_accounts)],
            "industry": rng.choice(["software", "retail", "finance"], n_accounts),
            "employees": rng.integers(10, 5000, n_accounts),
            "region": rng.choice(["emea", "na"], n_accounts),
            "created_at": start - pd.Timedelta(days=400),
        }
    )
    contacts = pd.DataFrame(
        {
            "contact_id": [f"c{i}" for i in range(2 * n_accounts)],
            "account_id": [f"a{i // 2}" for i in range(2 * n_accounts)],
            "persona": rng.choice(["buyer", "user"], 2 * n_accounts),
            "title": rng.choice(["VP Sales", "Analyst"], 2 * n_accounts),
            "created_at": start - pd.Timedelta(days=200),
        }
    )
    created = start + pd.to_timedelta(rng.integers(0, 200, n_accounts), unit="D")
    leads = pd.DataFrame(
        {
            "lead_id": [f"l{i}" for i in range(n_accounts)],
            "created_at": created,
            "contact_id": [f"c{2 * i}" for i in range(n_accounts)],
            "account_id": accounts["account_id"],
            "source_channel": rng.choice(["paid_search", "events"], n_accounts),
            "source_team": "marketing",
        }
    )
    touch_rows = []
    for i in range(n_accounts):
        for k in range(int(rng.integers(0, 8))):
            touch_rows.append(
                {
                    "touch_id": f"t{i}_{k}",
                    "at": created[i] - pd.Timedelta(days=float(rng.uniform(0, 60))),
                    "contact_id": f"c{2 * i + k % 2}",
                    "channel": rng.choice(["paid_search", "events"]),
                    "kind": "click",
                }
            )
        # a touch after the lead arrived: must never be counted at horizon 0
        touch_rows.append({"touch_id": f"t{i}_late", "at": created[i] + pd.Timedelta(days=3),
                           "contact_id": f"c{2 * i}", "channel": "webinar", "kind": "webinar"})  # fmt: skip
    touches = pd.DataFrame(touch_rows)
    n_touch = (
        touches[touches["kind"] == "click"]
        .groupby(touches["touch_id"].str.split("_").str[0].str[1:].astype(int))
        .size()
    )
    logit = (
        -1.0
        + 0.0004 * accounts["employees"].to_numpy()
        + 0.3 * n_touch.reindex(range(n_accounts), fill_value=0).to_numpy()
    )
    won = rng.random(n_accounts) < 1 / (1 + np.exp(-logit))
    has_opp = won | (rng.random(n_accounts) < 0.3)
    opp_idx = np.flatnonzero(has_opp)
    opportunities = pd.DataFrame(
        {
            "opportunity_id": [f"o{i}" for i in opp_idx],
            "account_id": accounts["account_id"].to_numpy()[opp_idx],
            "created_at": created[opp_idx] + pd.Timedelta(days=5),
            "owner_rep_id": "r0",
            "lead_id": [f"l{i}" for i in opp_idx],
            "closed_at": created[opp_idx] + pd.Timedelta(days=40),
            "amount": 1000.0 + 10.0 * accounts["employees"].to_numpy()[opp_idx],
            "is_closed": True,
            "is_won": won[opp_idx],
        }
    )
    reps = pd.DataFrame({"rep_id": ["r0", "r1"], "team": ["AE", "SDR"]})
    activities = pd.DataFrame(
        {
            "activity_id": [f"x{i}" for i in range(n_accounts)],
            "at": created + pd.Timedelta(hours=5),
            "rep_id": "r1",
            "lead_id": leads["lead_id"],
            "kind": "call",
            "duration_s": 600.0,
        }
    )
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone='UTC'")
    warehouse.ensure_canonical_tables(con)
    for name, frame in (("accounts", accounts), ("contacts", contacts), ("reps", reps), ("leads", leads),
                        ("opportunities", opportunities), ("touches", touches), ("activities", activities)):  # fmt: skip
        cols = con.table(name).columns
        full = frame.reindex(columns=cols)
        for c in full.columns:
            if pd.api.types.is_datetime64_any_dtype(full[c]):
                full[c] = full[c].dt.floor("s")
        con.insert(name, ibis.memtable(full).cast(con.table(name).schema()))
    return con
