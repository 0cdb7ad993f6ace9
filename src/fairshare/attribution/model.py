"""The attribution estimator contract shared by rules, Markov and Shapley.

`fit(paths)` credits conversions and revenue to channels (or campaigns, teams: whatever the
path table's touchpoints are) and sets `result_` (columns in `intervals.RESULT_COLUMNS`),
`credits_`, `revenue_credits_` and `channels_`. With `bootstrap > 0` the shares get percentile
intervals from resampled journeys. Subclasses implement `_prepare(paths)` (work that does not
depend on the counts) and `_credit(prepared, conversions, value, nulls)`.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from fairshare.attribution.intervals import bootstrap_credits, result_table
from fairshare.attribution.paths import Paths, as_paths


class AttributionModel:
    """Base class: parameters in `__init__`, work in `fit`, learned attributes end in `_`.

    The scikit-learn estimator contract (`get_params`, `set_params`, `clone`-able, the same repr)
    without importing scikit-learn, which would triple the start-up of `fairshare attribute`.
    """

    #: Value of the `model` column in results.
    model_name: ClassVar[str] = "model"
    #: True when the model needs per-touch times or milestones (journey tables, not path tables).
    needs_journeys: ClassVar[bool] = False

    def __init__(self, bootstrap: int = 0, level: float = 0.9, random_state: Any = 0):
        self.bootstrap = bootstrap
        self.level = level
        self.random_state = random_state

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(p.name for p in signature.parameters.values() if p.name != "self")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The `__init__` parameters and their values (scikit-learn's contract)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> AttributionModel:
        """Set `__init__` parameters by name (unknown names raise ValueError, as in scikit-learn)."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; valid: {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if defaults.get(k) is not v
                   and not (isinstance(v, int | float | str) and defaults.get(k) == v)]  # fmt: skip
        return f"{type(self).__name__}({', '.join(changed)})"

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

    def _bootstrap(
        self, prepared: Any, paths: Paths, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Credits (conversions, revenue) of `self.bootstrap` resamples, each n_resamples × n_channels."""

        def credit(c: np.ndarray, v: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return self._credit(prepared, c, v, u)

        return bootstrap_credits(paths, credit, self.bootstrap, rng)

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
            draws = self._bootstrap(prepared, data, rng)
        self.bootstrap_credits_ = draws
        self.result_ = result_table(
            self.label, data.channels, self.credits_, self.revenue_credits_, draws, self.level
        )
        return self
