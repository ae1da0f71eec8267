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

import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for benchkit

from benchkit import peak_rss_mib, print_environment, run_on_throwaway, timed

STATIONS = 60_000
SEED = 1405
EXPECTED_DIVISIONS = 1_578  # 31 provinces + 448 counties + 1,099 districts


@dataclass
class Row:
    step: str
    rows: int
    seconds: float
    baseline_of: str = ""  # the step this row is the baseline for
    note: str = ""
    peak_mib: float = 0.0


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
    print_environment("Amanat geography benchmark (one run; single-process timings, not averaged)", where)
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
    run_on_throwaway(run, print_report)


if __name__ == "__main__":
    main()
