"""Scenarios: which parts of the company are switched on when the same world is replayed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

SCENARIO_HELP = (
    "factual, marketing_off, channel_off:<channel>, queue_without:<channel>, sdr_off, sdr_outbound_off, ae_off, "
    "capacity:<factor>, "
    "experiment_none, experiment_all, budget:<channel>*<factor>@<day>, shocks_off"
)


@dataclass(frozen=True)
class Scenario:
    """A replay of the world with some units switched off (everything else keeps its random numbers)."""

    name: str = "factual"
    marketing: bool = True
    channels_off: frozenset[str] = frozenset()
    sdr: bool = True
    #: SDR outbound prospecting only (SDRs still work the inbound queue)
    sdr_outbound: bool = True
    ae: bool = True
    capacity: float = 1.0
    #: channels whose marketing leads never enter the sales queue (never worked); nothing upstream changes
    queue_without: frozenset[str] = frozenset()
    experiment: Literal["assigned", "none", "all"] = "assigned"
    #: (channel, spend factor, first day) budget changes (simulate/budget.py)
    budget: tuple[tuple[str, float, int], ...] = ()
    #: the configured shocks (simulate/shocks.py) happen; False in the `shocks_off` replay
    shocks: bool = True

    @classmethod
    def parse(cls, name: str | Scenario, channels: Iterable[str] = ()) -> Scenario:
        """`Scenario` from its name; `channels` are the channels `channel_off:` may name."""
        if isinstance(name, Scenario):
            return name
        key, _, arg = name.partition(":")
        known = list(channels)
        if key == "factual" and not arg:
            return cls(name)
        if key == "marketing_off" and not arg:
            return cls(name, marketing=False)
        if key == "sdr_off" and not arg:
            return cls(name, sdr=False)
        if key == "sdr_outbound_off" and not arg:
            return cls(name, sdr_outbound=False)
        if key == "ae_off" and not arg:
            return cls(name, ae=False)
        if key == "shocks_off" and not arg:
            return cls(name, shocks=False)
        if key == "experiment_none" and not arg:
            return cls(name, experiment="none")
        if key == "experiment_all" and not arg:
            return cls(name, experiment="all")
        if key == "channel_off":
            if arg not in known:
                raise ValueError(
                    f"unknown channel {arg!r} in scenario {name!r}; channels: {', '.join(known)}"
                )
            return cls(name, channels_off=frozenset([arg]))
        if key == "queue_without":
            if arg not in known:
                raise ValueError(
                    f"unknown channel {arg!r} in scenario {name!r}; channels: {', '.join(known)}"
                )
            return cls(name, queue_without=frozenset([arg]))
        if key == "budget":
            from fairshare.simulate.budget import parse_budget

            return cls(name, budget=parse_budget(arg, known))
        if key == "capacity":
            try:
                factor = float(arg)
            except ValueError:
                raise ValueError(
                    f"capacity scenario needs a number, e.g. capacity:0.5 (got {name!r})"
                ) from None
            if not factor > 0:
                raise ValueError(f"capacity factor must be > 0 (got {name!r})")
            return cls(name, capacity=factor)
        raise ValueError(f"unknown scenario {name!r}; known: {SCENARIO_HELP}")

    def channel_on(self, channel: str) -> bool:
        return self.marketing and channel not in self.channels_off
