"""Properties every attribution model must have (hypothesis)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairshare.attribution import MarkovAttribution, Paths, ShapleyAttribution, attribute

CHANNELS = ["a", "b", "c", "d", "e"]
ALL = ["first_touch", "last_touch", "last_non_direct", "linear", "u_shaped", "w_shaped", "full_path", "shapley",
       "markov"]  # fmt: skip

row = st.tuples(
    st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=6),
    st.integers(0, 5),
    st.integers(0, 5),
    st.floats(0, 100, allow_nan=False),
)
tables = st.lists(row, min_size=1, max_size=12).filter(lambda rows: sum(r[1] for r in rows) > 0)


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "path": [tuple(r[0]) for r in rows],
            "conversions": [r[1] for r in rows],
            "value": [r[3] if r[1] else 0.0 for r in rows],
            "nulls": [r[2] for r in rows],
        }
    )


def run(df: pd.DataFrame, model: str, order: int = 1) -> pd.DataFrame:
    return attribute(Paths.from_frame(df), model, order=order).set_index("key")


@settings(max_examples=40, deadline=None)
@given(tables, st.sampled_from(ALL), st.integers(1, 3))
def test_credits_sum_to_totals(rows, model, order):
    df = frame(rows)
    r = run(df, model, order)
    assert r["conversions"].sum() == pytest.approx(df["conversions"].sum(), rel=1e-9)
    if df["value"].sum() > 0 and (model != "markov" or df["conversions"].sum() > 0):
        assert r["revenue"].sum() == pytest.approx(df["value"].sum(), rel=1e-9)
    assert r["share"].sum() == pytest.approx(1.0)
    assert (r["conversions"] >= -1e-12).all()


@settings(max_examples=40, deadline=None)
@given(tables, st.sampled_from([m for m in ALL if m != "markov"]))
def test_channel_on_no_converting_path_gets_zero(rows, model):
    df = frame(rows)
    # a channel that only ever appears in journeys without conversions
    df = pd.concat([df, pd.DataFrame({"path": [("zz", "a"), ("b", "zz")], "conversions": [0, 0],
                                      "value": [0.0, 0.0], "nulls": [3, 1]})], ignore_index=True)  # fmt: skip
    r = run(df, model)
    assert r.loc["zz", "conversions"] == 0
    assert r.loc["zz", "revenue"] == 0


@settings(max_examples=30, deadline=None)
@given(tables)
def test_markov_gives_zero_to_a_channel_that_never_leads_to_conversion(rows):
    # Markov is memoryless: a channel on null paths only can still lead into converting states.
    # It gets zero when, after it, journeys always end without converting.
    df = frame(rows)
    df = pd.concat([df, pd.DataFrame({"path": [("a", "zz"), ("zz",)], "conversions": [0, 0],
                                      "value": [0.0, 0.0], "nulls": [2, 1]})], ignore_index=True)  # fmt: skip
    r = run(df, "markov")
    assert r.loc["zz", "conversions"] == 0


@settings(max_examples=40, deadline=None)
@given(tables, st.sampled_from(ALL), st.permutations(CHANNELS))
def test_permuting_channel_names_permutes_results(rows, model, perm):
    df = frame(rows)
    rename = dict(zip(CHANNELS, perm, strict=True))
    renamed = df.assign(path=df["path"].map(lambda p: tuple(rename[c] for c in p)))
    a = run(df, model)
    b = run(renamed, model)
    a.index = a.index.map(rename)
    cols = ["conversions", "revenue", "share"]
    pd.testing.assert_frame_equal(a.loc[b.index, cols], b[cols], rtol=1e-9, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(tables)
def test_shapley_efficiency_and_symmetry(rows):
    df = frame(rows)
    m = ShapleyAttribution().fit(df)
    r = m.result_.set_index("key")
    everyone = list(r.index)
    # efficiency: credits sum to the grand coalition's worth
    assert r["conversions"].sum() == pytest.approx(m.coalition_value(everyone))
    # symmetry: two channels that always appear together (a twin) get equal credit
    twins = df.assign(path=df["path"].map(lambda p: (*p, "t1", "t2") if "a" in p else p))
    t = ShapleyAttribution().fit(twins).result_.set_index("key")
    if "t1" in t.index:
        assert t.loc["t1", "conversions"] == pytest.approx(t.loc["t2", "conversions"])
        assert t.loc["t1", "revenue"] == pytest.approx(t.loc["t2", "revenue"])


@settings(max_examples=25, deadline=None)
@given(tables)
def test_shapley_matches_permutation_definition(rows):
    """Exact Shapley from dividends equals the average marginal contribution over all orderings."""
    from itertools import permutations

    df = frame(rows)
    m = ShapleyAttribution().fit(df)
    players = list(m.result_["key"])
    if len(players) > 5:
        return
    phi = dict.fromkeys(players, 0.0)
    orders = list(permutations(players))
    worth: dict[frozenset, float] = {}

    def v(coalition) -> float:
        key = frozenset(coalition)
        if key not in worth:
            worth[key] = m.coalition_value(key)
        return worth[key]

    for order in orders:
        for i, p in enumerate(order):
            phi[p] += v(order[: i + 1]) - v(order[:i])
    r = m.result_.set_index("key")["conversions"]
    for p in players:
        assert r[p] == pytest.approx(phi[p] / len(orders), abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 6), st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=8),
       st.integers(1, 3))  # fmt: skip
def test_markov_with_one_channel_gives_it_everything(rows, order):
    df = pd.DataFrame({"path": [("solo",) * n for n, _, _ in rows], "conversions": [c for _, c, _ in rows],
                       "value": [2.0 * c for _, c, _ in rows], "nulls": [u for _, _, u in rows]})  # fmt: skip
    m = MarkovAttribution(order=order).fit(df)
    total = df["conversions"].sum()
    assert m.result_.loc[0, "conversions"] == pytest.approx(total)
    if total:
        assert m.removal_effects_.loc[0, "removal_effect"] == pytest.approx(1.0)


def test_rules_on_a_hand_computed_journey():
    df = pd.DataFrame(
        {"path": ["direct > a > b > direct"], "conversions": [1], "value": [100.0], "nulls": [0]}
    )
    got = {
        m: run(df, m)["conversions"].to_dict()
        for m in ["last_non_direct", "u_shaped", "w_shaped", "full_path"]
    }
    assert got["last_non_direct"] == {"b": 1.0, "a": 0.0, "direct": 0.0}
    assert got["u_shaped"]["direct"] == pytest.approx(0.8)
    assert got["u_shaped"]["a"] == pytest.approx(0.1)
    # no milestones: W-shaped puts lead creation on the first touch, opportunity creation on the last
    assert got["w_shaped"]["direct"] == pytest.approx(0.9)
    assert got["w_shaped"]["a"] == pytest.approx(0.05)
    assert got["full_path"]["direct"] == pytest.approx(0.9)


def test_w_shaped_and_time_decay_use_journey_milestones_and_times():
    tp = pd.DataFrame(
        {
            "journey_id": [1, 1, 1, 1, 1],
            "step": [0, 1, 2, 3, 4],
            "key": ["a", "b", "c", "d", "e"],
            "converted": True,
            "value": 50.0,
            "days_before": [28.0, 21.0, 14.0, 7.0, 0.0],
            "milestone": [None, "lead", None, "opportunity", None],
        }
    )
    w = attribute(tp, "w_shaped").set_index("key")["conversions"]
    assert w.to_dict() == pytest.approx({"a": 0.3, "b": 0.3, "d": 0.3, "c": 0.05, "e": 0.05})
    td = attribute(tp, "time_decay", settings=None).set_index("key")["conversions"]
    weights = np.exp2(-np.array([28, 21, 14, 7, 0]) / 7.0)
    assert td["e"] == pytest.approx(weights[-1] / weights.sum())
    assert td["a"] < td["b"] < td["c"] < td["d"] < td["e"]
    with pytest.raises(ValueError, match="touch times"):
        attribute(pd.DataFrame({"path": ["a > b"], "conversions": [1]}), "time_decay")


def test_resamples_without_a_conversion_do_not_drag_intervals_to_zero():
    # One converting journey split evenly between two channels among many null journeys: every resample
    # that draws a conversion gives 0.5/0.5; resamples that draw none have nothing to share and are ignored.
    df = pd.DataFrame(
        {"path": [("a", "b"), ("c",)], "conversions": [1, 0], "value": [10.0, 0.0], "nulls": [0, 30]}
    )
    result = attribute(Paths.from_frame(df), "linear", bootstrap=200, rng=1).set_index("key")
    assert result.loc["a", "ci_low"] == pytest.approx(0.5) and result.loc["a", "ci_high"] == pytest.approx(
        0.5
    )
    assert result.loc["c", "ci_high"] == 0.0
