"""Budget-change replays: a channel's spend times a factor from a given day on (`budget:<channel>*<factor>@<day>`).

Touches before the change day are the factual ones; from that day on they are drawn from the changed
spend plan (same targeting), so the replay is the same company with a new budget from then on: the
ground truth for spend → bookings what-ifs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

BUDGET_HELP = "budget:<channel>*<factor>@<day> (e.g. budget:paid_search*1.5@180; several joined by +)"


def parse_budget(arg: str, channels: Iterable[str]) -> tuple[tuple[str, float, int], ...]:
    """`paid_search*1.5@180+events*0@200` as ((channel, factor, first day), ...)."""
    known = list(channels)
    out = []
    for part in arg.split("+"):
        try:
            channel, rest = part.split("*")
            factor, day = rest.split("@")
            change = (channel, float(factor), int(day))
        except ValueError:
            raise ValueError(f"budget scenario takes {BUDGET_HELP} (got {arg!r})") from None
        if channel not in known:
            raise ValueError(f"unknown channel {channel!r} in budget scenario; channels: {', '.join(known)}")
        if change[1] < 0 or change[2] < 0:
            raise ValueError(f"budget factor and day must be >= 0 (got {part!r})")
        out.append(change)
    return tuple(out)


def budget_plan(spend: dict[str, np.ndarray], scenario) -> dict[str, np.ndarray]:
    """The spend plans (channel → campaigns × days) with the scenario's budget changes applied."""
    out = dict(spend)
    for channel, factor, day in getattr(scenario, "budget", ()):
        if channel not in out:  # budget_touches passes one channel's plan
            continue
        plan = out[channel].copy()
        plan[:, day:] *= factor
        out[channel] = plan
    return out


def budget_touches(
    touch: dict[str, np.ndarray], scenario, channel: str, plan: np.ndarray, draw: Callable[[np.ndarray], dict]
) -> dict[str, np.ndarray]:
    """The factual touches of `channel` before its change day and, from that day on, the touches `draw`
    makes under the changed plan (unchanged when the scenario does not change this channel)."""
    changes = [(f, d) for c, f, d in scenario.budget if c == channel]
    if not changes:
        return touch
    changed = budget_plan({channel: plan}, scenario)[channel]
    first = min(d for _, d in changes)
    after = draw(changed)
    keep_before, keep_after = touch["time"] < first, after["time"] >= first
    return {k: np.concatenate([touch[k][keep_before], after[k][keep_after]]) for k in touch}
