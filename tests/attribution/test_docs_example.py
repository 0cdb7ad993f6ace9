"""Docs that run: the Python example at the top of docs/attribution.md."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "attribution.md"


def test_the_python_example_runs(capsys):
    block = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)
    exec(compile(block, str(DOC), "exec"), {})
    out = capsys.readouterr().out
    assert "removal_effect" in out and "search" in out
