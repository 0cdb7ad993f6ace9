"""The contribution table: incremental won revenue of marketing, each channel, SDR work, speed to lead and AE
work, in money, with intervals, assumptions and sensitivity (one row per unit; estimators in `incremental`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from fairshare.config import ContributionSettings
from fairshare.contribution.capacity import SalesQueue
from fairshare.contribution.incremental import IncrementalEffect, TooFewUnits

CONTRIBUTION_COLUMNS = [
    "unit", "key", "estimate", "ci_low", "ci_high", "level", "method", "n_units", "n_exposed",
    "assumptions", "sensitivity", "overlap_warning", "effect_per_unit", "robustness_value",
    "identified", "strategies", "period", "proposal", "warnings",
]  # fmt: skip
ACCOUNT_CONFOUNDERS = ["industry", "region", "log_employees", "log_annual_revenue", "account_age_days"]
LEAD_CONFOUNDERS = [
    "industry", "region", "log_employees", "log_annual_revenue", "source_team", "source_channel",
    "prior_touches", "queue_leads", "created_weekday", "created_hour", "created_day_index",
]  # fmt: skip
#: Quantiles of a channel's positive touch counts where its effect per touch may change (linear spline).
CHANNEL_DOSE_KNOTS = (0.5, 0.8)
#: Warn about interference when more than this share of queued leads was never contacted.
SATURATION_LIMIT = 0.2


def _row(unit: str, key: str, model: IncrementalEffect, method: str, extra: list[str] = ()) -> dict:
    return {
        "unit": unit, "key": key, "estimate": model.total_, "ci_low": model.total_ci_low_,
        "ci_high": model.total_ci_high_, "level": model.level, "method": method, "n_units": model.n_units_,
        "n_exposed": model.n_exposed_, "assumptions": "; ".join([*model.assumptions_, *extra]),
        "sensitivity": model.sensitivity_, "overlap_warning": model.overlap_warning_,
        "effect_per_unit": model.effect_, "robustness_value": model.robustness_value_,
    }  # fmt: skip


OMITTED = "omitted"
NO_TOUCHES = "no marketing touches imported: marketing and channel contribution cannot be estimated"


def no_marketing_reason(attrs: dict) -> str:
    """Why no touch counts as paid or owned marketing: what was imported and what to map or link."""
    from fairshare.contribution.exposures import CONVERSION_KIND

    imported = int(attrs.get("touches_imported", 0))
    channels = list(attrs.get("channels", []))
    if imported == 0:
        return NO_TOUCHES
    if not channels:
        return (f"{imported:,} touches imported, but none is a marketing exposure of an account: each needs an "
                f"account_id or a contact_id whose contact has one, and form fills ({CONVERSION_KIND}) are the "
                "lead's own creation; link the touches to contacts or accounts")  # fmt: skip
    found = ", ".join(channels[:8]) + (", ..." if len(channels) > 8 else "")
    return (f"{attrs.get('touches_on_accounts', 0):,} of {imported:,} touches reach accounts, all in channels "
            f"counted as demand the buyer brought ([attribution] direct_channels): {found}; map paid or owned "
            'labels to channels in [channels.map] (e.g. "Google Ads" = "paid_search")')  # fmt: skip


def _omitted(unit: str, key: str, reason: str, level: float, d: np.ndarray | pd.Series | None = None) -> dict:
    """A row that says why (unit, key) was not estimated (method "omitted", no estimate)."""
    d = np.zeros(0) if d is None else np.asarray(d, float)
    return {
        "unit": unit, "key": key, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "level": level,
        "method": OMITTED, "n_units": int(d.size), "n_exposed": int((d > 0).sum()),
        "assumptions": f"not estimated: {reason}", "sensitivity": "", "overlap_warning": "",
        "effect_per_unit": np.nan, "robustness_value": np.nan,
    }  # fmt: skip


def _estimated(unit: str, key: str, level: float, d, make) -> tuple[dict, bool]:
    """(make(), True), or (an omitted row saying why, False) when the data are too thin for the fit."""
    try:
        return make(), True
    except TooFewUnits as e:
        return _omitted(unit, key, str(e), level, d), False


def _available(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    return [c for c in columns if c in frame.columns and frame[c].notna().any()]


def contribution_table(
    accounts: pd.DataFrame,
    leads: pd.DataFrame | None = None,
    *,
    level: float | None = None,
    first_contact_hours: float = 24.0,
    settings: dict | None = None,
    dose_strata: int = 5,
    random_state: int = 0,
    assumptions: ContributionSettings | None = None,
) -> pd.DataFrame:
    """Incremental won revenue of marketing, each paid channel, SDR work, speed to lead and AE work.

    `accounts` comes from `exposures.account_exposures`, `leads` from `exposures.lead_exposures`.
    `settings` are IncrementalEffect parameters (e.g. fewer folds and trees for a quick run);
    account-level dose effects are fitted within `dose_strata` strata of the expected dose.
    Rows whose exposure does not vary (no unexposed or no exposed units) are left out; a unit with too
    few units per fold, arm or dose stratum for the DML fit (`fit_problem`), and marketing without any
    touches, get a row with method "omitted", no estimate, and the reason in `assumptions`.
    `assumptions` is the definitions' `[contribution]` section (AE baseline, SDR inbound share, level);
    `level` overrides its level.
    """
    assumptions = assumptions if assumptions is not None else ContributionSettings()
    level = assumptions.level if level is None else level
    kw = {"level": level, "random_state": random_state, **(settings or {})}
    rows: list[dict] = []
    y = accounts["won_revenue"].to_numpy(float)
    x = accounts[_available(accounts, ACCOUNT_CONFOUNDERS)]
    paid = list(accounts.attrs.get("paid_channels", []))
    paid_cols = {c: channel_column_name(c) for c in paid}
    saturation = _queue_saturation(leads)
    interference = (
        [f"interference: {saturation:.0%} of queued leads were never contacted (capacity-bound queue), so one unit's "
         "extra leads take contacts from others; the sum of unit effects can overstate switching a channel off"]
        if saturation is not None and saturation > SATURATION_LIMIT else []
    )  # fmt: skip
    lead_rows, lead_models = (
        _lead_rows(leads, kw, first_contact_hours) if leads is not None and len(leads) else ([], {})
    )
    queue = _sales_queue(leads, accounts, lead_models, random_state)
    if queue is not None:
        interference = []  # replaced by the displacement the queue replay measures
    if "touches_paid" in accounts and accounts["touches_paid"].gt(0).any():
        dose = accounts["touches_paid"]
        untouched = f"{(dose == 0).mean():.1%} of accounts untouched"

        def marketing() -> dict:
            if "won_revenue_marketing_sourced" in accounts:
                return _marketing_sourced_row(accounts, x, dose, kw, dose_strata, untouched, interference)
            m = IncrementalEffect(method="plr", dose_strata=dose_strata, **kw).fit(x, dose, y)
            note = [f"exposure: paid/owned touches per account ({untouched}); "
                    "removing all of them extrapolates the dose line to zero"]  # fmt: skip
            return _row("marketing", "all", m, "dml_plr_dose", note + interference)

        row, ok = _estimated("marketing", "all", level, dose, marketing)
        rows.append(_displaced(row, queue, dose, None, share=1.0) if ok and queue is not None else row)
    else:
        rows.append(_omitted("marketing", "all", no_marketing_reason(accounts.attrs), level))
    for c, col in paid_cols.items():
        dose = accounts[col]
        if dose.gt(0).sum() < 10 or dose.nunique() < 3:
            continue
        xc = x.join(accounts[[v for k, v in paid_cols.items() if k != c]])
        fitted: list[IncrementalEffect] = []

        def channel(xc=xc, dose=dose, c=c, fitted=fitted) -> dict:
            fitted.append(
                IncrementalEffect(method="plr", dose_knots=CHANNEL_DOSE_KNOTS, **kw).fit(xc, dose, y)
            )
            return _row(
                "channel",
                c,
                fitted[0],
                "dml_plr_spline",
                ["other channels' touches held fixed", *interference],
            )

        row, ok = _estimated("channel", c, level, dose, channel)
        rows.append(_displaced(row, queue, dose, fitted[0]) if ok and queue is not None else row)
    outbound = None
    if "sdr_prospecting" in accounts and accounts["sdr_prospecting"].gt(0).sum() >= 10:
        xs = x.join(accounts[list(paid_cols.values())])

        def sdr_outbound() -> dict:
            m = IncrementalEffect(method="plr", dose_strata=dose_strata, **kw).fit(
                xs, accounts["sdr_prospecting"], y
            )
            return _row("sdr_outbound", "accounts", m, "dml_plr_dose", [
                "exposure: SDR outbound prospecting activities per account"])  # fmt: skip

        row, ok = _estimated("sdr_outbound", "accounts", level, accounts["sdr_prospecting"], sdr_outbound)
        rows.append(row)
        outbound = row if ok else None
    rows += lead_rows
    inbound = next((r for r in rows if r["unit"] == "sdr_contact" and r["method"] != OMITTED), None)
    bound = inbound_won(leads)  # bounds the SDR team's inbound part when the contact effect is not estimated
    if outbound is not None:
        rows.append(_sdr_total(outbound, inbound, assumptions.sdr_inbound_share, bound))
    rows += _ae_rows(y, level, random_state, assumptions)
    direct = {(r["unit"], r["key"]): r.pop("_direct") for r in rows if "_direct" in r}
    table = pd.DataFrame(rows, columns=CONTRIBUTION_COLUMNS)
    table.attrs["direct"] = direct  # per-account estimates before the queue displacement (benchmarks)
    table.attrs["inbound_won"] = bound
    return table


def _marketing_sourced_row(
    accounts: pd.DataFrame,
    x: pd.DataFrame,
    dose: pd.Series,
    kw: dict,
    strata: int,
    untouched: str,
    extra: list[str],
) -> dict:
    """Marketing = its sourced won revenue (none of it exists without marketing) + its effect on other sources.

    Switching marketing off removes every marketing-sourced lead, so that revenue is incremental by
    definition and observed; only the spill-over on the other sources (marketing interest helps SDR
    outbound, while a form fill pre-empts an SDR lead) is estimated: DML PLR of the non-marketing won
    revenue on paid/owned touches within strata of the expected dose. The extrapolation to zero touches
    now concerns only that smaller, less noisy part.
    """
    sourced = accounts["won_revenue_marketing_sourced"].to_numpy(float)
    other = accounts["won_revenue"].to_numpy(float) - sourced
    m = IncrementalEffect(method="plr", dose_strata=strata, **kw).fit(x, dose, other)
    total = float(sourced.sum())
    note = [f"marketing-sourced won revenue {total:,.0f} counted in full (without marketing no marketing lead exists)",
            f"plus the effect on other sources' won revenue, {m.total_:,.0f}: paid/owned touches per account "
            f"({untouched}), dose line extrapolated to zero"]  # fmt: skip
    # second strategy, same strata, folds and dose model: the dose line of total won revenue
    alt, alt_se = m.total_for(accounts["won_revenue"].to_numpy(float))
    z = stats.norm.ppf(0.5 + m.level / 2)
    low = min(total + m.total_ci_low_, alt - z * alt_se)
    high = max(total + m.total_ci_high_, alt + z * alt_se)
    note.append(f"interval spans both identification strategies: the above and the dose line of total won revenue "
                f"({alt:,.0f}), because the spill-over through organic/direct visits (demand-driven, no exposure "
                "contrast) is not identified")  # fmt: skip
    row = _row("marketing", "all", m, "sourced+dml_plr_spillover", note + extra)
    row.update(estimate=total + m.total_, ci_low=low, ci_high=high)
    return row


def _sdr_total(
    outbound: dict, inbound: dict | None, share: float = 0.5, inbound_won: float | None = None
) -> dict:
    """SDR work: outbound prospecting plus the inbound leads SDRs contacted, which others may partly have taken.

    Nobody knows from the data how many of those contacts other reps would have made without SDRs, so
    the inbound part is bounded: from 0 (others take every lead) to all of it (nobody does). The point
    estimate takes `share` of it (definitions: `contribution.sdr_inbound_share`); the interval runs from the
    outbound low plus the smaller bound to the outbound high plus the larger one. When the contact effect
    could not be estimated, the inbound part is bounded by 0 .. `inbound_won` (won revenue of the queued
    leads SDRs contacted) and the total has no point estimate.
    """
    row = dict(outbound, unit="sdr", key="all")
    if inbound is None:
        if inbound_won:
            row.update(
                estimate=np.nan, ci_high=outbound["ci_high"] + inbound_won, effect_per_unit=np.nan,
                method="outbound+inbound_bound",
                assumptions=outbound["assumptions"] + "; inbound contacts (sdr_contact) not estimated: "
                f"bounded from 0 to the won revenue of the queued leads SDRs contacted ({inbound_won:,.0f}), "
                "so the team total has no point estimate",
            )  # fmt: skip
        return row
    row.update(
        estimate=outbound["estimate"] + share * inbound["estimate"],
        ci_low=outbound["ci_low"] + min(0.0, inbound["ci_low"]),
        ci_high=outbound["ci_high"] + max(0.0, inbound["ci_high"]),
        method="dml_plr_dose+dml_irm_att_bounds",
        n_exposed=outbound["n_exposed"] + inbound["n_exposed"],
        assumptions=outbound["assumptions"] + "; inbound contacts (sdr_contact) added with a share between 0 "
        "(other reps would contact every inbound lead) and 1 (nobody would), point estimate at "
        f"sdr_inbound_share = {share:g}",
        overlap_warning="; ".join(w for w in (outbound["overlap_warning"], inbound["overlap_warning"]) if w),
        sensitivity=f"outbound: {outbound['sensitivity']} | inbound: {inbound['sensitivity']}",
        effect_per_unit=np.nan,
    )  # fmt: skip
    return row


def inbound_won(leads: pd.DataFrame | None) -> float | None:
    """Won revenue of the queued leads an SDR contacted (any rep without the `sdr_contacted` column)."""
    if leads is None or not len(leads) or "contacted" not in leads:
        return None
    by_sdr = leads["sdr_contacted"] if "sdr_contacted" in leads else leads["contacted"]
    return float(leads.loc[_queued(leads) & by_sdr.astype(bool), "won_revenue"].sum())


def channel_column_name(channel: str) -> str:
    from fairshare.contribution.exposures import channel_column

    return channel_column(channel)


def _queued(leads: pd.DataFrame) -> pd.Series:
    """Leads that wait in the sales queue: the `queued` column, else marketing and partner leads."""
    if "queued" in leads:
        return leads["queued"].astype(bool)
    return leads["source_team"].isin(["marketing", "partner"])


def _queue_saturation(leads: pd.DataFrame | None) -> float | None:
    if leads is None or not len(leads) or "source_team" not in leads:
        return None
    queued = _queued(leads)
    return float((~leads.loc[queued, "contacted"]).mean()) if queued.any() else None


def _lead_rows(leads: pd.DataFrame, kw: dict, first_contact_hours: float) -> tuple[list[dict], dict]:
    rows, models = [], {}
    queued = leads.loc[_queued(leads)].reset_index(drop=True)
    x = queued[_available(queued, LEAD_CONFOUNDERS)]
    y = queued["won_revenue"].to_numpy(float)
    d = queued["contacted"].astype(float).to_numpy()
    caveat = ("comparison: queued leads never contacted because of capacity (explicit caveat: assumes who gets "
              "contacted depends only on the confounders, e.g. arrival load and time, not on unseen lead quality)")  # fmt: skip
    level = kw.get("level", 0.9)
    if not (y != 0).any():  # nothing won from a queued lead: there is no revenue effect to estimate
        reason = "no queued lead has won revenue yet"
        rows.append(_omitted("sdr_contact", "inbound", reason, level, d))
        rows.append(_omitted("speed_to_lead", f"sla_{first_contact_hours:g}h", reason, level))
        return rows, models
    if not 10 <= d.sum() <= len(d) - 10:  # no comparison group: say so, the SDR team bounds this part
        never = int(len(d) - d.sum())
        reason = (f"only {never} of {len(d)} queued leads were never contacted" if never < 10 else
                  f"only {int(d.sum())} of {len(d)} queued leads were contacted")  # fmt: skip
        rows.append(
            _omitted("sdr_contact", "inbound", f"{reason}: no comparison group (at least 10 each)", level, d)
        )
    else:
        try:
            m = IncrementalEffect(**kw).fit(x, d, y)
        except TooFewUnits as e:
            rows.append(_omitted("sdr_contact", "inbound", str(e), level, d))
        else:
            models["contact"] = m
            # each lead's own contact effect (cross-fitted outcome models: contacted minus not contacted), used
            # to value the leads a freed queue would newly contact, who need not be average leads
            pred = m.model_.predictions
            if pred["ml_g1"].shape[0] == len(queued):  # not when trimming refitted on fewer leads
                effect = pd.Series(
                    pred["ml_g1"][:, 0, 0] - pred["ml_g0"][:, 0, 0], index=queued["lead_id"].to_numpy()
                )
                models["contact_by_lead"] = effect.groupby(level=0).mean()
            rows.append(
                _row("sdr_contact", "inbound", m, "dml_irm_att", [caveat, "unit: inbound/partner lead"])
            )
    late = queued.loc[queued["contacted"]].reset_index(drop=True)
    if len(late) >= 40 and late["hours_to_first_contact"].nunique() > 5:
        hours = late["hours_to_first_contact"].clip(lower=0).to_numpy(float)
        dose = np.log1p(hours)
        try:
            m = IncrementalEffect(method="plr", **kw).fit(
                late[x.columns], dose, late["won_revenue"].to_numpy(float)
            )
        except TooFewUnits as e:
            rows.append(_omitted("speed_to_lead", f"sla_{first_contact_hours:g}h", str(e), level, dose))
            return rows, models
        models["speed"] = (m.effect_, m.se_)
        gap = np.clip(dose - np.log1p(first_contact_hours), 0, None).sum()
        # revenue gained if every late lead had been contacted at the SLA: -theta x total excess log-hours
        m.total_, m.total_ci_low_, m.total_ci_high_ = -m.effect_ * gap, -m.ci_high_ * gap, -m.ci_low_ * gap
        m.n_exposed_ = int((hours > first_contact_hours).sum())
        rows.append(_row("speed_to_lead", f"sla_{first_contact_hours:g}h", m, "dml_plr_dose", [
            caveat, "estimate: revenue gained if every lead contacted after the SLA had been contacted at the SLA",
            "effect linear in log(1 + hours to first contact)"]))  # fmt: skip
    return rows, models


def _sales_queue(
    leads: pd.DataFrame | None, accounts: pd.DataFrame, models: dict, random_state: int
) -> SalesQueue | None:
    """The replayed sales queue, when the data allow it (queued leads, a contact effect, a speed effect)."""
    if leads is None or "contact" not in models or "speed" not in models or "queued" not in leads:
        return None
    try:
        queue = SalesQueue(random_state=random_state).fit(leads)
    except ValueError:
        return None
    counts = leads.loc[leads["queued"]].groupby("account_id").size()
    queue.account_leads_ = accounts["account_id"].map(counts).fillna(0).to_numpy(float)
    queue.account_ids_ = accounts["account_id"].to_numpy()
    queue.contact_, queue.speed_ = models["contact"], models["speed"]
    by_lead = models.get("contact_by_lead")
    queue.contact_by_lead_ = (
        queue.leads_["lead_id"].map(by_lead).fillna(models["contact"].effect_).to_numpy(float)
        if by_lead is not None
        else np.full(queue.n_queued_, models["contact"].effect_)
    )
    return queue


def _displaced(
    row: dict,
    queue: SalesQueue,
    dose: pd.Series,
    fitted: IncrementalEffect | None,
    share: float | None = None,
) -> dict:
    """A marketing/channel row net of the contacts its leads took from other leads in a capacity-bound queue.

    The exposure's incremental queued leads (the same DML, outcome = queued leads per account) are removed
    at random from the marketing leads of the exposed accounts, the queue is replayed, and what the other
    leads gain (newly contacted x value of a contact, sooner contacts x speed effect) is subtracted.
    Interval: delta method (independent errors of the per-account estimate, the contact and speed
    effects and the number of incremental leads).
    """
    exposed = set(queue.account_ids_[dose.to_numpy() > 0])
    q = queue.leads_
    candidates = (q["source_team"].eq("marketing") & q["account_id"].isin(exposed)).to_numpy()
    if not candidates.any():
        return row
    rel_leads = 0.0
    if share is None:  # incremental queued leads: the same DML (strata, folds, dose model), outcome = leads
        removed, se_removed = fitted.total_for(queue.account_leads_)
        share = removed / candidates.sum()
        rel_leads = se_removed / max(abs(removed), 1e-9)
    else:
        removed = share * candidates.sum()
    contact, (theta, theta_se) = queue.contact_, queue.speed_
    d = queue.displacement(candidates, share, queue.contact_by_lead_, theta)
    speed_coef = d["contact_log_hours"] - d["log_hours_saved"]
    value = d["displacement"]
    z = stats.norm.ppf(0.5 + row["level"] / 2)
    extra = z * float(
        np.sqrt(
            (d["newly_contacted"] * contact.se_) ** 2
            + (speed_coef * theta_se) ** 2
            + (value * rel_leads) ** 2
        )
    )
    estimate = row["estimate"] - value
    # each side of the (possibly asymmetric) interval widened by the displacement's error (delta method)
    ci_low = estimate - float(np.hypot(row["estimate"] - row["ci_low"], extra))
    ci_high = estimate + float(np.hypot(row["ci_high"] - row["estimate"], extra))
    note = (f"capacity: the sales queue was replayed ({queue.description_}; capacity {queue.capacity_:.2f} new leads per rep and business "
            f"day, calibrated to the observed never-contacted share {queue.never_contacted_share_:.0%}; longest wait "
            f"{queue.max_wait_days_:.1f} days) without the {removed:,.0f} incremental queued leads; "
            f"displacement {value:,.0f} subtracted ({d['newly_contacted']:.0f} other leads newly contacted, "
            f"others reached sooner); interval: delta method")  # fmt: skip
    return dict(row, estimate=estimate, ci_low=ci_low, ci_high=ci_high,
                method=row["method"] + "-queue_displacement", assumptions=row["assumptions"] + "; " + note,
                _direct=(row["estimate"], row["ci_low"], row["ci_high"]))  # fmt: skip


def _ae_rows(
    won: np.ndarray, level: float, random_state: int, assumptions: ContributionSettings
) -> list[dict]:
    """AE contribution against the stated self-serve baseline: an assumption over a plausible range, not an estimate."""
    if not (won > 0).any():
        return []
    win, amount = assumptions.ae_baseline_win_factor, assumptions.ae_baseline_amount_factor
    low, high = assumptions.ae_baseline_range
    total = float(won.sum())
    return [{
        "unit": "ae", "key": "all", "estimate": (1 - win * amount) * total, "ci_low": (1 - high) * total,
        "ci_high": (1 - low) * total, "level": level, "method": "assumption", "n_units": int(won.size),
        "n_exposed": int((won > 0).sum()), "identified": False,
        "assumptions": f"assumption, not estimated: without AE work deals close self-serve at {win:.0%} of the win "
        f"rate and {amount:.0%} of the deal size (contribution.ae_baseline_win_factor = {win:g}, "
        f"ae_baseline_amount_factor = {amount:g}); the interval is the plausible range of the retained self-serve "
        f"share, {low:.0%} to {high:.0%} of won revenue (contribution.ae_baseline_range); all won revenue is treated "
        "as AE-worked",
        "sensitivity": "scales with the assumed baseline: each 10 pp of retained self-serve revenue moves it by "
        f"{0.1 * total:,.0f}", "overlap_warning": "", "effect_per_unit": np.nan, "robustness_value": np.nan,
    }]  # fmt: skip
