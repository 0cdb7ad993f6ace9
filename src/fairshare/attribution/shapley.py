"""Shapley-value attribution over channel coalitions, exact.

The game (Zhao et al. 2018, "Shapley value methods for attribution modeling in online
advertising"): the worth of a coalition S of channels is the conversions (or value) of the
journeys whose set of channels lies inside S,

    v(S) = Σ_{T ⊆ S} r(T),     r(T) = conversions of journeys whose channel set is exactly T.

`r` is the Möbius transform (Harsanyi dividends) of `v`, so the Shapley value is
φ_k = Σ_{T ∋ k} r(T) / |T|: each journey's conversions are split equally among its distinct
channels. Only channel sets that occur in the data have a dividend, so the exact value costs
O(touches) for any number of channels — no 2^n enumeration and no permutation sampling (its
standard error would be zero). Efficiency (credits sum to v(all) = total conversions), symmetry,
the null-player and additivity axioms hold exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fairshare.attribution.paths import Paths
from fairshare.attribution.rules import RuleAttribution

if TYPE_CHECKING:
    import scipy.sparse as sp


class ShapleyAttribution(RuleAttribution):
    """Exact Shapley values of the path-set game; `dividends_` lists r(T) per observed channel set."""

    model_name = "shapley"

    @staticmethod
    def _distinct(paths: Paths) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct (row, channel) pairs as row·n_channels + channel, the pair of each touch, touches per pair."""
        n_ch = len(paths.channels)
        key = paths.row_of_touch.astype(np.int64) * n_ch + paths.tokens
        pairs, index, counts = np.unique(key, return_inverse=True, return_counts=True)
        return pairs, index.ravel(), counts

    def touch_weights(self, paths: Paths) -> np.ndarray:
        n_ch = len(paths.channels)
        pairs, index, counts = self._distinct(paths)
        sizes = np.bincount(pairs // n_ch, minlength=paths.n_rows)
        return 1.0 / (sizes[paths.row_of_touch] * counts[index])

    @staticmethod
    def _masks(paths: Paths) -> np.ndarray | None:
        """Channel set of every row as a bit mask (None above 62 channels)."""
        if len(paths.channels) > 62:
            return None
        if paths.n_rows == 0:
            return np.zeros(0, dtype=np.int64)
        bits = np.left_shift(np.int64(1), paths.tokens.astype(np.int64))
        return np.bitwise_or.reduceat(bits, paths.offsets[:-1])

    def _prepare(self, paths: Paths) -> sp.csr_matrix:
        """The credit matrix built from the channel-set masks: channel c gets 1/|T| of each row whose set T holds c."""
        import scipy.sparse as sp

        masks = self._masks(paths)
        if masks is None:
            return super()._prepare(paths)
        n_ch = len(paths.channels)
        share = 1.0 / np.bitwise_count(masks)
        rows = [np.flatnonzero((masks >> c) & 1).astype(np.int32) for c in range(n_ch)]
        indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
        indices = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int32)
        return sp.csr_matrix((share[indices], indices, indptr), shape=(n_ch, paths.n_rows))

    def _describe(self, prepared, paths: Paths) -> None:
        names = paths.channels.astype(str)
        masks = self._masks(paths)
        if masks is not None:  # group rows by channel set without building strings per row
            sets, which = np.unique(masks, return_inverse=True)
            which = which.ravel()
            members = (sets[:, None] >> np.arange(len(names), dtype=np.int64)) & 1
            labels = np.array([" + ".join(names[m.astype(bool)]) for m in members], dtype=object)
            sizes = members.sum(axis=1)
        else:
            n_ch = len(names)
            pairs, _, _ = self._distinct(paths)
            rows, channels = pairs // n_ch, pairs % n_ch
            per_row = pd.Series(names[channels]).groupby(rows).agg(" + ".join)
            labels, which = np.unique(
                per_row.reindex(np.arange(paths.n_rows)).to_numpy(dtype=str), return_inverse=True
            )
            sizes = np.array([len(lab.split(" + ")) for lab in labels])
        frame = pd.DataFrame(
            {
                "coalition": labels,
                "size": sizes,
                "conversions": np.bincount(which, weights=paths.conversions, minlength=len(labels)),
                "revenue": np.bincount(which, weights=paths.value, minlength=len(labels)),
            }
        )
        self.dividends_ = frame.sort_values(
            ["conversions", "coalition"], ascending=[False, True], kind="stable"
        ).reset_index(drop=True)

    def coalition_value(self, channels: Iterable[str], revenue: bool = False) -> float:
        """v(S): conversions (or revenue) of journeys whose channels all lie in `channels`."""
        chosen = {str(c) for c in channels}
        column = "revenue" if revenue else "conversions"
        inside = self.dividends_["coalition"].map(lambda s: set(s.split(" + ")) <= chosen)
        return float(self.dividends_.loc[inside, column].sum())
