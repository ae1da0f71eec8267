"""Shared set-up for the benchmarks: a throwaway database, Django on top of it, and small timers.

Each benchmark script calls `run_on_throwaway(measure, report)`: it creates the throwaway database,
points Django at it, runs `measure()`, passes the result to `report()`, and always removes the
database at the end, even when a step fails:
  * PostgreSQL (DATABASE_URL=postgres://...): a fresh database (BENCH_DB_NAME, else the script's own
    default) is dropped and re-created on the same server, used, then dropped again;
  * otherwise SQLite in a temporary file, deleted at the end. A SQLite file named in DATABASE_URL is
    never touched.
"""

import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import dj_database_url  # noqa: E402  (importable without Django being set up)

DEFAULT_BENCH_DB_NAME = "amanat_bench"

T = TypeVar("T")


# --- the throwaway database -------------------------------------------------------------------


@dataclass
class Throwaway:
    """Where the benchmark writes, and how to remove it afterwards."""

    url: str
    describe: str
    drop: Callable[[], None]


def _postgres_throwaway(url: str, db_name: str) -> Throwaway:
    import psycopg
    from psycopg import sql

    params = dj_database_url.parse(url)
    if params["NAME"] == db_name:
        sys.exit(f"refusing to run: DATABASE_URL already names the bench database {db_name!r}")
    connect_kwargs = {
        "user": params["USER"] or None,
        "password": params["PASSWORD"] or None,
        "host": params["HOST"] or None,
        "port": params["PORT"] or None,
        "autocommit": True,
    }

    def maintenance() -> Any:
        # The server's 'postgres' database if we may use it, else the one DATABASE_URL names.
        try:
            return psycopg.connect(dbname="postgres", **connect_kwargs)
        except psycopg.OperationalError:
            return psycopg.connect(dbname=params["NAME"], **connect_kwargs)

    def drop() -> None:
        with maintenance() as conn:
            force = sql.SQL(" WITH (FORCE)") if conn.info.server_version >= 130000 else sql.SQL("")
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(db_name)) + force)

    drop()
    with maintenance() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db_name)))
    bench_url = urlsplit(url)._replace(path=f"/{db_name}").geturl()
    host = f"{params['HOST'] or 'local socket'}:{params['PORT'] or 5432}"
    return Throwaway(bench_url, f"PostgreSQL database {db_name!r} on {host} (dropped at the end)", drop)


def _sqlite_throwaway() -> Throwaway:
    directory = tempfile.mkdtemp(prefix="amanat-bench-")
    path = Path(directory) / "bench.sqlite3"
    return Throwaway(
        f"sqlite:///{path}",
        f"SQLite file {path} (deleted at the end)",
        lambda: shutil.rmtree(directory, ignore_errors=True),
    )


def throwaway_database(default_name: str = DEFAULT_BENCH_DB_NAME) -> Throwaway:
    """A new, empty database on the server DATABASE_URL names (PostgreSQL) or in a temporary file."""
    url = os.environ.get("DATABASE_URL", "")
    engine = dj_database_url.parse(url)["ENGINE"] if url else "django.db.backends.sqlite3"
    if "postgresql" in engine:
        return _postgres_throwaway(url, os.environ.get("BENCH_DB_NAME", default_name))
    if "sqlite" in engine:
        return _sqlite_throwaway()  # a given SQLite file is never touched: always a temporary one
    sys.exit(f"unsupported database for the benchmark: {engine}")


def run_on_throwaway(
    measure: Callable[[], T],
    report: Callable[[T, str], None],
    *,
    default_name: str = DEFAULT_BENCH_DB_NAME,
    environ: dict[str, str] | None = None,
) -> None:
    """Set Django up on a throwaway database, measure, report, and always drop the database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amanat.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-insecure-key")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    for name, value in (environ or {}).items():
        os.environ[name] = value
    target = throwaway_database(default_name)
    os.environ["DATABASE_URL"] = target.url  # read by settings at django.setup()
    try:
        import django

        django.setup()
        results = measure()
        report(results, target.describe)
    finally:
        try:
            from django.db import connections

            connections.close_all()
        finally:
            target.drop()


# --- measuring --------------------------------------------------------------------------------


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


@contextmanager
def timed(into: list[float]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    into.append(time.perf_counter() - started)


def percentile(samples: list[float], fraction: float) -> float:
    """The `fraction` quantile of the samples (linear interpolation between the closest ranks)."""
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def database_version() -> str:
    from django.db import connection

    if connection.vendor == "postgresql":
        server = connection.cursor().connection.info.server_version
        return f"PostgreSQL {server // 10000}.{server % 10000}"
    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    return connection.vendor


def print_environment(title: str, where: str) -> None:
    from django import get_version
    from django.db import connection

    print()
    print(title)
    print(f"  database vendor : {connection.vendor} ({database_version()})")
    print(f"  throwaway       : {where}")
    print(f"  python / django : {platform.python_version()} / {get_version()}")
    print(f"  machine         : {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform(terse=True)}")
    print()


@contextmanager
def counted() -> Iterator[dict[str, Any]]:
    """Time a block and count the SQL statements it sends on the default connection.

    Counted with an execute wrapper, one per cursor execute()/executemany(): the same count
    CaptureQueriesContext gives, without its limit (connection.queries_log keeps only the last
    9,000) and without the debug cursor's cost (it re-quotes every parameter of a bulk insert on
    SQLite).
    """
    from django.db import connection

    out: dict[str, Any] = {"queries": 0}

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        out["queries"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        yield out
        out["seconds"] = time.perf_counter() - started


def repeat(action: Callable[[], Any], *, runs: int, warmups: int) -> list[float]:
    """Run `action` `warmups` times untimed, then `runs` times, returning each run's seconds."""
    for _ in range(warmups):
        action()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def queries_of(action: Callable[[], Any]) -> int:
    """How many SQL statements one run of `action` sends."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured.captured_queries)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc); 0 when it is gone or unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_of(parent: int) -> list[int]:
    """The processes whose parent is `parent` (gunicorn's workers, say)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError, IndexError, ValueError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
    return found
