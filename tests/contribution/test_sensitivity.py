"""Robustness values: the Cinelli & Hazlett formula on known numbers, and the reasons when none can be given."""

from __future__ import annotations

import math

import pytest

from fairshare.contribution.sensitivity import robustness_from_t


def test_robustness_value_from_a_t_statistic_matches_cinelli_hazlett():
    # t = 3 on 100 degrees of freedom: partial Cohen's f = 0.3, RV = (sqrt(f^4 + 4 f^2) - f^2) / 2 = 0.2584
    r = robustness_from_t(3.0, 100, level=0.9)
    assert r["rv"] == pytest.approx(0.2584, abs=1e-4)
    # RVa uses f minus the 90% two-sided critical value of t on 99 df over sqrt(99): f* = 0.3 - 0.1663
    f_star = 0.3 - 1.6604 / math.sqrt(99)
    assert r["rva"] == pytest.approx((math.sqrt(f_star**4 + 4 * f_star**2) - f_star**2) / 2, abs=1e-3)
    assert r["text"].startswith("RV 26%, RVa")
    assert robustness_from_t(-3.0, 100)["rv"] == r["rv"]  # the sign of the effect does not matter
    assert robustness_from_t(1.0, 100)["rva"] == 0.0  # the interval already includes zero


def test_no_robustness_value_without_units_or_variation():
    assert "too few units" in robustness_from_t(2.0, 1)["text"]
    none = robustness_from_t(math.inf, 50)
    assert math.isnan(none["rv"]) and "no sampling variation" in none["text"]
