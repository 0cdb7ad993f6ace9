"""The Markov chain's bootstrap for large chains (order 3 and up): batched, on sparse systems.

Each resample is a Poisson bootstrap of the journeys (every distinct path's conversions and nulls
drawn as Poisson counts, as `intervals` does for weighted tables): the same meaning as the
multinomial resampling of N journeys, except that the total varies by about √N, which shares do
not see. A batch of resamples is solved together: their transition counts are one sparse product
(distinct transitions × paths times paths × resamples), and their chains one block-diagonal
sparse system. The removal effects come from expected visits rather than one absorption solve per
removal: with π_c the expected visits to each state from start when channel c's states are cut
(row vector, π_c = e_start + π_c Q on the kept states), P(conversion without c) = π_c · exit, and
the value the same with the value exit, so the full chain and every removal are 1 + channels
columns of one iteration. Each resample's iteration starts from the observed chain's visits and
stops when it changes by less than `TOLERANCE` relative (far below a resample's spread); the
point estimate is never computed here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from fairshare.attribution import markov_bootstrap
from fairshare.attribution.paths import Paths

if TYPE_CHECKING:
    from fairshare.attribution.markov import _Chain

#: Resamples solved together (bounds the memory: two paths × BATCH arrays of floats).
BATCH = 6
#: A resample's visits are final when a sweep changes them by less than this, relative.
TOLERANCE = 1e-10
#: Most sweeps of the visit iteration before a batch falls back to the exact per-resample solve.
MAX_SWEEPS = 2000

Credit = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def applies(chain: _Chain, paths: Paths) -> bool:
    """True for a large path table (no accounts) whose chain is past the dense limit."""
    journeys = float(paths.conversions.sum() + paths.nulls.sum())
    return paths.clusters is None and chain.along is not None and journeys >= markov_bootstrap.NORMAL_JOURNEYS


#: Integral path counts up to this many are drawn by table look-up (`_Poisson`); larger ones by numpy.
SMALL_COUNTS = 16
UNSURE = 255


@functools.cache
def _poisson_tables() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per mean 1..SMALL_COUNTS: the Poisson CDF, and per 16-bit slice of [0, 1) the draw it
    determines (`UNSURE` when a step of the CDF falls inside the slice)."""
    edges = np.arange((1 << 16) + 1) / float(1 << 16)
    cdfs, tables = [], []
    for mean in range(1, SMALL_COUNTS + 1):
        k = np.arange(8 * mean + 40)
        cdf = np.cumsum(np.exp(k * np.log(mean) - mean - np.cumsum(np.log(np.maximum(k, 1)))))
        cdf = cdf[: np.searchsorted(cdf, 1.0 - 2**-53) + 1]
        low = np.searchsorted(cdf, edges[:-1], side="right")
        high = np.searchsorted(cdf, edges[1:], side="left")
        cdfs.append(cdf)
        tables.append(np.where(low == high, low, UNSURE).astype(np.uint8))
    return cdfs, tables


class _Poisson:
    """Exact Poisson draws for fixed means (a path table's counts), by inversion for small integral
    means: a 16-bit random number picks a slice of [0, 1) whose draw is read from a table; the few
    slices that hold a step of the CDF are resolved with a full-precision uniform. About three times
    faster than `Generator.poisson` on path tables, where most distinct paths carry one journey."""

    def __init__(self, means: np.ndarray) -> None:
        self.means = means
        small = (means == np.round(means)) & (means >= 1) & (means <= SMALL_COUNTS)
        self.rest = np.flatnonzero(~small & (means > 0))
        order = np.flatnonzero(small)
        order = order[np.argsort(means[order], kind="stable")]
        values, starts = np.unique(means[order], return_index=True)
        self.groups = list(zip(values.astype(int), np.split(order, starts[1:]), strict=True))

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Poisson draws, len(means) × n."""
        cdfs, tables = _poisson_tables()
        out = np.zeros((len(self.means), n))
        out[self.rest] = rng.poisson(self.means[self.rest, None], size=(len(self.rest), n))
        for mean, rows in self.groups:
            slot = rng.integers(0, 1 << 16, size=(len(rows), n), dtype=np.uint16)
            value = tables[mean - 1][slot]
            unsure = np.flatnonzero(value == UNSURE)
            u = (slot.flat[unsure] + rng.random(len(unsure))) / float(1 << 16)
            value.flat[unsure] = np.searchsorted(cdfs[mean - 1], u, side="right")
            out[rows] = value
        return out


def poisson_outcomes(paths: Paths, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(conversions, nulls) per path × resample for `n` Poisson-bootstrap resamples."""
    return _Poisson(paths.conversions).draw(n, rng), _Poisson(paths.nulls).draw(n, rng)


class _Systems:
    """The count-independent parts of a batch's block-diagonal system (built once per fit)."""

    def __init__(self, chain: _Chain, mean_value: np.ndarray) -> None:
        import scipy.sparse as sp

        n_rows = len(mean_value)
        self.size = size = chain.n_states + 1
        self.chain = chain
        self.order = np.lexsort((chain.pair_from, chain.pair_to))  # Qᵀ in CSR: rows are `to`
        self.indices = chain.pair_from[self.order]
        self.row_counts = np.bincount(chain.pair_to, minlength=size)
        rows = np.arange(n_rows)
        self.ends = sp.csc_matrix((np.ones(n_rows), (chain.last_state, rows)), shape=(size, n_rows))
        self.value_ends = sp.csc_matrix((mean_value, (chain.last_state, rows)), shape=(size, n_rows))
        self.mean_value = mean_value
        self.leaving = sp.csr_matrix(
            (np.ones(len(chain.pair_from)), (chain.pair_from, np.arange(len(chain.pair_from)))),
            shape=(size, len(chain.pair_from)),
        )
        self.keep = np.hstack([np.ones((size, 1)), ~chain.members]).astype(float)  # start is never cut

    def visits(self, probability: np.ndarray, warm: np.ndarray | None) -> np.ndarray | None:
        """Expected visits (n × size × (1 + channels)) of n chains given their transition
        probabilities (distinct transitions × n); None if the iteration does not settle."""
        import scipy.sparse as sp

        n, size = probability.shape[1], self.size
        offsets = (np.arange(n) * size)[:, None]
        indices = (self.indices[None, :] + offsets).ravel()
        indptr = np.concatenate([[0], np.cumsum(np.tile(self.row_counts, n))])
        qt = sp.csr_matrix((probability[self.order].T.ravel(), indices, indptr), shape=(n * size, n * size))
        keep = np.tile(self.keep, (n, 1))
        if warm is None:
            x = np.zeros_like(keep)
            x[::size] = 1.0
        else:
            x = np.tile(warm, (n, 1))
        for sweep in range(MAX_SWEEPS):
            nxt = qt @ x
            nxt *= keep
            nxt[::size] += 1.0  # the start state: one visit
            if sweep % 2:  # every other sweep: the check costs as much as the masking
                change = np.subtract(nxt, x, out=x)  # x is not needed again: no temporary
                if max(change.max(), -change.min()) <= TOLERANCE * nxt.max():  # visits are >= 0
                    return nxt.reshape(n, size, -1)
            x = nxt
        return None

    def removal_effects(self, conversions, nulls, warm=None) -> tuple[np.ndarray, np.ndarray] | None:
        """Removal effects (n × channels × 2) and the first chain's visits, for conversions and
        nulls given per path × resample (value follows conversions at each path's mean value);
        None if the iteration does not settle. `nulls` is overwritten with the journeys."""
        chain = self.chain
        conv_out, value_out, null_out = (m @ w for m, w in ((self.ends, conversions),
                                         (self.value_ends, conversions), (self.ends, nulls)))  # fmt: skip
        counts = chain.along @ np.add(conversions, nulls, out=nulls)
        out = self.leaving @ counts + conv_out + null_out
        inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
        visits = self.visits(counts * inv[chain.pair_from], warm)
        if visits is None:
            return None
        exits = np.stack([(conv_out * inv).T, (value_out * inv).T], axis=-1)  # n × size × 2
        reached = np.einsum("nsk,nse->nke", visits, exits)  # n × (1 + channels) × 2
        base, without = reached[:, :1], reached[:, 1:]
        effects = np.divide(base - without, base, out=np.zeros_like(without), where=base > 0)
        effects[:, ~chain.members.any(axis=0)] = 0.0
        effects[effects < 1e-12] = 0.0
        return np.clip(effects, 0.0, 1.0), visits[0]


def credits(chain: _Chain, paths: Paths, n_resamples: int, rng: np.random.Generator,
            exact: Credit) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Credits per resample (conversions, revenue), each n_resamples × n_channels; `exact` (the
    model's own credit) solves a batch whose iteration does not settle."""
    mean_value = np.divide(
        paths.value, paths.conversions, out=np.zeros(paths.n_rows), where=paths.conversions > 0
    )
    systems = _Systems(chain, mean_value)
    settled = systems.removal_effects(paths.conversions[:, None], paths.nulls[:, None].copy())
    warm = None if settled is None else settled[1]
    draws = _Poisson(paths.conversions), _Poisson(paths.nulls)
    n_ch = chain.members.shape[1]
    conv, rev = np.zeros((n_resamples, n_ch)), np.zeros((n_resamples, n_ch))
    for first in range(0, n_resamples, BATCH):
        b = min(BATCH, n_resamples - first)
        c, u = draws[0].draw(b, rng), draws[1].draw(b, rng)
        solved = systems.removal_effects(c, u, warm)  # u now holds the journeys (c + nulls)
        if solved is None:
            for i in range(b):
                conv[first + i], rev[first + i] = exact(c[:, i], c[:, i] * mean_value, u[:, i] - c[:, i])
            continue
        effects = solved[0]  # b × channels × 2
        sums = effects.sum(axis=1)
        totals = np.stack([c.sum(axis=0), mean_value @ c], axis=-1)  # conversions and value per resample
        scale = np.divide(totals, sums, out=np.zeros_like(sums), where=sums > 0)
        conv[first : first + b] = effects[:, :, 0] * scale[:, None, 0]
        rev[first : first + b] = effects[:, :, 1] * scale[:, None, 1]
    return conv, rev
