"""Issue #19's adversarial pass, re-runnable: every finding tried the way it was found, one count table.

Run by hand (the machine is shared): `nice -n 10 .venv/bin/python benchmarks/adversarial_pass.py`
for the issue's sizes (55 malformed folders, 30 import kills of 1.5M touches, 8 run kills, 5M touches,
50k accounts; about half an hour at low load), or `--quick` for small sizes (a few minutes).
`--only malformed kills api ...` runs some sections. Columns: tried / clear errors (one line, exit
non-zero, no traceback) / tracebacks / lost (data lost, a torn warehouse or snapshot, a failed check).
The suite's generators are reused: tests/ingest/test_atomic.py (big folders, the import child),
tests/test_snapshots.py (back-to-back runs), tests/sample_results.py, benchmarks/import_bench.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "examples" / "tiny"
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "benchmarks"), str(ROOT)]
FAIRSHARE = str(Path(sys.executable).parent / "fairshare")
TOKEN = "adversarial-pass-token-0123456789"
EVIL = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


@dataclass
class Row:
    check: str
    tried: int = 0
    clear: int = 0
    tracebacks: int = 0
    lost: int = 0
    note: str = ""
    seconds: float = field(default=0.0)


def _cli(args: list[str], workspace: Path | None = None):
    """A command in-process (CliRunner): (clear error?, traceback?, output)."""
    from typer.testing import CliRunner

    from fairshare.cli import app

    extra = ["--workspace", str(workspace)] if workspace is not None else []
    result = CliRunner().invoke(app, [*args, *extra])
    traceback = (result.exception is not None and not isinstance(result.exception, SystemExit)) or (
        "Traceback" in result.output
    )
    clear = result.exit_code != 0 and not traceback and "error:" in result.output
    return clear, traceback, result


def _fingerprint(workspace: Path) -> str:
    """Content hash of every canonical table (rows sorted), read-only."""
    from fairshare import Workspace, schema

    digest = hashlib.sha256()
    with Workspace(workspace, read_only=True) as ws:
        for name in sorted(schema.TABLES):
            frame = ws.table(name).execute()
            digest.update(name.encode())
            digest.update(frame.sort_values(list(frame.columns)).to_csv(index=False).encode())
    return digest.hexdigest()


# --- 1. malformed import folders ------------------------------------------------------------------


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _time_column(header: list[str]) -> int | None:
    return next((i for i, c in enumerate(header) if c == "at" or c.endswith("_at") or c == "date"), None)


def _set_cell(path: Path, column: int | None, value: str) -> bool:
    if column is None:
        return False
    lines = _lines(path)
    cells = lines[1].split(",")
    cells[column] = value
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return True


def _mutations():
    """(name, edit(file) -> applicable?) — each applied to each canonical file of the tiny example."""

    def header(p: Path) -> list[str]:
        return _lines(p)[0].split(",")

    def drop_key(p):
        lines = _lines(p)
        p.write_text("\n".join(",".join(x.split(",")[1:]) for x in lines) + "\n")
        return True

    def duplicate_conflict(p):
        lines = _lines(p)
        cells = lines[1].split(",")
        other = [c + "x" if i and c and not c.replace(".", "").isdigit() else c for i, c in enumerate(cells)]
        p.write_text("\n".join([*lines, ",".join(other)]) + "\n")
        return other != cells

    def fk(p):
        h = header(p)
        col = next((i for i, c in enumerate(h) if c.endswith("_id") and i > 0), None)
        return _set_cell(p, col, "NO-SUCH-ID")

    return [
        ("missing key column", drop_key),
        ("empty file", lambda p: p.write_bytes(b"") is not None),
        ("impossible date", lambda p: _set_cell(p, _time_column(header(p)), "2026-02-30T10:00:00Z")),
        ("year 99999", lambda p: _set_cell(p, _time_column(header(p)), "99999-01-01T00:00:00Z")),
        ("offset +25:00", lambda p: _set_cell(p, _time_column(header(p)), "2026-01-01T00:00:00+25:00")),
        ("NUL byte", lambda p: p.write_bytes(p.read_bytes().replace(b"\n", b"\n\x00", 1)) is not None),
        ("latin-1 bytes", lambda p: p.write_bytes(p.read_bytes() + b"X\xe9,\xff\n") is not None),
        ("short row", lambda p: p.write_text(p.read_text() + "only-one-field\n") is not None),
        ("conflicting duplicate key", duplicate_conflict),
        ("dangling reference", fk),
        ("binary garbage", lambda p: p.write_bytes(random.Random(0).randbytes(4096)) is not None),
    ]


def malformed(args, tmp: Path) -> list[Row]:
    from fairshare import Workspace

    pristine = tmp / "pristine"
    with Workspace.init(pristine) as ws:
        ws.import_(TINY)
    before = _fingerprint(pristine)
    files = ["accounts.csv", "opportunities.csv", "touches.csv", "activities.csv", "leads.csv", "reps.csv"]
    row = Row("malformed import folders (CLI import)")
    accepted = []
    for name, edit in _mutations():
        for file in files:
            folder = Path(shutil.copytree(TINY, tmp / f"bad-{row.tried}"))
            if not edit(folder / file):
                shutil.rmtree(folder)
                continue
            row.tried += 1
            clear, traceback, result = _cli(["import", str(folder)], pristine)
            row.clear += clear
            row.tracebacks += traceback
            if result.exit_code == 0:
                accepted.append(f"{name} in {file}")
                shutil.rmtree(pristine)
                with Workspace.init(pristine) as ws:
                    ws.import_(TINY)
            elif _fingerprint(pristine) != before:
                row.lost += 1
    fresh = tmp / "fresh"
    _cli(["init", str(fresh)])
    only = tmp / "only-reps"
    only.mkdir()
    shutil.copy(TINY / "reps.csv", only / "reps.csv")
    clear, traceback, _ = _cli(["import", str(only)], fresh)
    left = sorted(p.name for p in fresh.iterdir())
    extra = Row("only reps.csv into a new workspace", 1, int(clear), int(traceback),
                int(left != ["fairshare.toml"]), f"files after: {', '.join(left)}")  # fmt: skip
    row.note = f"{len(accepted)} accepted as valid ({'; '.join(accepted) or 'none'})"
    return [row, extra]


# --- 2. kill -9 during imports and runs ----------------------------------------------------------


def kill_imports(args, tmp: Path) -> list[Row]:
    from fairshare import Workspace
    from ingest.test_atomic import CHILD, big_folder, fingerprint

    first, second = (20_000, 400_000) if args.quick else (200_000, 1_500_000)
    pristine = tmp / "pristine-kill"
    Workspace.init(pristine).close()
    with Workspace(pristine) as ws:
        ws.import_(big_folder(tmp / "first", first, seed=1))
    before = fingerprint(pristine)
    folder = big_folder(tmp / "second", second, seed=2)
    rng = random.Random(0)
    row = Row(f"kill -9 during import ({second:,} touches)", note="")
    outcomes = {"old": 0, "new": 0}
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for i in range(args.import_kills):
        workspace = Path(shutil.copytree(pristine, tmp / f"kill-{i}"))
        stage, delay = rng.choice(["checking", "writing"]), rng.uniform(0, 0.6)
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(workspace), str(folder)], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True, env=env)  # fmt: skip
        for line in child.stdout:
            if line.startswith(stage):
                time.sleep(delay)
                break
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=300)
        child.stdout.close()
        row.tried += 1
        after = fingerprint(workspace)
        complete = after[0] == first + second
        if after == before:
            outcomes["old"] += 1
        elif complete:
            outcomes["new"] += 1
        else:
            row.lost += 1  # torn
        shutil.rmtree(workspace)
    row.note = f"{outcomes['old']} left the old contents, {outcomes['new']} the complete import; lost = torn"
    row.clear = row.tried - row.lost  # survived
    return [row]


def kill_runs(args, tmp: Path) -> list[Row]:
    import numpy as np
    import pandas as pd

    from fairshare import Workspace
    from fairshare.warehouse import RUNS_TABLE
    from test_snapshots import _store_forever

    ws_path = tmp / "runs"
    Workspace.init(ws_path).close()
    rng = np.random.default_rng(0)
    row = Row("kill -9 while storing runs", note="lost = a torn results/ snapshot")
    for _ in range(args.run_kills):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            _store_forever(ws_path, write)
        os.read(read, 1)
        time.sleep(float(rng.uniform(0.0, 0.6)))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read)
        os.close(write)
        row.tried += 1
        try:
            manifest = json.loads((ws_path / "results" / "manifest.json").read_text())
            torn = any(
                len(pd.read_parquet(ws_path / "results" / f"{n}.parquet")) == 0 for n in manifest["tables"]
            )
        except (OSError, ValueError, KeyError):
            torn = True
        row.lost += torn
    ws = Workspace(ws_path)
    committed = int(ws.con.table(RUNS_TABLE).run_id.max().execute())
    ws.save_results({"scorecard": pd.DataFrame({"kpi": ["x"], "value": [1.0]})})
    ws.close()
    left = [p.name for p in ws_path.iterdir() if p.name.startswith(".results")]
    manifest = json.loads((ws_path / "results" / "manifest.json").read_text())
    ok = manifest["run_id"] == committed + 1 and left == [os.readlink(ws_path / "results")]
    row.note += (
        f"; after the next run: {'one folder, results/ = last run' if ok else 'LEFTOVERS ' + str(left)}"
    )
    row.lost += not ok
    row.clear = row.tried - min(row.lost, row.tried)  # survived
    return [row]


# --- 3. API and pages ----------------------------------------------------------------------------


def api(args, tmp: Path) -> list[Row]:
    from fastapi.testclient import TestClient

    from fairshare import Workspace
    from fairshare.api import create_app
    from fairshare.web.report import write_report
    from fairshare.web.sections import PAGES
    from sample_results import sample_tables

    tables = sample_tables(n_leads=300)
    for frame in tables.values():  # the payload in every text cell a page or the report may print
        for col in frame.columns:
            if frame[col].dtype == object and not col.endswith(("_at", "reasons", "strategies")):
                frame.loc[frame.index[:3], col] = EVIL
    ws = Workspace.init(tmp / "api")
    ws.save_results(tables, seconds=1.0)
    ws.close()
    endpoints = ["/api/status", "/api/scorecard", "/api/funnel", "/api/attribution", "/api/contribution",
                 "/api/leads", "/api/leads/L00001", "/api/reps", "/api/queue", "/api/economics", "/api/forecast",
                 "/api/validation"]  # fmt: skip
    pages = ["/" if p.slug == "scorecard" else f"/{p.slug}" for p in PAGES]
    rows = {
        k: Row(k) for k in ("auth", "path traversal", "parameter abuse", "XSS (pages + report)", "headers")
    }

    def count(name: str, ok: bool) -> None:
        rows[name].tried += 1
        rows[name].clear += ok
        rows[name].lost += not ok

    app = create_app(ws.path, tokens=[TOKEN])
    with TestClient(app) as c:
        for url in endpoints:
            count("auth", c.get(url).status_code == 401)
            count(
                "auth",
                c.get(url, headers={"Authorization": "Bearer wrong-token-0000000000"}).status_code
                in (401, 429),
            )
            app.state.throttle.reset()
        for url in pages:
            count("auth", c.get(url, follow_redirects=False).status_code in (303, 307, 401))
        codes = [c.post("/login", data={"token": f"guess-{i}"}).status_code for i in range(30)]
        count("auth", 429 in codes)  # throttled before 30 guesses
        app.state.throttle.reset()
        r = c.post("/login", data={"token": TOKEN}, follow_redirects=False)
        count("auth", r.status_code == 303 and TOKEN not in r.headers.get("set-cookie", ""))
        auth = {"Authorization": f"Bearer {TOKEN}"}
        for url in ["/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                    "/static/..%2f..%2f..%2fpyproject.toml", "/api/leads/..%2f..%2f..%2fetc%2fpasswd",
                    "/static//etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/static/%00", "/api/leads/%00"]:  # fmt: skip
            body = c.get(url, headers=auth)
            count(
                "path traversal",
                body.status_code != 200 or ("root:" not in body.text and "[project]" not in body.text),
            )
        for url in ["/api/leads?limit=-1", "/api/leads?limit=1000000000000", "/api/leads?limit=abc",
                    "/api/leads?offset=-5", "/api/leads?sort=evil", "/api/leads?offset=999999999",
                    "/api/funnel?limit=-1", "/api/queue?limit=9999", f"/api/queue?rep={'x' * 5000}",
                    f"/api/leads/{'y' * 5000}", "/api/attribution?model=nope", "/api/attribution?by=%27;drop"]:  # fmt: skip
            code = c.get(url, headers=auth).status_code
            count("parameter abuse", code < 500 and code in (200, 404, 422))
        for url in [*pages, "/login", "/docs", "/static/style.css", "/nope"]:
            h = c.get(url, follow_redirects=False).headers
            count("headers", "frame-ancestors 'none'" in h.get("content-security-policy", "")
                  and h.get("x-content-type-options") == "nosniff" and h.get("x-frame-options") == "DENY")  # fmt: skip
        for url in pages:
            count("XSS (pages + report)", "<script>alert(1)" not in c.get(url).text)
    report = write_report(ws.path, tmp / "report.html").read_text()
    count("XSS (pages + report)", "<script>alert(1)" not in report)
    for r in rows.values():
        r.note = "clear = held; lost = did not hold"
    return list(rows.values())


# --- 4. scale ------------------------------------------------------------------------------------


def _timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, float, int]:
    """(seconds, peak RSS in GB, exit code) of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    code = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return time.perf_counter() - t0, max(peak, before) / 1e6, code


def scale(args, tmp: Path) -> list[Row]:
    from import_bench import make_folder

    rows = []
    touches = 500_000 if args.quick else 5_000_000
    folder = tmp / "touches"
    make_folder(folder, touches)
    _cli(["init", str(tmp / "big")])
    seconds, peak, code = _timed([FAIRSHARE, "import", str(folder), "-w", str(tmp / "big")])
    rows.append(Row(f"import {touches:,} touches", 1, 0, 0, int(code != 0),
                    f"{seconds:.1f} s ({touches / seconds / 1e3:.0f}k rows/s), peak {peak:.2f} GB"))  # fmt: skip
    accounts = 2_000 if args.quick else 50_000
    sim, ws = tmp / f"sim{accounts}", tmp / f"ws{accounts}"
    subprocess.run([FAIRSHARE, "simulate", "--accounts", str(accounts), "-o", str(sim), "--scenario", "marketing_off"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    _cli(["init", str(ws)])
    s_import, p_import, c_import = _timed([FAIRSHARE, "import", str(sim), "-w", str(ws)])
    s_run, p_run, c_run = _timed([FAIRSHARE, "run", "-w", str(ws)])
    rows.append(Row(f"{accounts:,} accounts: import + run", 2, 0, 0, int(c_import != 0) + int(c_run != 0),
                    f"import {s_import:.0f} s, run {s_run / 60:.1f} min, peak {max(p_import, p_run):.2f} GB"))  # fmt: skip
    return rows


# --- 5. serve while importing and running ----------------------------------------------------------


def concurrency(args, tmp: Path) -> list[Row]:
    import pandas as pd

    from fairshare import Workspace

    ws = Workspace.init(tmp / "served")
    ws.import_(TINY)
    ws.save_results({"scorecard": pd.DataFrame({"kpi": ["x"], "value": [1.0]})})
    ws.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([FAIRSHARE, "serve", "--port", str(port), "-w", str(ws.path)],
                              env={**os.environ, "FAIRSHARE_API_TOKEN": TOKEN}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip

    def get(path: str) -> int:
        req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {TOKEN}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return -1

    answers: list[int] = []
    stop = threading.Event()
    failed = []
    try:
        deadline = time.monotonic() + 90
        while get("/api/status") != 200 and time.monotonic() < deadline:
            time.sleep(0.1)

        def poll() -> None:
            while not stop.is_set():
                answers.extend(get(p) for p in ("/api/status", "/api/scorecard"))
                time.sleep(0.1)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        for cmd in (["import", str(TINY)], ["run"], ["scorecard"], ["status"]):
            done = subprocess.run([FAIRSHARE, *cmd, "-w", str(ws.path)], capture_output=True, text=True)
            if done.returncode != 0 or "in use by another" in done.stderr:
                failed.append(cmd[0])
        stop.set()
        poller.join(timeout=15)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    bad = [a for a in answers if a != 200]
    return [Row("serve + import/run/scorecard/status (poll 100 ms)", 4 + len(answers), 4 - len(failed) + len(answers) - len(bad),
                0, len(failed) + len(bad), f"{len(answers)} polls, {len(bad)} not 200; commands failed: {failed or 'none'}")]  # fmt: skip


# --- 6. the named edge cases ---------------------------------------------------------------------


def edges(args, tmp: Path) -> list[Row]:
    from fairshare import Workspace

    pristine = tmp / "edges"
    with Workspace.init(pristine) as ws:
        ws.import_(TINY)
    before = _fingerprint(pristine)
    rows = []

    def folder_with(name: str, file: str, text: str | bytes) -> Path:
        f = Path(shutil.copytree(TINY, tmp / f"edge-{name}"))
        (f / file).write_bytes(text if isinstance(text, bytes) else text.encode())
        return f

    touches = (TINY / "touches.csv").read_text()
    head, *body = touches.splitlines()
    cases = {
        "year 99999": folder_with("year", "touches.csv", touches.replace("2026-01-15T10:00:00Z", "99999-01-15T10:00:00Z", 1)),
        "offset +25:00": folder_with("offset", "touches.csv", touches.replace("2026-01-15T10:00:00Z", "2026-01-15T10:00:00+25:00", 1)),
        "NUL in first 4 KB": folder_with("nul1", "touches.csv", touches.replace("\n", "\n\x00", 1)),
        "NUL after 4 KB": folder_with("nul2", "touches.csv", head + "\n" + "\n".join(body * 60) + "\nT9,2026-01-15T10:00:00Z,C1,,email,,vi\x00sit,\n"),
        "amount 1e308": folder_with("huge", "opportunities.csv", (TINY / "opportunities.csv").read_text().replace("48000", "1e308", 1)),
    }  # fmt: skip
    row = Row("bad cells (year, offset, NUL, 1e308)")
    for name, folder in cases.items():
        clear, traceback, result = _cli(["import", str(folder)], pristine)
        row.tried += 1
        row.clear += clear
        row.tracebacks += traceback
        row.lost += result.exit_code == 0 or _fingerprint(pristine) != before
        if name.startswith("NUL") and not re.search(r"touches\.csv:\d+", result.output):
            row.lost += 1  # a NUL must be reported with its line
    rows.append(row)

    wide = Row("wide files and long headers", note="")
    lines = _lines(TINY / "touches.csv")
    for n in (3_000, 30_000) if not args.quick else (3_000,):
        extras = [f"extra_{i}" for i in range(n)]
        text = "\n".join(
            [lines[0] + "," + ",".join(extras), *(x + "," + ",".join("v" for _ in extras) for x in lines[1:])]
        )
        folder = folder_with(f"wide{n}", "touches.csv", text + "\n")
        ws_n = Path(shutil.copytree(pristine, tmp / f"wide-ws-{n}"))
        t0 = time.perf_counter()
        _, traceback, result = _cli(["import", str(folder)], ws_n)
        seconds = time.perf_counter() - t0
        wide.tried += 1
        wide.tracebacks += traceback
        with Workspace(ws_n, read_only=True) as ws:
            kept = len(ws.table("touches").columns)
        wide.lost += result.exit_code != 0 or kept < 8 + n
        wide.clear += result.exit_code == 0 and kept >= 8 + n  # clear = imported whole
        wide.note += f"{n:,} extra columns: {seconds:.1f} s, {kept - 8:,} kept; "
    long = [f"a_very_long_extra_column_name_{i:06d}_" + "x" * 40 for i in range(1_200)]  # ~100 KB header
    text = "\n".join([lines[0] + "," + ",".join(long), *(x + "," * len(long) + "" for x in lines[1:])])
    ws_l = Path(shutil.copytree(pristine, tmp / "long-ws"))
    _, traceback, result = _cli(["import", str(folder_with("long", "touches.csv", text + "\n"))], ws_l)
    with Workspace(ws_l, read_only=True) as ws:
        kept = set(ws.table("touches").columns)
    wide.tried += 1
    wide.tracebacks += traceback
    wide.lost += result.exit_code != 0 or not set(long) <= kept
    wide.clear += result.exit_code == 0 and set(long) <= kept
    wide.note += f"{len(text.splitlines()[0]) // 1024} KB header: {len(set(long) & kept):,} of {len(long):,} columns kept"
    rows.append(wide)

    toml = Row("fairshare.toml and warehouse URL mistakes")
    settings = {
        "latin-1 toml": b'[workspace]\ncurrency = "\x80"\n',
        "nan weights": b"[attribution]\nu_shape = [nan, 0.5, 0.5]\n", "huge lookback": b"[attribution]\nlookback_days = 99999999999\n",
        "horizon 1e308": b"[forecast]\nhorizon_days = 1e308\n", "inf hours": b"[sla]\nfirst_contact_hours = inf\n",
        "typo": b"[atribution]\n", "not toml": b"[sla\n",
    }  # fmt: skip
    urls = ["sqlite:///{workspace}/w.db", "postgres://u:secret@localhost:1/db", "duckdb:///{workspace}/notes.txt",
            "", "duckdb://", "nonsense", "nosuch://host/db", "duckdb:///{workspace}"]  # fmt: skip
    for name, content in [*settings.items(), *((u, None) for u in urls)]:
        ws_t = tmp / f"toml-{toml.tried}"
        ws_t.mkdir()
        if content is None:
            (ws_t / "fairshare.toml").write_text(f'[workspace]\nwarehouse = "{name}"\n')
            (ws_t / "notes.txt").write_text("not a database")
        else:
            (ws_t / "fairshare.toml").write_bytes(content)
        files = sorted(p.name for p in ws_t.iterdir())
        for cmd in (["status"], ["import", str(TINY)], ["scorecard"], ["run"]):
            clear, traceback, result = _cli(cmd, ws_t)
            toml.tried += 1
            toml.clear += clear
            toml.tracebacks += traceback
            toml.lost += "secret" in result.output or sorted(p.name for p in ws_t.iterdir()) != files
    toml.note = f"{len(settings)} toml x 4 commands, {len(urls)} URLs x 4; lost = a password printed or a file created"
    rows.append(toml)
    bom = tmp / "toml-bom"
    bom.mkdir()
    (bom / "fairshare.toml").write_bytes("\ufeff[sla]\nfirst_contact_hours = 24\n".encode())
    _, traceback, result = _cli(["import", str(TINY)], bom)  # a BOM is valid UTF-8 text: read, not rejected
    rows.append(Row("BOM at the start of fairshare.toml", 1, int(result.exit_code == 0), int(traceback),
                    int(result.exit_code != 0), "clear = read as UTF-8 and the import works"))  # fmt: skip
    return rows


# --- 7. leakage on the real X Education export ------------------------------------------------------


def leakage(args, tmp: Path) -> list[Row]:
    from fairshare.scoring.evaluate import evaluate_leads, read_lead_table

    path = ROOT.parent / "shared" / "data" / "x_education_leads" / "Leads.csv"
    if not path.exists():
        return [Row("leakage guard, X Education", note=f"skipped: {path} missing")]
    frame = read_lead_table(path)
    result = evaluate_leads(frame, "Converted", id_column="Prospect ID")
    auc = result.set_index(["model", "metric"])["mean"][("lightgbm", "roc_auc")]
    leaky = list(result.attrs.get("leaky", []))
    return [Row("leakage guard, X Education (default settings)", 1, int(bool(leaky)), 0, int(not leaky or auc > 0.95),
                f"flagged and excluded: {', '.join(leaky) or 'none'}; AUC {auc:.3f} without them")]  # fmt: skip


SECTIONS = {"malformed": malformed, "kills": lambda a, t: kill_imports(a, t) + kill_runs(a, t), "api": api,
            "edges": edges, "concurrency": concurrency, "leakage": leakage, "scale": scale}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes, not half an hour)")
    parser.add_argument("--only", nargs="*", choices=list(SECTIONS), default=list(SECTIONS))
    args = parser.parse_args()
    args.import_kills, args.run_kills = (6, 4) if args.quick else (30, 8)
    load = os.getloadavg()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="fairshare-adversarial-") as tmp:
        for name in args.only:
            t0 = time.perf_counter()
            (Path(tmp) / name).mkdir()
            part = SECTIONS[name](args, Path(tmp) / name)
            for r in part:
                r.seconds = time.perf_counter() - t0
            rows += part
            for r in part:
                print(f"{r.check}: {r.tried} tried, {r.clear} clear, {r.tracebacks} tracebacks, {r.lost} lost; "
                      f"{r.note}", file=sys.stderr, flush=True)  # fmt: skip
    print(
        f"\nload average at start {load[0]:.1f} (2 cores shared); {'quick' if args.quick else 'full'} sizes\n"
    )
    print("| check | tried | clear / held | tracebacks | lost / torn / failed | notes |")
    print("|---|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r.check} | {r.tried} | {r.clear} | {r.tracebacks} | {r.lost} | {r.note} |")


if __name__ == "__main__":
    main()
