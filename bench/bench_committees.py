"""Benchmark of the committees capability: bulk creation, the national overdue page, escalation, reminders.

Runs against a THROWAWAY database and never touches real data (see bench/benchkit.py):
  * PostgreSQL (DATABASE_URL=postgres://...): a fresh database named amanat_bench_committees (or
    $BENCH_DB_NAME) is dropped and re-created on the same server, used, then dropped again;
  * otherwise SQLite in a temporary file, deleted at the end.

Usage (from the repository root):
    .venv/bin/python bench/bench_committees.py                                   # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/bench_committees.py

Options (environment): BENCH_ACTION_ITEMS (20000), BENCH_PAGE_RUNS (15), BENCH_PAGE_WARMUPS (2).
See bench/README.md for what each figure means.
"""

import datetime as dt
import os
import random
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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

ACTION_ITEMS = int(os.environ.get("BENCH_ACTION_ITEMS", "20000"))
PAGE_RUNS = int(os.environ.get("BENCH_PAGE_RUNS", "15"))
PAGE_WARMUPS = int(os.environ.get("BENCH_PAGE_WARMUPS", "2"))
PAGE_TARGET_MS = 300.0  # the overdue page's target median, on PostgreSQL
SEED = 1405
EXPECTED_COUNTIES = 448
EXPECTED_PROVINCES = 31
SELECTOR = "selector: action_item_overdue_for, page 1 + count"
SELECTOR_ALL = "selector: the same, include_unescalated=True"
SYNTHETIC = "SYNTHETIC"  # prefix of every synthetic action item's title and of the bench accounts' names
USERS_PER_ORGANISATION = 2


# --- results ----------------------------------------------------------------------------------


@dataclass
class Step:
    """A one-shot operation: timed once, with the SQL queries it ran."""

    name: str
    seconds: float
    queries: int | None = None
    rows: int = 0  # rows written or touched, for rows/s
    per: tuple[str, int] | None = None  # ("committee", 480): also show ms per committee
    note: str = ""
    peak_mib: float = 0.0


@dataclass
class Latency:
    """A repeated read: several timed runs after warm-ups."""

    name: str
    samples: list[float]
    queries: int | None
    note: str = ""
    compare_with: str = ""  # the name of the read this one is divided by in "× selector"

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
    facts: list[str] = field(default_factory=list)  # what the run found, printed under the tables
    page_measured: str = ""  # "page" when the real page was rendered, else what stood in for it


def repeat(action: Callable[[], Any], *, runs: int = PAGE_RUNS, warmups: int = PAGE_WARMUPS) -> list[float]:
    return benchkit_repeat(action, runs=runs, warmups=warmups)


# --- the URLs the services link to ------------------------------------------------------------


def committees_urls_state() -> tuple[bool, str]:
    """Whether the committees pages are wired into the site (views written, URLs included)."""
    from django.urls import reverse

    try:
        return True, reverse("committees:overdue")
    except Exception as exc:  # NoReverseMatch, or an ImportError from a half-written views module
        return False, f"{type(exc).__name__}: {exc}"


@contextmanager
def link_urls_for_services(wired: bool) -> Iterator[None]:
    """Let reverse() in the services work even before the committees pages exist.

    Escalation and reminders put a link to 'committees:overdue' / 'committees:my-actions' in each
    notification. When the real URLs are not wired yet, a stub URLconf with just those two names is
    installed for this thread while the services run, and removed afterwards.
    """
    if wired:
        yield
        return
    from django.http import HttpResponse
    from django.urls import include, path, set_urlconf

    def stub(request: Any) -> HttpResponse:
        return HttpResponse("")

    module = types.ModuleType("bench_committees_stub_urls")
    module.urlpatterns = [  # type: ignore[attr-defined]
        path(
            "committees/",
            include(
                (
                    [
                        path("actions/mine/", stub, name="my-actions"),
                        path("actions/overdue/", stub, name="overdue"),
                    ],
                    "committees",
                )
            ),
        )
    ]
    set_urlconf(module)
    try:
        yield
    finally:
        set_urlconf(None)


# --- set-up -----------------------------------------------------------------------------------


@dataclass
class World:
    admin: Any
    viewer: Any
    event: Any
    instruction: Any
    today: dt.date


def set_up(results: Results) -> World:
    from django.core.management import call_command
    from django.utils import timezone

    from amanat.accounts.models import User
    from amanat.accounts.services import user_create
    from amanat.committees.services import instruction_create
    from amanat.elections.services import contest_add, election_event_create
    from amanat.geography.models import County, Province
    from amanat.geography.services import geography_import, iran_division_rows
    from amanat.scoping import unscoped

    with counted() as took:
        call_command("migrate", verbosity=0, interactive=False)
    results.steps.append(Step("set-up: migrate (empty database)", took["seconds"], peak_mib=peak_rss_mib()))

    with counted() as took:
        imported = geography_import(actor=None, rows=iran_division_rows(), source="bench")
    with unscoped():
        counties, provinces = County.objects.count(), Province.objects.count()
    if (counties, provinces) != (EXPECTED_COUNTIES, EXPECTED_PROVINCES):
        print(f"warning: expected {EXPECTED_COUNTIES} counties and {EXPECTED_PROVINCES} provinces")
    results.steps.append(
        Step(
            "set-up: import Iran's geography",
            took["seconds"],
            took["queries"],
            rows=imported.total("created"),
            note=f"{provinces} provinces, {counties} counties",
            peak_mib=peak_rss_mib(),
        )
    )

    today = timezone.localdate()
    with counted() as took:
        admin = User.objects.create_superuser(
            username="bench-admin", password="bench-only-password-1405", role="administrator"
        )
        # A season that opened 60 days ago and votes in 90: the overdue items below fall inside it.
        event = election_event_create(
            actor=admin,
            name=f"{SYNTHETIC} انتخابات شوراها (bench)",
            voting_day=today + dt.timedelta(days=90),
            opens_on=today - dt.timedelta(days=60),
        )
        contest_add(actor=admin, event=event, kind="city_council")  # every county
        instruction = instruction_create(
            actor=admin,
            event=event,
            title=f"{SYNTHETIC} دستورالعمل کمیته‌های امنیت انتخابات",
            duties="شناسایی تهدیدات\nپیگیری آمادگی شعب\nگزارش روزانه",
        )
        viewer = user_create(
            actor=admin,
            username="bench-national-viewer",
            password="bench-only-password-1405",
            role="viewer",
            organisation=None,
        )
    results.steps.append(
        Step(
            "set-up: superuser, event, contest, instruction",
            took["seconds"],
            took["queries"],
            note="city-council contest in every county; a national viewer for the page",
        )
    )
    return World(admin=admin, viewer=viewer, event=event, instruction=instruction, today=today)


# --- 1. creating every committee --------------------------------------------------------------


def measure_creation(world: World, results: Results) -> None:
    from amanat.committees.models import Committee, Meeting
    from amanat.committees.services import committees_create_for_event
    from amanat.scoping import unscoped

    # Created on the season's first day, so each committee gets its whole calendar.
    opened = world.event.opens_on
    with counted() as took:
        created = committees_create_for_event(
            actor=world.admin, event=world.event, instruction=world.instruction, today=opened
        )
    with unscoped():
        in_db = Committee.objects.filter(event=world.event).count()
        meetings_in_db = Meeting.objects.filter(committee__event=world.event).count()
    expected = 1 + EXPECTED_PROVINCES + EXPECTED_COUNTIES
    assert created.committees == in_db, f"reported {created.committees} committees, {in_db} in the database"
    assert created.meetings == meetings_in_db, "meetings reported and stored differ"
    if in_db != expected:
        print(f"warning: expected {expected} committees, got {in_db}")
    results.steps.append(
        Step(
            "committees_create_for_event: first call",
            took["seconds"],
            took["queries"],
            rows=created.committees + created.meetings + created.committees,  # + one audit entry each
            per=("committee", created.committees),
            note=(
                f"{created.committees} committees (1 national, {EXPECTED_PROVINCES} provinces, "
                f"{EXPECTED_COUNTIES} counties), {created.meetings:,} meetings "
                f"({created.meetings / max(created.committees, 1):.1f} per committee), "
                f"{created.committees} audit entries; rows/s counts all three"
            ),
            peak_mib=peak_rss_mib(),
        )
    )
    with counted() as took:
        again = committees_create_for_event(
            actor=world.admin, event=world.event, instruction=world.instruction, today=opened
        )
    assert (again.committees, again.meetings) == (0, 0), "the second call created committees"
    results.steps.append(
        Step(
            "committees_create_for_event: second call",
            took["seconds"],
            took["queries"],
            per=("committee", in_db),
            note="idempotent: created 0 committees, 0 meetings",
            peak_mib=peak_rss_mib(),
        )
    )


# --- 2. synthetic action items ----------------------------------------------------------------


@dataclass
class People:
    organisations: list[Any]
    members: list[Any]  # people of the responsible organisations (reminded)
    secretary: Any  # secretariat of the national and province committees (told of escalations)


def set_up_people(world: World, results: Results) -> People:
    from amanat.accounts.services import organisation_create, user_create
    from amanat.committees.models import Committee
    from amanat.committees.services import committee_member_add
    from amanat.scoping import unscoped

    with counted() as took:
        organisations = [
            organisation_create(actor=world.admin, name=f"{SYNTHETIC} {name}", kind=kind)
            for name, kind in (
                ("ستاد انتخابات کشور", "election_hq"),
                ("فرماندهی انتظامی", "police"),
                ("شرکت مخابرات", "telecom"),
                ("شرکت توزیع برق", "power"),
            )
        ]
        members = [
            user_create(
                actor=world.admin,
                username=f"bench-org{o}-user{u}",
                password="bench-only-password-1405",
                role="member",
                organisation=organisation,
                email=f"bench-org{o}-user{u}@example.invalid",
            )
            for o, organisation in enumerate(organisations)
            for u in range(USERS_PER_ORGANISATION)
        ]
        secretary = user_create(
            actor=world.admin,
            username="bench-secretary",
            password="bench-only-password-1405",
            role="secretary",
            organisation=organisations[0],
        )
        with unscoped():
            upper = list(Committee.objects.filter(event=world.event, county__isnull=True))
        for committee in upper:  # the committees that receive escalated items
            committee_member_add(
                actor=world.admin,
                committee=committee,
                organisation=organisations[0],
                role="secretary",
                representative=secretary,
            )
    results.steps.append(
        Step(
            "set-up: organisations, users, secretariat seats",
            took["seconds"],
            took["queries"],
            note=(
                f"{len(organisations)} national organisations, {len(members)} users in them (reminded), "
                f"one secretary seated on {len(upper)} national/province committees (told of escalations)"
            ),
        )
    )
    return People(organisations=organisations, members=members, secretary=secretary)


def create_action_items(world: World, people: People, results: Results) -> dict[str, int]:
    """SYNTHETIC action items, written with bulk_create (benchmark data, not a service call)."""
    from django.conf import settings
    from django.utils import timezone

    from amanat.committees.models import ActionItem, ActionStatus, Committee
    from amanat.scoping import unscoped

    rng = random.Random(SEED)
    grace = max(1, settings.ACTION_ITEM_ESCALATION_GRACE_DAYS)
    with unscoped():
        committees = list(Committee.objects.filter(event=world.event, province__isnull=False))
    county_committees = [c for c in committees if c.county_id is not None]
    province_committees = [c for c in committees if c.county_id is None]
    now = timezone.now()
    items = []
    by_status: dict[str, int] = {}
    by_depth: dict[int, int] = {0: 0, 1: 0, 2: 0}
    for n in range(ACTION_ITEMS):
        # 90% at county committees, 10% at province committees.
        committee = rng.choice(county_committees if rng.random() < 0.9 else province_committees)
        own_depth = committee.depth
        overdue_days = rng.randint(1, 40)
        due_on = world.today - dt.timedelta(days=overdue_days)
        raised_on = max(world.event.opens_on, due_on - dt.timedelta(days=rng.randint(0, 14)))
        roll = rng.random()
        status = (
            ActionStatus.OPEN
            if roll < 0.55
            else ActionStatus.IN_PROGRESS
            if roll < 0.85
            else ActionStatus.DONE
            if roll < 0.98
            else ActionStatus.CANCELLED
        )
        # Escalated no further than the grace periods allow; often less (the hourly task is behind).
        reachable = min(own_depth, overdue_days // grace)
        depth = own_depth - rng.randint(0, reachable)
        items.append(
            ActionItem(
                committee=committee,
                province_id=committee.province_id,
                county_id=committee.county_id,
                title=f"{SYNTHETIC} اقدام شماره {n + 1}: پیگیری آمادگی شعب",
                responsible=rng.choice(people.organisations),
                raised_on=raised_on,
                due_on=due_on,
                status=status,
                completed_on=(
                    min(world.today, due_on + dt.timedelta(days=rng.randint(0, 5)))
                    if status == ActionStatus.DONE
                    else None
                ),
                cancel_reason=f"{SYNTHETIC} لغو" if status == ActionStatus.CANCELLED else "",
                visible_from_depth=depth,
                escalated_at=now - dt.timedelta(days=rng.randint(0, 3)) if depth < own_depth else None,
            )
        )
        by_status[status] = by_status.get(status, 0) + 1
        by_depth[depth] += 1
    with counted() as took:
        ActionItem.objects.bulk_create(items, batch_size=2000)
    results.steps.append(
        Step(
            f"set-up: {SYNTHETIC} action items (bulk_create)",
            took["seconds"],
            took["queries"],
            rows=len(items),
            note=(
                f"{len(county_committees)} county + {len(province_committees)} province committees; "
                f"due 1-40 days ago; status "
                + ", ".join(f"{k} {v:,}" for k, v in sorted(by_status.items()))
                + "; escalation depth "
                + ", ".join(f"{d}: {by_depth[d]:,}" for d in (0, 1, 2))
            ),
            peak_mib=peak_rss_mib(),
        )
    )
    return by_status


# --- 3. the national overdue page -------------------------------------------------------------


def minimal_overdue_render(user: Any) -> str:
    """What stands in for the page before it exists: the selector's first page in a plain template."""
    from django.conf import settings
    from django.core.paginator import Paginator
    from django.template import engines

    from amanat.committees.selectors import action_item_overdue_for

    template = engines["django"].from_string(
        "<p>{{ page.paginator.count }}</p><table>{% for item in page.object_list %}"
        "<tr><td>{{ item.title }}</td><td>{{ item.committee.name }}</td><td>{{ item.responsible.name }}</td>"
        "<td>{{ item.due_on|date:'Y-m-d' }}</td><td>{{ item.get_status_display }}</td>"
        "<td>{{ item.visible_from_depth }}</td></tr>{% endfor %}</table>"
    )
    page = Paginator(action_item_overdue_for(user=user), settings.PAGE_SIZE).get_page(1)
    return template.render({"page": page})


def shown_on(response: Any) -> int:
    """How many synthetic action items a page lists (each title appears once per row)."""
    return response.content.decode().count(f"{SYNTHETIC} اقدام شماره")


def measure_overdue(world: World, results: Results, url_state: tuple[bool, str]) -> None:
    from django.conf import settings
    from django.core.paginator import Paginator
    from django.test import Client

    from amanat.committees.selectors import action_item_overdue_for

    user = world.viewer

    def selector_first_page(include_unescalated: bool = False) -> tuple[int, int]:
        paginator = Paginator(
            action_item_overdue_for(user=user, include_unescalated=include_unescalated), settings.PAGE_SIZE
        )
        page = paginator.get_page(1)
        rows = [(i.title, i.committee.name, i.responsible.name) for i in page.object_list]  # as a page would
        return paginator.count, len(rows)

    national, shown = selector_first_page()
    everything, _ = selector_first_page(include_unescalated=True)
    results.facts.append(
        f"national overdue list: {national:,} items escalated to the national level "
        f"({everything:,} overdue in all); the first page shows {shown} (PAGE_SIZE {settings.PAGE_SIZE})"
    )

    wired, where = url_state
    if wired:
        client = Client(HTTP_HOST="localhost")  # a host in ALLOWED_HOSTS
        client.force_login(user)

        def render_page() -> Any:
            response = client.get(where)
            assert response.status_code == 200, f"{where} answered {response.status_code}"
            return response

        def render_page_all() -> Any:
            response = client.get(where, {"all": "1"})
            assert response.status_code == 200, f"{where}?all=1 answered {response.status_code}"
            return response

        size = len(render_page().content)
        samples = repeat(render_page)
        results.latencies.append(
            Latency(
                "overdue PAGE (Client, national viewer)",
                samples,
                queries_of(render_page),
                note=(
                    f"GET {where}: {size / 1024:.0f} KiB of HTML, {shown_on(render_page())} items listed; "
                    "session, middleware and context processors included"
                ),
                compare_with=SELECTOR,
            )
        )
        results.page_measured = "page"
        size = len(render_page_all().content)
        results.latencies.append(
            Latency(
                "overdue PAGE ?all=1 (unescalated items too)",
                repeat(render_page_all),
                queries_of(render_page_all),
                note=(
                    f"GET {where}?all=1: {size / 1024:.0f} KiB of HTML, {shown_on(render_page_all())} "
                    "items listed; every overdue item in the country"
                ),
                compare_with=SELECTOR_ALL,
            )
        )
    else:
        samples = repeat(lambda: minimal_overdue_render(user))
        results.latencies.append(
            Latency(
                "STAND-IN: selector + minimal template (no page yet)",
                samples,
                queries_of(lambda: minimal_overdue_render(user)),
                note="the committees pages were not wired when this ran: " + where,
                compare_with=SELECTOR,
            )
        )
        results.page_measured = "stand-in"
    results.latencies.append(
        Latency(
            SELECTOR,
            repeat(selector_first_page),
            queries_of(selector_first_page),
            note="national level only (the page's default)",
        )
    )
    results.latencies.append(
        Latency(
            SELECTOR_ALL,
            repeat(lambda: selector_first_page(include_unescalated=True)),
            queries_of(lambda: selector_first_page(include_unescalated=True)),
            note="every overdue item in the country",
        )
    )


# --- 4. escalation and reminders --------------------------------------------------------------


def measure_escalation_and_reminders(world: World, results: Results, wired: bool) -> None:
    from django.core import mail

    from amanat.accounts.models import Notification
    from amanat.audit.models import AuditEntry
    from amanat.committees import services
    from amanat.committees.models import OPEN_STATUSES, ActionItem
    from amanat.scoping import unscoped

    with unscoped():
        open_overdue = ActionItem.objects.filter(status__in=OPEN_STATUSES, due_on__lt=world.today).count()
    audit_before = AuditEntry.all_entries.count()
    notes_before = Notification.objects.count()
    with link_urls_for_services(wired), counted() as took:
        moved = services.action_items_escalate(today=world.today)
    notes = Notification.objects.count() - notes_before
    audited = AuditEntry.all_entries.count() - audit_before
    results.steps.append(
        Step(
            "action_items_escalate",
            took["seconds"],
            took["queries"],
            rows=moved,
            per=("item moved", moved),
            note=(
                f"read {open_overdue:,} open overdue items, moved {moved:,} up; "
                f"{audited:,} audit entries, {notes:,} notifications"
            ),
            peak_mib=peak_rss_mib(),
        )
    )
    with link_urls_for_services(wired), counted() as took:
        again = services.action_items_escalate(today=world.today)
    results.steps.append(
        Step(
            "action_items_escalate: again, same day",
            took["seconds"],
            took["queries"],
            note=f"moved {again}",
        )
    )

    notes_before = Notification.objects.count()
    mail.outbox = []
    with link_urls_for_services(wired), counted() as took:
        reminded = services.action_item_reminders_send(today=world.today)
    notes = Notification.objects.count() - notes_before
    results.steps.append(
        Step(
            "action_item_reminders_send",
            took["seconds"],
            took["queries"],
            rows=reminded,
            per=("item reminded", reminded),
            note=(
                f"{reminded:,} items (open, due within the reminder days or overdue); {notes:,} "
                f"notifications, {len(mail.outbox):,} e-mails (locmem backend, sent on commit, included)"
            ),
            peak_mib=peak_rss_mib(),
        )
    )
    with link_urls_for_services(wired), counted() as took:
        again = services.action_item_reminders_send(today=world.today)
    results.steps.append(
        Step(
            "action_item_reminders_send: again, same day",
            took["seconds"],
            took["queries"],
            note=f"reminded {again} (once a day each)",
        )
    )


# --- the run ----------------------------------------------------------------------------------


def run() -> Results:
    results = Results()
    world = set_up(results)
    measure_creation(world, results)
    people = set_up_people(world, results)
    create_action_items(world, people, results)
    url_state = committees_urls_state()
    if not url_state[0]:
        results.facts.append(f"committees pages NOT wired ({url_state[1]}): the overdue page is a stand-in")
    measure_overdue(world, results, url_state)
    measure_escalation_and_reminders(world, results, url_state[0])
    return results


def print_report(results: Results, where: str) -> None:
    from django.db import connection

    print_environment("Amanat committees benchmark (one run; one-shot steps timed once)", where)
    header = f"{'step':<48} {'seconds':>8} {'queries':>8} {'rows':>7} {'rows/s':>9} {'ms per':>18}"
    print(header)
    print("-" * len(header))
    for step in results.steps:
        queries = "-" if step.queries is None else f"{step.queries:,}"
        rows = f"{step.rows:,}" if step.rows else "-"
        rate = f"{step.rows / step.seconds:,.0f}" if step.rows and step.seconds else "-"
        per = "-"
        if step.per and step.per[1]:
            per = f"{step.seconds * 1000 / step.per[1]:.2f} /{step.per[0]}"
        print(f"{step.name:<48} {step.seconds:>8.3f} {queries:>8} {rows:>7} {rate:>9} {per:>18}")
        if step.note:
            print(f"    {step.note}")
    print()

    print(f"Reads: median and p95 of {PAGE_RUNS} runs after {PAGE_WARMUPS} warm-ups; queries of one run")
    header = f"{'read':<52} {'median ms':>9} {'p95 ms':>8} {'min ms':>8} {'queries':>8} {'× selector':>11}"
    print(header)
    print("-" * len(header))
    by_name = {lat.name: lat for lat in results.latencies}
    for lat in results.latencies:
        ratio = "-"
        if lat.compare_with in by_name:
            ratio = f"{lat.median_ms / by_name[lat.compare_with].median_ms:.1f}×"
        queries = "-" if lat.queries is None else str(lat.queries)
        print(
            f"{lat.name:<52} {lat.median_ms:>9.1f} {lat.p95_ms:>8.1f} {min(lat.samples) * 1000:>8.1f} "
            f"{queries:>8} {ratio:>11}"
        )
        if lat.note:
            print(f"    {lat.note}")
    print()

    for fact in results.facts:
        print(f"* {fact}")
    page = results.latencies[0] if results.latencies else None
    if page is not None:
        verdict = "MET" if page.median_ms < PAGE_TARGET_MS else "MISSED"
        what = "overdue page" if results.page_measured == "page" else "STAND-IN for the overdue page"
        on_pg = "" if connection.vendor == "postgresql" else " (the target is for PostgreSQL)"
        print(
            f"* target: {what} median under {PAGE_TARGET_MS:.0f} ms: {verdict} "
            f"({page.median_ms:.1f} ms){on_pg}"
        )
    if results.page_measured != "page":
        print("* THE OVERDUE PAGE WAS NOT MEASURED: amanat/committees/views.py or its URLs were missing;")
        print("  the figure above is the selector plus a minimal template, not the real page.")
    print(
        f"* action items, their organisations and users are {SYNTHETIC} (titles and names start with "
        f"'{SYNTHETIC}', usernames with 'bench-'); seed {SEED}."
    )
    print(f"* peak RSS (ru_maxrss of this process) at the end: {peak_rss_mib():.1f} MiB.")


def main() -> None:
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)  # whitenoise
    run_on_throwaway(
        run,
        print_report,
        default_name="amanat_bench_committees",
        # Reminders send e-mail: keep it in memory (django.core.mail.outbox), never on the console.
        # Pages use plain static storage, as the tests do: no collectstatic manifest is needed.
        environ={
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "AMANAT_PLAIN_STATIC": "true",
        },
    )


if __name__ == "__main__":
    main()
