"""Benchmark of election day at national scale: live reports from 60,000 stations, and the national pages.

Runs against a THROWAWAY database and never touches real data (see bench/benchkit.py):
  * PostgreSQL (DATABASE_URL=postgres://...): a fresh database named amanat_bench_live (or
    $BENCH_DB_NAME) is dropped and re-created on the same server, used, then dropped again;
  * otherwise SQLite in a temporary file, deleted at the end.

Usage (from the repository root):
    .venv/bin/python bench/bench_live.py                                   # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/bench_live.py

It starts its own gunicorn (amanat.wsgi) on a free port of 127.0.0.1 against the throwaway database,
sends full national rounds of reports through POST /api/v1/readiness/live/reports, and stops it again.

Options (environment): BENCH_STATIONS (60000), BENCH_BATCH_SIZES ("500,1000"), BENCH_ORDERS ("area,mixed"),
BENCH_CLIENTS (4), BENCH_GUNICORN_WORKERS (2), BENCH_GUNICORN_THREADS (2), BENCH_SERVICE_BATCH (1000),
BENCH_PAGE_RUNS (20), BENCH_PAGE_WARMUPS (2).
See bench/README.md for what each figure means.
"""

import contextlib
import datetime as dt
import http.client
import json
import os
import queue
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for benchkit

from benchkit import (
    REPO_ROOT,
    children_of,
    counted,
    cpu_seconds,
    median,
    peak_rss_mib,
    percentile,
    print_environment,
    queries_of,
    run_on_throwaway,
)
from benchkit import repeat as benchkit_repeat

STATIONS = int(os.environ.get("BENCH_STATIONS", "60000"))
BATCH_SIZES = [int(n) for n in os.environ.get("BENCH_BATCH_SIZES", "500,1000").split(",") if n.strip()]
ORDERS = [o.strip() for o in os.environ.get("BENCH_ORDERS", "area,mixed").split(",") if o.strip()]
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS", "2"))
SERVICE_BATCH = int(os.environ.get("BENCH_SERVICE_BATCH", "1000"))
PAGE_RUNS = int(os.environ.get("BENCH_PAGE_RUNS", "20"))
PAGE_WARMUPS = int(os.environ.get("BENCH_PAGE_WARMUPS", "2"))
ROUND_TARGET_S = 10.0  # one full national round, aggregates included, on PostgreSQL
PAGE_TARGET_MS = 200.0  # the national readiness and live pages' median, on PostgreSQL
SEED = 1405
SYNTHETIC = "SYNTHETIC"  # prefix of every bench event's name; stations are synthetic (SYN-...)
PASSWORD = "bench-only-password-1405"
ENDPOINT = "/api/v1/readiness/live/reports"
PAUSE_REASON = f"{SYNTHETIC}: قطعی برق شعبه"  # a power cut at the station
# What fraction of the stations says what in the round that gives the pages a realistic day.
DAY_SPREAD = (("operating", 0.955), ("paused", 0.02), ("closed", 0.005))  # the rest (2%) fall silent


# --- results ----------------------------------------------------------------------------------


@dataclass
class Step:
    """A one-shot operation: timed once, with the SQL statements it ran."""

    name: str
    seconds: float
    queries: int | None = None
    rows: int = 0
    note: str = ""


@dataclass
class Round:
    """One full national round of reports: every station once, in batches, from one or more clients."""

    name: str
    via: str  # "HTTP" (gunicorn) or "service" (live_updates_apply in this process)
    batch: int
    order: str
    clients: int
    seconds: float  # wall clock, from the first request sent to the last answer read
    sent: int
    accepted: int
    latencies: list[float]  # per request (HTTP) or per call (service), seconds
    statuses: Counter[int] = field(default_factory=Counter)
    queries: int | None = None
    kind: str = "opened"  # "opened" (first report of the day) or "heartbeat"
    note: str = ""
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds used in the round (HTTP), by part

    @property
    def per_second(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 0.50) * 1000 if self.latencies else 0.0

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 0.99) * 1000 if self.latencies else 0.0

    @property
    def server_cpu(self) -> float:
        """CPU seconds gunicorn and PostgreSQL used in the round (0 when not measured)."""
        return self.cpu.get("gunicorn", 0.0) + self.cpu.get("PostgreSQL", 0.0)


@dataclass
class Latency:
    """A repeated read: several timed runs after warm-ups."""

    name: str
    samples: list[float]
    queries: int | None
    note: str = ""
    compare_with: str = ""  # the name of the latency this one is divided by in the ratio column
    target: bool = False  # a page the target applies to

    @property
    def median_ms(self) -> float:
        return median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        return percentile(self.samples, 0.95) * 1000


@dataclass
class Results:
    steps: list[Step] = field(default_factory=list)
    rounds: list[Round] = field(default_factory=list)
    baselines: dict[str, Step] = field(default_factory=dict)  # "insert" and "heartbeat"
    latencies: list[Latency] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # printed loudly at the end
    stations: int = 0
    http_measured: bool = False
    settle_seconds: list[float] = field(default_factory=list)  # VACUUM (ANALYZE) before each round


def repeat(action: Callable[[], Any], *, runs: int = PAGE_RUNS, warmups: int = PAGE_WARMUPS) -> list[float]:
    return benchkit_repeat(action, runs=runs, warmups=warmups)


def progress(message: str) -> None:
    """A line on stderr as the run goes (the report comes at the end, on stdout)."""
    print(f"[bench_live {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def short(answer: bytes, limit: int = 160) -> str:
    """An error answer on one line: JSON as it is, an HTML page by its title."""
    text = answer.decode(errors="replace")
    if "<title>" in text:
        text = text.split("<title>", 1)[1].split("</title>", 1)[0]
    return " ".join(text.split())[:limit]


# --- set-up -----------------------------------------------------------------------------------


@dataclass
class World:
    admin: Any
    device: Any  # a national member: EDIT everywhere, as a national gateway for the stations' devices
    national: Any  # a national viewer: reads the pages
    token: str  # the device's API key
    event: Any  # voting today; the pages read it (the current event)
    today: dt.date
    stations: list[tuple[str, int, int, int]]  # (code, pk, county_id, province_id), by code
    spare_events: list[Any] = field(default_factory=list)  # one per extra round variant, retired after
    day_sent: bool = False  # the round of status changes for the pages has run (over HTTP)


def set_up(results: Results) -> World:
    from django.core.management import call_command
    from django.utils import timezone

    from amanat.accounts.models import User
    from amanat.accounts.services import api_token_create, user_create
    from amanat.elections.services import election_event_create
    from amanat.geography.models import County, PollingStation, Province
    from amanat.geography.services import geography_import, iran_division_rows, station_generate
    from amanat.scoping import unscoped

    with counted() as took:
        call_command("migrate", verbosity=0, interactive=False)
    results.steps.append(Step("set-up: migrate (empty database)", took["seconds"]))

    with counted() as took:
        geography_import(actor=None, rows=iran_division_rows(), source="bench")
    with unscoped():
        counties, provinces = County.objects.count(), Province.objects.count()
    results.steps.append(
        Step(
            "set-up: import Iran's geography",
            took["seconds"],
            took["queries"],
            note=f"{provinces} provinces, {counties} counties",
        )
    )

    with counted() as took:
        generated = station_generate(actor=None, total=STATIONS, seed=SEED)
    results.steps.append(
        Step(
            f"set-up: {STATIONS:,} synthetic stations",
            took["seconds"],
            took["queries"],
            rows=generated.total("created"),
            note="station_generate (flagged is_synthetic, codes SYN-<county>-<n>)",
        )
    )
    with unscoped():
        stations = list(
            PollingStation.objects.order_by("code").values_list(
                "code", "pk", "county_id", "county__province_id"
            )
        )
    results.stations = len(stations)

    today = timezone.localdate()
    with counted() as took:
        admin = User.objects.create_superuser(username="bench-admin", password=PASSWORD, role="administrator")
        event = election_event_create(
            actor=admin,
            name=f"{SYNTHETIC} انتخابات تمام‌الکترونیکی (bench)",
            voting_day=today,
            opens_on=today - dt.timedelta(days=120),
        )
        device = user_create(
            actor=admin, username="bench-device-gateway", password=PASSWORD, role="member", organisation=None
        )
        _token, key = api_token_create(actor=device, name="bench: national device gateway")
        national = user_create(
            actor=admin, username="bench-national-viewer", password=PASSWORD, role="viewer", organisation=None
        )
    results.steps.append(
        Step(
            "set-up: superuser, event, device user + token, viewer",
            took["seconds"],
            took["queries"],
            note="event voting TODAY; a national member (EDIT) sends the reports with a Bearer token",
        )
    )
    return World(
        admin=admin, device=device, national=national, token=key, event=event, today=today, stations=stations
    )


def spare_event(world: World, label: str) -> Any:
    """Another event voting today, so that every round variant starts the day from scratch."""
    from amanat.elections.services import election_event_create

    event = election_event_create(
        actor=world.admin,
        name=f"{SYNTHETIC} bench round variant {len(world.spare_events) + 1}: {label}",
        voting_day=world.today,
        opens_on=world.today - dt.timedelta(days=120),
    )
    world.spare_events.append(event)
    return event


def retire_spare_events(world: World) -> None:
    """Move the variants' events to yesterday: the silence check and the pages then see one event."""
    from amanat.elections.models import ElectionEvent
    from amanat.elections.selectors import election_calendar_forget

    yesterday = world.today - dt.timedelta(days=1)
    ElectionEvent.objects.filter(pk__in=[e.pk for e in world.spare_events]).update(
        voting_day=yesterday, voting_ends_on=yesterday
    )
    election_calendar_forget()  # benchmark data written directly: the pages must see the move


# --- the reports ------------------------------------------------------------------------------


def round_reports(
    world: World, *, status: str | None, base: dt.datetime, order: str, rng: random.Random
) -> list[tuple[str, dt.datetime, str | None]]:
    """Every station once: (code, at, status), `at` within a minute of `base` (device clocks differ).

    order "area": in station-code order, so each batch holds one or a few counties (a gateway per
    area); "mixed": shuffled, so each batch holds stations from all over the country.
    """
    reports = [(code, base + dt.timedelta(seconds=rng.uniform(0, 50)), status) for code, *_ in world.stations]
    if order == "mixed":
        rng.shuffle(reports)
    elif order != "area":
        sys.exit(f"unknown order {order!r}: use area or mixed")
    return reports


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def service_round(
    world: World,
    event: Any,
    reports: list[tuple[str, dt.datetime, str | None]],
    *,
    name: str,
    batch: int,
    order: str,
    kind: str,
) -> Round:
    """The same round through `live_updates_apply` directly, one batch per call, in this process."""
    from amanat.readiness.services import LiveEntry, live_updates_apply

    batches = [
        [
            LiveEntry(
                station_code=code, at=at, status=status, reason=PAUSE_REASON if status == "paused" else ""
            )
            for code, at, status in part
        ]
        for part in chunks(reports, batch)
    ]
    latencies: list[float] = []
    accepted = 0
    with counted() as took:
        for entries in batches:
            started = time.perf_counter()
            result = live_updates_apply(actor=world.device, event=event, entries=entries)
            latencies.append(time.perf_counter() - started)
            accepted += result.accepted
    done = Round(
        name,
        "service",
        batch,
        order,
        1,
        took["seconds"],
        len(reports),
        accepted,
        latencies,
        queries=took["queries"],
        kind=kind,
    )
    progress(f"{name}, batch {batch}, {order}: {done.seconds:.1f} s, {accepted:,}/{len(reports):,} accepted")
    return done


# --- gunicorn ---------------------------------------------------------------------------------


class Server:
    """gunicorn serving amanat.wsgi on 127.0.0.1 against the throwaway database; stopped by `stop()`."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        # Open for gunicorn's whole life (closed and deleted by stop()).
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="amanat-bench-gunicorn-", suffix=".log", delete=False
        )
        env = dict(os.environ)  # DATABASE_URL already names the throwaway database
        env.update(
            {
                "DEBUG": "false",
                "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-insecure-key"),
                "ALLOWED_HOSTS": "127.0.0.1",
                "LOGIN_THROTTLING": "false",
                "LOG_LEVEL": "ERROR",
                "AMANAT_PLAIN_STATIC": "true",
            }
        )
        self.command = [
            str(REPO_ROOT / ".venv" / "bin" / "gunicorn"),
            "amanat.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(WORKERS),
            "--worker-class",
            "gthread",
            "--threads",
            str(THREADS),
            "--keep-alive",
            "30",
            "--timeout",
            "120",
            "--log-level",
            "warning",
            "--chdir",
            str(REPO_ROOT),
        ]
        self.process = subprocess.Popen(
            self.command, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO_ROOT
        )

    def describe(self) -> str:
        return f"gunicorn, {WORKERS} workers x {THREADS} threads (gthread), keep-alive, 127.0.0.1:{self.port}"

    def wait_ready(self, token: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                status, _body = self.request("GET", "/api/v1/me", token)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def request(self, method: str, path: str, token: str, body: bytes | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers_for(token))
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def errors_logged(self) -> Counter[str]:
        """The exceptions in gunicorn's log (the last line of each traceback), counted."""
        self.log.flush()
        found: Counter[str] = Counter()
        for line in Path(self.log.name).read_text(errors="replace").splitlines():
            head = line.split(":", 1)[0]
            if head and " " not in head and (head.endswith("Error") or head.endswith("Exception")):
                found[line.strip()[:160]] += 1
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # our own child: gunicorn stops its workers gracefully
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def backends_of(database: str) -> list[int]:
    """The PostgreSQL backends serving a database on this machine (by their process title)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if title.startswith("postgres: ") and f" {database} " in title:
                    found.append(int(entry.name))
    return found


class CpuMeter:
    """CPU seconds used during a round by gunicorn (its processes), the throwaway database's backends
    and this process (the load generator). Unlike the wall time, it hardly depends on how busy the
    shared machine is: (gunicorn + PostgreSQL) / 2 is what the round would take on two dedicated cores.

    The processes are sampled every 0.2 s, so that a backend whose connection closes during the round
    (connections are recycled) still counts, to within a sample."""

    def __init__(self, app_pid: int) -> None:
        from django.db import connection

        self.app_pid = app_pid
        self.database = str(connection.settings_dict["NAME"]) if connection.vendor == "postgresql" else ""
        self.start: dict[str, dict[int, float]] = {}
        self.last: dict[str, dict[int, float]] = {}
        self.done = threading.Event()
        self.sampler = threading.Thread(target=self.sample, daemon=True)

    def read(self) -> dict[str, dict[int, float]]:
        backends = backends_of(self.database) if self.database else []
        return {
            "gunicorn": {pid: cpu_seconds(pid) for pid in [self.app_pid, *children_of(self.app_pid)]},
            "PostgreSQL": {pid: cpu_seconds(pid) for pid in backends},
            "load generator": {0: time.process_time()},
        }

    def keep(self, reading: dict[str, dict[int, float]]) -> None:
        for part, values in reading.items():
            seen = self.last.setdefault(part, {})
            for pid, seconds in values.items():
                seen[pid] = max(seconds, seen.get(pid, 0.0))

    def sample(self) -> None:
        while not self.done.wait(0.2):
            self.keep(self.read())

    def begin(self) -> None:
        self.start = self.read()
        self.sampler.start()

    def used(self) -> dict[str, float]:
        self.done.set()
        self.sampler.join()
        self.keep(self.read())
        return {
            part: sum(max(0.0, value - self.start[part].get(pid, 0.0)) for pid, value in last.items())
            for part, last in self.last.items()
        }


def headers_for(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Host": "127.0.0.1",
    }


def endpoint_state(server: Server, token: str) -> tuple[bool, str]:
    """Whether the batch endpoint is in the served OpenAPI document."""
    status, body = server.request("GET", "/api/v1/openapi.json", token)
    if status != 200:
        return False, f"GET /api/v1/openapi.json answered {status}"
    paths = json.loads(body).get("paths", {})
    if ENDPOINT in paths or ENDPOINT + "/" in paths:
        return True, ENDPOINT
    live = sorted(p for p in paths if "/readiness/" in p)
    return False, f"{ENDPOINT} is not in the OpenAPI document (readiness paths: {live or 'none'})"


def accepted_of(status: int, body: bytes, sent: int) -> int:
    """How many reports of one request the server took, read from its JSON answer."""
    try:
        payload = json.loads(body)
    except ValueError:
        return 0
    if isinstance(payload, dict):
        if isinstance(payload.get("accepted"), int):
            return int(payload["accepted"])
        errors = payload.get("errors", payload.get("detail"))
        if 200 <= status < 300:
            return sent - (len(errors) if isinstance(errors, list | dict) else 0)
    return sent if 200 <= status < 300 else 0


def http_round(
    server: Server,
    token: str,
    event: Any,
    reports: list[tuple[str, dt.datetime, str | None]],
    *,
    name: str,
    batch: int,
    order: str,
    kind: str,
    clients: int = CLIENTS,
) -> Round:
    """POST every batch once, from `clients` threads each holding one keep-alive connection."""
    bodies = []
    for part in chunks(reports, batch):
        entries = []
        for code, at, status in part:
            entry: dict[str, Any] = {"station_code": code, "at": at.isoformat()}
            if status is not None:
                entry["status"] = status
                if status == "paused":
                    entry["reason"] = PAUSE_REASON
            entries.append(entry)
        bodies.append((len(part), json.dumps({"event_id": event.pk, "reports": entries}).encode()))
    work: queue.Queue[tuple[int, bytes]] = queue.Queue()
    for item in bodies:
        work.put(item)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    accepted = [0]
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        with contextlib.suppress(OSError):  # else the first request connects (and fails there, counted)
            conn.connect()  # before the clock starts
        start.wait()
        while True:
            try:
                sent, body = work.get_nowait()
            except queue.Empty:
                break
            began = time.perf_counter()
            for attempt in (1, 2):
                try:
                    conn.request("POST", ENDPOINT, body=body, headers=headers_for(token))
                    response = conn.getresponse()
                    answer = response.read()
                    break
                except (http.client.HTTPException, OSError) as exc:
                    conn.close()  # the server closed the connection: reconnect and send it again, once
                    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
                    if attempt == 2:
                        with lock:
                            failures.append(f"{type(exc).__name__}: {exc}")
                        response, answer = None, b""
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                if response is None:
                    statuses[0] += 1
                    continue
                statuses[response.status] += 1
                accepted[0] += accepted_of(response.status, answer, sent)
                if response.status >= 300:
                    failures.append(f"{response.status}: {short(answer)}")
        conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    meter = CpuMeter(server.process.pid)
    meter.begin()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    cpu = meter.used()
    seen = Counter(failures)
    note = "; ".join(f"{n}x {failure}" for failure, n in seen.most_common(3))
    done = Round(
        name,
        "HTTP",
        batch,
        order,
        clients,
        seconds,
        len(reports),
        accepted[0],
        latencies,
        statuses=statuses,
        kind=kind,
        note=note,
        cpu=cpu,
    )
    progress(
        f"{name}, batch {batch}, {order}: {seconds:.1f} s, {accepted[0]:,}/{len(reports):,} accepted; "
        f"CPU: gunicorn {cpu['gunicorn']:.1f} s, PostgreSQL {cpu['PostgreSQL']:.1f} s"
    )
    return done


# --- exactness --------------------------------------------------------------------------------


def live_exactness(event: Any) -> tuple[dict[str, int], bool, int]:
    """The kept tallies' totals, whether they equal a recount county by county, and stations with a row."""
    from django.db.models import Count, Sum

    from amanat.readiness.models import LiveTally, StationLive
    from amanat.scoping import unscoped

    columns = ("opened", "operating", "paused", "closed", "unreachable")
    with unscoped():
        kept = {
            row["county_id"]: {c: row[c] for c in columns}
            for row in LiveTally.objects.filter(event=event).values("county_id", *columns)
        }
        recount: dict[int, dict[str, int]] = {}
        for row in (
            StationLive.objects.filter(event=event)
            .values("county_id", "status")
            .annotate(n=Count("pk"))
            .order_by()
        ):
            if row["status"] in columns:
                recount.setdefault(row["county_id"], dict.fromkeys(columns, 0))[row["status"]] = row["n"]
        for row in (
            StationLive.objects.filter(event=event, unreachable_since__isnull=False)
            .values("county_id")
            .annotate(n=Count("pk"))
            .order_by()
        ):
            recount.setdefault(row["county_id"], dict.fromkeys(columns, 0))["unreachable"] = row["n"]
        rows = StationLive.objects.filter(event=event).count()
        totals = LiveTally.objects.filter(event=event).aggregate(**{c: Sum(c) for c in columns})
    zero = dict.fromkeys(columns, 0)
    equal = all(kept.get(c, zero) == recount.get(c, zero) for c in set(kept) | set(recount))
    return {c: totals[c] or 0 for c in columns}, equal, rows


def record_exactness(results: Results, event: Any, label: str, *, opened: int | None = None) -> None:
    totals, equal, rows = live_exactness(event)
    ok = equal and (opened is None or (totals["opened"] == opened and rows == opened))
    summary = ", ".join(f"{name} {value:,}" for name, value in totals.items() if value)
    line = (
        f"exactness after {label}: LiveTally totals {summary or 'all zero'}; "
        f"{rows:,} stations with a live row; "
        f"equal to a recount county by county: {'YES' if equal else 'NO'}"
    )
    if opened is not None:
        line += f"; opened = {opened:,} expected: {'YES' if totals['opened'] == opened else 'NO'}"
    results.facts.append(line)
    if not equal:
        results.problems.append(f"TALLIES NOT EXACT after {label}: kept {summary} differ from a recount")
    elif not ok:
        results.problems.append(
            f"after {label}: {totals['opened']:,} stations opened, {opened:,} expected (the tallies are "
            "exact: the missing ones are the reports of requests that failed, rolled back whole)"
        )


# --- the raw baseline -------------------------------------------------------------------------


SCRATCH = "bench_scratch_stationlive"
LIVE_COLUMNS = (
    "event_id",
    "station_id",
    "province_id",
    "county_id",
    "status",
    "reason",
    "status_at",
    "last_seen_at",
)


def create_scratch_table() -> str:
    """A table shaped like readiness_stationlive: same columns, constraints, indexes and foreign keys."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TABLE {SCRATCH} (LIKE readiness_stationlive INCLUDING ALL)")
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'readiness_stationlive'::regclass AND contype = 'f'"
            )
            for number, (_name, definition) in enumerate(cursor.fetchall()):
                cursor.execute(f"ALTER TABLE {SCRATCH} ADD CONSTRAINT {SCRATCH}_fk{number} {definition}")
            return "psycopg COPY ... FROM STDIN"
        cursor.execute(
            "SELECT type, name, sql FROM sqlite_master "
            "WHERE tbl_name = 'readiness_stationlive' AND sql IS NOT NULL"
        )
        statements = cursor.fetchall()
        for kind, name, sql in sorted(statements, key=lambda s: s[0] != "table"):
            sql = sql.replace('"readiness_stationlive"', f'"{SCRATCH}"', 1)
            if kind == "index":
                sql = sql.replace(f'"{name}"', f'"{SCRATCH}_{name}"', 1)
            cursor.execute(sql)
    return "executemany (SQLite has no COPY)"


def raw_baselines(world: World, results: Results) -> None:
    """The same 60,000 rows written raw: inserted as the first round does, then a heartbeat's update."""
    from django.db import connection, transaction
    from django.utils import timezone

    how = create_scratch_table()
    at = timezone.now() - dt.timedelta(minutes=30)
    rows = [
        (world.event.pk, pk, province_id, county_id, "opened", "", at, at)
        for _code, pk, county_id, province_id in world.stations
    ]
    columns = ", ".join(LIVE_COLUMNS)
    later = at + dt.timedelta(minutes=10)

    def insert(table: str) -> dict[str, Any]:
        with counted() as took, transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(LIVE_COLUMNS))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
        return took

    took = insert(SCRATCH)
    results.baselines["insert"] = Step(
        f"baseline: {len(rows):,} rows inserted raw",
        took["seconds"],
        took["queries"],
        rows=len(rows),
        note=f"{how} into a scratch table shaped like readiness_stationlive (constraints, indexes, "
        "foreign keys), one transaction: the figure the rounds are divided by",
    )
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {SCRATCH}_bare AS SELECT * FROM readiness_stationlive WHERE 1 = 0")
    took = insert(f"{SCRATCH}_bare")
    results.baselines["insert-bare"] = Step(
        f"baseline: {len(rows):,} rows inserted raw, bare table",
        took["seconds"],
        took["queries"],
        rows=len(rows),
        note="the same into a table with the columns only (no index, constraint or foreign key): the ceiling",
    )
    updates = [(later, world.event.pk, pk) for _code, pk, *_ in world.stations]
    with counted() as took, transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE TEMP TABLE bench_heartbeat (station_id bigint, at timestamptz) ON COMMIT DROP"
            )
            with cursor.cursor.copy("COPY bench_heartbeat (station_id, at) FROM STDIN") as copy:
                for at_, _event, pk in updates:
                    copy.write_row((pk, at_))
            cursor.execute(
                f"UPDATE {SCRATCH} s SET last_seen_at = h.at FROM bench_heartbeat h "
                "WHERE s.event_id = %s AND s.station_id = h.station_id",
                [world.event.pk],
            )
            how_update = "COPY into a temporary table + one UPDATE ... FROM"
        else:
            cursor.executemany(
                f"UPDATE {SCRATCH} SET last_seen_at = %s WHERE event_id = %s AND station_id = %s", updates
            )
            how_update = "executemany UPDATE by (event, station)"
    results.baselines["heartbeat"] = Step(
        f"baseline: {len(rows):,} heartbeats written raw",
        took["seconds"],
        took["queries"],
        rows=len(rows),
        note=f"{how_update}: last_seen_at of every row, one transaction",
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {SCRATCH}")
        cursor.execute(f"DROP TABLE {SCRATCH}_bare")


# --- 1. the rounds ----------------------------------------------------------------------------


LIVE_TABLES = ("readiness_stationlive", "readiness_liveevent", "readiness_livetally")
SET_UP_TABLES = (
    "geography_province",
    "geography_county",
    "geography_pollingstation",
    "elections_electionevent",
)


def autovacuum_state() -> str:
    """The server's `autovacuum` setting ("on", "off"), or "" on SQLite."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        return str(cursor.fetchone()[0])


def settle(results: Results) -> None:
    """Before a round (untimed): VACUUM and ANALYZE the live tables, as autovacuum does between rounds.

    The earlier rounds' dead row versions and a new event's rows unknown to the statistics would
    otherwise weigh on each round more than the one before, on a server that runs no autovacuum
    (a test server may have it off; a production server has it on).
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with counted() as took, connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(LIVE_TABLES)}")
    results.settle_seconds.append(took["seconds"])


def measure_service_rounds(world: World, results: Results) -> None:
    from django.utils import timezone

    rng = random.Random(SEED)
    for order in ORDERS:
        event = spare_event(world, f"service, batch {SERVICE_BATCH}, {order}")
        base = timezone.now() - dt.timedelta(minutes=30)
        for kind, status, at in (
            ("opened", "opened", base),
            ("heartbeat", None, base + dt.timedelta(minutes=10)),
        ):
            reports = round_reports(world, status=status, base=at, order=order, rng=rng)
            settle(results)
            results.rounds.append(
                service_round(
                    world,
                    event,
                    reports,
                    name=f"{kind}: live_updates_apply",
                    batch=SERVICE_BATCH,
                    order=order,
                    kind=kind,
                )
            )
        record_exactness(results, event, f"the service rounds ({order})", opened=results.stations)


def measure_http_rounds(world: World, results: Results) -> None:
    from django.db import connections
    from django.utils import timezone

    connections.close_all()  # SQLite: no lock held by this process while gunicorn writes
    server = Server()
    try:
        server.wait_ready(world.token)
        present, why = endpoint_state(server, world.token)
        results.facts.append(
            f"server: {server.describe()}; {CLIENTS} client threads (http.client, keep-alive)"
        )
        if not present:
            results.problems.append(f"THE BATCH ENDPOINT WAS NOT MEASURED: {why}")
            return
        results.http_measured = True
        for _ in range(WORKERS * THREADS * 2):  # warm each worker's URL resolver, auth and connection
            server.request("GET", "/api/v1/me", world.token)
        rng = random.Random(SEED + 1)
        first = True
        for batch in BATCH_SIZES:
            for order in ORDERS:
                # The first variant uses the pages' event: its day is completed for the pages below.
                event = world.event if first else spare_event(world, f"HTTP, batch {batch}, {order}")
                first = False
                base = timezone.now() - dt.timedelta(minutes=30)
                for kind, status, at in (
                    ("opened", "opened", base),
                    ("heartbeat", None, base + dt.timedelta(minutes=10)),
                ):
                    reports = round_reports(world, status=status, base=at, order=order, rng=rng)
                    settle(results)
                    results.rounds.append(
                        http_round(
                            server,
                            world.token,
                            event,
                            reports,
                            name=f"{kind}: POST {ENDPOINT}",
                            batch=batch,
                            order=order,
                            kind=kind,
                        )
                    )
                record_exactness(
                    results, event, f"the HTTP rounds (batch {batch}, {order})", opened=results.stations
                )
        # The day goes on for the pages' event: most stations start operating, some pause or close.
        reports, said = day_reports(world, timezone.now())
        settle(results)
        results.rounds.append(
            http_round(
                server,
                world.token,
                world.event,
                reports,
                name=f"status: POST {ENDPOINT}",
                batch=BATCH_SIZES[-1],
                order="area",
                kind="status",
            )
        )
        world.day_sent = True
        results.facts.append(day_fact(said))
        logged = server.errors_logged()
        if logged:
            results.problems.append(
                "gunicorn logged errors: " + "; ".join(f"{n}x {line}" for line, n in logged.most_common(5))
            )
    finally:
        server.stop()


# --- a realistic day for the pages ------------------------------------------------------------


def day_reports(
    world: World, now: dt.datetime
) -> tuple[list[tuple[str, dt.datetime, str | None]], Counter[str]]:
    """The day goes on: 95.5% of the stations report operating, 2% paused, 0.5% closed; 2% fall silent."""
    rng = random.Random(SEED + 3)
    reports: list[tuple[str, dt.datetime, str | None]] = []
    said: Counter[str] = Counter()
    for code, *_ in world.stations:
        roll = rng.random()
        for status, share in DAY_SPREAD:
            if roll < share:
                reports.append((code, now - dt.timedelta(seconds=rng.uniform(30, 90)), status))
                said[status] += 1
                break
            roll -= share
        else:
            said["silent"] += 1
    return reports, said


def day_fact(said: Counter[str]) -> str:
    return "the status round (the pages' event): " + ", ".join(f"{k} {v:,}" for k, v in sorted(said.items()))


def complete_the_day(world: World, results: Results) -> None:
    """Most stations operating, some paused or closed, 2% silent and marked unreachable by the job."""
    from django.utils import timezone

    from amanat.readiness.models import StationLive
    from amanat.readiness.services import LiveEntry, live_updates_apply, stations_mark_unreachable
    from amanat.scoping import unscoped

    retire_spare_events(world)
    with unscoped():
        opened = StationLive.objects.filter(event=world.event).exists()
    if not opened:
        # No HTTP rounds ran: open the day through the service (set-up, not timed).
        rng = random.Random(SEED + 2)
        base = timezone.now() - dt.timedelta(minutes=30)
        for status, at in (("opened", base), (None, base + dt.timedelta(minutes=10))):
            for part in chunks(round_reports(world, status=status, base=at, order="area", rng=rng), 1000):
                live_updates_apply(
                    actor=world.device,
                    event=world.event,
                    entries=[LiveEntry(station_code=c, at=a, status=s) for c, a, s in part],
                )
    if not world.day_sent:
        reports, said = day_reports(world, timezone.now())
        settle(results)
        results.rounds.append(
            service_round(
                world,
                world.event,
                reports,
                name="status: live_updates_apply",
                batch=SERVICE_BATCH,
                order="area",
                kind="status",
            )
        )
        results.facts.append(day_fact(said))
    now = timezone.now()
    with counted() as took:
        marked = stations_mark_unreachable(now=now)
    results.steps.append(
        Step(
            "stations_mark_unreachable (the every-minute job)",
            took["seconds"],
            took["queries"],
            rows=marked,
            note=f"{marked:,} stations silent for over the interval marked unreachable "
            "(timeline + tallies + audit)",
        )
    )
    with counted() as took:
        again = stations_mark_unreachable(now=now)
    results.steps.append(
        Step(
            "stations_mark_unreachable, again (nothing new)",
            took["seconds"],
            took["queries"],
            rows=again,
            note="the job's cost on a quiet minute: the partial index on watched stations",
        )
    )
    record_exactness(results, world.event, "the day's status changes and the silence check")


def create_readiness(world: World, results: Results) -> None:
    """The default checklist, and a spread of SYNTHETIC station states (bulk_create), then the tallies."""
    from django.utils import timezone

    from amanat.readiness.models import ItemStatus, ReadinessItem, StationReadiness
    from amanat.readiness.services import readiness_items_create_defaults, readiness_tallies_recount
    from amanat.scoping import unscoped

    with counted() as took:
        items = readiness_items_create_defaults(actor=world.admin, event=world.event, due_on=world.today)
    results.steps.append(
        Step(
            "readiness_items_create_defaults",
            took["seconds"],
            took["queries"],
            rows=len(items),
            note="the default checklist, due on voting day; the first item counts each county's stations",
        )
    )
    rng = random.Random(SEED + 4)
    # Items differ (the line is nearly everywhere, accessibility lags), and so do counties.
    item_pace = dict(
        zip(
            [item.pk for item in ReadinessItem.objects.filter(event=world.event)],
            (0.97, 0.9, 0.6, 0.95, 0.85, 0.7, 0.65, 0.55),
            strict=False,
        )
    )
    county_pace = {county_id: rng.uniform(0.55, 1.0) for _c, _pk, county_id, _p in world.stations}
    now = timezone.now()
    by_status: Counter[str] = Counter()
    written = 0
    with counted() as took, unscoped():
        for item_id, pace in item_pace.items():
            rows = []
            for _code, pk, county_id, province_id in world.stations:
                done = pace * county_pace[county_id]
                roll = rng.random()
                if roll < done:
                    status = ItemStatus.DONE
                elif roll < done + 0.02:
                    status = ItemStatus.FAILED
                elif roll < done + 0.02 + (1 - done) * 0.5:
                    status = ItemStatus.IN_PROGRESS
                else:
                    by_status[ItemStatus.NOT_STARTED] += 1
                    continue  # no row: not started
                by_status[status] += 1
                verified = status == ItemStatus.DONE
                rows.append(
                    StationReadiness(
                        item_id=item_id,
                        station_id=pk,
                        province_id=province_id,
                        county_id=county_id,
                        status=status,
                        verified_by=world.admin if verified else None,
                        verified_at=now if verified else None,
                        evidence=f"{SYNTHETIC} bench" if verified else "",
                        updated_at=now,
                    )
                )
            StationReadiness.objects.bulk_create(rows, batch_size=5000)
            written += len(rows)
    results.steps.append(
        Step(
            f"set-up: {SYNTHETIC} station readiness (bulk_create)",
            took["seconds"],
            took["queries"],
            rows=written,
            note="benchmark data, no service call: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(by_status.items())),
        )
    )
    with counted() as took:
        tallies = readiness_tallies_recount(event=world.event)
    results.steps.append(
        Step(
            "readiness_tallies_recount",
            took["seconds"],
            took["queries"],
            rows=tallies,
            note="builds the per-county, per-item tallies the roll-ups read (from the rows just written)",
        )
    )


# --- 2. the pages -----------------------------------------------------------------------------


def measure_pages(world: World, results: Results) -> None:
    from django.conf import settings
    from django.core.paginator import Paginator
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from amanat.readiness.selectors import (
        live_by_area_for,
        live_counts_for,
        live_timeline_for,
        live_unreachable_for,
        readiness_rollup_for,
    )

    user, event = world.national, world.event
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    def readiness_selectors() -> int:
        rollup = readiness_rollup_for(user=user, event=event)
        return len(rollup.areas) + sum(area.overall.done for area in rollup.areas)

    def live_selectors() -> int:
        counts = live_counts_for(user=user, event=event)
        areas = live_by_area_for(user=user, event=event)
        silent = Paginator(live_unreachable_for(user=user, event=event), settings.PAGE_SIZE).get_page(1)
        rows = [(row.station.code, row.county.name, row.last_seen_at) for row in silent.object_list]
        timeline = [
            (e.station.code, e.county.name, e.at) for e in live_timeline_for(user=user, event=event)[:50]
        ]
        return counts.stations + len(areas) + len(rows) + silent.paginator.count + len(timeline)

    readiness_sel = "selectors: readiness_rollup_for (national)"
    live_sel = "selectors: live counts, by area, unreachable p.1, timeline 50"
    results.latencies.append(
        Latency(
            readiness_sel,
            repeat(readiness_selectors),
            queries_of(readiness_selectors),
            note="31 provinces x 8 items from the tallies and station counts",
        )
    )
    results.latencies.append(
        Latency(
            live_sel,
            repeat(live_selectors),
            queries_of(live_selectors),
            note="what a live page needs: counts, per province, the first page of unreachable "
            "stations, the timeline",
        )
    )

    pages = (
        ("readiness PAGE, national (readiness:home)", "readiness:home", {}, readiness_sel),
        ("live PAGE, national (readiness:live)", "readiness:live", {}, live_sel),
        (
            "live panel, htmx poll (readiness:live-panel)",
            "readiness:live-panel",
            {"HX-Request": "true"},
            live_sel,
        ),
    )
    for name, url_name, headers, selector in pages:
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            results.problems.append(
                f"{url_name} IS NOT BUILT (no such URL name): the selectors stand in for it"
            )
            continue
        response = client.get(url, headers=headers)
        if response.status_code != 200:
            results.problems.append(
                f"{url_name} ({url}) ANSWERED {response.status_code}: not measured, "
                "the selectors stand in for it"
            )
            continue

        def action(url: str = url, headers: dict[str, str] = headers) -> Any:
            answer = client.get(url, headers=headers)
            assert answer.status_code == 200, f"{url} answered {answer.status_code}"
            return answer

        results.latencies.append(
            Latency(
                name,
                repeat(action),
                queries_of(action),
                note=f"GET {url}: {len(response.content) / 1024:.0f} KiB of HTML; session, middleware, "
                "context processors included",
                compare_with=selector,
                target=True,
            )
        )


# --- the run ----------------------------------------------------------------------------------


def load_average() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


def run() -> Results:
    results = Results()
    results.facts.append(
        f"load average before the run: {load_average()}; other processes on the machine slow every figure"
    )
    world = set_up(results)
    state = autovacuum_state()
    if state:
        from django.db import connection

        with connection.cursor() as cursor:  # the statistics a production server keeps
            cursor.execute(f"ANALYZE {', '.join(SET_UP_TABLES)}")
        results.facts.append(
            f"autovacuum on the server: {state}; the geography and event tables are analyzed after the "
            f"set-up, and the live tables ({', '.join(LIVE_TABLES)}) vacuumed and analyzed before each "
            "round, untimed, as autovacuum would between rounds"
        )
    measure_service_rounds(world, results)
    raw_baselines(world, results)
    measure_http_rounds(world, results)
    complete_the_day(world, results)
    create_readiness(world, results)
    measure_pages(world, results)
    return results


def print_report(results: Results, where: str) -> None:
    from django.db import connection

    on_pg = connection.vendor == "postgresql"
    print_environment("Amanat election-day benchmark: live reports and the national pages", where)
    header = f"{'step':<56} {'seconds':>8} {'queries':>8} {'rows':>8} {'rows/s':>9}"
    print(header)
    print("-" * len(header))
    for step in [*results.steps, *results.baselines.values()]:
        queries = "-" if step.queries is None else f"{step.queries:,}"
        rows = f"{step.rows:,}" if step.rows else "-"
        rate = f"{step.rows / step.seconds:,.0f}" if step.rows and step.seconds else "-"
        print(f"{step.name:<56} {step.seconds:>8.3f} {queries:>8} {rows:>8} {rate:>9}")
        if step.note:
            print(f"    {step.note}")
    print()

    insert, heartbeat = results.baselines.get("insert"), results.baselines.get("heartbeat")
    print(
        f"Rounds: every one of the {results.stations:,} stations reports once (the status round: all but "
        "the 2% that fall silent); seconds = wall clock of the round, aggregates included; latency per "
        "request as the client saw it (HTTP) or per call (service)"
    )
    header = (
        f"{'round':<44} {'via':<7} {'batch':>5} {'order':<5} {'cli':>3} {'seconds':>7} {'accepted':>8} "
        f"{'upd/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'÷ raw':>6} {'<10 s':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in results.rounds:
        raw = insert if r.kind == "opened" else heartbeat
        ratio = f"{r.per_second / (raw.rows / raw.seconds):.3f}" if raw and raw.seconds else "-"
        verdict = "yes" if r.seconds < ROUND_TARGET_S and r.accepted == r.sent else "NO"
        print(
            f"{r.name:<44} {r.via:<7} {r.batch:>5} {r.order:<5} {r.clients:>3} {r.seconds:>7.2f} "
            f"{r.accepted:>8,} {r.per_second:>7,.0f} {r.p50_ms:>7.1f} {r.p99_ms:>7.1f} "
            f"{max(r.latencies) * 1000:>7.1f} {ratio:>6} {verdict:>5}"
        )
        extra = []
        if r.queries is not None:
            extra.append(f"{r.queries:,} statements ({r.queries / max(len(r.latencies), 1):.1f} per batch)")
        if r.via == "HTTP":
            extra.append(
                f"{len(r.latencies)} requests, answers "
                + ", ".join(f"{s}: {n}" for s, n in sorted(r.statuses.items()))
            )
            if r.server_cpu:
                extra.append(
                    "CPU "
                    + ", ".join(f"{part} {seconds:.1f} s" for part, seconds in r.cpu.items())
                    + f" ({r.server_cpu / max(r.accepted, 1) * 1e6:.0f} µs of server CPU per report; "
                    f"on two dedicated cores about {r.server_cpu / 2:.1f} s)"
                )
        if r.accepted != r.sent:
            extra.append(f"REFUSED OR LOST {r.sent - r.accepted:,} of {r.sent:,}")
        if r.note:
            extra.append(r.note)
        if extra:
            print("    " + "; ".join(extra))
    print(
        "    ÷ raw = updates/s divided by the raw baseline's rows/s (the insert for 'opened', the heartbeat "
        "update for the others);\n    order: area = each batch a run of stations by code (one or a few "
        "counties), mixed = shuffled nationwide"
    )
    print()

    print(f"Reads: median, p95 and min of {PAGE_RUNS} runs after {PAGE_WARMUPS} warm-ups; queries of one run")
    header = f"{'read':<62} {'median ms':>9} {'p95 ms':>8} {'min ms':>8} {'queries':>8} {'÷ sel':>7}"
    print(header)
    print("-" * len(header))
    by_name = {lat.name: lat for lat in results.latencies}
    for lat in results.latencies:
        ratio = "-"
        if lat.compare_with in by_name:
            ratio = f"{lat.median_ms / by_name[lat.compare_with].median_ms:.1f}×"
        queries = "-" if lat.queries is None else str(lat.queries)
        print(
            f"{lat.name:<62} {lat.median_ms:>9.1f} {lat.p95_ms:>8.1f} {min(lat.samples) * 1000:>8.1f} "
            f"{queries:>8} {ratio:>7}"
        )
        if lat.note:
            print(f"    {lat.note}")
    print()

    if results.settle_seconds:
        results.facts.append(
            f"VACUUM (ANALYZE) of the live tables before each round (untimed): "
            f"{median(results.settle_seconds):.2f} s median, {max(results.settle_seconds):.2f} s at most"
        )
    results.facts.append(f"load average after the run: {load_average()}")
    for fact in results.facts:
        print(f"* {fact}")
    where_target = "" if on_pg else " (the targets are for PostgreSQL)"
    http_rounds = [r for r in results.rounds if r.via == "HTTP"]
    if http_rounds:
        met = [r for r in http_rounds if r.seconds < ROUND_TARGET_S and r.accepted == r.sent]
        verdict = "MET" if len(met) == len(http_rounds) else "MISSED"
        print(
            f"* target: a national round over HTTP under {ROUND_TARGET_S:.0f} s, aggregates included: "
            f"{verdict} ({len(met)} of {len(http_rounds)} rounds){where_target}"
        )
    for kind in ("opened", "heartbeat", "status"):
        rounds = [r for r in http_rounds if r.kind == kind] or [r for r in results.rounds if r.kind == kind]
        raw = insert if kind == "opened" else heartbeat
        if not rounds or raw is None or not raw.seconds:
            continue
        best = max(rounds, key=lambda r: r.per_second)
        rate = raw.rows / raw.seconds
        line = (
            f"* {kind}, fastest {best.via} round (batch {best.batch}, {best.order}): {best.seconds:.2f} s, "
            f"{best.per_second:,.0f} updates/s, p50 {best.p50_ms:.0f} ms, p99 {best.p99_ms:.0f} ms; "
            f"÷ raw {rate:,.0f} rows/s = {best.per_second / rate:.3f} "
            f"(raw {rate / best.per_second:.1f}× faster)"
        )
        bare = results.baselines.get("insert-bare")
        if kind == "opened" and bare is not None and bare.seconds:
            line += f"; ÷ raw into a bare table = {best.per_second / (bare.rows / bare.seconds):.3f}"
        if best.server_cpu:
            line += (
                f"; server CPU {best.server_cpu:.1f} s (gunicorn + PostgreSQL), so about "
                f"{best.server_cpu / 2:.1f} s on two dedicated cores"
            )
        print(line)
    for lat in results.latencies:
        if lat.target:
            verdict = "MET" if lat.median_ms < PAGE_TARGET_MS else "MISSED"
            print(
                f"* target: {lat.name} median under {PAGE_TARGET_MS:.0f} ms: {verdict} "
                f"({lat.median_ms:.1f} ms){where_target}"
            )
    for problem in results.problems:
        print(f"* !!! {problem}")
    print(
        f"* stations are synthetic (SYN-...), events' names start with '{SYNTHETIC}', station readiness rows "
        f"are {SYNTHETIC} (bulk_create), accounts are 'bench-...'; seed {SEED}."
    )
    print(f"* peak RSS (ru_maxrss of this process) at the end: {peak_rss_mib():.1f} MiB.")


def main() -> None:
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)  # whitenoise
    run_on_throwaway(
        run,
        print_report,
        default_name="amanat_bench_live",
        environ={
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "AMANAT_PLAIN_STATIC": "true",
        },
    )


if __name__ == "__main__":
    main()
