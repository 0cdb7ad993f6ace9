"""Attribution: who gets credit for conversions and revenue, under every rule and data-driven model.

Models read a path table (`paths.Paths`, or a DataFrame with path / conversions / value / nulls)
or a journeys table from `fairshare.journeys`. `attribute(...)` is the one-call API;
`results(ws, upstream)` is the `fairshare run` contract.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Unpack

import numpy as np
import pandas as pd

from fairshare.attribution.intervals import RESULT_COLUMNS
from fairshare.attribution.markov import MarkovAttribution
from fairshare.attribution.model import AttributionModel
from fairshare.attribution.paths import Paths, as_paths, read_paths
from fairshare.attribution.rules import (
    FirstTouch,
    FullPath,
    LastNonDirect,
    LastTouch,
    Linear,
    TimeDecay,
    UShaped,
    WShaped,
)
from fairshare.attribution.shapley import ShapleyAttribution
from fairshare.config import AttributionSettings

if TYPE_CHECKING:
    from fairshare.journeys import JourneyOptions
    from fairshare.workspace import Workspace

#: Model names accepted by `make_model` / `attribute` / the CLI.
MODEL_NAMES = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "u_shaped",
    "w_shaped",
    "full_path",
    "time_decay",
    "markov",
    "shapley",
)


def make_model(
    name: str,
    settings: AttributionSettings | None = None,
    order: int = 1,
    bootstrap: int = 0,
    level: float = 0.9,
    random_state: Any = 0,
) -> AttributionModel:
    """The model called `name`, with weights / windows from the definitions file's [attribution]."""
    s = settings or AttributionSettings()
    common = {"bootstrap": bootstrap, "level": level, "random_state": random_state}
    makers = {
        "first_touch": lambda: FirstTouch(**common),
        "last_touch": lambda: LastTouch(**common),
        "last_non_direct": lambda: LastNonDirect(direct_channels=tuple(s.direct_channels), **common),
        "linear": lambda: Linear(**common),
        "u_shaped": lambda: UShaped(weights=tuple(s.u_shape), **common),
        "w_shaped": lambda: WShaped(weights=tuple(s.w_shape), **common),
        "full_path": lambda: FullPath(**common),
        "time_decay": lambda: TimeDecay(half_life_days=s.half_life_days, **common),
        "markov": lambda: MarkovAttribution(order=order, **common),
        "shapley": lambda: ShapleyAttribution(**common),
    }
    if name not in makers:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODEL_NAMES)}, all")
    return makers[name]()


def attribute(
    paths: Paths | pd.DataFrame,
    model: str = "markov",
    order: int | Sequence[int] = 1,
    bootstrap: int = 0,
    level: float = 0.9,
    rng: np.random.Generator | int | None = 0,
    settings: AttributionSettings | None = None,
) -> pd.DataFrame:
    """Credit conversions and revenue under one model, or every model side by side (`model="all"`).

    `order` may list several Markov orders (each becomes a `markov_<k>` model). With "all",
    models that need touch times (time_decay) are skipped on plain path tables. Result columns:
    `intervals.RESULT_COLUMNS`.
    """
    data = as_paths(paths)
    orders = [order] if isinstance(order, int | np.integer) else list(order)
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if model == "all":
        names = [n for n in MODEL_NAMES if not (n == "time_decay" and data.days_before is None)]
    else:
        names = [model]
    frames = []
    for name in names:
        for k in orders if name == "markov" else [orders[0]]:
            m = make_model(
                name, settings, order=int(k), bootstrap=bootstrap, level=level, random_state=generator
            )
            frames.append(m.fit(data).result_)
    return pd.concat(frames, ignore_index=True)


def workspace_paths(ws: Workspace, **options: Unpack[JourneyOptions]) -> Paths | None:
    """The workspace's journeys as a path table (`options`: by, stage, include_activities, collapse,
    lookback_days, as in `fairshare.journeys.touchpoints`); None when there are none."""
    from fairshare import journeys

    tp = journeys.journeys(ws, **options)
    return None if tp.empty else Paths.from_touchpoints(tp)


def results(ws: Workspace, upstream: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The `fairshare run` tables: "attribution" and "attribution_sourced".

    "attribution": every model (rules, Markov order 1, Shapley) on the revenue journeys, once by
    channel and once by team (`by` column: channel | team; sales activities are touchpoints
    labelled SDR / AE in both), with account-bootstrap intervals (`[attribution] bootstrap`
    resamples, at most `[attribution] run_bootstrap_cap`). "attribution_sourced": sourced / influenced totals
    per team (`sourced.TOTAL_COLUMNS`).
    """
    from fairshare import journeys
    from fairshare.attribution.sourced import sourced_totals

    settings = ws.definitions.attribution
    n_boot = min(settings.bootstrap, settings.run_bootstrap_cap)
    frames = []
    by_channel = journeys.journeys(ws, by="channel", stage="revenue")
    # the team view is the same journeys labelled by their source (marketing / SDR / AE)
    for by, tp in (("channel", by_channel), ("team", by_channel.assign(key=by_channel["source"]))):
        if tp.empty or not tp["converted"].any():
            continue
        table = attribute(Paths.from_touchpoints(tp), "all", bootstrap=n_boot, rng=np.random.default_rng(0),
                          settings=settings)  # fmt: skip
        table.insert(1, "by", by)
        frames.append(table)
    columns = ["model", "by", *RESULT_COLUMNS[1:]]
    attribution = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return {"attribution": attribution[columns], "attribution_sourced": sourced_totals(ws)}


__all__ = [
    "MODEL_NAMES",
    "RESULT_COLUMNS",
    "AttributionModel",
    "FirstTouch",
    "FullPath",
    "LastNonDirect",
    "LastTouch",
    "Linear",
    "MarkovAttribution",
    "Paths",
    "ShapleyAttribution",
    "TimeDecay",
    "UShaped",
    "WShaped",
    "attribute",
    "make_model",
    "read_paths",
    "results",
    "workspace_paths",
]
