"""Benchmark of incidents at national scale: single-report API ingestion, and search over 1,000,000 cases.

Runs against a THROWAWAY PostgreSQL database and never touches real data (see bench/benchkit.py): a fresh
database named amanat_bench_incidents (or $BENCH_DB_NAME) is dropped and re-created on the server
DATABASE_URL names, used, then dropped again. PostgreSQL only: both figures are PostgreSQL's.

Usage (from the repository root):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/bench_incidents.py

1. Search: BENCH_INCIDENTS SYNTHETIC cases are written with COPY (Persian descriptions assembled from
   phrase lists, search_text = amanat.persian.normalize(description), spread over every county, category
   and state with a realistic skew), then ANALYZE; ten Persian queries go through the real selector
   `incident_list_for(user=…, filters=IncidentFilters(q=…))` for a national and a province user: the first
   page (50 rows and whether there is a next one), separately the COUNT the list page's Paginator adds,
   and the list page itself (GET /incidents/?q= through the test client); plus two what-ifs (related rows
   fetched after the LIMIT, a COUNT capped at 1,001) and EXPLAIN ANALYZE of the slowest shapes.
2. Ingestion: the script starts its own gunicorn (amanat.wsgi) on a free port of 127.0.0.1 for each
   configuration in BENCH_GUNICORN_CONFIGS, and BENCH_CLIENTS threads, each with one keep-alive
   connection, POST single reports to /api/v1/incidents/ with a Bearer token and an idempotency key each.
   Then, in the same run, the same number of plain single-row committed INSERTs by psycopg directly from
   the same number of threads into a scratch table shaped like incidents_incident: the ratio is the figure.
   Each round also reports the CPU time per report (gunicorn, PostgreSQL, load generator) and what the
   database's backends were waiting for. If the target is missed (or BENCH_PROFILE=1), one request is
   profiled in process (Django test client, cProfile, its SQL statements) and, unless BENCH_DIAGNOSE=0,
   the best configuration runs once more with synchronous_commit=off as a diagnostic.

Options (environment): BENCH_INCIDENTS (1000000), BENCH_STATIONS (60000), BENCH_SEARCH_RUNS (20),
BENCH_SEARCH_WARMUPS (2), BENCH_PAGE_RUNS (5), BENCH_CLIENTS (32), BENCH_REPORTS (5000 per configuration),
BENCH_GUNICORN_CONFIGS ("2x2": workers x threads, comma-separated to compare several),
BENCH_PARTS ("search,ingest"), BENCH_PROFILE (0), BENCH_PROFILE_REQUESTS (300), BENCH_DIAGNOSE (1).
See bench/README.md for what each figure means.
"""

import contextlib
import cProfile
import datetime as dt
import http.client
import io
import itertools
import json
import os
import pstats
import random
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
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
    run_on_throwaway,
)
from benchkit import repeat as benchkit_repeat

INCIDENTS = int(os.environ.get("BENCH_INCIDENTS", "1000000"))
STATIONS = int(os.environ.get("BENCH_STATIONS", "60000"))
SEARCH_RUNS = int(os.environ.get("BENCH_SEARCH_RUNS", "20"))
SEARCH_WARMUPS = int(os.environ.get("BENCH_SEARCH_WARMUPS", "2"))
PAGE_RUNS = int(os.environ.get("BENCH_PAGE_RUNS", "5"))
FIGURES_RUNS = int(os.environ.get("BENCH_FIGURES_RUNS", "3"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
REPORTS = int(os.environ.get("BENCH_REPORTS", "5000"))
CONFIGS = [
    (int(w), int(t))
    for w, t in (
        c.strip().lower().split("x") for c in os.environ.get("BENCH_GUNICORN_CONFIGS", "2x2").split(",")
    )
]
PARTS = {p.strip() for p in os.environ.get("BENCH_PARTS", "search,ingest").split(",") if p.strip()}
PROFILE = os.environ.get("BENCH_PROFILE", "0").lower() in {"1", "true", "yes"}
PROFILE_REQUESTS = int(os.environ.get("BENCH_PROFILE_REQUESTS", "300"))
DIAGNOSE = os.environ.get("BENCH_DIAGNOSE", "1").lower() in {"1", "true", "yes"}
INGEST_TARGET_PER_S = 500.0
INGEST_TARGET_P99_MS = 100.0
SEARCH_TARGET_P95_MS = 200.0
PAGE_SIZE = 50  # settings.PAGE_SIZE, the list page's
SEED = 1405
SYNTHETIC = "SYNTHETIC"
PASSWORD = "bench-only-password-1405"
ENDPOINT = "/api/v1/incidents/"
SCRATCH = "bench_scratch_incident"
DAYS = 90  # the cases are received over the last 90 days ...
VOTING_DAYS_AGO = 10  # ... with a peak on voting day, ten days ago


def progress(message: str) -> None:
    """A line on stderr as the run goes (the report comes at the end, on stdout)."""
    print(f"[bench_incidents {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- results ----------------------------------------------------------------------------------


@dataclass
class Step:
    """A one-shot operation: timed once."""

    name: str
    seconds: float
    queries: int | None = None
    rows: int = 0
    note: str = ""


@dataclass
class SearchFigure:
    """One query for one user: each shape's samples (seconds), repeated."""

    user: str
    label: str
    query: str
    hits: int
    has_next: bool
    queries: int  # SQL statements of the first page (the selector's shape)
    samples: dict[str, list[float]] = field(default_factory=dict)

    def ms(self, shape: str, fraction: float) -> float:
        found = self.samples.get(shape)
        return percentile(found, fraction) * 1000 if found else float("nan")


@dataclass
class IngestRound:
    """Reports sent at once from many threads: over HTTP, or raw INSERTs."""

    name: str
    seconds: float
    sent: int
    created: int
    latencies: list[float]
    statuses: Counter[int] = field(default_factory=Counter)
    note: str = ""
    waits: str = ""  # what the database's backends were doing (WaitSampler)
    cpu: str = ""  # CPU time per report (CpuMeter)

    @property
    def per_second(self) -> float:
        return self.created / self.seconds if self.seconds else 0.0

    def ms(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000 if self.latencies else float("nan")


@dataclass
class Results:
    steps: list[Step] = field(default_factory=list)
    search: list[SearchFigure] = field(default_factory=list)
    plans: list[tuple[str, str]] = field(default_factory=list)
    figures: list[tuple[str, list[float]]] = field(default_factory=list)  # the figures page, by user
    rounds: list[IngestRound] = field(default_factory=list)
    raw: IngestRound | None = None
    diagnostics: list[IngestRound] = field(default_factory=list)  # not the figures: what-ifs
    profile: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    load: list[str] = field(default_factory=list)


# --- set-up -----------------------------------------------------------------------------------


@dataclass
class World:
    admin: Any
    reporter: Any  # a national member (EDIT everywhere), as an integration sending reports with a token
    token: str
    national: Any  # a national viewer: the search as the national situation room sees it
    province_user: Any  # the chair of the province with the most cases
    event: Any
    counties: list[tuple[int, int, str, str]]  # (pk, province_id, code, name)
    stations: dict[int, list[tuple[int, str]]]  # county pk -> [(station pk, code)]
    categories: dict[str, tuple[int, str]]  # code -> (pk, default severity)
    deadlines: dict[tuple[int | None, str], int]  # (category pk or None, severity) -> hours


def set_up(results: Results) -> World:
    from django.core.management import call_command
    from django.utils import timezone

    from amanat.accounts.models import User
    from amanat.accounts.services import api_token_create, user_create
    from amanat.elections.services import election_event_create
    from amanat.geography.models import County, PollingStation
    from amanat.geography.services import geography_import, iran_division_rows, station_generate
    from amanat.incidents.models import IncidentCategory, ResponseDeadline
    from amanat.scoping import unscoped

    with counted() as took:
        call_command("migrate", verbosity=0, interactive=False)
    results.steps.append(Step("set-up: migrate (empty database)", took["seconds"]))
    with counted() as took:
        geography_import(actor=None, rows=iran_division_rows(), source="bench")
        generated = station_generate(actor=None, total=STATIONS, seed=SEED)
    results.steps.append(
        Step(
            f"set-up: Iran's geography + {STATIONS:,} synthetic stations",
            took["seconds"],
            took["queries"],
            rows=generated.total("created"),
        )
    )
    with unscoped():
        counties = list(County.objects.order_by("code").values_list("pk", "province_id", "code", "name"))
        stations: dict[int, list[tuple[int, str]]] = {}
        for pk, code, county_id in PollingStation.objects.order_by("code").values_list(
            "pk", "code", "county_id"
        ):
            stations.setdefault(county_id, []).append((pk, code))
    categories = {c.code: (c.pk, c.default_severity) for c in IncidentCategory.objects.all()}
    deadlines = {(d.category_id, d.severity): d.hours for d in ResponseDeadline.objects.all()}

    today = timezone.localdate()
    with counted() as took:
        admin = User.objects.create_superuser(username="bench-admin", password=PASSWORD, role="administrator")
        event = election_event_create(
            actor=admin,
            name=f"{SYNTHETIC} انتخابات شوراهای شهر و روستا (bench)",
            voting_day=today - dt.timedelta(days=VOTING_DAYS_AGO),
            opens_on=today - dt.timedelta(days=DAYS + 30),
        )
        reporter = user_create(
            actor=admin,
            username="bench-incident-gateway",
            password=PASSWORD,
            role="member",
            organisation=None,
        )
        _token, key = api_token_create(actor=reporter, name="bench: national incident gateway")
        national = user_create(
            actor=admin, username="bench-national-viewer", password=PASSWORD, role="viewer", organisation=None
        )
    results.steps.append(
        Step(
            "set-up: superuser, event, gateway user + token, viewer",
            took["seconds"],
            took["queries"],
            note="a national member (EDIT) sends the reports with a Bearer token; a national viewer searches",
        )
    )
    return World(
        admin=admin,
        reporter=reporter,
        token=key,
        national=national,
        province_user=None,
        event=event,
        counties=counties,
        stations=stations,
        categories=categories,
        deadlines=deadlines,
    )


def province_chair(world: World, province_id: int) -> Any:
    from amanat.accounts.services import user_create
    from amanat.geography.models import Province
    from amanat.scoping import unscoped

    with unscoped():
        province = Province.objects.get(pk=province_id)
    return user_create(
        actor=world.admin,
        username="bench-province-chair",
        password=PASSWORD,
        role="chair",
        organisation=None,
        province=province,
    )


# --- synthetic cases --------------------------------------------------------------------------

# (code, weight): the everyday problems far outnumber the grave ones.
CATEGORY_WEIGHTS = [
    ("procedural-error", 22),
    ("equipment-failure", 18),
    ("outage", 14),
    ("campaigning-at-station", 12),
    ("observer-obstruction", 8),
    ("intimidation", 6),
    ("vote-buying", 6),
    ("multiple-voting", 5),
    ("ballot-tampering", 4),
    ("violence", 3),
    ("cyber-attack", 2),
]
CORE = {
    "vote-buying": [
        "گزارش شده که فردی در نزدیکی شعبه در ازای رای به نامزد مشخصی پول نقد پرداخت می‌کرد.",
        "توزیع کارت هدیه و بسته‌های غذایی میان رای‌دهندگان در صف شعبه.",
        "خرید رای با وعده استخدام در اداره شهرستان.",
        "پیشنهاد پول به رای‌دهندگان برای عکس گرفتن از برگه رأی.",
    ],
    "ballot-tampering": [
        "پلمب صندوق رأی پیش از شمارش باز شده بود.",
        "دستکاری در دستگاه احراز هویت و ثبت نشدن کد رهگیری.",
        "تعداد برگه‌های داخل صندوق با شمار رای‌دهندگان ثبت‌شده همخوانی ندارد.",
        "مهر شعبه بدون حضور ناظران روی برگه‌های سفید زده شد.",
    ],
    "multiple-voting": [
        "یک نفر با دو کارت ملی متفاوت دو بار رأی داد.",
        "استفاده از شناسنامه فرد فوت‌شده برای رای دادن.",
        "سامانه احراز هویت رأی تکراری را رد نکرد.",
        "رای دادن به جای دیگری با کارت شناسایی جعلی.",
    ],
    "campaigning-at-station": [
        "تبلیغات انتخاباتی با پوستر و بنر در محوطه شعبه ادامه داشت.",
        "توزیع برگه تبلیغاتی نامزد در صف رای‌دهندگان.",
        "هواداران یک نامزد با بلندگو در ورودی شعبه تبلیغ می‌کردند.",
        "پیامک تبلیغاتی پس از پایان مهلت تبلیغات ارسال شد.",
    ],
    "intimidation": [
        "تهدید رای‌دهندگان از سوی چند نفر ناشناس در بیرون شعبه.",
        "ارعاب اعضای شعبه و ناظران با تماس تلفنی.",
        "فشار بر کارکنان اداره برای رای دادن به فهرست مشخص.",
    ],
    "observer-obstruction": [
        "از ورود ناظر نامزد به شعبه جلوگیری شد.",
        "ناظران اجازه دیدن شمارش آرا را نداشتند.",
        "حکم ناظر از سوی رئیس شعبه پذیرفته نشد.",
    ],
    "violence": [
        "درگیری فیزیکی میان هواداران دو نامزد در مقابل شعبه.",
        "شیشه‌های ساختمان شعبه شکسته شد و یک نفر مجروح شد.",
        "ضرب و شتم یکی از اعضای شعبه.",
    ],
    "equipment-failure": [
        "دستگاه احراز هویت هوشمند روشن نمی‌شود.",
        "چاپگر رسید رای از کار افتاد و کاغذ گیر کرد.",
        "اسکنر کارت ملی خطا می‌دهد و صف طولانی شده است.",
        "باتری دستگاه رای‌گیری الکترونیکی تمام شد.",
    ],
    "outage": [
        "قطعی برق در ساختمان شعبه.",
        "قطع اینترنت و خط ارتباطی شعبه با ستاد شهرستان.",
        "برق شعبه قطع شد و مولد برق اضطراری روشن نشد.",
        "اتصال شبکه همراه در منطقه برقرار نیست.",
    ],
    "cyber-attack": [
        "حمله سایبری به سامانه اعلام نتایج شهرستان.",
        "تلاش برای نفوذ به شبکه داخلی ستاد انتخابات.",
        "ارسال پیامک جعلی با نشانی سامانه رای‌گیری.",
    ],
    "procedural-error": [
        "صورتجلسه افتتاح شعبه دیر تنظیم شد.",
        "اعضای شعبه در ساعت مقرر حاضر نشدند.",
        "تعرفه کافی در شعبه موجود نیست.",
        "جوهر استامپ تمام شده و اثر انگشت رای‌دهندگان ثبت نمی‌شود.",
        "رئیس شعبه بدون هماهنگی شعبه را برای ناهار تعطیل کرد.",
    ],
}
DETAILS = [
    "رای‌دهندگان معترض شدند.",
    "موضوع به ناظر شهرستان اطلاع داده شد.",
    "فیلم و عکس از صحنه موجود است.",
    "چند شاهد حاضرند شهادت دهند.",
    "پیگیری فوری لازم است.",
    "مشکل پس از نیم ساعت برطرف شد.",
    "صف رای‌دهندگان طولانی شد.",
    "پلیس در محل حاضر شد.",
    "گزارش از سوی بازرس هیئت نظارت ثبت شد.",
    "نماینده فرمانداری در جریان قرار گرفت.",
]
# (phrase, probability): the terms a rare query looks for.
RARE = [
    ("یک پهپاد بر فراز شعبه پرواز می‌کرد.", 0.0002),
    ("سیل راه دسترسی روستا را بسته است.", 0.0005),
    ("آتش‌سوزی کوچک در انبار مدرسه رخ داد.", 0.001),
    ("کلید صندوق گم شده است.", 0.002),
]
STREETS = ["خیابان امام", "میدان آزادی", "بلوار کشاورز", "کوچه شهید رجایی", "خیابان ولیعصر", "جاده روستا"]
FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC_KEYBOARD = str.maketrans({"ی": "ي", "ک": "ك"})
SEVERITY_HOURS = {"critical": 2, "high": 8, "medium": 24, "low": 72}
STATE_WEIGHTS = [  # older cases are mostly done; recent ones still open (adjusted by age below)
    ("closed", 46),
    ("resolved", 12),
    ("rejected", 5),
    ("merged", 2),
    ("referred", 3),
    ("in_progress", 6),
    ("assigned", 8),
    ("triaged", 6),
    ("new", 10),
    ("awaiting_moderation", 2),
]
OPEN = {"new", "triaged", "assigned", "in_progress", "referred", "awaiting_moderation"}
INCIDENT_COLUMNS = [
    "id",
    "province_id",
    "county_id",
    "event_id",
    "category_id",
    "severity",
    "state",
    "station_id",
    "address",
    "occurred_at",
    "description",
    "channel",
    "reported_by_id",
    "reporter_name",
    "reporter_contact",
    "public_ref",
    "idempotency_key",
    "intake_fingerprint",
    "received_at",
    "deadline_at",
    "assigned_organisation_id",
    "assignee_id",
    "referral_authority",
    "referral_case_number",
    "referred_at",
    "resolution",
    "resolved_at",
    "closed_at",
    "reason",
    "merged_into_id",
    "escalation_level",
    "escalated_at",
    "search_text",
    "updated_at",
]


class Folded:
    """amanat.persian.normalize, remembered per phrase: a description is phrases joined by spaces, and the
    function folds word by word, so the phrases' folded forms joined by spaces are the description's."""

    def __init__(self) -> None:
        from amanat.persian import normalize

        self.normalize = normalize
        self.cache: dict[str, str] = {}

    def __call__(self, phrase: str) -> str:
        folded = self.cache.get(phrase)
        if folded is None:
            folded = self.cache[phrase] = self.normalize(phrase)
        return folded


def stamp(moment: dt.datetime) -> str:
    return moment.isoformat()


def incident_lines(world: World, total: int, rng: random.Random, now: dt.datetime) -> Iterator[str]:
    """COPY text lines, one per SYNTHETIC case, ids 1..total (older first, as they would have arrived)."""
    fold = Folded()
    # Counties get cases in proportion to their stations, times a skew (a few very busy counties).
    weights = []
    for pk, _province, _code, _name in world.counties:
        weights.append(len(world.stations.get(pk, [])) * rng.paretovariate(1.5))
    county_pick = rng.choices(range(len(world.counties)), weights=weights, k=total)
    codes = [c for c, _w in CATEGORY_WEIGHTS]
    category_pick = rng.choices(codes, weights=[w for _c, w in CATEGORY_WEIGHTS], k=total)
    states = [s for s, _w in STATE_WEIGHTS]
    state_weights = [w for _s, w in STATE_WEIGHTS]
    span = DAYS * 86400
    voting = (DAYS - VOTING_DAYS_AGO) * 86400
    offsets = sorted(
        voting + rng.uniform(0, 86400 * 1.5) if rng.random() < 0.4 else rng.uniform(0, span)
        for _ in range(total)
    )
    start = now - dt.timedelta(seconds=span)
    severities = ["low", "medium", "high", "critical"]
    event_id = world.event.pk
    reporter_id = world.reporter.pk
    for i in range(total):
        pk = i + 1
        county_id, province_id, _code, county_name = world.counties[county_pick[i]]
        code = category_pick[i]
        category_id, default_severity = world.categories[code]
        severity = default_severity if rng.random() < 0.7 else rng.choice(severities)
        received = start + dt.timedelta(seconds=offsets[i])
        occurred = received - dt.timedelta(seconds=rng.uniform(60, 6 * 3600))
        age_days = (now - received).total_seconds() / 86400
        state = rng.choices(states, weights=state_weights)[0]
        if age_days < 2 and rng.random() < 0.6:
            state = rng.choice(["new", "triaged", "assigned", "awaiting_moderation"])
        channel = (
            "public" if state == "awaiting_moderation" else rng.choice(["api", "api", "web", "web", "public"])
        )
        if code == "outage" and rng.random() < 0.3 and state != "awaiting_moderation":
            channel = "system"
        county_stations = world.stations.get(county_id, [])
        parts: list[str] = []
        station_id: str = "\\N"
        address = ""
        if county_stations and rng.random() < 0.75:
            station_pk, station_code = rng.choice(county_stations)
            station_id = str(station_pk)
            number = station_code.rsplit("-", 1)[-1].lstrip("0") or "0"
            parts.append(f"در شعبه شماره {number.translate(FA_DIGITS)} شهرستان {county_name}")
        else:
            address = f"{rng.choice(STREETS)}، پلاک {rng.randint(1, 400)}"
            parts.append(f"در شهرستان {county_name}، {address}")
        parts.append(f"ساعت {occurred.hour:02d}:{occurred.minute // 10 * 10:02d}".translate(FA_DIGITS))
        parts.append(rng.choice(CORE[code]))
        for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
            parts.append(rng.choice(DETAILS))
        for phrase, probability in RARE:
            if rng.random() < probability:
                parts.append(phrase)
        if rng.random() < 0.12:  # typed on an Arabic keyboard: ي and ك
            parts = [p.translate(ARABIC_KEYBOARD) for p in parts]
        description = " ".join(parts)
        search_text = " ".join(fold(p) for p in parts)
        hours = world.deadlines.get((category_id, severity)) or world.deadlines.get((None, severity))
        deadline = received + dt.timedelta(hours=hours or SEVERITY_HOURS[severity])
        handled = received + dt.timedelta(hours=(hours or 24) * rng.uniform(0.2, 1.6))
        if handled > now:
            handled = now
        referred_at = resolved_at = closed_at = escalated_at = "\\N"
        authority = case_number = resolution = reason = ""
        merged_into = "\\N"
        if state == "referred":
            authority, case_number = "دادسرای عمومی و انقلاب", f"ک-{rng.randint(1000, 99999)}"
            referred_at = stamp(handled)
        if state in {"resolved", "closed"}:
            resolution = "موضوع بررسی و برطرف شد."
            resolved_at = stamp(handled)
            if state == "closed":
                closed_at = stamp(min(handled + dt.timedelta(hours=rng.uniform(1, 48)), now))
        if state == "rejected":
            reason = "گزارش تکراری یا نادرست است."
        if state == "merged":
            reason = "همان رویدادی است که پیش‌تر گزارش شده است."
            if pk > 1:
                merged_into = str(rng.randint(max(1, pk - 1000), pk - 1))
            else:
                state, reason = "new", ""
        escalation = 0
        if state in OPEN and deadline < now and rng.random() < 0.5:
            escalation = 1
            escalated_at = stamp(deadline + dt.timedelta(minutes=5))
        reported_by = str(reporter_id) if channel in {"api", "web"} else "\\N"
        name = contact = ""
        if channel == "public" and rng.random() < 0.4:
            name, contact = "شهروند", f"0912{rng.randint(1000000, 9999999)}"
        updated = max(received, handled) if state not in {"new", "awaiting_moderation"} else received
        public_ref = f"{(pk * 2654435761) % 16**12:012X}"  # an odd multiplier mod 2**48: unique per id
        yield (
            "\t".join(
                [
                    str(pk),
                    str(province_id),
                    str(county_id),
                    str(event_id),
                    str(category_id),
                    severity,
                    state,
                    station_id,
                    address,
                    stamp(occurred),
                    description,
                    channel,
                    reported_by,
                    name,
                    contact,
                    public_ref,
                    "",
                    "",
                    stamp(received),
                    stamp(deadline),
                    "\\N",
                    "\\N",
                    authority,
                    case_number,
                    referred_at,
                    resolution,
                    resolved_at,
                    closed_at,
                    reason,
                    merged_into,
                    str(escalation),
                    escalated_at,
                    search_text,
                    stamp(updated),
                ]
            )
            + "\n"
        )


def load_incidents(world: World, results: Results) -> None:
    """COPY the SYNTHETIC cases in with the secondary indexes dropped, then build them, then ANALYZE."""
    from django.db import connection
    from django.utils import timezone

    from amanat.incidents.models import Incident
    from amanat.persian import normalize

    table = Incident._meta.db_table
    assert {f.column for f in Incident._meta.concrete_fields} == set(INCIDENT_COLUMNS), "model changed"
    rng = random.Random(SEED)
    now = timezone.now()

    # The generator's search_text must be exactly normalize(description): check a sample first.
    for line in itertools.islice(incident_lines(world, 3000, random.Random(SEED + 1), now), 3000):
        cells = line.rstrip("\n").split("\t")
        description, search_text = cells[10], cells[32]
        assert normalize(description) == search_text, (description, search_text)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
            [table],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    raw = connection.cursor().connection  # psycopg's connection, inside Django's (autocommit)
    started = time.perf_counter()
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(INCIDENT_COLUMNS)}) FROM STDIN") as copy,
    ):
        chunk: list[str] = []
        for n, line in enumerate(incident_lines(world, INCIDENTS, rng, now), start=1):
            chunk.append(line)
            if len(chunk) == 5000:
                copy.write("".join(chunk))
                chunk.clear()
            if n % 200_000 == 0:
                progress(f"COPY: {n:,} cases written ({time.perf_counter() - started:.0f} s)")
        if chunk:
            copy.write("".join(chunk))
    copy_seconds = time.perf_counter() - started
    results.steps.append(
        Step(
            f"set-up: COPY {INCIDENTS:,} SYNTHETIC cases",
            copy_seconds,
            rows=INCIDENTS,
            note="generated in Python and written with COPY, secondary indexes dropped (the tsvector column "
            "is computed, foreign keys and checks are enforced)",
        )
    )
    progress(f"COPY done in {copy_seconds:.0f} s; building {len(indexes)} indexes")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 1) FROM {table}))"
        )
        for name, definition in indexes:
            began = time.perf_counter()
            cursor.execute(definition)
            results.facts.append(f"index {name} built in {time.perf_counter() - began:.1f} s")
        cursor.execute("RESET maintenance_work_mem")
    results.steps.append(
        Step(f"set-up: build the {len(indexes)} secondary indexes", time.perf_counter() - started)
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("ANALYZE")  # the other tables too (geography, accounts...), as autovacuum would
        cursor.execute(
            "SELECT pg_size_pretty(pg_total_relation_size(%s::regclass)), "
            "pg_size_pretty(pg_relation_size('incident_search_vector_idx'))",
            [table],
        )
        total_size, gin_size = cursor.fetchone()
    results.steps.append(
        Step("set-up: VACUUM (ANALYZE) incidents_incident, ANALYZE the rest", time.perf_counter() - started)
    )
    results.facts.append(
        f"incidents_incident with its indexes: {total_size}; the GIN search index: {gin_size}"
    )


# --- search -----------------------------------------------------------------------------------

# (label, query): typed as a user would. Rare and common terms, Arabic letters, digits, several words.
QUERIES = [
    ("common word", "شعبه"),
    ("common word, power", "برق"),
    ("mid: intimidation", "ارعاب"),
    ("rare: drone", "پهپاد"),
    ("rare: flood + road", "سیل روستا"),
    ("Arabic ي/ك typed", "كارت شناسايي"),
    ("digits: station 12", "شعبه ۱۲"),
    ("2 words: vote buying", "خرید رای"),
    ("ZWNJ: voters", "رأی‌دهندگان معترض"),
    ("3 words: cyber attack", "حمله سایبری سامانه"),
]


def touch(rows: list[Any]) -> None:
    """Read what a row of the list shows (so a lazy relation would cost its query here)."""
    for row in rows:
        (
            row.public_ref,
            row.category.name,
            row.county.name,
            row.province.name,
            row.station.code if row.station else "",
            row.get_state_display(),
            row.get_severity_display(),
            row.received_at,
            row.deadline_at,
            row.assigned_organisation,
            row.assignee,
            row.description[:120],
        )


def listed(user: Any, query: str) -> Any:
    from amanat.incidents.selectors import IncidentFilters, incident_list_for

    return incident_list_for(user=user, filters=IncidentFilters(q=query))


def search_page(user: Any, query: str) -> tuple[list[Any], bool]:
    """The first page as the selector gives it: 50 rows (and whether there is more), with their fields."""
    rows = list(listed(user, query)[: PAGE_SIZE + 1])
    touch(rows[:PAGE_SIZE])
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def search_count(user: Any, query: str) -> int:
    """The COUNT(*) the list page's Paginator runs for its page numbers and "N in all"."""
    return int(listed(user, query).count())


def search_page_joins_after_limit(user: Any, query: str) -> bool:
    """WHAT-IF: the same page with the related rows fetched after the LIMIT (prefetch_related), so the
    database sorts and limits incidents_incident alone before anything is joined."""
    rows = list(
        listed(user, query)
        .select_related(None)
        .prefetch_related("category", "county", "province", "station", "assigned_organisation", "assignee")[
            : PAGE_SIZE + 1
        ]
    )
    touch(rows[:PAGE_SIZE])
    return len(rows) > PAGE_SIZE


def search_count_capped(user: Any, query: str) -> int:
    """WHAT-IF: a count that stops at 1,001 ("more than 1,000"), instead of counting every match."""
    return int(listed(user, query).order_by().values("pk")[:1001].count())


SHAPES: list[tuple[str, Callable[[Any, str], Any]]] = [
    ("page", search_page),
    ("count", search_count),
    ("page, joins after limit", search_page_joins_after_limit),
    ("count, capped at 1,001", search_count_capped),
]


def measure_search(world: World, results: Results) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    url = reverse("incidents:list")
    for who, user in (("national", world.national), ("province", world.province_user)):
        client = Client()
        client.force_login(user)
        for label, query in QUERIES:
            with CaptureQueriesContext(connection) as captured:
                _rows, has_next = search_page(user, query)
            figure = SearchFigure(
                who, label, query, search_count(user, query), has_next, len(captured.captured_queries)
            )
            for shape, action in SHAPES:
                figure.samples[shape] = benchkit_repeat(
                    lambda a=action, u=user, q=query: a(u, q),  # type: ignore[misc]
                    runs=SEARCH_RUNS,
                    warmups=SEARCH_WARMUPS if shape.startswith("page") else 1,
                )

            def page_request(q: str = query, c: Client = client) -> None:
                response = c.get(url, {"q": q})
                assert response.status_code == 200, response.status_code

            figure.samples["list PAGE (Client)"] = benchkit_repeat(page_request, runs=PAGE_RUNS, warmups=1)
            results.search.append(figure)
        progress(f"search as the {who} user measured")
    # The figures page (counts, median handling time, share within deadline) over every case in reach.
    figures_url = reverse("incidents:figures")
    for who, user in (("national", world.national), ("province", world.province_user)):
        client = Client()
        client.force_login(user)

        def figures_request(c: Client = client) -> None:
            response = c.get(figures_url)
            assert response.status_code == 200, response.status_code

        results.figures.append((who, benchkit_repeat(figures_request, runs=FIGURES_RUNS, warmups=1)))
    progress("figures page measured")
    # The plans of the slowest shapes: why they take what they take (the SQL exactly as sent).
    worst = sorted(results.search, key=lambda f: f.ms("page", 0.95), reverse=True)[:2]
    worst_count = max(results.search, key=lambda f: f.ms("count", 0.95))
    shapes = [(f"page, {f.user}: {f.query}", f, search_page) for f in worst]
    shapes.append((f"COUNT, {worst_count.user}: {worst_count.query}", worst_count, search_count))
    shapes.append(
        (
            f"WHAT-IF page, joins after limit, {worst[0].user}: {worst[0].query}",
            worst[0],
            search_page_joins_after_limit,
        )
    )
    for title, figure, action in shapes:
        user = world.national if figure.user == "national" else world.province_user
        with CaptureQueriesContext(connection) as captured:
            action(user, figure.query)
        sql = captured.captured_queries[0]["sql"]
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        results.plans.append((title, plan))


# --- ingestion over HTTP ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def headers(token: str, key: str = "") -> dict[str, str]:
    sent = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Host": "127.0.0.1",
    }
    if key:
        sent["Idempotency-Key"] = key
    return sent


@contextlib.contextmanager
def gunicorn(workers: int, threads: int, token: str) -> Iterator[tuple[int, Callable[[], str], int]]:
    """gunicorn (gthread) on a free port against the throwaway database; yields (port, log reader, pid)."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="amanat-bench-incidents-", suffix=".log", delete=False)  # noqa: SIM115
    env = dict(os.environ)  # DATABASE_URL names the throwaway database
    env.update(
        {
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOGIN_THROTTLING": "false",
            "LOG_LEVEL": "ERROR",
            "AMANAT_PLAIN_STATIC": "true",
        }
    )
    command = [
        str(REPO_ROOT / ".venv" / "bin" / "gunicorn"),
        "amanat.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--worker-class=gthread",
        f"--threads={threads}",
        "--keep-alive=30",
        "--timeout=120",
        "--log-level=warning",
        f"--chdir={REPO_ROOT}",
    ]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)

    def read_log() -> str:
        log.flush()
        return Path(log.name).read_text(errors="replace")

    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{read_log()[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/api/v1/me", headers=headers(token))
                if conn.getresponse().status == 200:
                    conn.close()
                    break
                conn.close()
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer within 60 s:\n{read_log()[-3000:]}")
            time.sleep(0.2)
        yield port, read_log, process.pid
    finally:
        if process.poll() is None:
            process.terminate()  # our own child; gunicorn stops its workers gracefully
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
        Path(log.name).unlink(missing_ok=True)


def endpoint_exists(port: int, token: str) -> tuple[bool, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/api/v1/openapi.json", headers=headers(token))
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status != 200:
        return False, f"GET /api/v1/openapi.json answered {response.status}"
    paths = json.loads(body).get("paths", {})
    if "post" in paths.get(ENDPOINT, {}):
        return True, ENDPOINT
    found = sorted(p for p in paths if "/incidents" in p)
    return False, f"POST {ENDPOINT} is not in the OpenAPI document (incident paths: {found or 'none'})"


@dataclass(frozen=True)
class Report:
    """One report as a field device would send it, and the row it becomes (for the raw baseline)."""

    key: str
    body: bytes
    category_code: str
    station_code: str
    occurred_at: dt.datetime
    description: str


def make_reports(world: World, total: int, tag: str, rng: random.Random) -> list[Report]:
    """SYNTHETIC single reports at stations all over the country, each with its own idempotency key."""
    from django.utils import timezone

    now = timezone.now()
    fold_codes = [c for c, _w in CATEGORY_WEIGHTS]
    weights = [w for _c, w in CATEGORY_WEIGHTS]
    all_stations = [(code, county) for county, stations in world.stations.items() for _pk, code in stations]
    reports = []
    for n in range(total):
        code = rng.choices(fold_codes, weights=weights)[0]
        station_code, _county = rng.choice(all_stations)
        occurred = now - dt.timedelta(seconds=rng.uniform(60, 3 * 3600))
        description = f"{SYNTHETIC} {rng.choice(CORE[code])} {rng.choice(DETAILS)}"
        key = f"bench-{tag}-{n:07d}"
        body = {
            "category": code,
            "station_code": station_code,
            "occurred_at": occurred.isoformat(),
            "description": description,
            "idempotency_key": key,
        }
        reports.append(
            Report(
                key, json.dumps(body, ensure_ascii=False).encode(), code, station_code, occurred, description
            )
        )
    return reports


def psycopg_params() -> dict[str, Any]:
    """Connection parameters of the throwaway database, for connections of our own (psycopg)."""
    from django.db import connection

    params = dict(connection.get_connection_params())
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return params


class WaitSampler:
    """What the database's backends are doing during a round, sampled every 20 ms from pg_stat_activity:
    running, waiting for a lock (which one), for the WAL flush of a commit, or idle in a transaction
    (waiting for the application: Python, the GIL, the network)."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.samples = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self) -> None:
        import psycopg

        with psycopg.connect(**psycopg_params(), autocommit=True) as conn:
            while not self.stop.wait(0.02):
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event, left(query, 60) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend' AND state <> 'idle'"
                ).fetchall()
                self.samples += 1
                for state, kind, event, query in rows:
                    if state == "idle in transaction":
                        what = "idle in transaction (waiting for the app)"
                    elif kind is None:
                        what = "running on CPU"
                    elif kind == "Lock":
                        what = f"Lock:{event} ({' '.join(query.split()[:4])}...)"
                    else:
                        what = f"{kind}:{event}"
                    self.seen[what] += 1

    def __enter__(self) -> "WaitSampler":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def summary(self, top: int = 6) -> str:
        if not self.samples:
            return ""
        parts = [f"{what} {n / self.samples:.1f}" for what, n in self.seen.most_common(top)]
        return "backends busy, on average per sample: " + "; ".join(parts)


class CpuMeter:
    """CPU time used during a round by the app server (gunicorn's processes), the database's backends for
    the throwaway database, and this process (the load generator): per report, it does not depend on how
    busy the shared machine is, and it gives the ceiling on two dedicated cores."""

    def __init__(self, app_pid: int | None = None) -> None:
        self.app_pid = app_pid
        self.start: dict[str, dict[int, float]] = {}
        self.used: dict[str, float] = {}

    def backends(self) -> list[int]:
        import psycopg

        with psycopg.connect(**psycopg_params(), autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            ).fetchall()
        return [pid for (pid,) in rows]

    def read(self) -> dict[str, dict[int, float]]:
        app = [self.app_pid, *children_of(self.app_pid)] if self.app_pid else []
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "app": {pid: cpu_seconds(pid) for pid in app},
            "db": {pid: cpu_seconds(pid) for pid in self.backends()},
            "clients": {0: usage.ru_utime + usage.ru_stime},
        }

    def __enter__(self) -> "CpuMeter":
        self.start = self.read()
        return self

    def stop(self) -> None:
        end = self.read()
        for part, now in end.items():
            before = self.start.get(part, {})
            self.used[part] = sum(max(0.0, value - before.get(pid, 0.0)) for pid, value in now.items())

    def __exit__(self, *exc: object) -> None:
        if not self.used:
            self.stop()

    def summary(self, rows: int) -> str:
        if not rows or not self.used:
            return ""
        per = {part: seconds / rows * 1000 for part, seconds in self.used.items()}
        parts = [f"PostgreSQL {per['db']:.2f} ms"]
        if self.app_pid:
            parts.insert(0, f"gunicorn {per['app']:.2f} ms")
        server = per["db"] + (per["app"] if self.app_pid else 0.0)
        ceiling = f"; on two dedicated cores at most {2000 / server:,.0f}/s" if server else ""
        return f"CPU per report: {' + '.join(parts)} (load generator {per['clients']:.2f} ms){ceiling}"


def http_round(
    port: int, token: str, reports: list[Report], name: str, app_pid: int | None = None
) -> IngestRound:
    """Every report POSTed once, from CLIENTS threads each holding one keep-alive connection."""
    cursor = itertools.count()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    failures: Counter[str] = Counter()
    created = [0]
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS + 1)

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        with contextlib.suppress(OSError):
            conn.connect()
        mine: list[float] = []
        seen: Counter[int] = Counter()
        errors: Counter[str] = Counter()
        made = 0
        start.wait()
        while (n := next(cursor)) < len(reports):
            report = reports[n]
            began = time.perf_counter()
            status, answer = 0, b""
            for attempt in (1, 2):
                try:
                    conn.request("POST", ENDPOINT, body=report.body, headers=headers(token, report.key))
                    response = conn.getresponse()
                    status, answer = response.status, response.read()
                    break
                except (http.client.HTTPException, OSError) as exc:
                    conn.close()  # the server closed the keep-alive connection: send it again, once
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                    if attempt == 2:
                        errors[f"{type(exc).__name__}: {exc}"] += 1
            mine.append(time.perf_counter() - began)
            seen[status] += 1
            if status == 201 or (
                status == 200 and b'"created": true' in answer.replace(b'":true', b'": true')
            ):
                made += 1
            elif status >= 300:
                errors[f"{status}: {answer[:160].decode(errors='replace')}"] += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            statuses.update(seen)
            failures.update(errors)
            created[0] += made

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    with WaitSampler() as waits, CpuMeter(app_pid) as cpu:
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - began
    note = "; ".join(f"{n}x {failure}" for failure, n in failures.most_common(3))
    progress(f"{name}: {seconds:.1f} s, {created[0]:,}/{len(reports):,} created")
    done = IngestRound(name, seconds, len(reports), created[0], latencies, statuses, note)
    done.waits = waits.summary()
    done.cpu = cpu.summary(len(reports))
    return done


def ingestion_round(
    world: World, workers: int, threads: int, tag: str, rng: random.Random, label: str = ""
) -> IngestRound | str:
    """Start gunicorn, warm it up, send REPORTS reports; the endpoint's absence as a message instead."""
    from amanat.incidents.models import Incident
    from amanat.scoping import unscoped

    with gunicorn(workers, threads, world.token) as (port, read_log, pid):
        exists, why = endpoint_exists(port, world.token)
        if not exists:
            return why
        warm = make_reports(world, CLIENTS * 4, f"warm-{tag}", rng)
        http_round(port, world.token, warm, f"warm-up {tag}")
        reports = make_reports(world, REPORTS, tag, rng)
        load_before = load_average()
        done = http_round(
            port,
            world.token,
            reports,
            label or f"HTTP POST, gunicorn {workers}w x {threads}t gthread, {CLIENTS} clients",
            app_pid=pid,
        )
        done.note = "; ".join(filter(None, [done.note, f"load {load_before} -> {load_average()}"]))
        errors = Counter(
            line.strip()[:140]
            for line in read_log().splitlines()
            if line.split(":", 1)[0].endswith(("Error", "Exception")) and " " not in line.split(":", 1)[0]
        )
        if errors:
            done.note += "; gunicorn log: " + "; ".join(f"{n}x {e}" for e, n in errors.most_common(3))
    with unscoped():
        stored = Incident.objects.filter(idempotency_key__startswith=f"bench-{tag}-").count()
    done.note += f"; {stored:,} cases stored for the round's keys"
    return done


def meets_target(round_: IngestRound) -> bool:
    return round_.per_second >= INGEST_TARGET_PER_S and round_.ms(0.99) < INGEST_TARGET_P99_MS


def best_round(rounds: list[IngestRound]) -> IngestRound | None:
    """The fastest configuration that meets both parts of the target; else the fastest."""
    meeting = [r for r in rounds if meets_target(r)]
    return max(meeting or rounds, key=lambda r: r.per_second, default=None)


def missed(rounds: list[IngestRound]) -> bool:
    best = best_round(rounds)
    return best is None or not meets_target(best)


def measure_ingestion(world: World, results: Results) -> bool:
    """One round per gunicorn configuration; False when the endpoint is not there yet."""
    from django.db import connection

    rng = random.Random(SEED + 2)
    for workers, threads in CONFIGS:
        done = ingestion_round(world, workers, threads, f"{workers}x{threads}", rng)
        if isinstance(done, str):
            results.facts.append(f"INGESTION NOT MEASURED: {done}")
            return False
        results.rounds.append(done)
    if DIAGNOSE and missed(results.rounds):
        # What the commit's WAL flush costs while the audit chain's row lock is held: the same round with
        # synchronous_commit off for the database (the lock is then released without waiting for the disk).
        best = max(results.rounds, key=lambda r: r.per_second)
        workers, threads = CONFIGS[results.rounds.index(best)]
        name = connection.settings_dict["NAME"]
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        try:
            done = ingestion_round(
                world,
                workers,
                threads,
                f"async-{workers}x{threads}",
                rng,
                label=f"DIAGNOSTIC, synchronous_commit=off: {workers}w x {threads}t",
            )
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f'ALTER DATABASE "{name}" RESET synchronous_commit')
        if isinstance(done, IngestRound):
            results.diagnostics.append(done)
    return True


# --- raw INSERT baseline ----------------------------------------------------------------------


def create_scratch() -> list[str]:
    """A table shaped like incidents_incident (columns, generated tsvector, indexes, checks, foreign keys)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
        cursor.execute(f"CREATE TABLE {SCRATCH} (LIKE incidents_incident INCLUDING ALL)")
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'incidents_incident'::regclass AND contype = 'f'"
        )
        foreign_keys = [row[0] for row in cursor.fetchall()]
        for n, definition in enumerate(foreign_keys):
            cursor.execute(f"ALTER TABLE {SCRATCH} ADD CONSTRAINT {SCRATCH}_fk{n} {definition}")
    return foreign_keys


def raw_round(world: World, reports: list[Report]) -> IngestRound:
    """The same number of rows, one committed INSERT each, from CLIENTS threads with their own connection."""
    import psycopg
    from django.db import connection
    from django.utils import timezone

    params = psycopg_params()
    county_of = {code: county for county, stations in world.stations.items() for _pk, code in stations}
    station_pk = {code: pk for stations in world.stations.values() for pk, code in stations}
    province_of = {pk: province for pk, province, _c, _n in world.counties}
    columns = [c for c in INCIDENT_COLUMNS if c != "id"]
    now = timezone.now()
    rows = []
    for n, report in enumerate(reports):
        category_id, severity = world.categories[report.category_code]
        county = county_of[report.station_code]
        values: dict[str, Any] = dict.fromkeys(columns, "")
        values.update(
            province_id=province_of[county],
            county_id=county,
            event_id=world.event.pk,
            category_id=category_id,
            severity=severity,
            state="new",
            station_id=station_pk[report.station_code],
            occurred_at=report.occurred_at,
            description=report.description,
            channel="api",
            reported_by_id=world.reporter.pk,
            public_ref=f"R{n:011X}",
            idempotency_key=report.key,
            intake_fingerprint="0" * 64,
            received_at=now,
            deadline_at=now + dt.timedelta(hours=SEVERITY_HOURS[severity]),
            assigned_organisation_id=None,
            assignee_id=None,
            referred_at=None,
            resolved_at=None,
            closed_at=None,
            merged_into_id=None,
            escalation_level=0,
            escalated_at=None,
            search_text=report.description,
            updated_at=now,
        )
        rows.append(tuple(values[c] for c in columns))
    statement = f"INSERT INTO {SCRATCH} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    cursor_at = itertools.count()
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS + 1)

    finished = threading.Barrier(CLIENTS + 1)
    measured = threading.Event()

    def client() -> None:
        with psycopg.connect(**params, autocommit=True) as conn:
            mine = []
            start.wait()
            while (n := next(cursor_at)) < len(rows):
                began = time.perf_counter()
                conn.execute(statement, rows[n])
                mine.append(time.perf_counter() - began)
            finished.wait()
            measured.wait()  # the connection stays open until its backend's CPU time is read
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    with WaitSampler() as waits, CpuMeter() as cpu:
        start.wait()
        began = time.perf_counter()
        finished.wait()
        seconds = time.perf_counter() - began
        cpu.stop()
    measured.set()
    for thread in threads:
        thread.join()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {SCRATCH}")
        stored = cursor.fetchone()[0]
    progress(f"raw INSERTs: {seconds:.1f} s, {stored:,} rows")
    done = IngestRound(
        f"raw INSERT by psycopg, {CLIENTS} threads",
        seconds,
        len(rows),
        stored,
        latencies,
        Counter({0: len(rows)}),
    )
    done.waits = waits.summary()
    done.cpu = cpu.summary(len(rows))
    return done


# --- profiling one request --------------------------------------------------------------------


def profile_request(world: World, results: Results, endpoint_there: bool) -> None:
    """Where one report's time goes: its SQL statements (with their time) and the Python (cProfile)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from amanat.incidents.services import ReportInput, incident_report

    rng = random.Random(SEED + 3)
    reports = make_reports(world, PROFILE_REQUESTS + 21, "profile", rng)
    out = results.profile
    if endpoint_there:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {world.token}", headers={"Accept": "application/json"})

        def send(report: Report) -> Any:
            response = client.post(
                ENDPOINT, data=report.body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=report.key
            )
            assert response.status_code in {200, 201}, (response.status_code, response.content[:300])
            return response

        what = f"POST {ENDPOINT} through django.test.Client (middleware, auth, ninja, the service)"
    else:

        def send(report: Report) -> Any:
            return incident_report(
                actor=world.reporter,
                report=ReportInput(
                    category_code=report.category_code,
                    occurred_at=report.occurred_at,
                    description=report.description,
                    station_code=report.station_code,
                    idempotency_key=report.key,
                ),
                channel="api",
            )

        what = "incident_report() called directly (the endpoint is not there yet)"

    for report in reports[:20]:
        send(report)
    with CaptureQueriesContext(connection) as captured:
        began = time.perf_counter()
        send(reports[20])
        one = time.perf_counter() - began
    out.append(f"One report, {what}: {one * 1000:.1f} ms, {len(captured.captured_queries)} SQL statements:")
    for query in captured.captured_queries:
        out.append(f"  {float(query['time']) * 1000:6.2f} ms  {' '.join(query['sql'].split())[:150]}")
    out.append("Its SELECTs run again under EXPLAIN ANALYZE (top plan node, server execution time):")
    for query in captured.captured_queries:
        sql = query["sql"]
        if not sql.startswith("SELECT") or "FOR UPDATE" in sql:
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE) {sql}")
            lines = [row[0] for row in cursor.fetchall()]
        scans = [line.strip() for line in lines if "Scan" in line][:2]
        execution = next((line for line in lines if line.startswith("Execution Time")), "")
        table = sql.split("FROM", 1)[1].split()[0].strip('"') if "FROM" in sql else "?"
        out.append(f"  {table:<28} {execution:<28} {' / '.join(scans)[:140]}")
    half = 21 + (len(reports) - 21) // 2
    wall, cpu = time.perf_counter(), time.process_time()
    for report in reports[21:half]:
        send(report)
    n = max(half - 21, 1)
    wall, cpu = (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n
    out.append("")
    out.append(
        f"One after the other, in process, {n} reports: {wall * 1000:.2f} ms each, of which this process's "
        f"CPU {cpu * 1000:.2f} ms (the rest: waiting for PostgreSQL, or for a core on a busy machine)"
    )
    profiler = cProfile.Profile()
    profiler.enable()
    for report in reports[half:]:
        send(report)
    profiler.disable()
    out.append(f"cProfile over {len(reports) - half} more (the profiler roughly doubles the Python time):")
    stats = pstats.Stats(profiler)
    total = max(stats.total_tt, 1e-9)  # type: ignore[attr-defined]
    out.append("--- our code and the layers around it, by cumulative time (share of the profiled total) ---")
    layers = {  # (file name, function): what it stands for
        ("base.py", "get_response"): "Django: the whole request (middleware included)",
        ("operation.py", "run"): "django-ninja: the operation (auth, parsing, the view, the response)",
        ("compiler.py", "execute_sql"): "Django ORM: every statement, compiled and run",
        ("compiler.py", "as_sql"): "Django ORM: compiling SELECT statements to SQL",
        ("cursor.py", "execute"): "psycopg: sending statements and waiting for PostgreSQL",
    }
    rows = []
    for (filename, line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        base = filename.rsplit("/", 1)[-1]
        if "/amanat/" in filename:
            rows.append((cumulative, f"{filename.split('/amanat/', 1)[1]}:{line}({function})"))
        elif (base, function) in layers and ("psycopg" in filename) == (base == "cursor.py"):
            rows.append((cumulative, f"[{layers[(base, function)]}]"))
    each = max(len(reports) - half, 1)
    for cumulative, name in sorted(rows, reverse=True)[:28]:
        out.append(f"  {cumulative / total * 100:5.1f}%  {cumulative / each * 1000:6.2f} ms  {name}")
    buffer = io.StringIO()
    stats.stream = buffer  # type: ignore[attr-defined]
    stats.strip_dirs().sort_stats("tottime").print_stats(18)
    text = buffer.getvalue()
    out.append("--- everything, by own time ---")
    out.extend(line for line in text.splitlines()[text.splitlines().index("") + 1 :] if line.strip())


# --- the run ----------------------------------------------------------------------------------


def load_average() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def others_running() -> list[str]:
    """Other benchmarks or test runs on this machine (it is shared): they slow every figure."""
    mine = os.getpid()
    found = []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        listing = subprocess.run(["ps", "-eo", "pid,pcpu,args"], capture_output=True, text=True, check=False)
        for line in listing.stdout.splitlines()[1:]:
            pid, cpu, args = line.split(None, 2)
            if int(pid) == mine or ("gunicorn" in args and "amanat-bench-incidents" in args):
                continue
            if any(word in args for word in ("bench_", "pytest", "scratch.py")) and "ps -eo" not in args:
                found.append(f"pid {pid} ({cpu}% CPU): {args[:100]}")
    return found


def run() -> Results:
    from django.db import connection
    from django.db.models import Count

    from amanat.incidents.models import Incident
    from amanat.scoping import unscoped

    if connection.vendor != "postgresql":
        sys.exit("bench_incidents needs PostgreSQL: set DATABASE_URL=postgres://...")
    results = Results()
    results.load.append(f"load average at the start: {load_average()}")
    results.facts.extend(f"also running: {other}" for other in others_running())
    progress("set-up")
    world = set_up(results)
    if "search" in PARTS and INCIDENTS:
        progress(f"writing {INCIDENTS:,} SYNTHETIC cases")
        load_incidents(world, results)
        with unscoped():
            busiest = (
                Incident.objects.values("province_id").annotate(n=Count("id")).order_by("-n").first() or {}
            )
        world.province_user = province_chair(world, busiest["province_id"])
        results.facts.append(
            f"province user: chair of province #{busiest['province_id']}, "
            f"the busiest ({busiest['n']:,} cases)"
        )
        progress("measuring search")
        measure_search(world, results)
    if "ingest" in PARTS:
        progress("measuring ingestion")
        endpoint_there = measure_ingestion(world, results)
        if endpoint_there:
            create_scratch()
            baseline = make_reports(world, REPORTS, "raw", random.Random(SEED + 4))
            results.raw = raw_round(world, baseline)
        if PROFILE or missed(results.rounds):
            progress("profiling one request")
            profile_request(world, results, endpoint_there)
    results.load.append(f"load average at the end: {load_average()}")
    results.facts.extend(f"also running at the end: {other}" for other in others_running())
    results.facts.append(f"peak RSS of the bench process: {peak_rss_mib():.0f} MiB")
    return results


def print_report(results: Results, where: str) -> None:
    print_environment("Amanat incidents benchmark: API ingestion and search (PostgreSQL)", where)
    header = f"{'step':<60} {'seconds':>8} {'rows':>10} {'rows/s':>9}"
    print(header)
    print("-" * len(header))
    for step in results.steps:
        rows = f"{step.rows:,}" if step.rows else "-"
        rate = f"{step.rows / step.seconds:,.0f}" if step.rows and step.seconds else "-"
        print(f"{step.name:<60} {step.seconds:>8.1f} {rows:>10} {rate:>9}")
        if step.note:
            print(f"    {step.note}")
    print()

    if results.search:
        print(
            f"Search over {INCIDENTS:,} SYNTHETIC cases: incident_list_for(user, IncidentFilters(q=...)); "
            "ms; "
            f"{SEARCH_RUNS} runs after {SEARCH_WARMUPS} warm-ups (the list PAGE: {PAGE_RUNS} runs)"
        )
        print(
            f"  page = the first {PAGE_SIZE} rows + whether there is a next one (1 query); "
            "COUNT = what the list page's Paginator adds (page numbers, 'N in all'); "
            "list PAGE = GET /incidents/?q= through "
            "django.test.Client (Paginator, template, filters)"
        )
        header = (
            f"{'user':<9} {'query':<22} {'typed':<19} {'hits':>8} {'page p50':>8} {'p95':>6} "
            f"{'COUNT p50':>9} {'p95':>6} {'pg+cnt p95':>10} {'list PAGE p50':>13} {'p95':>6}"
        )
        print(header)
        print("-" * len(header))

        def both(figures: list[SearchFigure]) -> list[float]:
            return [
                p + c for f in figures for p, c in zip(f.samples["page"], f.samples["count"], strict=True)
            ]

        for f in results.search:
            print(
                f"{f.user:<9} {f.label:<22} {f.query:<19} {f.hits:>8,} {f.ms('page', 0.5):>8.1f} "
                f"{f.ms('page', 0.95):>6.1f} {f.ms('count', 0.5):>9.1f} {f.ms('count', 0.95):>6.1f} "
                f"{percentile(both([f]), 0.95) * 1000:>10.1f} {f.ms('list PAGE (Client)', 0.5):>13.1f} "
                f"{f.ms('list PAGE (Client)', 0.95):>6.1f}"
            )
        print("-" * len(header))
        verdicts = []
        for who in ("national", "province"):
            mine = [f for f in results.search if f.user == who]
            if not mine:
                continue
            pooled = {shape: [s for f in mine for s in f.samples[shape]] for shape in mine[0].samples}
            overall = SearchFigure(who, "ALL TEN (overall)", "", 0, False, 0, pooled)
            print(
                f"{who:<9} {overall.label:<22} {'':<19} {'':>8} {overall.ms('page', 0.5):>8.1f} "
                f"{overall.ms('page', 0.95):>6.1f} {overall.ms('count', 0.5):>9.1f} "
                f"{overall.ms('count', 0.95):>6.1f} {percentile(both(mine), 0.95) * 1000:>10.1f} "
                f"{overall.ms('list PAGE (Client)', 0.5):>13.1f} "
                f"{overall.ms('list PAGE (Client)', 0.95):>6.1f}"
            )
            for name, p95 in (
                ("first page", overall.ms("page", 0.95)),
                ("page + COUNT", percentile(both(mine), 0.95) * 1000),
                ("list PAGE", overall.ms("list PAGE (Client)", 0.95)),
            ):
                verdicts.append(
                    f"    target p95 < {SEARCH_TARGET_P95_MS:.0f} ms, {who}, {name}: {p95:.1f} ms "
                    f"{'MET' if p95 < SEARCH_TARGET_P95_MS else 'MISSED'}"
                )
        print("\n".join(verdicts))
        print(
            f"    SQL statements of the selector's first page: {sorted({f.queries for f in results.search})}"
        )
        print()
        print("WHAT-IFS (not the figures; shapes the selector or the page could take instead), ms")
        header = (
            f"{'user':<9} {'query':<22} {'page p95':>8} {'joins after LIMIT p50':>21} {'p95':>6} "
            f"{'COUNT p95':>9} {'capped COUNT p50':>16} {'p95':>6}"
        )
        print(header)
        print("-" * len(header))
        for f in results.search:
            print(
                f"{f.user:<9} {f.label:<22} {f.ms('page', 0.95):>8.1f} "
                f"{f.ms('page, joins after limit', 0.5):>21.1f} "
                f"{f.ms('page, joins after limit', 0.95):>6.1f} "
                f"{f.ms('count', 0.95):>9.1f} {f.ms('count, capped at 1,001', 0.5):>16.1f} "
                f"{f.ms('count, capped at 1,001', 0.95):>6.1f}"
            )
        print("-" * len(header))
        for who in ("national", "province"):
            mine = [f for f in results.search if f.user == who]
            late = [s for f in mine for s in f.samples["page, joins after limit"]]
            paired = [
                p + c
                for f in mine
                for p, c in zip(
                    f.samples["page, joins after limit"], f.samples["count, capped at 1,001"], strict=True
                )
            ]
            if late:
                print(
                    f"    {who}, all ten: page with joins after LIMIT p95 "
                    f"{percentile(late, 0.95) * 1000:.1f} ms; "
                    f"with the capped COUNT p95 {percentile(paired, 0.95) * 1000:.1f} ms"
                )
        print()
        for who, samples in results.figures:
            print(
                f"Figures page (GET /incidents/figures/, every case in reach), {who}: "
                f"median {median(samples) * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms "
                f"({len(samples)} runs)"
            )
        print()
        for title, plan in results.plans:
            print(f"EXPLAIN (ANALYZE, BUFFERS): {title}")
            for line in plan.splitlines():
                print(f"    {line}")
            print()

    rounds = results.rounds + ([results.raw] if results.raw else []) + results.diagnostics
    if rounds:
        print(
            f"Single-report ingestion: {REPORTS:,} reports per round, {CLIENTS} concurrent clients "
            "(keep-alive http.client per thread, on the same 2 cores)"
        )
        header = (
            f"{'round':<58} {'seconds':>8} {'created':>8} {'per s':>8} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'max ms':>7} {'÷ raw':>6}"
        )
        print(header)
        print("-" * len(header))
        for r in rounds:
            ratio = (
                f"{r.per_second / results.raw.per_second:.3f}"
                if results.raw and results.raw.per_second
                else "-"
            )
            print(
                f"{r.name:<58} {r.seconds:>8.1f} {r.created:>8,} {r.per_second:>8,.0f} {r.ms(0.5):>7.1f} "
                f"{r.ms(0.99):>7.1f} {max(r.latencies, default=0) * 1000:>7.1f} {ratio:>6}"
            )
            if r is not results.raw:
                print(f"    answers: {dict(sorted(r.statuses.items()))}{'; ' + r.note if r.note else ''}")
            if r.cpu:
                print(f"    {r.cpu}")
            if r.waits:
                print(f"    {r.waits}")
        if results.rounds:
            best = best_round(results.rounds)
            assert best is not None
            met = meets_target(best)
            meeting = [r.name.split(",")[1].strip() for r in results.rounds if meets_target(r)]
            print(
                f"    target >= {INGEST_TARGET_PER_S:.0f} reports/s "
                f"with p99 < {INGEST_TARGET_P99_MS:.0f} ms: "
                f"{'MET' if met else 'MISSED'} (best: {best.name}: {best.per_second:,.0f}/s, p99 "
                f"{best.ms(0.99):.1f} ms; configurations meeting it: {', '.join(meeting) or 'none'})"
            )
            if results.raw:
                print(
                    f"    ratio API ÷ raw INSERT throughput: {best.per_second / results.raw.per_second:.3f} "
                    f"(raw {results.raw.per_second:,.0f} rows/s; the scratch table starts empty)"
                )
        print()
    if results.profile:
        print("Profile of single-report ingestion")
        for line in results.profile:
            print(f"  {line}")
        print()
    for line in results.load:
        print(f"* {line}")
    for fact in results.facts:
        print(f"* {fact}")
    print(
        f"* all cases are {SYNTHETIC} (generated, seed {SEED}); stations are synthetic (SYN-...), accounts "
        "'bench-...'; ingested reports' descriptions start with 'SYNTHETIC'."
    )


def main() -> None:
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)  # whitenoise
    run_on_throwaway(
        run,
        print_report,
        default_name="amanat_bench_incidents",
        environ={
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "AMANAT_PLAIN_STATIC": "true",
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",  # the profile's test client is 'testserver'
        },
    )


if __name__ == "__main__":
    main()
