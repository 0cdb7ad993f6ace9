"""Rule-based attribution: first, last, last non-direct, linear, U-, W-shaped, full path, time-decay.

Every rule gives each touch of a journey a weight, and the weights of one journey sum to 1.
A rule is therefore a fixed sparse matrix `A` (channels × rows) and credits are `A @ conversions`
and `A @ value`: exact, and a bootstrap resample costs one sparse product.

Conventions (as ChannelAttribution's heuristic models for first / last / linear): touches are
not de-duplicated, so a channel touched twice in a journey of four gets 2/4 under linear.
Position-based rules give weights to roles (first touch, lead-creation touch, opportunity-
creation touch, last touch) and share the rest weight equally among the other touches; when two
roles fall on one touch it gets both weights, and when a journey has no "other" touches the
weights are rescaled to sum to 1 (a two-touch journey under U-shaped gets 0.5 / 0.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from fairshare.attribution.model import AttributionModel
from fairshare.attribution.paths import Paths

if TYPE_CHECKING:
    import scipy.sparse as sp


def _normalise_per_row(paths: Paths, weights: np.ndarray) -> np.ndarray:
    row = paths.row_of_touch
    totals = np.bincount(row, weights=weights, minlength=paths.n_rows)
    return np.divide(weights, totals[row], out=np.zeros_like(weights), where=totals[row] > 0)


class RuleAttribution(AttributionModel):
    """A rule: subclasses define `touch_weights(paths)` (and `__init__` when they take parameters)."""

    def touch_weights(self, paths: Paths) -> np.ndarray:
        """Weight of every touch (one journey's weights sum to 1)."""
        raise NotImplementedError

    def _prepare(self, paths: Paths) -> sp.spmatrix:
        """The credit matrix (channels × rows), built without copying: touches are already grouped by
        row, so (weights, channel codes, offsets) is a rows × channels CSR matrix; its transpose is used."""
        import scipy.sparse as sp  # here, not at import: `fairshare attribute` starts faster without it

        w = self.touch_weights(paths)
        index_type = np.int32 if len(paths.tokens) < 2**31 else np.int64
        by_row = sp.csr_matrix(
            (w, paths.tokens.astype(index_type, copy=False), paths.offsets.astype(index_type)),
            shape=(paths.n_rows, len(paths.channels)),
        )
        return by_row.T

    def _credit(
        self, prepared: sp.spmatrix, conversions: np.ndarray, value: np.ndarray, nulls: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        return prepared @ conversions, prepared @ value


class FirstTouch(RuleAttribution):
    """All credit to the first touch."""

    model_name = "first_touch"

    def touch_weights(self, paths: Paths) -> np.ndarray:
        return (paths.step_of_touch == 0).astype(float)


class LastTouch(RuleAttribution):
    """All credit to the last touch."""

    model_name = "last_touch"

    def touch_weights(self, paths: Paths) -> np.ndarray:
        w = np.zeros(len(paths.tokens))
        w[paths.offsets[1:] - 1] = 1.0
        return w


class LastNonDirect(RuleAttribution):
    """All credit to the last touch not in `direct_channels` (the last touch when all are direct)."""

    model_name = "last_non_direct"

    def __init__(
        self,
        direct_channels: Sequence[str] = ("direct", "organic"),
        bootstrap: int = 0,
        level: float = 0.9,
        random_state=0,
    ):
        self.direct_channels = direct_channels
        super().__init__(bootstrap, level, random_state)

    def touch_weights(self, paths: Paths) -> np.ndarray:
        direct = np.isin(paths.channels.astype(str), [str(c) for c in self.direct_channels])
        idx = np.arange(len(paths.tokens))
        candidate = np.where(direct[paths.tokens], -1, idx)
        best = np.maximum.reduceat(candidate, paths.offsets[:-1]) if len(idx) else candidate
        best = np.where(best < 0, paths.offsets[1:] - 1, best)
        w = np.zeros(len(paths.tokens))
        w[best] = 1.0
        return w


class Linear(RuleAttribution):
    """Equal credit to every touch."""

    model_name = "linear"

    def touch_weights(self, paths: Paths) -> np.ndarray:
        return 1.0 / np.repeat(paths.lengths, paths.lengths).astype(float)


#: The roles a position-based rule can weight, in the order `touch_weights` reads them.
ROLES = ("first", "lead", "opportunity", "last", "rest")


class _PositionBased(RuleAttribution):
    """Weights by role: first, lead-creation, opportunity-creation, last touch; the rest shared."""

    #: The role of each entry of `weights` (a role not named gets no weight), and the rule's default weights.
    roles: ClassVar[tuple[str, ...]]
    default_weights: ClassVar[tuple[float, ...]]

    def __init__(
        self,
        weights: tuple[float, ...] | None = None,
        bootstrap: int = 0,
        level: float = 0.9,
        random_state=0,
    ):
        self.weights = weights
        super().__init__(bootstrap, level, random_state)

    def role_weights(self) -> tuple[float, ...]:
        """Weights of the `ROLES` (first, lead, opportunity, last, rest) from `weights` (None: the default)."""
        weights = self.default_weights if self.weights is None else self.weights
        given = dict(zip(self.roles, weights, strict=True))
        return tuple(float(given.get(role, 0.0)) for role in ROLES)

    def touch_weights(self, paths: Paths) -> np.ndarray:
        first_w, lead_w, opp_w, last_w, rest_w = self.role_weights()
        n_touch = len(paths.tokens)
        start, end = paths.offsets[:-1], paths.offsets[1:] - 1
        w = np.zeros(n_touch)
        role = np.zeros(n_touch, dtype=bool)
        lead = _milestone(paths.lead_step, paths, default=start)
        opp = _milestone(paths.opportunity_step, paths, default=end)
        for pos, weight in ((start, first_w), (lead, lead_w), (opp, opp_w), (end, last_w)):
            if weight:
                np.add.at(w, pos, weight)
                role[pos] = True
        row = paths.row_of_touch
        n_rest = np.bincount(row, weights=(~role).astype(float), minlength=paths.n_rows)
        share = np.divide(rest_w, n_rest, out=np.zeros(paths.n_rows), where=n_rest > 0)
        w += np.where(role, 0.0, share[row])
        return _normalise_per_row(paths, w)


def _milestone(steps: np.ndarray | None, paths: Paths, default: np.ndarray) -> np.ndarray:
    """Touch index of a milestone per row; `default` where the row has none."""
    if steps is None:
        return default
    steps = np.asarray(steps)
    ok = (steps >= 0) & (steps < paths.lengths)
    return np.where(ok, paths.offsets[:-1] + np.maximum(steps, 0), default)


class UShaped(_PositionBased):
    """First and last touch get `weights[0]` and `weights[2]`, the touches between share `weights[1]`."""

    model_name = "u_shaped"
    roles = ("first", "rest", "last")
    default_weights = (0.4, 0.2, 0.4)


class WShaped(_PositionBased):
    """First touch, lead-creation touch and opportunity-creation touch; `weights[3]` shared by the rest.

    Journeys without a lead milestone use the first touch for it, without an opportunity milestone
    the last touch (so on a plain path table W-shaped is first 60% / last 30% / rest 10%).
    """

    model_name = "w_shaped"
    roles = ("first", "lead", "opportunity", "rest")
    default_weights = (0.3, 0.3, 0.3, 0.1)


class FullPath(_PositionBased):
    """Full path (Z-shaped): first, lead-creation, opportunity-creation and last touch, rest shared."""

    model_name = "full_path"
    roles = ROLES
    default_weights = (0.225, 0.225, 0.225, 0.225, 0.1)


class TimeDecay(RuleAttribution):
    """Touch weight 2^(-days before conversion / half-life), normalised per journey.

    Needs touch times (a journeys table from `fairshare.journeys`); a plain path table has none.
    """

    model_name = "time_decay"
    needs_journeys: ClassVar[bool] = True

    def __init__(self, half_life_days: float = 7.0, bootstrap: int = 0, level: float = 0.9, random_state=0):
        self.half_life_days = half_life_days
        super().__init__(bootstrap, level, random_state)

    def _check(self, paths: Paths) -> None:
        super()._check(paths)
        if paths.days_before is None:
            raise ValueError("time_decay needs touch times: fit it on a journeys table, not a path table")
        if self.half_life_days <= 0:
            raise ValueError(f"half_life_days must be > 0, got {self.half_life_days}")

    def touch_weights(self, paths: Paths) -> np.ndarray:
        days = np.maximum(np.nan_to_num(paths.days_before, nan=0.0), 0.0)
        return _normalise_per_row(paths, np.exp2(-days / self.half_life_days))
