"""The Markov chain's bootstrap for large path tables, drawn in the chain's statistic space.

A resample of N journeys changes the chain only through a few sums: the journeys along each
distinct transition, and per state the conversions, their value and the nulls that end there
(T = M·w, with w the resampled counts of the 2·n (path, converted) / (path, not converted) cells
and M fixed). Under the multinomial bootstrap T has mean M·w₀ and covariance
M·diag(w₀)·Mᵀ − M·w₀·(M·w₀)ᵀ / N, and as a sum of N independent journeys it is normal to within
the central limit theorem's error, negligible at `NORMAL_JOURNEYS` journeys and more. So each
resample is one draw of T (a few hundred numbers) instead of a multinomial over every distinct
path, and all resamples' chains are solved in one batched dense solve: 200 resamples of an
order-1 chain on a million journeys take milliseconds. `dense_removal_effects` (every removal of a
batch of small chains in one solve) serves the point estimate too. Large chains are resampled in
batches by `markov_visits`; smaller tables and journey tables with accounts (the account bootstrap)
keep the exact resampling of `intervals`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fairshare.attribution.paths import Paths

if TYPE_CHECKING:
    from fairshare.attribution.markov import _Chain

#: Fewest journeys for which resamples are drawn from the normal law of the chain's sums.
NORMAL_JOURNEYS = 50_000
#: Largest chain (states + start) and statistic count drawn this way (the covariance is dense).
MAX_STATES = 64
MAX_STATISTICS = 2_000
#: Resamples solved per batch (bounds the memory of the batched solve).
BATCH = 50


def dense_removal_effects(
    q: np.ndarray, exits: np.ndarray, members: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """P(conversion) and value from start, and removal effects, for a batch of dense chains.

    `q`: n_chains × size × size transition probabilities, `exits`: n_chains × size × 2 (conversion,
    value), `members`: size × n_channels. One batched solve per chain: the full chain and, per
    channel, the chain with its states cut out (their rows and columns zeroed, so they keep x = 0
    and nothing flows into them). Returns base (n_chains × 2) and effects (n_chains × n_ch × 2).
    """
    size = q.shape[1]
    keep = np.vstack([np.ones((1, size), dtype=bool), ~members.T]).astype(float)
    cut = keep[:, :, None] * keep[:, None, :]
    systems = np.eye(size)[None, None] - q[:, None] * cut[None]
    solved = np.linalg.solve(systems, exits[:, None] * keep[None, :, :, None])[:, :, 0, :]
    base, without = solved[:, 0], solved[:, 1:]
    effects = np.divide(base[:, None] - without, base[:, None], out=np.zeros_like(without),
                        where=base[:, None] > 0)  # fmt: skip
    effects[:, ~members.any(axis=0)] = 0.0
    return base, effects


def applies(chain: _Chain, paths: Paths) -> bool:
    """True when `paths` is a large path table (no accounts) and the chain is small."""
    size = chain.n_states + 1
    journeys = float(paths.conversions.sum() + paths.nulls.sum())
    d = len(chain.pair_from) + 3 * size
    return (
        paths.clusters is None and journeys >= NORMAL_JOURNEYS and size <= MAX_STATES and d <= MAX_STATISTICS
    )


def _moments(chain: _Chain, paths: Paths) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of T under the multinomial bootstrap, T = journeys per transition, then
    per state the conversions, their value and the nulls ending there (block by block: a row's
    conversions and nulls are separate cells, and each row ends in one state)."""
    import scipy.sparse as sp

    c, u = paths.conversions, paths.nulls
    n, size, n_pairs = paths.n_rows, chain.n_states + 1, len(chain.pair_from)
    worth = c * np.divide(paths.value, c, out=np.zeros(n), where=c > 0)  # c · mean value
    last = chain.last_state
    along = sp.csr_matrix(
        (np.ones(len(chain.pair_index)), (chain.pair_index, chain.pair_row)), shape=(n_pairs, n)
    )
    ends = [np.bincount(last, weights=w, minlength=size) for w in (c, worth, u)]
    mean = np.concatenate([along @ (c + u), *ends])
    g = np.zeros((len(mean), len(mean)))
    g[:n_pairs, :n_pairs] = (along.multiply(c + u) @ along.T).toarray()
    coo = along.tocoo()
    block = [slice(n_pairs + i * size, n_pairs + (i + 1) * size) for i in range(3)]
    for i, w in enumerate((c, worth, u)):  # transitions × ends: Σ_r mult(p, r) w_r [r ends in s]
        cross = np.bincount(
            coo.row * size + last[coo.col], weights=coo.data * w[coo.col], minlength=n_pairs * size
        )
        g[:n_pairs, block[i]] = cross.reshape(n_pairs, size)
        g[block[i], :n_pairs] = cross.reshape(n_pairs, size).T
    mean_value = np.divide(paths.value, c, out=np.zeros(n), where=c > 0)
    diagonal = np.arange(size)
    for (i, j), w in {(0, 0): c, (0, 1): worth, (1, 1): worth * mean_value, (2, 2): u}.items():
        x = np.bincount(last, weights=w, minlength=size)
        g[block[i].start + diagonal, block[j].start + diagonal] = x
        g[block[j].start + diagonal, block[i].start + diagonal] = x
    return mean, g - np.outer(mean, mean) / (c.sum() + u.sum())


def _root(covariance: np.ndarray) -> np.ndarray:
    """L with L·Lᵀ = covariance (Cholesky with a negligible ridge: the sums are tied, e.g. all journeys
    leave start, so the covariance is singular)."""
    ridge = 1e-9 * max(float(np.abs(np.diag(covariance)).max()), 1e-12)
    try:
        return np.linalg.cholesky(covariance + ridge * np.eye(len(covariance)))
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(covariance)
        return vectors * np.sqrt(np.clip(values, 0.0, None))


def credits(
    chain: _Chain, paths: Paths, n_resamples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Credits per resample (conversions, revenue), each n_resamples × n_channels."""
    size, n_pairs = chain.n_states + 1, len(chain.pair_from)
    mean, covariance = _moments(chain, paths)
    root = _root(covariance)
    n_ch = chain.members.shape[1]
    conv = np.zeros((n_resamples, n_ch))
    rev = np.zeros((n_resamples, n_ch))
    leaving = np.zeros((n_pairs, size))
    leaving[np.arange(n_pairs), chain.pair_from] = 1.0
    for start in range(0, n_resamples, BATCH):
        b = min(BATCH, n_resamples - start)
        draw = np.clip(mean + rng.standard_normal((b, len(mean))) @ root.T, 0.0, None)
        counts = draw[:, :n_pairs]
        conv_out, value_out, null_out = (
            draw[:, n_pairs + i * size : n_pairs + (i + 1) * size] for i in range(3)
        )
        out = counts @ leaving + conv_out + null_out
        inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
        q = np.zeros((b, size, size))
        q[:, chain.pair_from, chain.pair_to] = counts * inv[:, chain.pair_from]
        exits = np.stack([conv_out * inv, value_out * inv], axis=-1)
        _, effects = dense_removal_effects(q, exits, chain.members)
        effects[effects < 1e-12] = 0.0
        effects = np.clip(effects, 0.0, 1.0)
        sums = effects.sum(axis=1)  # b × 2
        totals = np.stack([conv_out.sum(axis=1), value_out.sum(axis=1)], axis=-1)
        scale = np.divide(totals, sums, out=np.zeros_like(sums), where=sums > 0)
        conv[start : start + b] = effects[:, :, 0] * scale[:, None, 0]
        rev[start : start + b] = effects[:, :, 1] * scale[:, None, 1]
    return conv, rev
