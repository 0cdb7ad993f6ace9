"""Common random numbers: one random stream per process, keyed by the entity it concerns.

Two kinds of streams, both derived from `numpy.random.SeedSequence(seed, spawn_key=...)`:

* `Streams.generator(process, *key)` — a numpy Generator for one process (e.g. the touches of
  one channel, the attributes of all accounts). Scenarios that switch the process off simply do
  not draw from it; nothing else moves.
* `Streams.uniform(process, *keys)` — counter-based uniforms: a vectorized SplitMix64 hash of
  (process key, entity keys..., slot). The same lead (account, day, source) gets the same numbers
  in every scenario, however many other leads appear or vanish around it.
"""

from __future__ import annotations

import zlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finalizer on uint64 arrays (wrapping arithmetic)."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def process_id(name: str) -> int:
    """Stable integer id of a named process (CRC-32 of its name)."""
    return zlib.crc32(name.encode("utf-8"))


#: Processes that draw the company itself; a replicate keeps them and redraws everything else.
COMPANY_PROCESSES = frozenset(
    {"accounts", "contacts", "reps", "experiment", "campaigns", "flights", "capacity", "holdouts"}
)
COMPANY_PROCESSES |= {"rep_traits"}  # simulate/notes.py: the AEs' hidden traits belong to the company


class Streams:
    """Random streams of one simulated world (one seed).

    `replicate` > 0 redraws every process except the company's own (`COMPANY_PROCESSES`): the same
    accounts, reps and campaign plans meet fresh dice, which is how expected-value truth is averaged.
    """

    def __init__(self, seed: int, replicate: int = 0) -> None:
        self.seed = int(seed)
        self.replicate = int(replicate)

    def _spawn_key(self, process: str) -> tuple[int, ...]:
        if self.replicate and process not in COMPANY_PROCESSES:
            return (process_id(process), 2**32 + self.replicate)
        return (process_id(process),)

    def generator(self, process: str, *key: int) -> np.random.Generator:
        """A Generator for `process` (optionally for one entity `key`)."""
        ss = np.random.SeedSequence(self.seed, spawn_key=(*self._spawn_key(process), *(int(k) for k in key)))
        return np.random.default_rng(ss)

    def _key(self, process: str) -> np.uint64:
        ss = np.random.SeedSequence(self.seed, spawn_key=self._spawn_key(process))
        return ss.generate_state(1, dtype=np.uint64)[0]

    def uniform(self, process: str, *keys: np.ndarray | int, slot: int = 0) -> np.ndarray:
        """Uniforms in (0, 1) keyed by `process`, the entity `keys` (broadcast together) and `slot`."""
        arrays = (
            np.broadcast_arrays(*(np.asarray(k, dtype=np.int64) for k in keys)) if keys else [np.zeros(1)]
        )
        with np.errstate(over="ignore"):
            h = np.full(arrays[0].shape, self._key(process), dtype=np.uint64)
            for a in arrays:
                h = _mix(h ^ a.astype(np.uint64))
            h = _mix(h ^ np.uint64(slot))
        return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)

    def normal(self, process: str, *keys: np.ndarray | int, slot: int = 0) -> np.ndarray:
        """Standard normals keyed like `uniform` (inverse-CDF of keyed uniforms)."""
        from scipy.special import ndtri

        return ndtri(self.uniform(process, *keys, slot=slot))
