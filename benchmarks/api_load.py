"""Bounded load test of the REST API on 127.0.0.1: p50/p95 latency and errors at 50 concurrent clients.

Run by hand: `.venv/bin/python benchmarks/api_load.py [--workspace DIR] [--leads 100000] [--clients 50]
[--requests 2000] [--max-seconds 60]`.

The server runs in its own process (`uvicorn`, one worker, as `fairshare serve` runs it); the clients are
one asyncio process with an httpx2 AsyncClient. Every endpoint gets at most `--requests` requests and at
most `--max-seconds` seconds. Without `--workspace` a results snapshot with `--leads` scored leads is
written to a temporary workspace (no model is fitted). The baseline, measured in the same run, is a
static file from the same server (/static/style.css): the ratio shows what reading results costs over
plain HTTP handling. "app ms" is the median time of one request through the ASGI app in-process
(no sockets): the part of the latency that fairshare's code controls. Target: p95 < 100 ms and
0 errors for scorecard and leads.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2
import numpy as np
import pandas as pd

from fairshare import Workspace

TOKEN = "load-test-token"


def synthetic_workspace(folder: Path, n_leads: int, seed: int = 0) -> Path:
    """A workspace whose results snapshot holds a scorecard and `n_leads` scored leads."""
    rng = np.random.default_rng(seed)
    value = rng.lognormal(8, 1, n_leads)
    effort = rng.uniform(1, 20, n_leads)
    leads = pd.DataFrame({
        "lead_id": np.char.add("L", np.arange(n_leads).astype(str)),
        "account_id": np.char.add("A", (np.arange(n_leads) % 20_000).astype(str)),
        "p_opportunity": rng.uniform(0, 0.6, n_leads), "p_win": rng.uniform(0, 0.4, n_leads),
        "expected_amount": rng.uniform(5e3, 8e4, n_leads), "value": value, "value_low": value * 0.6,
        "value_high": value * 1.5, "effort_hours": effort, "value_per_hour": value / effort,
        "reasons": '["large account", "3 webinar visits", "fast first response"]', "model": "lightgbm",
    })  # fmt: skip
    scorecard = pd.DataFrame({
        "kpi": [f"kpi_{i}" for i in range(30)], "label": [f"KPI {i}" for i in range(30)],
        "value": rng.uniform(0, 1e6, 30), "unit": "USD", "ci_low": np.nan, "ci_high": np.nan, "period": "2026-Q3",
        "previous_value": rng.uniform(0, 1e6, 30), "change": rng.normal(0, 1e5, 30),
        "definition": "a definition sentence of typical length for a KPI", "source": "opportunities",
    })  # fmt: skip
    ws = Workspace.init(folder)
    ws.save_results({"leads": leads, "scorecard": scorecard})
    ws.close()
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workspace: Path, port: int) -> subprocess.Popen:
    code = ("import sys, uvicorn; from fairshare.api import create_app; "
            "uvicorn.run(create_app(sys.argv[1], tokens=[sys.argv[2]]), host='127.0.0.1', port=int(sys.argv[3]), "
            "log_level='warning')")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", code, str(workspace), TOKEN, str(port)])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/static/style.css", timeout=1).status_code == 200:
                return proc
        except httpx2.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("server did not start")


async def load(base: str, make_url, clients: int, requests: int, max_seconds: float, auth: bool) -> dict:
    """`requests` GETs (at most `max_seconds`) from `clients` concurrent workers; latencies in ms."""
    headers = {"Authorization": f"Bearer {TOKEN}"} if auth else {}
    latencies: list[float] = []
    errors = 0
    issued = 0
    rng = np.random.default_rng(1)
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
        start = time.perf_counter()

        async def worker() -> None:
            nonlocal issued, errors
            while issued < requests and time.perf_counter() - start < max_seconds:
                issued += 1
                url = make_url(rng)
                t0 = time.perf_counter()
                try:
                    r = await client.get(url)
                    ok = r.status_code == 200
                except httpx2.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += not ok

        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    lat = np.array(latencies)
    return {"requests": len(lat), "errors": errors, "seconds": elapsed, "rps": len(lat) / elapsed,
            "p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
            "p99": float(np.percentile(lat, 99)), "max": float(lat.max())}  # fmt: skip


async def in_process(workspace: Path, make_url, n: int = 300) -> float:
    """Median ms per request through the ASGI app alone (no sockets, no HTTP parsing): our code's share."""
    from fairshare.api import create_app

    app = create_app(workspace, tokens=[TOKEN])
    rng = np.random.default_rng(2)
    transport = httpx2.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx2.AsyncClient(transport=transport, base_url="http://app", headers=headers) as client:
        await client.get(make_url(rng))
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            await client.get(make_url(rng))
            times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, help="a workspace with results (default: synthetic)")
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000, help="per endpoint")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="per endpoint")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="fairshare-load-") as tmp:
        workspace = args.workspace or synthetic_workspace(Path(tmp) / "ws", args.leads)
        n_leads = len(Workspace(workspace).result("leads"))
        port = free_port()
        server = start_server(workspace, port)
        base = f"http://127.0.0.1:{port}"
        sorts = ["value", "value_per_hour", "p_win"]
        cases = {
            "baseline: /static/style.css": (lambda rng: "/static/style.css", False),
            "/api/scorecard": (lambda rng: "/api/scorecard", True),
            "/api/leads (limit 50, random page and sort)": (
                lambda rng: (
                    f"/api/leads?limit=50&offset={int(rng.integers(0, max(1, n_leads - 50)))}"
                    f"&sort={sorts[int(rng.integers(0, 3))]}"
                ),
                True,
            ),
            "/api/leads?limit=500": (lambda rng: "/api/leads?limit=500", True),
        }
        try:
            results = {}
            for name, (make_url, auth) in cases.items():
                asyncio.run(load(base, make_url, args.clients, 100, 30, auth))  # warm-up (caches, sorts)
                results[name] = asyncio.run(
                    load(base, make_url, args.clients, args.requests, args.max_seconds, auth)
                )
                results[name]["app_ms"] = asyncio.run(in_process(workspace, make_url))
        finally:
            server.terminate()
            server.wait(timeout=30)
    baseline = results["baseline: /static/style.css"]["p95"]
    print(f"{args.clients} concurrent clients, ≤{args.requests} requests / ≤{args.max_seconds:.0f} s per endpoint, "
          f"{n_leads:,} leads in the snapshot")  # fmt: skip
    print(f"{'endpoint':48} {'reqs':>6} {'err':>4} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'p95/baseline':>13} {'app ms':>7}")  # fmt: skip
    for name, r in results.items():
        print(f"{name:48} {r['requests']:6d} {r['errors']:4d} {r['rps']:7.0f} {r['p50']:8.1f} {r['p95']:8.1f} "
              f"{r['p99']:8.1f} {r['p95'] / baseline:13.2f} {r['app_ms']:7.2f}")  # fmt: skip
    print(f"machine: {os.cpu_count()} cores, load average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after "
          "(other processes compete with the server and the clients)")  # fmt: skip
    print("app ms: median time of one request through the ASGI app alone (in-process, sequential)")
    target = all(r["p95"] < 100 and r["errors"] == 0 for n, r in results.items() if n.startswith("/api/"))
    print("target p95 < 100 ms and 0 errors for scorecard and leads:", "met" if target else "NOT met")


if __name__ == "__main__":
    main()
