"""Variation that an account's own demand does not drive: budget flights, regional budgets, SDR capacity
changes and randomized holdouts. All of it is drawn with the company (identical in every replay)."""

from __future__ import annotations

import numpy as np

from fairshare.simulate.config import BudgetFlights, CapacityChanges, Holdouts
from fairshare.simulate.streams import Streams


def flight_factors(spec: BudgetFlights, days: int, rng: np.random.Generator) -> np.ndarray:
    """Per-day budget factor of one channel: dark weeks (0) and piecewise-constant log-normal levels."""
    weeks = -(-days // 7)
    level = np.ones(weeks)
    if spec.steps:
        cuts = np.sort(rng.choice(np.arange(1, weeks), size=min(spec.steps, weeks - 1), replace=False))
        segment = np.searchsorted(cuts, np.arange(weeks), side="right")
        level = np.exp(spec.step_sd * rng.normal(0, 1, cuts.size + 1))[segment]
    dark = np.zeros(weeks, dtype=bool)
    n_dark = int(round(spec.off_week_share * weeks))
    if n_dark:
        dark[rng.choice(weeks, size=n_dark, replace=False)] = True
    return np.where(dark, 0.0, level)[np.arange(days) // 7]


def region_shares(
    spec: BudgetFlights, planned: np.ndarray, days: int, rng: np.random.Generator
) -> np.ndarray:
    """(regions × days) share of a channel's daily spend per region: `planned` share × a multiplier per block."""
    blocks = -(-days // (7 * spec.region_block_weeks))
    mult = np.exp(spec.region_sd * rng.normal(0, 1, (planned.size, blocks)))
    w = planned[:, None] * mult
    w = w / w.sum(axis=0, keepdims=True)
    return w[:, np.arange(days) // (7 * spec.region_block_weeks)]


def sdr_calendar(
    spec: CapacityChanges, n_sdr: int, days: int, hired_day: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n_sdr × days) bool: SDR at work that day; hired day (hires move into the period); left day (NaN: stays).

    Disabled: everyone works every day and nothing changes.
    """
    active = np.ones((n_sdr, days), dtype=bool)
    left = np.full(n_sdr, np.nan)
    hired = hired_day.astype(float).copy()
    if not spec.enabled:
        return active, hired, left
    is_hire = rng.random(n_sdr) < spec.hire_share
    hire_day = rng.integers(14, max(15, days - 90), n_sdr)
    is_leaver = rng.random(n_sdr) < spec.leave_share
    leave_day = rng.integers(60, max(61, days - 14), n_sdr)
    n_off = rng.poisson(spec.weeks_off * days / 365, n_sdr)
    off_start = [rng.integers(0, max(1, days - 7), k) for k in n_off]
    d = np.arange(days)
    for i in range(n_sdr):
        if is_hire[i]:
            hired[i] = hire_day[i]
            active[i, d <= hire_day[i]] = False  # signs on the hire day, works from the next
        if is_leaver[i] and leave_day[i] > hired[i] + 60:
            left[i] = leave_day[i]
            active[i, d >= leave_day[i]] = False
        for s in off_start[i]:
            active[i, s : s + 7] = False
    return active, hired, left


def holdout_accounts(spec: Holdouts, n: int, streams: Streams) -> tuple[np.ndarray, np.ndarray]:
    """Accounts held out from targeted marketing and from SDR prospecting (independent random draws)."""
    u = streams.uniform("holdouts", np.arange(n), slot=0)
    v = streams.uniform("holdouts", np.arange(n), slot=1)
    return u < spec.marketing_share, v < spec.sdr_share
