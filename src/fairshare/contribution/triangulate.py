"""Triangulation: each unit's strategies side by side, one reported interval, never confidently wrong.

A strategy is {name, estimate, ci_low, ci_high, identified, reason}. The reported interval spans the
identified strategies (and says so, widened, when they disagree beyond their intervals). With none
identified the unit is "not identified from this data": no estimate, the logical bounds (0 .. won
revenue of the period) as interval, and a proposal naming the holdout experiment that would settle it,
with its minimum detectable effect. Naive strategies (selection on observables only: touch doses,
sourced revenue) are reported but never identify a unit by themselves. No removal effect or bound
exceeds the won revenue of the period it refers to.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from fairshare.contribution.mix_calibration import CALIBRATED
from fairshare.contribution.panel import strategy

ASSUMPTION = "assumption"
NOT_IDENTIFIED = "not_identified"
#: Share of accounts a proposed holdout sets aside.
HOLDOUT_SHARE = 0.2
DISPLACEMENT = ("displacement: without one channel its leads no longer take the sales queue's time, so the other "
                "leads are worked sooner and can win more; the removal effect can be negative, down to minus the "
                "won revenue")  # fmt: skip


def period_label(start: pd.Timestamp, end: pd.Timestamp) -> str:
    """'all history 2025-01-01..2025-12-31'."""
    return f"all history {pd.Timestamp(start):%Y-%m-%d}..{pd.Timestamp(end):%Y-%m-%d}"


def proposal(unit: str, key: str, won: np.ndarray, alpha: float = 0.1) -> str:
    """The holdout that would identify (unit, key), with its minimum detectable effect in total revenue."""
    from fairshare.contribution.experiments import minimum_detectable_effect

    what = {
        "marketing": "all paid marketing off",
        "channel": f"{key} off",
        "sdr_outbound": "no SDR outbound",
        "sdr": "no SDR outbound and inbound leads routed to AEs",
    }.get(unit, f"{unit} off")
    n, sd = len(won), float(np.std(won))
    text = f"randomized holdout: {HOLDOUT_SHARE:.0%} of accounts ({int(n * HOLDOUT_SHARE)}) with {what}"
    if n < 20 or sd <= 0:
        return text + " (too few accounts with revenue to compute its power)"
    mde = minimum_detectable_effect(n=n, sd=sd, alpha=alpha, treated_share=HOLDOUT_SHARE)
    return (f"{text} for the period; detects a lift of {mde:,.0f} per account ({mde * n * (1 - HOLDOUT_SHARE):,.0f} "
            f"in total) with 80% power at alpha {alpha:g} (fairshare experiment design --sd {sd:,.0f})")  # fmt: skip


def combine(strategies: list[dict], bound: float, floor: float = 0.0) -> dict:
    """Reported estimate, interval, identified flag and a note from the strategies of one unit.

    Estimate: inverse-variance weighted mean of the identified strategies (variance from the interval
    width); interval: from the lowest identified low to the highest identified high, clipped to the
    logical bounds `floor` .. `bound` (won revenue; `floor` < 0 where removing the unit can raise others'
    revenue). Not identified (none identified, or an interval wholly outside the bounds): those bounds.
    """
    ok = [s for s in strategies if s["identified"] and s["estimate"] is not None and s["ci_low"] is not None]
    why = f" ({DISPLACEMENT})" if floor < 0 else ""
    outside = [s for s in ok if s["ci_high"] < floor or s["ci_low"] > bound]
    if outside:  # an interval wholly outside the logical bounds: the design is too small or broken
        names = ", ".join(f"{s['name']} {s['ci_low']:,.0f} .. {s['ci_high']:,.0f}" for s in outside)
        return {"estimate": np.nan, "ci_low": floor, "ci_high": bound, "identified": False,
                "note": f"not identified from this data: the interval of {names} lies outside the logical bounds "
                        f"{floor:,.0f} .. won revenue {bound:,.0f}, so that design is too small or broken; "
                        f"interval = the logical bounds{why}"}  # fmt: skip
    if not ok:
        return {"estimate": np.nan, "ci_low": floor, "ci_high": bound, "identified": False,
                "note": "not identified from this data: no strategy uses variation the outcome does not drive; "
                        f"interval = logical bounds {floor:,.0f} .. won revenue {bound:,.0f}{why}"}  # fmt: skip
    width = np.array([max(s["ci_high"] - s["ci_low"], 1e-9) for s in ok])
    weight = 1 / width**2
    estimate = float(np.sum(weight * [s["estimate"] for s in ok]) / weight.sum())
    low, high = min(s["ci_low"] for s in ok), max(s["ci_high"] for s in ok)
    notes = []
    if len(ok) > 1:
        names = ", ".join(s["name"] for s in ok)
        apart = [(a["name"], b["name"]) for a in ok for b in ok if a["ci_high"] < b["ci_low"]]
        if apart:
            notes.append(f"strategies disagree beyond their intervals ({'; '.join(f'{a} below {b}' for a, b in apart)}): "
                         f"the interval is widened to span all of them ({names})")  # fmt: skip
        else:
            notes.append(f"interval spans the identified strategies ({names})")
    if high > bound or estimate > bound:
        notes.append(f"capped at the won revenue of the period ({bound:,.0f})")
    if low < floor or estimate < floor:  # a removal gains at most what was won (floor -won), or nothing (0)
        notes.append(f"capped at the logical floor of the period ({floor:,.0f})")
    return {"estimate": float(np.clip(estimate, floor, bound)), "ci_low": float(np.clip(low, floor, bound)),
            "ci_high": float(np.clip(high, floor, bound)), "identified": True, "note": "; ".join(notes)}  # fmt: skip


def naive(row: dict, why: str) -> dict:
    """A table row's estimate as a reported strategy that does not identify the unit."""
    return strategy(row["method"], row["estimate"], row["ci_low"], row["ci_high"], False, why)


def from_row(row: dict, reason: str) -> dict:
    """A table row's estimate as an identified strategy."""
    return strategy(
        row["method"], row["estimate"], row["ci_low"], row["ci_high"], row["method"] != "omitted", reason
    )


def reported(row: dict, strategies: list[dict], bound: float, period: str, won: np.ndarray) -> dict:
    """`row` with the triangulated estimate, interval, identified flag, strategies, period and proposal.

    A channel's logical bounds run from -`bound` (`DISPLACEMENT`) to `bound`."""
    out = combine(strategies, bound, floor=-bound if row["unit"] == "channel" else 0.0)
    row = dict(row)
    row.update(estimate=out["estimate"], ci_low=out["ci_low"], ci_high=out["ci_high"], identified=out["identified"],
               strategies=json.dumps(strategies), period=period, proposal="")  # fmt: skip
    if not out["identified"]:
        row["method"] = NOT_IDENTIFIED
        row["proposal"] = proposal(row["unit"], row["key"], won)
    else:
        row["method"] = "+".join(s["name"] for s in strategies if s["identified"])
    if out["note"]:
        row["assumptions"] = "; ".join(x for x in (out["note"], row.get("assumptions", "")) if x)
    return row


NAIVE_MARKETING = ("selection on observables only: touches follow intent (accounts in the market click more) and "
                   "sourced revenue counts demand marketing may only capture; reported, not identifying")  # fmt: skip
NAIVE_OUTBOUND = ("dose = outbound activities per account, which the outcome shapes (cadences repeat on silence and "
                  "stop on engagement); reported, not identifying")  # fmt: skip
HOLDOUT_QUEUE = ("reported, not identifying the removal of all marketing: held-out accounts' own leads wait in a "
                 "sales queue still full of the other accounts' marketing leads, while without marketing that queue "
                 "frees up (interference); in the simulator this holdout overstated the removal effect")  # fmt: skip
QUEUE = ("who is contacted, and how fast, is decided by queue capacity (arrival load), not by the lead's outcome; "
         "rests on no unseen lead quality driving contact order")  # fmt: skip


def _mix_rows(ws, level: float, random_state: int) -> list[dict]:
    """Marketing-mix strategies (`fairshare.contribution.mix.mix_strategies`) as row dicts."""
    from fairshare.contribution.mix import mix_strategies

    return mix_strategies(ws, level=level, random_state=random_state).to_dict(orient="records")


MIX_ALONE = ("mix model alone is reported, not identifying: on the simulator grid (benchmarks/mix_check.py) its "
             "response to budget flights overstated the removal effect where demand is captured rather than created "
             "(coverage 0.53, median relative error 0.61); it identifies once a randomized holdout calibrates it "
             "(method +lift_test)")  # fmt: skip


def _mix_strategy(rows: list[dict], unit: str, key: str) -> list[dict]:
    """The mix rows of one unit as strategies; uncalibrated mix rows never identify (MIX_ALONE)."""
    out = []
    for r in rows:
        if r["unit"] != unit or str(r["key"]) != key:
            continue
        method = str(r.get("method") or "mix")
        calibrated = method.endswith(CALIBRATED)
        reason = str(r.get("reason") or "")
        if bool(r["identified"]) and not calibrated:
            reason = f"{reason}; {MIX_ALONE}" if reason else MIX_ALONE
        out.append(strategy(method, r["estimate"], r["ci_low"], r["ci_high"],
                            bool(r["identified"]) and calibrated, reason))  # fmt: skip
    return out


def triangulated_table(
    ws, table: pd.DataFrame, accounts: pd.DataFrame, kw: dict, assumptions
) -> pd.DataFrame:
    """The contribution table with every unit triangulated over its strategies (module docstring)."""
    from fairshare.contribution.experiments import experiment_units
    from fairshare.contribution.panel import holdout, outbound_strategies
    from fairshare.contribution.table import CONTRIBUTION_COLUMNS, _omitted

    level = kw.get("level", assumptions.level)
    won = accounts["won_revenue"].to_numpy(float)
    units = experiment_units(ws)  # read once: the marketing and the outbound holdouts
    outbound, facts = outbound_strategies(ws, kw, assumptions, units)
    bound = max(float(facts["won_revenue"]), float(won.sum()))
    period = period_label(facts["start"], facts["end"])
    mix = _mix_rows(ws, level, int(kw.get("random_state", 0)))
    rows = table.to_dict(orient="records")
    if outbound and not any(r["unit"] == "sdr_outbound" for r in rows):
        rows.append(_omitted("sdr_outbound", "accounts", "fewer than 10 accounts with outbound", level))
    if mix:  # channels only the mix model sees
        have = {(r["unit"], str(r["key"])) for r in rows}
        for m in mix:
            if m["unit"] == "channel" and ("channel", str(m["key"])) not in have:
                rows.append(_omitted("channel", str(m["key"]), "no touch-level estimate", level))
    out, inbound = [], None
    experiment = holdout(
        ws, assumptions.marketing_holdout_experiment, level, assumptions, len(accounts), units
    )
    for row in rows:
        unit, key, omitted = row["unit"], str(row["key"]), row["method"] == "omitted"
        if unit in ("marketing", "channel"):
            found = _mix_strategy(mix, unit, key) + ([] if omitted else [naive(row, NAIVE_MARKETING)])
            if unit == "marketing" and experiment is not None:
                found.append(
                    dict(experiment, identified=False, reason=experiment["reason"] + "; " + HOLDOUT_QUEUE)
                )
        elif unit == "sdr_outbound":
            found = outbound + ([] if omitted else [naive(row, NAIVE_OUTBOUND)])
        elif unit in ("sdr_contact", "speed_to_lead"):
            found = [] if omitted else [from_row(row, QUEUE)]
        elif unit in ("sdr", "ae"):
            continue  # built below from the triangulated parts
        else:
            found = [] if omitted else [from_row(row, row.get("assumptions", ""))]
        done = reported(row, found, bound, period, won)
        if omitted and not found:
            done.update(method="omitted", estimate=np.nan, ci_low=np.nan, ci_high=np.nan, proposal="")
        if unit == "sdr_contact" and done["identified"]:
            inbound = done
        out.append(done)
    team = next((r for r in out if r["unit"] == "sdr_outbound"), None)
    if team is not None:
        contact = next((r for r in out if r["unit"] == "sdr_contact"), {})
        why = str(contact.get("assumptions") or "no queued leads").split("; ")[0]
        out.append(
            team_row(team, inbound, table.attrs.get("inbound_won"), why, assumptions, bound, period, won)
        )
    out += [dict(r, identified=False, strategies=json.dumps([strategy(ASSUMPTION, r["estimate"], r["ci_low"],
             r["ci_high"], False, r["assumptions"])]), period=period, proposal="") for r in rows if r["unit"] == "ae"]  # fmt: skip
    warn = "; ".join(facts["warnings"])
    for r in out:
        r["warnings"] = warn
        if np.isfinite(r.get("ci_high", np.nan)) and r["ci_high"] > bound:
            r["ci_high"] = bound
        if np.isfinite(r.get("ci_low", np.nan)) and r["ci_low"] < -bound:
            r["ci_low"] = -bound
    frame = pd.DataFrame(out, columns=CONTRIBUTION_COLUMNS)
    frame.attrs = dict(table.attrs, period=period, won_revenue=bound)
    return frame


def team_row(
    outbound: dict,
    inbound: dict | None,
    inbound_won: float | None,
    why: str,
    assumptions,
    bound: float,
    period: str,
    won: np.ndarray,
) -> dict:
    """The SDR team: the triangulated outbound row plus the inbound contacts (`table._sdr_total`).

    With an identified contact effect the inbound part enters with a share between 0 and 1. Without one
    (`why`: e.g. nearly every queued lead was contacted, so nobody is left to compare with) it still counts,
    as a bound from 0 to `inbound_won`; the team then has no number, and its interval is the outbound
    interval widened by that bound (within the logical bounds)."""
    from fairshare.contribution.table import _sdr_total

    share = assumptions.sdr_inbound_share
    if outbound["identified"] and inbound is not None:
        sdr = _sdr_total(outbound, inbound, share)
        parts = strategy("outbound+inbound_share", sdr["estimate"], sdr["ci_low"], sdr["ci_high"], True,
                         "SDR outbound (triangulated) plus the inbound contacts (sdr_contact) with a share between 0 "
                         f"and 1 (assumption bound; point at sdr_inbound_share = {share:g})")  # fmt: skip
        return reported(dict(sdr, unit="sdr", key="all"), [parts], bound, period, won)
    sdr = _sdr_total(outbound, None, share, inbound_won) if outbound["identified"] else dict(outbound)
    partial = outbound["identified"] and bool(inbound_won)
    reason = (f"SDR outbound (triangulated) plus the inbound contacts, whose effect is not estimated ({why}): "
              f"bounded from 0 to the won revenue of the queued leads SDRs contacted ({inbound_won:,.0f})"
              if partial else "SDR outbound not identified")  # fmt: skip
    parts = strategy("outbound+inbound_bound", None, sdr["ci_low"], sdr["ci_high"], False, reason)
    row = reported(dict(sdr, unit="sdr", key="all"), [parts], bound, period, won)
    if partial:  # the outbound interval plus the inbound bound is narrower than the logical bounds
        row["ci_low"] = max(row["ci_low"], sdr["ci_low"])
        row["ci_high"] = min(row["ci_high"], sdr["ci_high"])
        row["assumptions"] = (f"not identified as a total: {reason}; interval = the outbound interval plus that bound, "
                              f"within 0 .. won revenue {bound:,.0f}; {outbound.get('assumptions', '')}")  # fmt: skip
    return row


def strategies_of(value) -> list[dict]:
    """A stored `strategies` cell (JSON text, a list, or empty) as a list of strategy records."""
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value:
        return json.loads(value)
    return []


def status(row: dict) -> str:
    """How a row's number should be read: identified, not identified, assumption or omitted."""
    method = str(row.get("method") or "")
    if method == ASSUMPTION:
        return "assumption"
    if method == "omitted":
        return "omitted"
    flag = row.get("identified")
    if flag is None or (isinstance(flag, float) and np.isnan(flag)):
        return "identified"  # a table from before triangulation (no flag): read as it was written
    return "identified" if bool(flag) else "not identified"
