"""`simulate` and `simulate_with_truth`: one seed, one company, any number of replays."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fairshare.simulate.company import Company, build_company
from fairshare.simulate.config import SimulationConfig
from fairshare.simulate.marketing import Marketing, run_marketing
from fairshare.simulate.sales import Sales, run_sales
from fairshare.simulate.scenarios import Scenario
from fairshare.simulate.shocks import SHOCKS_OFF, shock_truth, with_spend_cut
from fairshare.simulate.streams import Streams
from fairshare.simulate.tables import canonical_tables
from fairshare.simulate.truth import (
    SCENARIO_COLUMNS,
    incremental,
    incremental_quarters,
    quarter_summary,
    scenario_summary,
    world_truth,
)  # fmt: skip
from fairshare.simulate.writer import FileFormat, write_world

Progress = Callable[[str], None]


@dataclass
class World:
    """A simulated company: canonical tables (what a CRM export would hold) and the hidden truth."""

    config: SimulationConfig
    seed: int
    scenario: str
    tables: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame] = field(default_factory=dict)
    replays: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict, repr=False)

    def write(self, out_dir: Path | str, format: FileFormat = "csv") -> Path:  # noqa: A002 - public API name
        """Write `<out>/<table>.<format>` and `<out>/truth/*.<format>`; same seed → same bytes."""
        return write_world(self.tables, self.truth, out_dir, format)


def default_replays(cfg: SimulationConfig) -> tuple[str, ...]:
    """marketing_off, every channel_off:<channel>, sdr_off, sdr_outbound_off, ae_off, the experiment replays,
    and shocks_off when a shock is configured."""
    names = [
        "marketing_off",
        *(f"channel_off:{c}" for c in cfg.all_channels),
        "sdr_off",
        "sdr_outbound_off",
        "ae_off",
    ]
    if cfg.experiment:
        names += ["experiment_none", "experiment_all"]
    if cfg.shocks.active():
        names.append(SHOCKS_OFF)
    return tuple(names)


class _Simulator:
    """Shares the scenario-independent parts (company, factual marketing) across replays."""

    def __init__(self, cfg: SimulationConfig, seed: int, replicate: int = 0) -> None:
        self.cfg = cfg
        self.streams = Streams(seed, replicate)
        self.company: Company = build_company(cfg, self.streams)
        self._marketing: dict[tuple, Marketing] = {}

    def run(self, scenario: Scenario) -> tuple[Marketing, Sales]:
        scenario = with_spend_cut(self.cfg, scenario)
        mk_key = (scenario.marketing, scenario.channels_off, scenario.budget)
        if mk_key not in self._marketing:
            self._marketing[mk_key] = run_marketing(self.cfg, self.company, self.streams, scenario)
        mk = self._marketing[mk_key]
        return mk, run_sales(self.cfg, self.company, self.streams, scenario, mk)


def _world(sim: _Simulator, seed: int, scenario: Scenario) -> tuple[World, dict, Sales]:
    mk, sales = sim.run(scenario)
    tables = canonical_tables(sim.cfg, sim.company, mk, sales, scenario)
    truth = world_truth(sim.cfg, sim.company, mk, sales, scenario)
    summary = scenario_summary(sim.cfg, scenario, mk, sales)
    truth = {"scenarios": pd.DataFrame([summary], columns=SCENARIO_COLUMNS), **truth}
    return World(sim.cfg, seed, scenario.name, tables, truth), summary, sales


def simulate(
    config: SimulationConfig | None = None, seed: int = 0, scenario: str | Scenario = "factual"
) -> World:
    """Simulate one scenario of the company defined by `config` and `seed` (deterministic).

    `world.truth` holds this scenario's truth (scenarios row, leads, events, reps, accounts, experiment);
    use `simulate_with_truth` for incremental revenue against replays.
    """
    cfg = config or SimulationConfig()
    sc = Scenario.parse(scenario, cfg.all_channels)
    world, _, _ = _world(_Simulator(cfg, seed), seed, sc)
    return world


def simulate_with_truth(config: SimulationConfig | None = None, seed: int = 0,
                        scenarios: Iterable[str | Scenario] | None = None, keep_replays: bool = False,
                        progress: Progress | None = None, replicates: int = 0) -> World:  # fmt: skip
    """The factual world plus replays of the same seed (common random numbers).

    `truth['scenarios']` has one row per scenario, `truth['incremental']` factual − counterfactual
    per unit (marketing, channel:<name>, sdr, ae, ...). `keep_replays=True` keeps every replay's
    canonical tables in `world.replays`. `replicates=R` also replays factual and every scenario with R
    fresh sets of dice on the same company and reports the mean (and standard error) of the
    incremental revenue over the R + 1 draws in the `mean_*` / `se_*` columns.
    """
    cfg = config or SimulationConfig()
    names: Sequence[str | Scenario] = tuple(scenarios) if scenarios is not None else default_replays(cfg)
    parsed = [Scenario.parse(s, cfg.all_channels) for s in names]
    parsed = [s for s in parsed if s.name != "factual"]
    sim = _Simulator(cfg, seed)
    if progress:
        progress("factual")
    world, factual, factual_sales = _world(sim, seed, Scenario())
    summaries = [factual]
    quarters = {"factual": quarter_summary(cfg, factual_sales)}
    for sc in parsed:
        if progress:
            progress(sc.name)
        mk, sales = sim.run(sc)
        summaries.append(scenario_summary(cfg, sc, mk, sales))
        quarters[sc.name] = quarter_summary(cfg, sales)
        if keep_replays:
            world.replays[sc.name] = canonical_tables(cfg, sim.company, mk, sales, sc)
    world.truth["scenarios"] = pd.DataFrame(summaries, columns=SCENARIO_COLUMNS)
    lookup = {s.name: s for s in parsed}
    inc = incremental(summaries, lookup)
    draws = [inc]
    for r in range(1, replicates + 1):
        if progress:
            progress(f"replicate {r}")
        sim_r = _Simulator(cfg, seed, replicate=r)
        sums = [scenario_summary(cfg, sc, *sim_r.run(sc)) for sc in (Scenario(), *parsed)]
        draws.append(incremental(sums, lookup))
    values = np.stack(
        [d[["incremental_revenue", "incremental_expected_revenue"]].to_numpy(float) for d in draws]
    )
    inc["replicates"] = len(draws)
    inc["mean_incremental_revenue"] = values[:, :, 0].mean(axis=0)
    inc["mean_incremental_expected_revenue"] = values[:, :, 1].mean(axis=0)
    inc["se_incremental_expected_revenue"] = (
        values[:, :, 1].std(axis=0, ddof=1) / np.sqrt(len(draws)) if len(draws) > 1 else np.nan
    )
    world.truth["incremental"] = inc
    world.truth["incremental_quarters"] = incremental_quarters(quarters, lookup)
    if cfg.shocks.active() and SHOCKS_OFF in quarters:
        world.truth["shocks"] = shock_truth(cfg, quarters, summaries)
    by = {s["scenario"]: s for s in summaries}
    if "experiment_all" in by and "experiment_none" in by:
        exp = world.truth["experiment"].copy()
        exp["revenue_effect"] = by["experiment_all"]["won_revenue"] - by["experiment_none"]["won_revenue"]
        exp["expected_revenue_effect"] = (by["experiment_all"]["expected_revenue"]
                                          - by["experiment_none"]["expected_revenue"])  # fmt: skip
        world.truth["experiment"] = exp
    return world
