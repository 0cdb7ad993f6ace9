"""The Markov bootstrap drawn in the chain's statistic space agrees with the exact resampling."""

import subprocess
import sys

import numpy as np
import pandas as pd
from sklearn.base import clone

from fairshare.attribution import MarkovAttribution, Paths, markov_bootstrap


def _large_table(seed: int = 5) -> Paths:
    """~800 distinct paths over 5 channels carrying 80,000 journeys (above NORMAL_JOURNEYS)."""
    rng = np.random.default_rng(seed)
    channels = np.array(list("abcde"))
    paths = {" > ".join(rng.choice(channels, size=rng.integers(1, 6))) for _ in range(3000)}
    paths = sorted(paths)[:800]
    journeys = rng.multinomial(80_000, rng.dirichlet(np.ones(len(paths))))
    has = np.array([[c in p for c in channels] for p in paths])
    rate = 1 / (1 + np.exp(-(-1.5 + has @ np.array([0.8, 0.1, 0.5, -0.2, 0.3]))))
    conversions = rng.binomial(journeys, rate)
    frame = pd.DataFrame({"path": paths, "conversions": conversions, "nulls": journeys - conversions,
                          "value": conversions * rng.lognormal(3, 0.3, len(paths))})  # fmt: skip
    return Paths.from_frame(frame)


def test_statistic_space_intervals_match_exact_resampling(monkeypatch):
    paths = _large_table()
    fast = MarkovAttribution(bootstrap=400, random_state=1).fit(paths)
    assert markov_bootstrap.applies(MarkovAttribution()._prepare(paths), paths)
    monkeypatch.setattr(markov_bootstrap, "NORMAL_JOURNEYS", 10**12)  # force the exact multinomial route
    exact = MarkovAttribution(bootstrap=400, random_state=1).fit(paths)
    assert np.allclose(fast.result_["share"], exact.result_["share"], atol=1e-15)  # point estimate untouched
    cols = ["ci_low", "ci_high", "revenue_ci_low", "revenue_ci_high"]
    width = (exact.result_["ci_high"] - exact.result_["ci_low"]).to_numpy()
    diff = np.abs(fast.result_[cols].to_numpy() - exact.result_[cols].to_numpy())
    assert width.min() > 0.002  # the intervals are not degenerate
    assert diff.max() < 0.25 * width.max(), (diff.max(), width.max())  # Monte Carlo noise of 400 draws


def test_models_keep_the_estimator_contract_without_importing_sklearn():
    model = MarkovAttribution(order=2, bootstrap=10)
    assert clone(model).get_params() == model.get_params()
    assert repr(model) == "MarkovAttribution(bootstrap=10, order=2)"
    code = "import sys, fairshare.attribution; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_path_file_needs_no_warehouse(tmp_path):
    # `fairshare attribute --paths` reads a file: ibis, DuckDB and the workspace stay unimported
    paths = tmp_path / "paths.csv"
    paths.write_text("path,total_conversions,total_conversion_value,total_null\na > b,3,30,5\nb,1,10,4\n")
    code = ("import sys; from fairshare.cli import app\n"
            f"try: app(['attribute', '--paths', {str(paths)!r}, '--bootstrap', '0', '-w', {str(tmp_path)!r}])\n"
            "except SystemExit: pass\n"
            "print(sorted(m for m in ('ibis', 'duckdb', 'fairshare.workspace', 'sklearn') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


def _large_chain_table(seed: int = 3) -> Paths:
    """60,000 journeys over 8 channels: order 3 has more states than the dense limit."""
    rng = np.random.default_rng(seed)
    channels = np.array([f"c{i}" for i in range(8)])
    paths = sorted({" > ".join(rng.choice(channels, size=rng.integers(1, 7))) for _ in range(6000)})
    journeys = 1 + rng.multinomial(60_000 - len(paths), rng.dirichlet(np.full(len(paths), 0.3)))
    has = np.array([[c in p for c in channels] for p in paths])
    rate = 1 / (1 + np.exp(-(-1.2 + has @ np.linspace(0.9, -0.3, 8))))
    conversions = rng.binomial(journeys, rate)
    frame = pd.DataFrame({"path": paths, "conversions": conversions, "nulls": journeys - conversions,
                          "value": conversions * rng.lognormal(3, 0.3, len(paths))})  # fmt: skip
    return Paths.from_frame(frame)


def test_large_chain_resamples_are_solved_exactly_and_intervals_match_exact_resampling(monkeypatch):
    from fairshare.attribution import markov_visits

    paths = _large_chain_table()
    model = MarkovAttribution(order=3)
    chain = model._prepare(paths)
    assert chain.along is not None and markov_visits.applies(chain, paths)  # the batched route
    # each resample's removal effects equal the model's own exact solve on the same draws
    mean_value = np.divide(
        paths.value, paths.conversions, out=np.zeros(paths.n_rows), where=paths.conversions > 0
    )
    c, u = markov_visits.poisson_outcomes(paths, 3, np.random.default_rng(0))
    effects, _ = markov_visits._Systems(chain, mean_value).removal_effects(c, u.copy())
    for i in range(3):
        exact, _, _ = model._removal_effects(chain, c[:, i], c[:, i] * mean_value, u[:, i])
        assert np.abs(effects[i] - exact).max() < 1e-7
    fast = MarkovAttribution(order=3, bootstrap=150, random_state=1).fit(paths)
    point = MarkovAttribution(order=3).fit(paths)
    cols = ["conversions", "revenue", "share", "revenue_share"]
    assert (
        np.abs(fast.result_[cols].to_numpy() - point.result_[cols].to_numpy()).max() <= 1e-12
    )  # point untouched
    monkeypatch.setattr(markov_visits, "applies", lambda chain, paths: False)  # the exact multinomial route
    exact = MarkovAttribution(order=3, bootstrap=150, random_state=1).fit(paths)
    ci = ["ci_low", "ci_high", "revenue_ci_low", "revenue_ci_high"]
    width = (exact.result_["ci_high"] - exact.result_["ci_low"]).to_numpy()
    diff = np.abs(fast.result_[ci].to_numpy() - exact.result_[ci].to_numpy())
    assert width.min() > 0.002  # the intervals are not degenerate
    assert diff.max() < 0.25 * width.max(), (diff.max(), width.max())  # Monte Carlo noise of 150 draws


def test_poisson_draws_by_table_follow_the_poisson_law():
    from fairshare.attribution.markov_visits import _Poisson

    means = np.repeat([1.0, 3.0, 16.0, 2.5, 40.0, 0.0], 50_000)
    draws = _Poisson(means).draw(2, np.random.default_rng(4))
    for mean in (1.0, 3.0, 16.0, 2.5, 40.0):
        d = draws[means == mean].ravel()  # 100,000 draws: mean and variance within ~4 standard errors
        assert abs(d.mean() - mean) < 4 * np.sqrt(mean / len(d)) and abs(d.var() / mean - 1) < 0.02
    assert (draws[means == 0] == 0).all()
    d = draws[means == 1.0].ravel()
    assert abs((d == 0).mean() - np.exp(-1)) < 0.005 and abs((d == 2).mean() - np.exp(-1) / 2) < 0.004
