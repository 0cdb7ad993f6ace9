"""`fairshare serve` never blocks the CLI: while it answers (polled every 100 ms), `import`, `run`,
`scorecard` and `status` on the same workspace all succeed, and the server never returns an error.
(It used to hold the warehouse open, so each of them failed with "in use by another fairshare process".)"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from fairshare import Workspace
from fairshare.cli import app

TINY = Path(__file__).resolve().parents[2] / "examples" / "tiny"
TOKEN = "concurrency-token-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def test_serve_while_importing_running_and_reading(tmp_path, monkeypatch):
    from fairshare import run

    # the run writes the warehouse and swaps the snapshot as a full run does; three areas keep it short
    monkeypatch.setattr(
        run, "AREAS", tuple(a for a in run.AREAS if a.name in ("funnel", "reps", "scorecard"))
    )
    ws = Workspace.init(tmp_path / "ws")
    ws.import_(TINY)
    ws.save_results({"scorecard": pd.DataFrame({"kpi": ["x"], "value": [1.0]})})  # something to serve
    ws.close()
    port = _free_port()
    env = {**os.environ, "FAIRSHARE_API_TOKEN": TOKEN}
    server = subprocess.Popen([str(Path(sys.executable).parent / "fairshare"), "serve", "--port", str(port), "-w", str(ws.path)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"{base}/api/status") == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, server.stderr.read()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        answers: list[int] = []
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                for path in ("/api/status", "/api/scorecard"):
                    try:
                        answers.append(_get(base + path))
                    except OSError as e:
                        answers.append(-1)
                        print(e)
                time.sleep(0.1)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        runner = CliRunner()
        for args in (["import", str(TINY)], ["run"], ["scorecard"], ["status"]):
            result = runner.invoke(app, [*args, "--workspace", str(ws.path)])
            assert result.exit_code == 0, (args, result.output)
            assert "in use by another" not in result.output
        stop.set()
        poller.join(timeout=15)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        server.stderr.close()
    assert len(answers) >= 20
    assert set(answers) == {200}, sorted(set(answers))
    manifest = Workspace(ws.path, read_only=True).results_manifest()
    assert manifest["run_id"] == 2 and "funnel" in manifest["tables"]  # the server now serves the real run
