"""Shared test world: two provinces, three counties, stations, and the personas of every test.

Built through the services, as a user would build it. Personas:
admin (superuser, national), national (national administrator), auditor (national auditor),
province_user (chair of province A), province_admin (administrator of province A), county_admin
(administrator of county A1), county_user (member in county A1), outsider (member in county B1 of
the other province), county_viewer (viewer in county A1).
"""

import datetime as dt
import importlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from amanat.accounts.models import Organisation, OrganisationKind, User
from amanat.accounts.roles import Role
from amanat.accounts.services import organisation_create, user_create
from amanat.geography.models import County, District, PollingStation, Province
from amanat.geography.services import (
    geography_import,
    parse_division_csv,
    parse_station_csv,
    station_import,
)
from amanat.scoping import unscoped

PASSWORD = "correct-horse-battery-1405"

DIVISIONS_CSV = """level,code,name,name_en,parent_code
province,A,استان الف,Province A,
province,B,استان ب,Province B,
county,A1,شهرستان الف۱,County A1,A
county,A2,شهرستان الف۲,County A2,A
county,B1,شهرستان ب۱,County B1,B
district,A1-1,بخش مرکزی الف۱,Central A1,A1
district,A2-1,بخش مرکزی الف۲,Central A2,A2
district,B1-1,بخش مرکزی ب۱,Central B1,B1
"""

STATIONS_CSV = """code,name,county_code,district_code,address,latitude,longitude
A1-001,مدرسه شهید بهشتی,A1,A1-1,خیابان اول,35.700000,51.400000
A1-002,مسجد جامع,A1,A1-1,,,
A2-001,کتابخانه مرکزی,A2,A2-1,,,
B1-001,دبستان فردوسی,B1,B1-1,,,
B1-002,سالن ورزشی,B1,B1-1,,,
"""


@dataclass
class World:
    province_a: Province
    province_b: Province
    county_a1: County
    county_a2: County
    county_b1: County
    district_a1: District
    district_b1: District
    station_a1: PollingStation
    station_a2: PollingStation
    station_b1: PollingStation
    org_national: Organisation
    org_a: Organisation
    org_a1: Organisation
    org_b1: Organisation


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    """Tests create many users; a deliberately slow hash would dominate the run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Rate-limit counters and used challenges live in the cache: no test inherits another's."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def reference_data(transactional_db: Any) -> None:
    """The migrations' reference data (risk and incident taxonomies, matrix, policy, duties), put back.

    A transactional test ends by emptying every table, this data included; the tests that follow
    and need it ask for this fixture (the seed is idempotent).
    """
    from django.apps import apps

    for module in (
        "amanat.risks.migrations.0002_seed_taxonomy_matrix_policy_duties",
        "amanat.incidents.migrations.0003_seed_categories_deadlines",
    ):
        importlib.import_module(module).seed(apps, None)


@pytest.fixture
def admin(db: Any) -> User:
    return User.objects.create_superuser("admin", "admin@example.invalid", PASSWORD, role=Role.ADMINISTRATOR)


@pytest.fixture
def world(db: Any, admin: User) -> World:
    geography_import(actor=admin, rows=parse_division_csv(DIVISIONS_CSV), source="test")
    station_import(actor=admin, rows=parse_station_csv(STATIONS_CSV), source="test")
    with unscoped():
        province_a, province_b = Province.objects.get(code="A"), Province.objects.get(code="B")
        county_a1, county_a2, county_b1 = (County.objects.get(code=code) for code in ("A1", "A2", "B1"))
        stations = {s.code: s for s in PollingStation.objects.all()}
        district_a1, district_b1 = District.objects.get(code="A1-1"), District.objects.get(code="B1-1")
    org = organisation_create
    return World(
        province_a=province_a,
        province_b=province_b,
        county_a1=county_a1,
        county_a2=county_a2,
        county_b1=county_b1,
        district_a1=district_a1,
        district_b1=district_b1,
        station_a1=stations["A1-001"],
        station_a2=stations["A2-001"],
        station_b1=stations["B1-001"],
        org_national=org(actor=admin, name="ستاد کشور", kind=OrganisationKind.ELECTION_HQ),
        org_a=org(actor=admin, name="استانداری الف", kind=OrganisationKind.GOVERNORATE, province=province_a),
        org_a1=org(actor=admin, name="فرمانداری الف۱", kind=OrganisationKind.GOVERNORATE, county=county_a1),
        org_b1=org(actor=admin, name="فرمانداری ب۱", kind=OrganisationKind.GOVERNORATE, county=county_b1),
    )


def _user(admin: User, username: str, role: str, organisation: Organisation, **where: Any) -> User:
    return user_create(
        actor=admin, username=username, password=PASSWORD, role=role, organisation=organisation, **where
    )


@pytest.fixture
def national(admin: User, world: World) -> User:
    return _user(admin, "national", Role.ADMINISTRATOR, world.org_national)


@pytest.fixture
def auditor(admin: User, world: World) -> User:
    return _user(admin, "auditor", Role.AUDITOR, world.org_national)


@pytest.fixture
def province_user(admin: User, world: World) -> User:
    return _user(admin, "province_a", Role.CHAIR, world.org_a, province=world.province_a)


@pytest.fixture
def county_user(admin: User, world: World) -> User:
    return _user(admin, "county_a1", Role.MEMBER, world.org_a1, county=world.county_a1)


@pytest.fixture
def county_viewer(admin: User, world: World) -> User:
    return _user(admin, "viewer_a1", Role.VIEWER, world.org_a1, county=world.county_a1)


@pytest.fixture
def province_admin(admin: User, world: World) -> User:
    """An administrator of province A: manages users and stations there, and nowhere else."""
    return _user(admin, "admin_a", Role.ADMINISTRATOR, world.org_a, province=world.province_a)


@pytest.fixture
def county_admin(admin: User, world: World) -> User:
    """An administrator of county A1."""
    return _user(admin, "admin_a1", Role.ADMINISTRATOR, world.org_a1, county=world.county_a1)


@pytest.fixture
def outsider(admin: User, world: World) -> User:
    return _user(admin, "county_b1", Role.MEMBER, world.org_b1, county=world.county_b1)


def page_queries(client: Client, url: str) -> int:
    """The statements one GET of `url` runs (answering 200), once the reference cache is warm.

    The first read after a change fills the cache (the election calendar, say): a query-count test
    compares pages, not cold and warm caches.
    """
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (response.status_code, response.content[:300])
    return len(captured)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- elections and committees ----------------------------------------------------------------

VOTING_DAY = dt.date(2027, 3, 5)  # 1405/12/14: close to Nowruz, so calendars cross the Jalali year


@pytest.fixture
def event(admin: User, world: World) -> Any:
    """An election event whose city-council contest takes place in every county of the world."""
    from amanat.elections.services import contest_add, election_event_create

    created = election_event_create(
        actor=admin, name="انتخابات شوراها", voting_day=VOTING_DAY, opens_on=dt.date(2026, 11, 1)
    )
    contest_add(actor=admin, event=created, kind="city_council")
    return created


@pytest.fixture
def instruction(admin: User, event: Any) -> Any:
    from amanat.committees.services import instruction_create

    return instruction_create(
        actor=admin,
        event=event,
        title="دستورالعمل کمیته‌های امنیت انتخابات",
        duties="شناسایی تهدیدات\nپیگیری آمادگی شعب\nگزارش روزانه",
    )


@dataclass
class Committees:
    national: Any
    province_a: Any
    province_b: Any
    county_a1: Any
    county_a2: Any
    county_b1: Any


@pytest.fixture
def committees(admin: User, world: World, event: Any, instruction: Any) -> Committees:
    """Every committee of the event, created in one action on 2026-11-10 with their calendars."""
    from amanat.committees.models import Committee
    from amanat.committees.services import committees_create_for_event

    committees_create_for_event(
        actor=admin, event=event, instruction=instruction, today=dt.date(2026, 11, 10)
    )
    with unscoped():
        by_place = {(c.province_id, c.county_id): c for c in Committee.objects.filter(event=event)}
    return Committees(
        national=by_place[(None, None)],
        province_a=by_place[(world.province_a.pk, None)],
        province_b=by_place[(world.province_b.pk, None)],
        county_a1=by_place[(world.province_a.pk, world.county_a1.pk)],
        county_a2=by_place[(world.province_a.pk, world.county_a2.pk)],
        county_b1=by_place[(world.province_b.pk, world.county_b1.pk)],
    )


# --- browser tests: Debian's Chromium driven by Playwright, one page per test ----------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # This machine's network is closed: without these Chromium keeps trying to reach Google's hosts.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000
SCREENSHOTS = Path(__file__).resolve().parent / "var" / "screenshots"


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh page in headless Chromium (1280×900). Missing Chromium fails under CI and skips elsewhere."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API runs an asyncio loop in this thread, and Django refuses ORM calls made
    # while a loop runs. Allow them for these tests only, so the switch does not leak into the rest
    # of the session and hide real async-safety bugs elsewhere.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            new_page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            new_page.set_default_timeout(TIMEOUT_MS)
            yield new_page
        finally:
            browser.close()


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    """Save a page's full-page screenshot under var/screenshots/ with the given file name."""

    def save(page: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
