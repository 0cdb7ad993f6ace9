"""Uncertainty intervals shared by the models: binomial rates, medians and ratios of sums.

Plain NumPy/SciPy functions over arrays; every model that reports a `ci_low`/`ci_high` uses one
of these, so the same kind of number always gets the same kind of interval.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def rate_interval(successes, trials, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Jeffreys interval (Beta(x+½, n−x+½) quantiles) for binomial rates; NaN where trials == 0."""
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    alpha = 1.0 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(x > 0, stats.beta.ppf(alpha / 2, x + 0.5, n - x + 0.5), 0.0)
        high = np.where(x < n, stats.beta.ppf(1 - alpha / 2, x + 0.5, n - x + 0.5), 1.0)
    empty = n <= 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def median_interval(values, level: float = 0.9) -> tuple[float, float]:
    """Distribution-free interval for a median: order statistics x_(j) and x_(n−j+1), with j the
    largest rank such that P(B ≤ j−1) < (1−level)/2 for B ~ Binomial(n, ½); covers the median with
    probability ≥ `level`. Below ~5 values (90%) no pair of ranks reaches `level`: (min, max). NaN
    without values."""
    x = np.sort(np.asarray(values, dtype=float))
    x = x[~np.isnan(x)]
    n = x.size
    if n == 0:
        return np.nan, np.nan
    j = max(int(stats.binom.ppf((1.0 - level) / 2, n, 0.5)), 1)
    return float(x[j - 1]), float(x[n - j])


def ratio_interval_from_sums(n, sx, sy, sxx, syy, sxy, level: float = 0.9):
    """Ratio estimate Σy/Σx with a delta-method interval, from per-group sums over units.

    Var(R) ≈ n / (n - 1) · Σ(y - R x)² / (Σx)²; the low end is clipped at 0. Returns (R, low, high).
    """
    n, sx, sy, sxx, syy, sxy = (np.asarray(v, dtype=float) for v in (n, sx, sy, sxx, syy, sxy))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(sx > 0, sy / sx, np.nan)
        ssd = np.clip(syy - 2 * r * sxy + r * r * sxx, 0, None)  # Σ (y - r x)²
        var = np.where((n > 1) & (sx > 0), n / (n - 1) * ssd / (sx * sx), np.nan)
    half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(var)
    return r, np.clip(r - half, 0, None), r + half


def ratio_interval(x, y, level: float = 0.9) -> tuple[float, float]:
    """Delta-method interval of Σy/Σx over units with hours x and revenue y."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    _, low, high = ratio_interval_from_sums(len(x), x.sum(), y.sum(), (x * x).sum(), (y * y).sum(),
                                            (x * y).sum(), level)  # fmt: skip
    return float(low), float(high)
