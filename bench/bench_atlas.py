"""Benchmark of the security atlas at national scale: classifying 448 counties, the level pages.

Runs against a THROWAWAY database and never touches real data (see bench/benchkit.py):
  * PostgreSQL (DATABASE_URL=postgres://...): a fresh database named amanat_bench_atlas (or
    $BENCH_DB_NAME) is dropped and re-created on the same server, used, then dropped again;
  * otherwise SQLite in a temporary file, deleted at the end.

Usage (from the repository root):
    .venv/bin/python bench/bench_atlas.py                                   # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/bench_atlas.py

Options (environment): BENCH_RISKS_PER_COUNTY (20), BENCH_STATIONS (60000), BENCH_CLASSIFY_RUNS (7),
BENCH_PAGE_RUNS (20), BENCH_PAGE_WARMUPS (2), BENCH_PDF_RUNS (5).
See bench/README.md for what each figure means.
"""

import datetime as dt
import os
import random
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for benchkit

from benchkit import (
    counted,
    median,
    peak_rss_mib,
    percentile,
    print_environment,
    queries_of,
    run_on_throwaway,
)
from benchkit import repeat as benchkit_repeat

RISKS_PER_COUNTY = int(os.environ.get("BENCH_RISKS_PER_COUNTY", "20"))
STATIONS = int(os.environ.get("BENCH_STATIONS", "60000"))
CLASSIFY_RUNS = int(os.environ.get("BENCH_CLASSIFY_RUNS", "7"))
PAGE_RUNS = int(os.environ.get("BENCH_PAGE_RUNS", "20"))
PAGE_WARMUPS = int(os.environ.get("BENCH_PAGE_WARMUPS", "2"))
PDF_RUNS = int(os.environ.get("BENCH_PDF_RUNS", "5"))
CLASSIFY_TARGET_S = 1.0  # classifying every county, on PostgreSQL
PAGE_TARGET_MS = 300.0  # the national levels page's median, on PostgreSQL
SEED = 1405
EXPECTED_COUNTIES = 448
SYNTHETIC = "SYNTHETIC"  # prefix of every synthetic risk's and past election's title
PASSWORD = "bench-only-password-1405"
CLASSIFY = "county_classify: every county (update)"
PAGE = "levels PAGE, national (Client)"
SELECTOR = "selectors: level_tally_for + table page 1"


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
class Latency:
    """A repeated operation: several timed runs after warm-ups."""

    name: str
    samples: list[float]
    queries: int | None
    note: str = ""
    compare_with: str = ""  # the name of the latency this one is divided by in the ratio column

    @property
    def median_ms(self) -> float:
        return median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        return percentile(self.samples, 0.95) * 1000


@dataclass
class Results:
    steps: list[Step] = field(default_factory=list)
    latencies: list[Latency] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    counties: int = 0


def repeat(action: Callable[[], Any], *, runs: int = PAGE_RUNS, warmups: int = PAGE_WARMUPS) -> list[float]:
    return benchkit_repeat(action, runs=runs, warmups=warmups)


# --- set-up -----------------------------------------------------------------------------------


@dataclass
class World:
    admin: Any
    national: Any
    province_chair: Any
    event: Any
    tehran: Any
    today: dt.date


def set_up(results: Results) -> World:
    from django.core.management import call_command
    from django.utils import timezone

    from amanat.accounts.models import User
    from amanat.accounts.services import user_create
    from amanat.elections.services import contest_add, election_event_create
    from amanat.geography.models import County, Province
    from amanat.geography.services import geography_import, iran_division_rows, station_generate
    from amanat.scoping import unscoped

    with counted() as took:
        call_command("migrate", verbosity=0, interactive=False)
    results.steps.append(Step("set-up: migrate (empty database)", took["seconds"]))

    with counted() as took:
        geography_import(actor=None, rows=iran_division_rows(), source="bench")
    with unscoped():
        results.counties = County.objects.count()
        provinces = Province.objects.count()
        tehran = Province.objects.get(code="23")
    if results.counties != EXPECTED_COUNTIES:
        print(f"warning: expected {EXPECTED_COUNTIES} counties, found {results.counties}")
    results.steps.append(
        Step(
            "set-up: import Iran's geography",
            took["seconds"],
            took["queries"],
            note=f"{provinces} provinces, {results.counties} counties",
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
            note="station_generate (flagged is_synthetic, codes SYN-...): the score counts each county's",
        )
    )

    today = timezone.localdate()
    with counted() as took:
        admin = User.objects.create_superuser(username="bench-admin", password=PASSWORD, role="administrator")
        event = election_event_create(
            actor=admin,
            name=f"{SYNTHETIC} انتخابات شوراها (bench)",
            voting_day=today + dt.timedelta(days=90),
            opens_on=today - dt.timedelta(days=60),
        )
        contest_add(actor=admin, event=event, kind="city_council")  # every county
        national = user_create(
            actor=admin, username="bench-national-chair", password=PASSWORD, role="chair", organisation=None
        )
        province_chair = user_create(
            actor=admin,
            username="bench-tehran-chair",
            password=PASSWORD,
            role="chair",
            organisation=None,
            province=tehran,
        )
    results.steps.append(
        Step(
            "set-up: superuser, event, contest, two chairs",
            took["seconds"],
            took["queries"],
            note="city-council contest in every county; a national chair and Tehran's chair read the pages",
        )
    )
    return World(
        admin=admin, national=national, province_chair=province_chair, event=event, tehran=tehran, today=today
    )


def create_registers(world: World, results: Results) -> None:
    """One atlas per county with SYNTHETIC assessed risks, and SYNTHETIC past elections (bulk_create)."""
    from django.utils import timezone

    from amanat.geography.models import County
    from amanat.risks.models import (
        Atlas,
        PastElection,
        Risk,
        RiskCategory,
        RiskKind,
        RiskMatrix,
        RiskMatrixCell,
        RiskPhase,
        RiskStatus,
        Treatment,
    )
    from amanat.scoping import unscoped

    rng = random.Random(SEED)
    with unscoped():
        counties = list(County.objects.order_by("pk").values_list("pk", "province_id"))
    matrix = RiskMatrix.objects.get(is_default=True)
    cells = {(c.likelihood, c.impact): c for c in RiskMatrixCell.objects.filter(matrix=matrix)}
    categories = list(RiskCategory.objects.filter(is_active=True))
    treatments = [
        Treatment.MITIGATE,
        Treatment.MITIGATE,
        Treatment.MITIGATE,
        Treatment.AVOID,
        Treatment.TRANSFER,
    ]

    with counted() as took, unscoped():
        Atlas.objects.bulk_create(
            Atlas(event=world.event, province_id=province_id, county_id=county_id)
            for county_id, province_id in counties
        )
        atlases = dict(Atlas.objects.filter(event=world.event).values_list("county_id", "pk"))
    results.steps.append(
        Step(
            "set-up: one atlas per county (bulk_create)", took["seconds"], took["queries"], rows=len(atlases)
        )
    )

    risks = []
    by_status: dict[str, int] = {}
    for county_id, province_id in counties:
        # Counties differ: some carry many severe risks, most a few.
        severity = rng.choice((1, 1, 1, 2, 2, 3))
        for n in range(RISKS_PER_COUNTY):
            likelihood = min(5, rng.randint(1, 3) + rng.randint(0, severity - 1))
            impact = min(5, rng.randint(1, 4) + rng.randint(0, severity - 1))
            cell = cells[(likelihood, impact)]
            roll = rng.random()
            status = (
                RiskStatus.OPEN
                if roll < 0.8
                else RiskStatus.TREATED
                if roll < 0.92
                else RiskStatus.CLOSED
                if roll < 0.97
                else RiskStatus.WITHDRAWN
            )
            residual: dict[str, Any] = {}
            if status == RiskStatus.TREATED:  # treated: a lower residual assessment
                rest = cells[(max(1, likelihood - 1), max(1, impact - 1))]
                residual = {
                    "residual_likelihood": rest.likelihood,
                    "residual_impact": rest.impact,
                    "residual_score": rest.score,
                    "residual_band_id": rest.band_id,
                }
            by_status[status] = by_status.get(status, 0) + 1
            risks.append(
                Risk(
                    atlas_id=atlases[county_id],
                    province_id=province_id,
                    county_id=county_id,
                    kind=rng.choice(RiskKind.values),
                    phase=rng.choice(RiskPhase.values),
                    category=rng.choice(categories),
                    title=f"{SYNTHETIC} ریسک شماره {n + 1}",
                    description=f"{SYNTHETIC}: benchmark data, not a real risk",
                    location="شعب نمونه",
                    matrix=matrix,
                    likelihood=likelihood,
                    impact=impact,
                    score=cell.score,
                    band_id=cell.band_id,
                    treatment=rng.choice(treatments),
                    status=status,
                    created_by=world.admin,
                    **residual,
                )
            )
    with counted() as took, unscoped():
        Risk.objects.bulk_create(risks, batch_size=2000)
    results.steps.append(
        Step(
            f"set-up: {SYNTHETIC} risks (bulk_create)",
            took["seconds"],
            took["queries"],
            rows=len(risks),
            note=f"{RISKS_PER_COUNTY} per county, assessed on the default 5x5 matrix; status "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(by_status.items())),
        )
    )

    past = []
    for county_id, province_id in counties:
        if rng.random() < 0.25:  # a quarter of the counties have a record
            for term in range(rng.randint(1, 2)):
                past.append(
                    PastElection(
                        province_id=province_id,
                        county_id=county_id,
                        held_on=world.today - dt.timedelta(days=365 * 4 * (term + 1)),
                        title=f"{SYNTHETIC} انتخابات دوره {term + 1}",
                        was_annulled=rng.random() < 0.15,
                        serious_incidents=rng.choice((0, 0, 0, 1, 2, 3, 5, 12)),
                    )
                )
    with counted() as took, unscoped():
        PastElection.objects.bulk_create(past)
    annulled = sum(1 for record in past if record.was_annulled)
    results.steps.append(
        Step(
            f"set-up: {SYNTHETIC} past elections (bulk_create)",
            took["seconds"],
            took["queries"],
            rows=len(past),
            note=f"{annulled} annulled; created {timezone.now():%Y-%m-%d}",
        )
    )


# --- 1. classification ------------------------------------------------------------------------


def measure_classification(world: World, results: Results) -> None:
    from django.db.models import Count

    from amanat.risks.models import CountyClassification
    from amanat.risks.services import county_classify, county_records
    from amanat.scoping import unscoped

    with counted() as took:
        created = county_classify(event=world.event, actor=world.admin)
    results.steps.append(
        Step(
            "county_classify: every county, first run",
            took["seconds"],
            took["queries"],
            rows=created,
            note=f"creates {created} classifications (bulk_create), one audit entry",
        )
    )
    with counted() as took:
        county_classify(event=world.event, actor=world.admin)
    samples = repeat(
        lambda: county_classify(event=world.event, actor=world.admin), runs=CLASSIFY_RUNS, warmups=0
    )
    results.latencies.append(
        Latency(
            CLASSIFY,
            samples,
            took["queries"],
            note=f"{created} counties x {RISKS_PER_COUNTY} risks: read the registers, records and stations, "
            "score, bulk_update, audit; as the recalculate button and the nightly job run it",
        )
    )
    with unscoped():
        ids = list(CountyClassification.objects.filter(event=world.event).values_list("county_id", flat=True))
    results.latencies.append(
        Latency(
            "county_records: the reads alone",
            repeat(lambda: county_records(world.event, ids), runs=CLASSIFY_RUNS, warmups=1),
            queries_of(lambda: county_records(world.event, ids)),
            note="the four grouped queries (bands, past elections, stations, band table)",
            compare_with=CLASSIFY,
        )
    )
    with unscoped():
        levels = dict(
            CountyClassification.objects.filter(event=world.event)
            .values("recommended_level")
            .annotate(n=Count("pk"))
            .values_list("recommended_level", "n")
        )
    results.facts.append(
        "recommended levels: " + ", ".join(f"{level} {count}" for level, count in sorted(levels.items()))
    )


def decide_levels(world: World, results: Results) -> None:
    """Decide levels: Tehran's counties through the service (with history); two thirds of the rest in bulk."""
    from django.db.models import F
    from django.utils import timezone

    from amanat.geography.models import County
    from amanat.risks.models import CountyClassification
    from amanat.risks.services import security_level_decide
    from amanat.scoping import unscoped

    rng = random.Random(SEED + 1)
    with unscoped():
        tehran = list(County.objects.filter(province=world.tehran).order_by("pk"))
        recommended = dict(
            CountyClassification.objects.filter(event=world.event).values_list(
                "county_id", "recommended_level"
            )
        )
    with counted() as took:
        for county in tehran:
            security_level_decide(
                actor=world.province_chair, event=world.event, county=county, level=recommended[county.pk]
            )
    results.steps.append(
        Step(
            "security_level_decide: Tehran's counties",
            took["seconds"],
            took["queries"],
            rows=len(tehran),
            note="one call per county (it classifies the county again first, then records the decision)",
        )
    )
    others = [pk for pk in recommended if pk not in {c.pk for c in tehran} and rng.random() < 2 / 3]
    with counted() as took, unscoped():
        decided = CountyClassification.objects.filter(event=world.event, county_id__in=others).update(
            level=F("recommended_level"), decided_at=timezone.now()
        )
    results.steps.append(
        Step(
            "set-up: levels of 2/3 of the other counties (bulk update)",
            took["seconds"],
            took["queries"],
            rows=decided,
            note=f"{SYNTHETIC} decisions (no history rows): the maps colour decided counties",
        )
    )


# --- 2. the pages -----------------------------------------------------------------------------


def measure_pages(world: World, results: Results) -> None:
    from django.conf import settings
    from django.core.paginator import Paginator
    from django.test import Client

    from amanat.geography.models import County
    from amanat.risks.selectors import classification_list_for, level_tally_for
    from amanat.scoping import unscoped

    event = world.event
    national = Client(HTTP_HOST="localhost")
    national.force_login(world.national)
    chair = Client(HTTP_HOST="localhost")
    chair.force_login(world.province_chair)

    def get(client: Any, url: str, headers: dict[str, str] | None = None) -> Callable[[], Any]:
        def action() -> Any:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, f"{url} answered {response.status_code}"
            return response

        return action

    def page_latency(
        name: str,
        client: Any,
        url: str,
        note: str,
        compare_with: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        action = get(client, url, headers)
        response = action()
        size = len(response.content)
        results.latencies.append(
            Latency(
                name,
                repeat(action),
                queries_of(action),
                note=f"GET {url}: {size / 1024:.0f} KiB of HTML; {note}",
                compare_with=compare_with,
            )
        )

    def selectors_only() -> int:
        tallies = level_tally_for(user=world.national, event=event)
        page = Paginator(
            classification_list_for(user=world.national, event=event), settings.PAGE_SIZE
        ).get_page(1)
        rows = [(row.county.name, row.province.name, row.score) for row in page.object_list]
        return len(tallies) + len(rows) + page.paginator.count

    page_latency(
        PAGE,
        national,
        f"/atlas/levels/?event={event.pk}",
        "31 province tiles + the first table page; session, middleware, context processors included",
        compare_with=SELECTOR,
    )
    results.latencies.append(
        Latency(
            SELECTOR,
            repeat(selectors_only),
            queries_of(selectors_only),
            note="what the page reads: the tally per province and level, the table's first page and count",
        )
    )
    page_latency(
        "levels PAGE, sorted by level, sensitive only",
        national,
        f"/atlas/levels/?event={event.pk}&sort=-level&level=sensitive",
        "a filtered, sorted table",
        compare_with=SELECTOR,
    )
    page_latency(
        "levels table, htmx fragment, page 5 by county",
        national,
        f"/atlas/levels/?event={event.pk}&sort=county&page=5",
        "the table alone, as htmx asks for it (HX-Request) when sorting, filtering or paging",
        compare_with=SELECTOR,
        headers={"HX-Request": "true"},
    )
    page_latency(
        "province PAGE, Tehran, as national",
        national,
        f"/atlas/levels/provinces/{world.tehran.pk}/?event={event.pk}",
        "Tehran's county tiles + its table",
        compare_with=SELECTOR,
    )
    page_latency(
        "levels PAGE as Tehran's chair (its province)",
        chair,
        "/atlas/levels/",
        "a province user lands on the province's view (current event)",
        compare_with=SELECTOR,
    )
    with unscoped():
        busiest = County.objects.filter(province=world.tehran).order_by("pk").first()
    assert busiest is not None
    page_latency(
        "identity card PAGE (one county)",
        national,
        f"/atlas/events/{event.pk}/counties/{busiest.pk}/",
        f"{RISKS_PER_COUNTY} risks: heat map, top risks, level and history, duties",
    )
    pdf = get(national, f"/atlas/events/{event.pk}/counties/{busiest.pk}/card.pdf")
    body = pdf().content
    results.latencies.append(
        Latency(
            "identity card PDF (one county)",
            repeat(pdf, runs=PDF_RUNS, warmups=1),
            queries_of(pdf),
            note=f"WeasyPrint, Persian RTL A4: {len(body) / 1024:.0f} KiB",
        )
    )


# --- the run ----------------------------------------------------------------------------------


def run() -> Results:
    results = Results()
    world = set_up(results)
    create_registers(world, results)
    measure_classification(world, results)
    decide_levels(world, results)
    measure_pages(world, results)
    return results


def print_report(results: Results, where: str) -> None:
    from django.db import connection

    print_environment("Amanat security atlas benchmark (one-shot steps timed once)", where)
    header = f"{'step':<56} {'seconds':>8} {'queries':>8} {'rows':>7} {'rows/s':>9}"
    print(header)
    print("-" * len(header))
    for step in results.steps:
        queries = "-" if step.queries is None else f"{step.queries:,}"
        rows = f"{step.rows:,}" if step.rows else "-"
        rate = f"{step.rows / step.seconds:,.0f}" if step.rows and step.seconds else "-"
        print(f"{step.name:<56} {step.seconds:>8.3f} {queries:>8} {rows:>7} {rate:>9}")
        if step.note:
            print(f"    {step.note}")
    print()

    print(
        f"Repeated: median, p95 and min; classification {CLASSIFY_RUNS} runs, pages {PAGE_RUNS} after "
        f"{PAGE_WARMUPS} warm-ups, PDF {PDF_RUNS}; queries of one run"
    )
    header = f"{'operation':<52} {'median ms':>9} {'p95 ms':>8} {'min ms':>8} {'queries':>8} {'ratio':>9}"
    print(header)
    print("-" * len(header))
    by_name = {lat.name: lat for lat in results.latencies}
    for lat in results.latencies:
        ratio = "-"
        if lat.compare_with in by_name:
            ratio = f"{lat.median_ms / by_name[lat.compare_with].median_ms:.2f}×"
        queries = "-" if lat.queries is None else str(lat.queries)
        print(
            f"{lat.name:<52} {lat.median_ms:>9.1f} {lat.p95_ms:>8.1f} {min(lat.samples) * 1000:>8.1f} "
            f"{queries:>8} {ratio:>9}"
        )
        if lat.note:
            print(f"    {lat.note}")
    print()

    for fact in results.facts:
        print(f"* {fact}")
    on_pg = "" if connection.vendor == "postgresql" else " (the targets are for PostgreSQL)"
    classify = by_name.get(CLASSIFY)
    if classify is not None:
        seconds = classify.median_ms / 1000
        verdict = "MET" if seconds < CLASSIFY_TARGET_S else "MISSED"
        print(
            f"* target: classifying all {results.counties} counties under {CLASSIFY_TARGET_S:.0f} s: "
            f"{verdict} "
            f"(median {seconds:.3f} s = {seconds / CLASSIFY_TARGET_S:.2f} of the target, "
            f"{classify.median_ms / max(results.counties, 1):.2f} ms per county){on_pg}"
        )
    page = by_name.get(PAGE)
    if page is not None:
        verdict = "MET" if page.median_ms < PAGE_TARGET_MS else "MISSED"
        print(
            f"* target: national levels page median under {PAGE_TARGET_MS:.0f} ms: {verdict} "
            f"({page.median_ms:.1f} ms = {page.median_ms / PAGE_TARGET_MS:.2f} of the target){on_pg}"
        )
    print(
        f"* risks and past elections are {SYNTHETIC} (titles start with '{SYNTHETIC}'), stations are "
        f"synthetic (SYN-...), accounts are 'bench-...'; seed {SEED}."
    )
    print(f"* peak RSS (ru_maxrss of this process) at the end: {peak_rss_mib():.1f} MiB.")


def main() -> None:
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)  # whitenoise
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # WeasyPrint's HarfBuzz notice
    run_on_throwaway(
        run,
        print_report,
        default_name="amanat_bench_atlas",
        # Decisions notify by e-mail too: keep it in memory. Plain static storage, as the tests use.
        environ={
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "AMANAT_PLAIN_STATIC": "true",
        },
    )


if __name__ == "__main__":
    main()
