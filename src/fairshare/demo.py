"""`fairshare demo`: simulate a company, import it into a new workspace, run every model, write the report.

The work behind `Workspace.demo` and the `demo` command (which only adds the progress bar and the
printed summary).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

DEMO_MARKER = ".fairshare-demo"
DEMO_SCENARIOS = ("marketing_off", "sdr_off", "ae_off")

#: progress(what is happening, steps done, steps in all)
DemoProgress = Callable[[str, int, int], None]


@dataclass
class Demo:
    """What `make_demo` made: the workspace folder, the run's manifest and the report file."""

    path: Path
    manifest: dict[str, Any]
    report: Path


def make_demo(
    init: Callable[[Path], Workspace],
    path: str | Path,
    accounts: int = 3000,
    seed: int = 0,
    progress: DemoProgress | None = None,
) -> Demo:
    """With `init` (`Workspace.init`): simulate `accounts` accounts (with the truth and the DEMO_SCENARIOS replays), import them into a
    new workspace at `path` (marked as a demo), run every model against the truth, write report.html."""
    from fairshare.simulate import SimulationConfig, simulate_with_truth
    from fairshare.web.report import write_report

    path = Path(path)
    tell = progress or (lambda *_: None)
    tell("simulating a company", 0, 4)
    world = simulate_with_truth(SimulationConfig(accounts=accounts), seed=seed, scenarios=DEMO_SCENARIOS)
    company = path / "company"
    world.write(company, format="parquet")
    tell("importing", 1, 4)
    ws = init(path)
    (path / DEMO_MARKER).write_text("created by `fairshare demo`; safe to delete\n", encoding="utf-8")
    truth = company / "truth"
    last = [2, 4]

    def run_progress(stage: str, done: int, total: int) -> None:
        last[:] = [2 + done, 3 + total]
        tell(f"models: {stage}", *last)

    try:
        ws.import_(company)
        tell("models", 2, 4)
        manifest = ws.run(progress=run_progress, truth_dir=truth if truth.is_dir() else None)
    finally:
        ws.close()
    tell("writing the report", *last)
    return Demo(path, manifest, write_report(path, path / "report.html"))
