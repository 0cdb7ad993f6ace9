"""Throw-away backends for the shared backend suite: a PostgreSQL cluster and a local Spark session.

The cluster lives in a temporary folder, listens on a free loopback port and is stopped (and
deleted) at the end of the test session, also on failure. Spark runs in local mode, one session
for the whole test session. Under CI (`CI=true`) a backend that cannot start fails the run; on a
developer's machine it is skipped with one line saying what is missing.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: Where Debian puts the PostgreSQL server binaries (package postgresql-15 on bookworm).
PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
PG_USER = "fairshare"


class BackendUnavailable(RuntimeError):
    """A backend could not be started; the message says what is missing and how to install it."""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(name: str) -> str:
    for d in PG_BIN_DIRS:
        if (d / name).exists():
            return str(d / name)
    found = shutil.which(name)
    if found is None:
        raise BackendUnavailable(
            f"PostgreSQL server not installed ({name} not found); `make backends` installs it "
            "(apt-get install postgresql)"
        )
    return found


def _run_as(user: str | None, args: list[str], home: Path, **kwargs) -> subprocess.CompletedProcess:
    """Run a server command, as `user` when we are root (initdb and postgres refuse root)."""
    if user is None:
        return subprocess.run(args, capture_output=True, text=True, **kwargs)
    pw = pwd.getpwnam(user)

    def demote() -> None:
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LC_ALL": "C"}
    return subprocess.run(args, capture_output=True, text=True, preexec_fn=demote, env=env, **kwargs)  # noqa: PLW1509


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str]:
    """A new PostgreSQL cluster in a temporary folder on a free port; yields its URL, then stops it."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    user = None
    if os.geteuid() == 0:
        user = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
        if user is None:
            raise BackendUnavailable("running as root and no 'postgres' user to run the cluster as")
    root = Path(tempfile.mkdtemp(prefix="fairshare-pg-"))
    data = root / "data"
    if user is not None:
        pw = pwd.getpwnam(user)
        os.chown(root, pw.pw_uid, pw.pw_gid)
    port = _free_port()
    done = _run_as(user, [initdb, "-D", str(data), "-U", PG_USER, "--auth=trust", "-E", "UTF8",
                          "--no-locale", "--no-sync"], root, timeout=120)  # fmt: skip
    if done.returncode:
        shutil.rmtree(root, ignore_errors=True)
        raise BackendUnavailable(f"initdb failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
    options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=40")  # fmt: skip
    log = root / "server.log"
    started = _run_as(user, [pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60",
                             "start"], root, timeout=90)  # fmt: skip
    try:
        if started.returncode:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
            raise BackendUnavailable(f"PostgreSQL did not start: {started.stderr.strip()} {' | '.join(tail)}")
        yield f"postgres://{PG_USER}@127.0.0.1:{port}/postgres"
    finally:
        _run_as(user, [pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], root, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def create_database(url: str, name: str) -> str:
    """A new empty database on the cluster at `url`; returns its URL."""
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"


def spark_session():
    """The local Spark session shared by the whole test session (one core, UTC, no UI)."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise BackendUnavailable("no Java runtime for Spark; `make backends` installs it "
                                 "(apt-get install openjdk-17-jre-headless)")  # fmt: skip
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise BackendUnavailable("pyspark not installed; `make backends` installs it "
                                 "(pip install 'fairshare[backends]')") from None  # fmt: skip
    from fairshare.sparkstore import spark_session as make

    return make()
