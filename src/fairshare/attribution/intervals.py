"""Bootstrap intervals for attribution credits, and the result table every model returns.

Resampling works on the path table, not on journeys one by one: a resample of N journeys is a
multinomial draw over the (path, converted) and (path, not converted) cells, so each resample
costs O(distinct paths) and models re-use their prepared structure (sparse credit matrices,
transition incidence) for every draw. Value follows conversions at each path's mean value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from fairshare.attribution.paths import Paths

#: Columns of every attribution result table, in order (documented in docs/attribution.md).
RESULT_COLUMNS = [
    "model",
    "key",
    "conversions",
    "revenue",
    "share",
    "ci_low",
    "ci_high",
    "revenue_share",
    "revenue_ci_low",
    "revenue_ci_high",
]

Credit = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def resampled_outcomes(
    paths: Paths, n_resamples: int, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield (conversions, value, nulls) per row for `n_resamples` bootstrap resamples of journeys.

    Journey tables with accounts (`paths.clusters`): accounts are drawn with replacement and every
    journey of an account counts as often as the account was drawn. Path tables: multinomial over
    the 2·n (path, converted) / (path, not converted) cells with the observed total; non-integer
    counts (weighted tables) get Poisson draws per cell (the Poisson bootstrap).
    """
    conv, nulls = paths.conversions, paths.nulls
    n = len(conv)
    if paths.clusters is not None and n:
        n_clusters = int(paths.clusters.max()) + 1
        uniform = np.full(n_clusters, 1.0 / n_clusters)
        for _ in range(n_resamples):
            w = rng.multinomial(n_clusters, uniform)[paths.clusters].astype(float)
            yield conv * w, paths.value * w, nulls * w
        return
    counts = np.concatenate([conv, nulls])
    total = counts.sum()
    mean_value = np.divide(paths.value, conv, out=np.zeros(n), where=conv > 0)
    integral = bool(np.all(np.abs(counts - np.round(counts)) < 1e-9))
    p = counts / total if total > 0 else counts
    for _ in range(n_resamples):
        if total <= 0:
            draw = counts
        elif integral:
            draw = rng.multinomial(int(round(total)), p).astype(float)
        else:
            draw = rng.poisson(counts).astype(float)
        c = draw[:n]
        yield c, c * mean_value, draw[n:]


def bootstrap_credits(
    paths: Paths, credit: Credit, n_resamples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Credits per resample: two arrays (n_resamples × n_channels) for conversions and revenue."""
    n_ch = len(paths.channels)
    conv = np.zeros((n_resamples, n_ch))
    rev = np.zeros((n_resamples, n_ch))
    for b, (c, v, u) in enumerate(resampled_outcomes(paths, n_resamples, rng)):
        conv[b], rev[b] = credit(c, v, u)
    return conv, rev


def _shares(credits: np.ndarray) -> np.ndarray:
    total = credits.sum(axis=-1, keepdims=True)
    return np.divide(credits, total, out=np.zeros_like(credits, dtype=float), where=total != 0)


def _draw_shares(credits: np.ndarray) -> np.ndarray:
    """Shares per resample; a resample with nothing to share (no conversion drawn) is NaN, not 0."""
    total = credits.sum(axis=-1, keepdims=True)
    return np.divide(credits, total, out=np.full_like(credits, np.nan, dtype=float), where=total != 0)


def _quantiles(draws: np.ndarray, lo_q: float, hi_q: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    usable = draws[~np.isnan(draws).all(axis=1)]
    if not len(usable):
        return np.full(n, np.nan), np.full(n, np.nan)
    low, high = np.quantile(usable, [lo_q, hi_q], axis=0)
    return low, high


def result_table(
    model: str,
    keys: np.ndarray,
    conversions: np.ndarray,
    revenue: np.ndarray,
    draws: tuple[np.ndarray, np.ndarray] | None = None,
    level: float = 0.9,
) -> pd.DataFrame:
    """The documented result table; intervals are bootstrap percentiles of the shares (NaN without draws)."""
    share = _shares(conversions)
    revenue_share = _shares(revenue)
    nan = np.full(len(keys), np.nan)
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    if draws is not None and len(draws[0]):
        conv_draws, rev_draws = _draw_shares(draws[0]), _draw_shares(draws[1])
        ci_low, ci_high = _quantiles(conv_draws, lo_q, hi_q, len(keys))
        rci_low, rci_high = _quantiles(rev_draws, lo_q, hi_q, len(keys))
    else:
        ci_low = ci_high = rci_low = rci_high = nan
    frame = pd.DataFrame(
        {
            "model": model,
            "key": np.asarray(keys, dtype=object).astype(str),
            "conversions": conversions,
            "revenue": revenue,
            "share": share,
            "ci_low": ci_low,
            "ci_high": ci_high,
            "revenue_share": revenue_share,
            "revenue_ci_low": rci_low,
            "revenue_ci_high": rci_high,
        },
        columns=RESULT_COLUMNS,
    )
    return frame.sort_values(["conversions", "key"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )
