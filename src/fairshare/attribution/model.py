"""The attribution estimator contract shared by rules, Markov and Shapley.

`fit(paths)` credits conversions and revenue to channels (or campaigns, teams: whatever the
path table's touchpoints are) and sets `result_` (columns in `intervals.RESULT_COLUMNS`),
`credits_`, `revenue_credits_` and `channels_`. With `bootstrap > 0` the shares get percentile
intervals from resampled journeys. Subclasses implement `_prepare(paths)` (work that does not
depend on the counts) and `_credit(prepared, conversions, value, nulls)`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from fairshare.attribution.intervals import bootstrap_credits, result_table
from fairshare.attribution.paths import Paths, as_paths


class AttributionModel(BaseEstimator):
    """Base class: parameters in `__init__`, work in `fit`, learned attributes end in `_`."""

    #: Value of the `model` column in results.
    model_name: ClassVar[str] = "model"
    #: True when the model needs per-touch times or milestones (journey tables, not path tables).
    needs_journeys: ClassVar[bool] = False

    bootstrap: int
    level: float
    random_state: Any

    @property
    def label(self) -> str:
        """The `model` column value (Markov adds its order)."""
        return self.model_name

    def _prepare(self, paths: Paths) -> Any:
        raise NotImplementedError

    def _credit(
        self, prepared: Any, conversions: np.ndarray, value: np.ndarray, nulls: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _fit_point(self, prepared: Any, paths: Paths) -> tuple[np.ndarray, np.ndarray]:
        """Credits on the observed counts, and the model-specific learned attributes (`_describe`)."""
        credits = self._credit(prepared, paths.conversions, paths.value, paths.nulls)
        self._describe(prepared, paths)
        return credits

    def _describe(self, prepared: Any, paths: Paths) -> None:
        """Set model-specific learned attributes (removal effects, dividends, ...)."""

    def _check(self, paths: Paths) -> None:
        """Validate the data for this model (raise ValueError with what to do)."""
        if np.any(paths.conversions < 0) or np.any(paths.nulls < 0):
            raise ValueError("conversions and nulls must be non-negative")

    def fit(self, paths: Paths | pd.DataFrame) -> AttributionModel:
        """Credit every conversion (and its value) of `paths` to the touchpoints' keys."""
        if not 0 < self.level < 1:
            raise ValueError(f"level must be in (0, 1), got {self.level}")
        if self.bootstrap < 0:
            raise ValueError(f"bootstrap must be >= 0, got {self.bootstrap}")
        data = as_paths(paths)
        self._check(data)
        prepared = self._prepare(data)
        self.channels_ = data.channels
        self.credits_, self.revenue_credits_ = self._fit_point(prepared, data)
        draws = None
        if self.bootstrap:
            rng = self.random_state
            rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

            def credit(c: np.ndarray, v: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                return self._credit(prepared, c, v, u)

            draws = bootstrap_credits(data, credit, self.bootstrap, rng)
        self.bootstrap_credits_ = draws
        self.result_ = result_table(
            self.label, data.channels, self.credits_, self.revenue_credits_, draws, self.level
        )
        return self
