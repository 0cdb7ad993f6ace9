"""Against published figures: ChannelAttribution's example path table (../shared/data/channelattribution_paths)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairshare.attribution import MarkovAttribution, Paths, attribute, read_paths

DATA = "channelattribution_paths/Data.csv"

# SOURCE.md: channel → (first, last, linear, Markov order-1 conversions, Markov value), ChannelAttribution 2.2.5.
REFERENCE = {
    "alpha": (6308, 8447, 7574.7, 5273.5, 18818.1),
    "iota": (4606, 3355, 3857.1, 3921.8, 15431.2),
    "eta": (3164, 4167, 3540.0, 3330.3, 12778.7),
    "beta": (2831, 989, 2083.5, 2584.1, 9704.5),
    "theta": (1606, 653, 1022.8, 1935.7, 7232.6),
    "lambda": (902, 1207, 1035.3, 1258.5, 4913.8),
    "epsilon": (99, 531, 272.2, 604.6, 2341.6),
    "zeta": (27, 107, 136.6, 416.4, 1569.8),
    "kappa": (74, 230, 138.0, 281.3, 1239.3),
    "gamma": (165, 92, 121.0, 173.3, 751.8),
    "delta": (1, 5, 1.7, 2.8, 10.1),
    "mi": (2, 2, 2.2, 2.8, 11.5),
}
REF = pd.DataFrame(REFERENCE, index=["first", "last", "linear", "markov", "markov_value"]).T


@pytest.fixture(scope="module")
def data(reference_data) -> Path:
    return reference_data(DATA)


@pytest.fixture(scope="module")
def paths(data) -> Paths:
    return Paths.from_frame(read_paths(data))


def test_reads_the_semicolon_file_with_its_totals(paths):
    assert paths.n_rows == 10_000
    assert len(paths.channels) == 12
    assert paths.conversions.sum() == 19_785
    assert paths.nulls.sum() == 68_602
    assert paths.value.sum() == pytest.approx(74_802.97, abs=0.01)


@pytest.mark.parametrize(("model", "column", "decimals"), [("first_touch", "first", 0), ("last_touch", "last", 0),
                                                            ("linear", "linear", 1)])  # fmt: skip
def test_heuristics_reproduce_the_reference_table_exactly(paths, model, column, decimals):
    got = attribute(paths, model).set_index("key")["conversions"].round(decimals)
    expected = REF[column].astype(float)
    pd.testing.assert_series_equal(got.loc[expected.index], expected, check_names=False)


def test_markov_order_1_shares_within_1_5_points_of_channelattribution(paths):
    got = attribute(paths, "markov").set_index("key")
    for col, ref in (("conversions", "markov"), ("revenue", "markov_value")):
        ours = got[col] / got[col].sum()
        theirs = REF[ref] / REF[ref].sum()
        diff = (ours.loc[theirs.index] - theirs).abs()
        assert diff.max() < 0.015, diff.sort_values().tail(3)
    # the ordering of the big channels agrees too
    assert list(got.index[:6]) == ["alpha", "iota", "eta", "beta", "theta", "lambda"]


def test_markov_is_identical_across_runs_and_sums_to_totals(paths, data):
    a = MarkovAttribution().fit(paths).result_
    b = MarkovAttribution().fit(Paths.from_frame(read_paths(data))).result_
    pd.testing.assert_frame_equal(a, b)
    assert a["conversions"].sum() == pytest.approx(19_785)
    assert a["revenue"].sum() == pytest.approx(74_802.97, abs=0.01)


def test_markov_removal_effect_is_probability_of_visit_given_conversion(paths):
    m = MarkovAttribution().fit(paths)
    # every converting path visits at least one channel, so the largest removal effect is < 1 but
    # the effects of a 12-channel chain sum to more than 1 (paths visit several channels)
    re = m.removal_effects_.set_index("key")["removal_effect"]
    assert 0 < re.max() < 1
    assert re.sum() > 1
    assert 0 < m.conversion_probability_ < 1
    assert m.conversion_probability_ == pytest.approx(19_785 / (19_785 + 68_602), rel=1e-9)


def test_bootstrap_intervals_cover_the_point_estimate(paths):
    r = attribute(paths, "markov", bootstrap=30, rng=np.random.default_rng(1)).set_index("key")
    big = r.loc[["alpha", "iota", "eta"]]
    assert (big["ci_low"] <= big["share"]).all() and (big["share"] <= big["ci_high"]).all()
    assert (big["ci_high"] - big["ci_low"] < 0.03).all()
    assert (big["revenue_ci_low"] < big["revenue_ci_high"]).all()
