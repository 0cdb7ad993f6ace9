"""Calibration of the marketing-mix model with randomized lift tests (only calibrated mix rows identify a unit).

`calibrate` combines a mix row with a holdout of the same unit (precision-weighted, as PyMC-Marketing adds lift
tests to the likelihood and Meridian turns them into priors).
"""

from __future__ import annotations

import pandas as pd
from scipy import stats

#: Suffix of a mix row's method once a lift test calibrated it (only such rows identify a unit).
CALIBRATED = "+lift_test"


def calibrate(table: pd.DataFrame, lift_tests: pd.DataFrame, level: float) -> pd.DataFrame:
    """Combine mix rows with lift tests of the same unit (normal approximation, precision-weighted).

    As PyMC-Marketing adds lift tests to the likelihood and Meridian turns them into priors: the mix
    estimate and the experiment are two noisy measurements of one removal effect. When their intervals do
    not overlap the combined interval spans both and the assumptions say so. A row the mix does not identify
    takes the experiment's estimate and interval (the mix stays in the mix_* columns).
    """
    z = stats.norm.ppf(0.5 + level / 2)
    out = table.copy()
    for _, t in lift_tests.iterrows():
        hit = (out["unit"] == t["unit"]) & (out["key"] == t["key"])
        if not hit.any():
            continue
        i = out.index[hit][0]
        m, mlo, mhi = out.at[i, "mix_estimate"], out.at[i, "mix_ci_low"], out.at[i, "mix_ci_high"]
        e, elo, ehi = float(t["estimate"]), float(t["ci_low"]), float(t["ci_high"])
        se_m, se_e = max((mhi - mlo) / (2 * z), 1e-9), max((ehi - elo) / (2 * z), 1e-9)
        w = se_e**-2 / (se_e**-2 + se_m**-2)
        agree = not (ehi < mlo or elo > mhi)
        if out.at[i, "identified"]:
            est = w * e + (1 - w) * m
            se = (se_e**-2 + se_m**-2) ** -0.5
            # never narrower than the holdout: the mix overstates where demand is captured rather than
            # created (docs/contribution.md), so the precision-weighted interval alone was identified and wrong
            # (simulator grid, arrive40-confounded: 3.07 M [2.48, 3.66] against a true 1.94 M)
            lo, hi = min(est - z * se, elo), max(est + z * se, ehi)
            if not agree:
                lo, hi = min(mlo, elo), max(mhi, ehi)
        else:  # the spend history does not identify the unit: the experiment alone does
            w, est, lo, hi = 1.0, e, elo, ehi
        out.loc[i, ["estimate", "ci_low", "ci_high"]] = [est, lo, hi]
        out.loc[i, ["lift_estimate", "lift_ci_low", "lift_ci_high"]] = [e, elo, ehi]
        out.at[i, "method"] = f"{out.at[i, 'method']}{CALIBRATED}"
        note = (f"calibrated with a randomized holdout (lift {e:,.0f} [{elo:,.0f}, {ehi:,.0f}], weight {w:.0%})"
                + ("" if agree else "; mix and holdout disagree beyond their intervals"))  # fmt: skip
        out.at[i, "assumptions"] = out.at[i, "assumptions"] + "; " + note
        if not out.at[i, "identified"]:  # the experiment identifies what the spend history could not
            out.at[i, "identified"] = True
            out.at[i, "assumptions"] += (
                f"; identified by the holdout; the mix alone was not: {out.at[i, 'reason']}"
            )
            out.at[i, "reason"] = ""
            out.at[i, "proposal"] = ""
    return out
