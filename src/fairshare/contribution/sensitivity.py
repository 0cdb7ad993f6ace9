"""How strong an unmeasured confounder would have to be to erase an estimate.

Uses DoubleML's omitted-variable-bias bounds (Chernozhukov, Cinelli, Newey, Sharma, Syrgkanis 2022):
the robustness value RV is the partial R² that a hidden confounder would need with *both* the
outcome (share of its residual variation) and the exposure (share of the Riesz representer's
variation) to move the estimate to zero; RVa does the same for the interval's bound.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import stats


def robustness(model: Any, level: float = 0.9) -> dict[str, Any]:
    """Robustness values of a fitted DoubleML model and a one-line reading of them."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.sensitivity_analysis(cf_y=0.03, cf_d=0.03, rho=1.0, level=level)
        rv = float(np.asarray(model.sensitivity_params["rv"]).ravel()[0])
        rva = float(np.asarray(model.sensitivity_params["rva"]).ravel()[0])
    except (ValueError, NotImplementedError, KeyError, FloatingPointError) as e:
        return {"rv": float("nan"), "rva": float("nan"), "text": f"sensitivity not available: {e}"}
    text = describe(rv, rva)
    if getattr(model, "nu2_reestimated", False) or any("not positive" in str(w.message) for w in caught):
        text += " (approximate: the Riesz representer's variance was re-estimated)"
    return {"rv": rv, "rva": rva, "text": text}


def robustness_from_t(t: float, dof: int, level: float = 0.9) -> dict[str, Any]:
    """Robustness values of an estimate from its t-statistic (Cinelli & Hazlett 2020, partial Cohen's f).

    For estimates solved by OLS of residuals (the spline dose PLR) this is the same bound DoubleML
    computes for a linear score: RV = (sqrt(f^4 + 4 f^2) - f^2) / 2 with f = |t| / sqrt(dof); RVa uses
    f minus the critical value's share, so it is 0 when the interval already includes zero.
    """
    if dof < 2:
        return {"rv": float("nan"), "rva": float("nan"), "text": "sensitivity not available: too few units"}
    if not np.isfinite(t):
        return {"rv": float("nan"), "rva": float("nan"), "text": "sensitivity not available: the estimate has no "
                "sampling variation (e.g. no revenue at all)"}  # fmt: skip

    def rv(f: float) -> float:
        return 0.0 if f <= 0 else float((np.sqrt(f**4 + 4 * f**2) - f**2) / 2)

    f = abs(t) / np.sqrt(dof)
    critical = stats.t.ppf(0.5 + level / 2, dof - 1) / np.sqrt(dof - 1)
    value, bound = rv(f), rv(f - critical)
    return {"rv": value, "rva": bound, "text": describe(value, bound)}


def describe(rv: float, rva: float) -> str:
    """'RV 12%, RVa 7%: ...' — the sentence printed next to every estimate."""
    return (
        f"RV {rv:.0%}, RVa {rva:.0%}: a hidden confounder explaining {rv:.0%} of the residual variation of both "
        f"revenue and exposure would erase the estimate ({rva:.0%} would make the interval include zero)"
    )
