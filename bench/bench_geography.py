"""Benchmark of the geography writes: the Iran division import and synthetic polling stations.

Runs against a THROWAWAY database and never touches real data:
  * PostgreSQL (DATABASE_URL=postgres://...): a fresh database named amanat_bench (or $BENCH_DB_NAME)
    is dropped and re-created on the same server, used, then dropped again;
  * otherwise SQLite in a temporary file, deleted at the end.

Usage (from the repository root):
    .venv/bin/python bench/bench_geography.py                                    # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/bench_geography.py

See bench/README.md for what each figure means.
"""

import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import dj_database_url  # noqa: E402  (importable without Django being set up)

STATIONS = 60_000
SEED = 1405
EXPECTED_DIVISIONS = 1_578  # 31 provinces + 448 counties + 1,099 districts
BENCH_DB_NAME = os.environ.get("BENCH_DB_NAME", "amanat_bench")


# --- the throwaway database -------------------------------------------------------------------


@dataclass
class Throwaway:
    """Where the benchmark writes, and how to remove it afterwards."""

    url: str
    describe: str
    drop: Callable[[], None]


def _postgres_throwaway(url: str) -> Throwaway:
    import psycopg
    from psycopg import sql

    params = dj_database_url.parse(url)
    if params["NAME"] == BENCH_DB_NAME:
        sys.exit(f"refusing to run: DATABASE_URL already names the bench database {BENCH_DB_NAME!r}")
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
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(BENCH_DB_NAME)) + force)

    drop()
    with maintenance() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB_NAME)))
    bench_url = urlsplit(url)._replace(path=f"/{BENCH_DB_NAME}").geturl()
    host = f"{params['HOST'] or 'local socket'}:{params['PORT'] or 5432}"
    return Throwaway(bench_url, f"PostgreSQL database {BENCH_DB_NAME!r} on {host} (dropped at the end)", drop)


def _sqlite_throwaway() -> Throwaway:
    directory = tempfile.mkdtemp(prefix="amanat-bench-")
    path = Path(directory) / "bench.sqlite3"
    return Throwaway(
        f"sqlite:///{path}",
        f"SQLite file {path} (deleted at the end)",
        lambda: shutil.rmtree(directory, ignore_errors=True),
    )


def throwaway_database() -> Throwaway:
    url = os.environ.get("DATABASE_URL", "")
    engine = dj_database_url.parse(url)["ENGINE"] if url else "django.db.backends.sqlite3"
    if "postgresql" in engine:
        return _postgres_throwaway(url)
    if "sqlite" in engine:
        return _sqlite_throwaway()  # a given SQLite file is never touched: always a temporary one
    sys.exit(f"unsupported database for the benchmark: {engine}")


# --- measuring --------------------------------------------------------------------------------


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


@dataclass
class Row:
    step: str
    rows: int
    seconds: float
    baseline_of: str = ""  # the step this row is the baseline for
    note: str = ""
    peak_mib: float = 0.0


@contextmanager
def timed(into: list[float]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    into.append(time.perf_counter() - started)


def run() -> list[Row]:
    from django.core.management import call_command
    from django.db import connection, transaction

    from amanat.geography.models import PollingStation
    from amanat.geography.services import geography_import, iran_division_rows, station_generate
    from amanat.scoping import unscoped

    results: list[Row] = []
    vendor = connection.vendor
    seconds: list[float] = []

    with timed(seconds):
        call_command("migrate", verbosity=0, interactive=False)
    results.append(Row("migrate (empty database)", 0, seconds[-1], peak_mib=peak_rss_mib()))

    # (a) the Iran division import, through the service the management command uses.
    with timed(seconds):
        divisions = iran_division_rows()
    results.append(
        Row("read Iran division rows (CSV in package)", len(divisions), seconds[-1], peak_mib=peak_rss_mib())
    )
    if len(divisions) != EXPECTED_DIVISIONS:
        print(f"warning: expected {EXPECTED_DIVISIONS} division rows, got {len(divisions)}")
    with timed(seconds):
        first = geography_import(actor=None, rows=divisions, source="bench")
    created = first.total("created")
    assert created == len(divisions), f"first import created {created} of {len(divisions)}"
    results.append(
        Row(
            "(a) import_geography iran: first run",
            len(divisions),
            seconds[-1],
            note=f"created {created}; validation, 3 tables, audit entry",
            peak_mib=peak_rss_mib(),
        )
    )

    # (b) baseline: the same rows by plain executemany into one scratch table of the same shape.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_division (id INTEGER PRIMARY KEY, level VARCHAR(10) NOT NULL, "
            "code VARCHAR(20) NOT NULL, name VARCHAR(200) NOT NULL, name_en VARCHAR(200) NOT NULL, "
            "parent_code VARCHAR(20) NOT NULL, UNIQUE (level, code))"
        )
    params = [
        (n, r.level, r.code, r.name, r.name_en, r.parent_code) for n, r in enumerate(divisions, start=1)
    ]
    with timed(seconds), transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO bench_division (id, level, code, name, name_en, parent_code) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            params,
        )
    results.append(
        Row(
            "(b) baseline: raw executemany, 1 table",
            len(params),
            seconds[-1],
            baseline_of="(a) import_geography iran: first run",
            peak_mib=peak_rss_mib(),
        )
    )

    # (c) the same import again: idempotent, nothing is created or updated.
    with timed(seconds):
        again = geography_import(actor=None, rows=divisions, source="bench")
    assert again.total("created") == 0 and again.total("updated") == 0, "second import changed data"
    results.append(
        Row(
            "(c) import_geography iran: second run",
            len(divisions),
            seconds[-1],
            note=f"created 0, updated 0, unchanged {again.total('unchanged')}",
            peak_mib=peak_rss_mib(),
        )
    )

    # (d) synthetic polling stations over every county.
    with timed(seconds):
        generated = station_generate(actor=None, total=STATIONS, seed=SEED)
    made = generated.created["stations"]
    assert made == STATIONS, f"station_generate created {made} of {STATIONS}"
    results.append(
        Row(
            f"(d) station_generate SYNTHETIC (seed {SEED})",
            made,
            seconds[-1],
            note="synthetic rows, bulk_create in batches of 5,000",
            peak_mib=peak_rss_mib(),
        )
    )

    # (e) baseline: the very same station rows written raw into a table of the same shape.
    with unscoped():
        station_rows = list(
            PollingStation.objects.order_by("id").values_list(
                "code",
                "name",
                "county_id",
                "district_id",
                "address",
                "latitude",
                "longitude",
                "is_mobile",
                "is_synthetic",
            )
        )
    columns = "code, name, county_id, district_id, address, latitude, longitude, is_mobile, is_synthetic"
    autoincrement = "BIGSERIAL" if vendor == "postgresql" else "INTEGER"
    table_ddl = (
        "CREATE TABLE {table} (id {autoincrement} PRIMARY KEY, code VARCHAR(30) NOT NULL UNIQUE, "
        "name VARCHAR(200) NOT NULL, county_id BIGINT NOT NULL REFERENCES geography_county (id), "
        "district_id BIGINT NULL REFERENCES geography_district (id), address VARCHAR(300) NOT NULL, "
        "latitude NUMERIC(9, 6) NULL CHECK (latitude IS NULL OR latitude BETWEEN -90 AND 90), "
        "longitude NUMERIC(9, 6) NULL CHECK (longitude IS NULL OR longitude BETWEEN -180 AND 180), "
        "is_mobile BOOLEAN NOT NULL, is_synthetic BOOLEAN NOT NULL)"
    )
    stations_step = f"(d) station_generate SYNTHETIC (seed {SEED})"
    with connection.cursor() as cursor:
        for table in ("bench_station_many", "bench_station_copy"):
            if table == "bench_station_copy" and vendor != "postgresql":
                continue
            cursor.execute(table_ddl.format(table=table, autoincrement=autoincrement))
            cursor.execute(f"CREATE INDEX {table}_county_code ON {table} (county_id, code)")
    with timed(seconds), transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO bench_station_many ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            station_rows,
        )
    results.append(
        Row(
            "(e) baseline: raw executemany, SYNTHETIC rows",
            len(station_rows),
            seconds[-1],
            baseline_of=stations_step,
            note="the rows were read back into a Python list first (in peak RSS, not in the time)",
            peak_mib=peak_rss_mib(),
        )
    )
    if vendor == "postgresql":
        with timed(seconds), transaction.atomic():
            raw = connection.connection.cursor()  # psycopg's own cursor, for COPY
            with raw.copy(f"COPY bench_station_copy ({columns}) FROM STDIN") as copy:
                for station in station_rows:
                    copy.write_row(station)
        results.append(
            Row(
                "(e) baseline: COPY FROM STDIN, SYNTHETIC rows",
                len(station_rows),
                seconds[-1],
                baseline_of=stations_step,
                peak_mib=peak_rss_mib(),
            )
        )
    with connection.cursor() as cursor:
        for table in ("bench_division", "bench_station_many", "bench_station_copy"):
            if table == "bench_station_copy" and vendor != "postgresql":
                continue
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            (count,) = cursor.fetchone()
            expected = len(params) if table == "bench_division" else len(station_rows)
            assert count == expected, f"{table} holds {count} rows, expected {expected}"
    return results


def print_report(results: list[Row], where: str) -> None:
    from django import get_version
    from django.db import connection

    if connection.vendor == "postgresql":
        server = connection.cursor().connection.info.server_version
        version = f"PostgreSQL {server // 10000}.{server % 10000}"
    else:
        import sqlite3

        version = f"SQLite {sqlite3.sqlite_version}"
    print()
    print("Amanat geography benchmark (one run; single-process timings, not averaged)")
    print(f"  database vendor : {connection.vendor} ({version})")
    print(f"  throwaway       : {where}")
    print(f"  python / django : {platform.python_version()} / {get_version()}")
    print(f"  machine         : {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform(terse=True)}")
    print()
    by_step = {row.step: row for row in results}
    header = f"{'step':<48} {'rows':>7} {'seconds':>9} {'rows/s':>10} {'× baseline':>11} {'peak RSS':>10}"
    print(header)
    print("-" * len(header))
    for row in results:
        rate = f"{row.rows / row.seconds:,.0f}" if row.rows and row.seconds else "-"
        ratio = "-"
        if row.baseline_of:
            measured = by_step[row.baseline_of]
            ratio = f"{measured.seconds / row.seconds:.1f}×" if row.seconds else "-"
        print(
            f"{row.step:<48} {row.rows:>7,} {row.seconds:>9.3f} {rate:>10} {ratio:>11} "
            f"{row.peak_mib:>7.1f} MiB"
        )
        if row.note:
            print(f"{'':<4}{row.note}")
    print()
    print("'× baseline' = the service's time divided by the raw baseline's: how many times slower")
    print("the service is than a bare insert of the same rows. Station rows are SYNTHETIC (is_synthetic,")
    print(
        f"codes SYN-<county>-<n>); peak RSS (ru_maxrss of this process) at the end: {peak_rss_mib():.1f} MiB."
    )


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amanat.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-insecure-key")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    target = throwaway_database()
    os.environ["DATABASE_URL"] = target.url  # read by settings at django.setup()
    try:
        import django

        django.setup()
        results = run()
        print_report(results, target.describe)
    finally:
        try:
            from django.db import connections

            connections.close_all()
        finally:
            target.drop()


if __name__ == "__main__":
    main()
