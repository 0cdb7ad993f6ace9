"""The AEs' weekly forecast calls: commit, best case and open pipeline per quarter.

A rep's commit is made from what the rep knows at the submission, not from the outcome: won to
date in the quarter, plus the open deals the rep reads as closing won this quarter (a private,
noisy signal of each deal's true outcome and close date, `forecast_deal_signal`: reps know things
the CRM does not), plus a run-rate guess for deals not created yet (what the rep booked in the last
quarters from deals created later than this point of the quarter), the forward part times the rep's
bias (`rep_forecast_bias`) and noise. Deals created after the submission play no part.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from fairshare.simulate.company import Company
from fairshare.simulate.config import SimulationConfig
from fairshare.simulate.outbound import WORK_START
from fairshare.simulate.streams import Streams

#: prior full quarters a rep's run-rate guess looks back on
RUN_RATE_QUARTERS = 2
#: days between two forecast calls
CALL_DAYS = 7


def calendar_quarters(start: dt.date, days: int) -> list[tuple[str, int, int]]:
    """(period, first day, day after the end) of every full calendar quarter inside the period."""
    y, m = start.year, ((start.month - 1) // 3) * 3 + 1
    if dt.date(y, m, 1) < start:
        y, m = y + (m + 2) // 12, (m + 2) % 12 + 1
    out = []
    while True:
        ny, nm = y + (m + 2) // 12, (m + 2) % 12 + 1
        qs, qe = (dt.date(y, m, 1) - start).days, (dt.date(ny, nm, 1) - start).days
        if qe > days:
            return out
        out.append((f"{y}-Q{(m - 1) // 3 + 1}", qs, qe))
        y, m = ny, nm


def _by_ae(mask: np.ndarray, owner: np.ndarray, amount: np.ndarray, n_sdr: int, n_ae: int) -> np.ndarray:
    return np.bincount(owner[mask] - n_sdr, weights=amount[mask], minlength=n_ae)[:n_ae]


def rep_forecasts(
    cfg: SimulationConfig, company: Company, streams: Streams, opp: dict, owner: np.ndarray, key: tuple
) -> list[tuple[int, str, float, float, str]]:
    """(rep, period, submitted day, amount, category) of every AE's weekly call in every full quarter.

    `key` is the deals' dice key (one array per part), so a deal's private read is the same in every
    scenario it exists in.
    """
    n_sdr, n_ae = company.n_sdr, company.n_ae
    created, closed_t = opp["enter"][:, 0], opp["enter"][:, 4]
    mine = opp["is_opp"] & (owner >= n_sdr)
    won, amount = mine & opp["won"], opp["amount"]
    quarters = calendar_quarters(cfg.start, cfg.days)
    out = []
    for qi, (period, qs, qe) in enumerate(quarters):
        # the rep's read of each deal this quarter: true "won inside the quarter" plus a private error
        closes_won = won & (closed_t >= qs) & (closed_t < qe)
        read = cfg.forecast_deal_signal * (closes_won - 0.5) + streams.normal("forecast_read", *key, slot=qs)
        bias = company.rep_forecast_bias[n_sdr : n_sdr + n_ae] * np.exp(
            cfg.forecast_noise * streams.normal("forecast", np.arange(n_sdr, n_sdr + n_ae), qs)
        )
        past = quarters[max(qi - RUN_RATE_QUARTERS, 0) : qi]
        for sub_day in range(qs + CALL_DAYS, qe, CALL_DAYS):
            sub = sub_day + WORK_START
            into = sub - qs
            is_open = mine & (created <= sub) & ~(closed_t <= sub)
            booked = _by_ae(won & (closed_t >= qs) & (closed_t <= sub), owner, amount, n_sdr, n_ae)
            sure = _by_ae(is_open & (read > 0), owner, amount, n_sdr, n_ae)
            doubtful = _by_ae(is_open & (read <= 0) & (read > -cfg.forecast_best_case_margin), owner, amount,
                              n_sdr, n_ae)  # fmt: skip
            run_rate = np.zeros(n_ae)
            for _, ps, pe in past:  # booked last quarters from deals created later than this point
                run_rate += _by_ae(won & (created > ps + into) & (closed_t >= ps) & (closed_t < pe), owner,
                                   amount, n_sdr, n_ae) / len(past)  # fmt: skip
            pipeline = _by_ae(is_open, owner, amount, n_sdr, n_ae)
            commit = booked + bias * (sure + run_rate)
            best = booked + bias * (sure + doubtful + run_rate)
            for a in range(n_ae):
                for k, (value, cat) in enumerate(((commit[a], "commit"), (best[a], "best_case"),
                                                  (pipeline[a], "pipeline"))):  # fmt: skip
                    out.append((n_sdr + a, period, sub + k / 48, round(float(value), -2), cat))
    return out
