"""Markov-chain attribution (order 1..k), solved exactly.

Conventions follow ChannelAttribution's `markov_model` (documented in docs/attribution.md):

- States are `(start)`, the touchpoint states, `(conversion)` and `(null)`. For order k a state
  is a window of k consecutive touchpoints; a path shorter than k is one state. Consecutive
  identical states of a path are merged (no self-loops).
- Each path contributes its journeys (conversions + nulls) to every transition along it,
  its conversions to last state → `(conversion)` and its nulls to last state → `(null)`.
- Removing a channel removes every state that contains it; transitions into those states go
  to `(null)`. The removal effect of a channel is 1 − P(conversion without it) / P(conversion),
  which equals P(the path visits the channel | it converts): ChannelAttribution estimates the
  latter by simulation, here it comes from a linear solve of the absorbing chain.
- Conversions are credited in proportion to the removal effects. Value uses the same chain with
  each conversion worth the mean value of the conversions leaving that state (the value-weighted
  exit), i.e. a second right-hand side in the same solve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import scipy.sparse as sp

from fairshare.attribution import markov_bootstrap, markov_visits
from fairshare.attribution.markov_bootstrap import dense_removal_effects
from fairshare.attribution.model import AttributionModel
from fairshare.attribution.paths import Paths

#: Above this many states the chain is solved with a sparse LU instead of a dense solve.
DENSE_LIMIT = 400
#: Most sweeps of the Neumann series before falling back to a sparse LU (large chains only).
NEUMANN_STEPS = 2000


@dataclass(frozen=True)
class _Chain:
    """Count-independent structure of the chain (built once, re-used by every bootstrap draw)."""

    n_states: int  # touchpoint states (ids 1..n_states; 0 is start)
    state_codes: np.ndarray
    members: np.ndarray  # bool (n_states + 1) × n_channels: which channels a state contains
    pair_from: np.ndarray
    pair_to: np.ndarray
    pair_index: np.ndarray  # per transition made by a row: which distinct transition it is
    pair_row: np.ndarray  # per transition made by a row: the row
    last_state: np.ndarray  # per row
    along: sp.csc_matrix | None = None  # large chains: distinct transitions × rows (how often a row makes it)


def _distinct(values: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and the (int32 when it fits) index of each value; a lookup table
    instead of a sort when the value space is small (states and transitions of low-order chains)."""
    if space <= 1 << 26:
        seen = np.zeros(space, dtype=bool)
        seen[values] = True
        index = np.cumsum(seen, dtype=np.int64) - 1
        uniques = np.flatnonzero(seen)
        return uniques, index.astype(np.int32 if len(uniques) < 2**31 else np.int64)[values]
    uniques, inverse = np.unique(values, return_inverse=True)
    return uniques, inverse.ravel().astype(np.int32 if len(uniques) < 2**31 else np.int64)


#: Rows per block when cutting paths into states (bounds the temporary memory).
BLOCK_ROWS = 16_384


def _state_windows(paths: Paths, k: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    """State code and row of every state visit, consecutive repeats merged, built block by block.

    A state is a window of k consecutive touchpoints (the whole path when shorter), coded in base
    `base` with touchpoint codes 1..n_channels and 0 for the empty tail of a short path.
    """
    code_type = np.int32 if base**k < 2**31 else np.int64
    row_type = np.int32 if paths.n_rows < 2**31 else np.int64
    codes_out, rows_out = [], []
    for r0 in range(0, paths.n_rows, BLOCK_ROWS):
        r1 = min(r0 + BLOCK_ROWS, paths.n_rows)
        a, b = int(paths.offsets[r0]), int(paths.offsets[r1])
        lengths = np.diff(paths.offsets[r0 : r1 + 1])
        tokens = paths.tokens[a:b].astype(np.int64) + 1
        row = np.repeat(np.arange(r0, r1, dtype=np.int64), lengths)
        if k == 1:
            codes, win_row = tokens, row
        else:
            step = np.arange(b - a) - np.repeat(paths.offsets[r0:r1] - a, lengths)
            length = np.repeat(lengths, lengths)
            starts = np.flatnonzero((step <= length - k) | ((length < k) & (step == 0)))
            width = np.minimum(k, length[starts])
            codes = np.zeros(len(starts), dtype=np.int64)
            for j in range(k):
                tok = tokens[np.minimum(starts + j, len(tokens) - 1)]
                codes = codes * base + np.where(j < width, tok, 0)
            win_row = row[starts]
        keep = np.ones(len(codes), dtype=bool)
        keep[1:] = (win_row[1:] != win_row[:-1]) | (codes[1:] != codes[:-1])
        codes_out.append(codes[keep].astype(code_type))
        rows_out.append(win_row[keep].astype(row_type))
    if not codes_out:
        return np.zeros(0, dtype=code_type), np.zeros(0, dtype=row_type)
    return np.concatenate(codes_out), np.concatenate(rows_out)


class MarkovAttribution(AttributionModel):
    """Exact Markov-chain attribution with removal effects.

    Learned attributes: `result_`, `removal_effects_` (key, removal_effect, revenue_removal_effect),
    `conversion_probability_` (P(conversion) from start), `transitions_` (from, to, probability),
    `n_states_`.
    """

    model_name = "markov"

    def __init__(self, order: int = 1, bootstrap: int = 0, level: float = 0.9, random_state=0):
        self.order = order
        super().__init__(bootstrap, level, random_state)

    @property
    def label(self) -> str:
        return f"markov_{self.order}"

    def _check(self, paths: Paths) -> None:
        super()._check(paths)
        if not isinstance(self.order, int | np.integer) or self.order < 1:
            raise ValueError(f"order must be an integer >= 1, got {self.order!r}")
        if self.order * math.log2(len(paths.channels) + 1) >= 62:
            raise ValueError(f"order {self.order} is too high for {len(paths.channels)} channels")

    def _prepare(self, paths: Paths) -> _Chain:
        k, n_ch = self.order, len(paths.channels)
        base = n_ch + 1
        codes, win_row = _state_windows(paths, k, base)
        state_codes, state = _distinct(codes, base**k)
        del codes
        state += 1
        n_states = len(state_codes)
        first = np.ones(len(state), dtype=bool)
        first[1:] = win_row[1:] != win_row[:-1]
        space = (n_states + 1) ** 2
        pair = state.astype(np.int32 if space < 2**31 else np.int64)
        previous = pair[:-1] * (n_states + 1)
        previous[first[1:]] = 0
        pair[1:] += previous
        del previous
        pairs, pair_index = _distinct(pair, space)
        del pair
        last = np.zeros(len(state), dtype=bool)
        last[:-1] = first[1:]
        last[-1:] = True
        last_state = np.zeros(paths.n_rows, dtype=np.int64)
        last_state[win_row[last]] = state[last]
        members = np.zeros((n_states + 1, n_ch), dtype=bool)
        rest = state_codes.astype(np.int64)
        for _ in range(k):
            digit = rest % base
            has = digit > 0
            members[np.flatnonzero(has) + 1, digit[has] - 1] = True
            rest //= base
        along = None
        if n_states + 1 > DENSE_LIMIT:  # each resample's transition counts become one sparse product
            import scipy.sparse as sp

            along = sp.csc_matrix(  # CSC: a product reads the paths in order and scatters into transitions
                (np.ones(len(pair_index)), (pair_index, win_row)), shape=(len(pairs), paths.n_rows)
            )
        return _Chain(
            n_states=n_states,
            state_codes=state_codes,
            members=members,
            pair_from=pairs // (n_states + 1),
            pair_to=pairs % (n_states + 1),
            pair_index=pair_index,
            pair_row=win_row,
            last_state=last_state,
            along=along,
        )

    @staticmethod
    def _transitions(chain: _Chain, conversions: np.ndarray, value: np.ndarray, nulls: np.ndarray):
        """Transition probabilities among transient states (a dense array up to `DENSE_LIMIT` states, a
        sparse matrix above), per-state exit to conversion (count, value), and each distinct
        transition's probability (in `pair_from`, `pair_to` order)."""
        size = chain.n_states + 1
        journeys = conversions + nulls
        counts = np.zeros(len(chain.pair_from))
        if chain.along is not None:
            counts = chain.along @ journeys
        for a in range(
            0, len(chain.pair_index) if chain.along is None else 0, 1 << 18
        ):  # blocks: small temporaries
            block = slice(a, a + (1 << 18))
            counts += np.bincount(
                chain.pair_index[block], weights=journeys[chain.pair_row[block]], minlength=len(counts)
            )
        conv_out = np.bincount(chain.last_state, weights=conversions, minlength=size)
        value_out = np.bincount(chain.last_state, weights=value, minlength=size)
        null_out = np.bincount(chain.last_state, weights=nulls, minlength=size)
        out = np.bincount(chain.pair_from, weights=counts, minlength=size) + conv_out + null_out
        inv = np.divide(1.0, out, out=np.zeros(size), where=out > 0)
        probability = counts * inv[chain.pair_from]
        if size <= DENSE_LIMIT:  # scipy is imported only for large chains
            q = np.zeros((size, size))
            q[chain.pair_from, chain.pair_to] = probability
        else:
            import scipy.sparse as sp

            q = sp.csr_matrix((probability, (chain.pair_from, chain.pair_to)), shape=(size, size))
        exits = np.column_stack([conv_out * inv, value_out * inv])
        return q, exits, probability

    @staticmethod
    def _absorb(q: sp.csr_matrix, exits: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """Expected (conversions, value) reached from start using only the states in `keep`.

        Small chains: dense solve. Large chains: the Neumann series x = exits + Q x, which converges
        because Q is substochastic; it is used only when it reaches machine precision (change below
        1e-15 relative) within `NEUMANN_STEPS` sweeps, otherwise a sparse LU solves the system.
        """
        idx = np.flatnonzero(keep)
        sub = q[idx][:, idx]
        rhs = exits[idx]
        if len(idx) <= DENSE_LIMIT:
            return np.linalg.solve(np.eye(len(idx)) - sub.toarray(), rhs)[0]
        x = rhs.copy()
        scale = max(float(np.abs(rhs).max()), 1e-300)
        for _ in range(NEUMANN_STEPS):
            nxt = rhs + sub @ x
            if np.abs(nxt - x).max() <= 1e-15 * scale * max(1.0, float(np.abs(nxt).max()) / scale):
                return nxt[0]
            x = nxt
        import scipy.sparse as sp
        import scipy.sparse.linalg as spla

        return spla.splu((sp.identity(len(idx), format="csc") - sub).tocsc()).solve(rhs)[0]

    @staticmethod
    def _absorb_together(q: sp.csr_matrix, exits: np.ndarray, members: np.ndarray) -> np.ndarray | None:
        """`_absorb` for the full chain and every channel's removal at once: one Neumann series on
        2·(channels + 1) columns, each masked to its kept states (a removed state keeps x = 0, so
        nothing flows through it). (channels + 1) × 2, or None if it does not reach machine precision."""
        keep = np.repeat(np.hstack([np.ones((len(members), 1), dtype=bool), ~members]), 2, axis=1)
        rhs = np.tile(exits, members.shape[1] + 1) * keep
        x = rhs.copy()
        scale = max(float(np.abs(rhs).max()), 1e-300)
        for _ in range(NEUMANN_STEPS):
            nxt = rhs + keep * (q @ x)
            if np.abs(nxt - x).max() <= 1e-15 * scale * max(1.0, float(np.abs(nxt).max()) / scale):
                return nxt[0].reshape(-1, 2)
            x = nxt
        return None

    def _removal_effects(
        self, chain: _Chain, conversions, value, nulls
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        q, exits, probability = self._transitions(chain, conversions, value, nulls)
        size = chain.n_states + 1
        n_ch = chain.members.shape[1]
        effects = np.zeros((n_ch, 2))
        if size <= DENSE_LIMIT:
            base, effects = dense_removal_effects(q[None], exits[None], chain.members)
            base, effects = base[0], effects[0]
        elif (solved := self._absorb_together(q, exits, chain.members)) is not None:
            base, without = solved[0], solved[1:]
            effects = np.divide(base - without, base, out=np.zeros_like(without), where=base > 0)
            effects[~chain.members.any(axis=0)] = 0.0
        else:
            base = self._absorb(q, exits, np.ones(size, dtype=bool))
            for c in range(n_ch):
                removed = chain.members[:, c]
                if not removed.any():
                    continue
                without = self._absorb(q, exits, ~removed)
                effects[c] = np.divide(base - without, base, out=np.zeros(2), where=base > 0)
        effects[effects < 1e-12] = 0.0  # round-off of "no effect" (a channel no conversion passes through)
        return np.clip(effects, 0.0, 1.0), base, probability

    def _bootstrap(
        self, prepared: _Chain, paths: Paths, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Large path tables: with a small chain, resamples drawn in the chain's statistic space
        (`markov_bootstrap`); with a large one, Poisson resamples solved in batches (`markov_visits`)."""
        if markov_bootstrap.applies(prepared, paths):
            return markov_bootstrap.credits(prepared, paths, self.bootstrap, rng)
        if markov_visits.applies(prepared, paths):  # large chains: batched sparse systems

            def exact(c: np.ndarray, v: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                return self._credit(prepared, c, v, u)

            return markov_visits.credits(prepared, paths, self.bootstrap, rng, exact)
        return super()._bootstrap(prepared, paths, rng)

    def _credit(self, prepared: _Chain, conversions, value, nulls) -> tuple[np.ndarray, np.ndarray]:
        effects, _, _ = self._removal_effects(prepared, conversions, value, nulls)
        return self._credits_from(effects, conversions, value)

    @staticmethod
    def _credits_from(effects: np.ndarray, conversions, value) -> tuple[np.ndarray, np.ndarray]:
        totals = (conversions.sum(), value.sum())
        credit = []
        for j in range(2):
            s = effects[:, j].sum()
            credit.append(effects[:, j] / s * totals[j] if s > 0 else np.zeros(len(effects)))
        return credit[0], credit[1]

    def _fit_point(self, prepared: _Chain, paths: Paths) -> tuple[np.ndarray, np.ndarray]:
        effects, base, probability = self._removal_effects(
            prepared, paths.conversions, paths.value, paths.nulls
        )
        self._describe_solution(prepared, paths, effects, base, probability)
        return self._credits_from(effects, paths.conversions, paths.value)

    def _describe_solution(self, prepared: _Chain, paths: Paths, effects, base, probability) -> None:
        self.removal_effects_ = pd.DataFrame(
            {
                "key": paths.channels.astype(str),
                "removal_effect": effects[:, 0],
                "revenue_removal_effect": effects[:, 1],
            }
        )
        self.conversion_probability_ = float(base[0])
        self.n_states_ = prepared.n_states
        names = ["(start)", *self._state_names(prepared, paths.channels)]
        self.transitions_ = pd.DataFrame(
            {
                "from": [names[i] for i in prepared.pair_from],
                "to": [names[j] for j in prepared.pair_to],
                "probability": probability,
            }
        )

    def _state_names(self, chain: _Chain, channels: np.ndarray) -> list[str]:
        base = len(channels) + 1
        names = []
        for code in chain.state_codes:
            parts, rest = [], int(code)
            for _ in range(self.order):
                rest, digit = divmod(rest, base)
                if digit:
                    parts.append(str(channels[digit - 1]))
            names.append(",".join(reversed(parts)))
        return names
