"""The home dashboard: the caller's jurisdiction, its counts, and the current event, in Persian first."""

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from amanat.accounts.models import User
from amanat.elections.models import ElectionEvent
from amanat.elections.services import election_event_create
from amanat.geography.services import station_generate
from conftest import World, client_for

TODAY = dt.date(2024, 6, 18)  # 29 Khordad 1403
VOTING_DAY = dt.date(2024, 6, 28)  # 8 Tir 1403
FIGURES = re.compile(r'<div class="figure">([^<]*)</div>')
GEOGRAPHY_COUNTS = re.compile(r'<section class="cards" id="geography-counts">(.*?)</section>', re.S)


def _geography_figures(body: str) -> list[str]:
    section = GEOGRAPHY_COUNTS.search(body)
    assert section is not None, "the home page has no geography counts"
    return FIGURES.findall(section.group(1))


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: Any) -> None:
    real = timezone.localdate
    monkeypatch.setattr(
        timezone, "localdate", lambda value=None, tz=None: TODAY if value is None else real(value, tz)
    )


@pytest.fixture
def event(national: User, world: World) -> ElectionEvent:
    return election_event_create(actor=national, name="انتخابات چهاردهم", voting_day=VOTING_DAY)


def _heading(body: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", body, re.S)
    assert match, "the page has no heading"
    return match.group(1)


def test_home_needs_login(db: Any) -> None:
    response = Client().get("/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_county_user_home(county_user: User, world: World, event: ElectionEvent) -> None:
    response = client_for(county_user).get("/")

    body = response.content.decode()
    dashboard = response.context["dashboard"]
    assert dashboard.jurisdiction_level == "county"
    assert (dashboard.counts.districts, dashboard.counts.stations) == (1, 2)
    assert world.county_a1.name in _heading(body)
    assert _geography_figures(body) == ["۱", "۲"]  # districts, stations: no province or county cards
    assert f'href="/geo/counties/{world.county_a1.pk}/"' in body


def test_province_user_home(province_user: User, world: World, event: ElectionEvent) -> None:
    response = client_for(province_user).get("/")

    body = response.content.decode()
    dashboard = response.context["dashboard"]
    assert dashboard.jurisdiction_level == "province"
    assert (dashboard.counts.counties, dashboard.counts.districts, dashboard.counts.stations) == (2, 2, 3)
    assert world.province_a.name in _heading(body)
    assert _geography_figures(body) == ["۲", "۲", "۳"]  # counties, districts, stations
    assert world.province_b.name not in body


@pytest.mark.parametrize("persona", ["national", "auditor", "admin"])
def test_national_home(persona: str, request: Any, world: World, event: ElectionEvent) -> None:
    response = client_for(request.getfixturevalue(persona)).get("/")

    body = response.content.decode()
    dashboard = response.context["dashboard"]
    assert dashboard.jurisdiction_level == "national"
    assert dashboard.counts.provinces == 2
    assert _geography_figures(body) == ["۲", "۳", "۳", "۵"]  # provinces, counties, districts, stations
    heading = _heading(body)
    assert world.province_a.name not in heading
    assert world.county_a1.name not in heading


def test_outsider_home_is_their_own_county(outsider: User, world: World, event: ElectionEvent) -> None:
    response = client_for(outsider).get("/")

    body = response.content.decode()
    assert world.county_b1.name in _heading(body)
    assert world.county_a1.name not in body
    assert _geography_figures(body) == ["۱", "۲"]


def test_home_shows_the_current_event_in_persian(county_user: User, event: ElectionEvent) -> None:
    response = client_for(county_user).get("/")

    body = response.content.decode()
    dashboard = response.context["dashboard"]
    assert (dashboard.event, dashboard.phase, dashboard.days_to_voting) == (event, "before", 10)
    assert '<html lang="fa" dir="rtl">' in body
    assert event.name in body
    assert 'class="panel phase-before"' in body
    voting_day = re.search(r'<strong class="voting-day">(.*?)</strong>', body)
    assert voting_day is not None
    assert voting_day.group(1) == "۸ تیر ۱۴۰۳"
    assert "۱۰" in re.sub(r"\s+", " ", body.split('class="countdown"')[1].split("</p>")[0])
    visible_text = re.sub(r"<[^>]*>", " ", body)
    assert "2024" not in visible_text  # dates are Jalali, digits Persian
    assert "۲۹ خرداد ۱۴۰۳" in visible_text  # today


def test_home_on_voting_day(county_user: User, national: User, world: World) -> None:
    event = election_event_create(actor=national, name="امروز", voting_day=TODAY)

    body = client_for(county_user).get("/").content.decode()

    assert 'class="panel phase-during"' in body
    assert 'class="countdown"' not in body
    assert event.name in body


def test_home_without_an_event(county_user: User, world: World) -> None:
    response = client_for(county_user).get("/")

    assert response.context["dashboard"].event is None
    assert "phase-" not in response.content.decode()


def test_switching_to_english(county_user: User, event: ElectionEvent) -> None:
    client = client_for(county_user)

    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    assert switched.status_code == 302
    response = client.get("/")
    body = response.content.decode()
    assert '<html lang="en" dir="ltr">' in body
    assert response["Content-Language"] == "en"
    assert "28 June 2024" in body
    assert "Polling stations" in body
    assert "Open my county" in body
    assert _geography_figures(body) == ["1", "2"]
    assert "۱۴۰۳" not in body

    client.post("/i18n/setlang/", {"language": "fa", "next": "/"})
    assert '<html lang="fa" dir="rtl">' in client.get("/").content.decode()


def test_browser_language_does_not_override_persian(county_user: User, event: ElectionEvent) -> None:
    body = client_for(county_user).get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).content.decode()

    assert '<html lang="fa" dir="rtl">' in body
    assert "۸ تیر ۱۴۰۳" in body


def test_home_queries_are_bounded(
    admin: User, county_user: User, event: ElectionEvent, django_assert_max_num_queries: Any
) -> None:
    client = client_for(county_user)
    client.get("/")
    # Session, user, event, geography counts, committee work (next meeting, overdue, mine), the atlas and
    # security level, the readiness checklist, the incident counts (one aggregate), notifications.
    with django_assert_max_num_queries(20) as few:
        client.get("/")
    station_generate(actor=admin, total=200, seed=4)

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/").status_code == 200


def test_home_shows_the_atlas_and_levels_of_the_jurisdiction(
    county_user: User, province_user: User, national: User, world: Any, event: ElectionEvent
) -> None:
    from amanat.risks import services as risk_services
    from amanat.risks.models import RiskCategory

    atlas = risk_services.atlas_open(actor=county_user, event=event, county=world.county_a1)
    risk_services.risk_create(
        actor=county_user,
        atlas=atlas,
        kind="threat",
        phase="during",
        category=RiskCategory.objects.get(code="power-utilities"),
        title="قطع برق",
        likelihood=2,
        impact=2,
        treatment="mitigate",
    )
    risk_services.atlas_submit(actor=county_user, atlas=atlas)

    county_page = client_for(county_user).get("/").content.decode()
    assert reverse("risks:atlas", args=[atlas.pk]) in county_page
    # The province has one atlas awaiting its review: the card is flagged.
    province_page = client_for(province_user).get("/").content.decode()
    assert f'class="card alert" href="{reverse("risks:list")}"' in province_page

    risk_services.security_level_decide(
        actor=province_user, event=event, county=world.county_a1, level="sensitive", reason="آزمون"
    )
    national_page = client_for(national).get("/").content.decode()
    assert f"{reverse('risks:levels')}?level=sensitive" in national_page


def test_home_shows_station_readiness_and_silent_stations_on_voting_day(
    admin: User, national: User, county_user: User, world: Any
) -> None:
    from amanat.readiness import services as readiness_services

    today = timezone.localdate()
    event = election_event_create(
        actor=admin, name="رأی‌گیری امروز", voting_day=today, opens_on=today - dt.timedelta(days=30)
    )
    items = readiness_services.readiness_items_create_defaults(actor=national, event=event, due_on=today)
    readiness_services.station_readiness_set(
        actor=county_user, item=items[0], station=world.station_a1, status="done", evidence="صورتجلسه تحویل"
    )
    # Noon of the (frozen) today, in local time.
    now = timezone.make_aware(dt.datetime.combine(today, dt.time(12)))
    reported = readiness_services.live_updates_apply(
        actor=county_user,
        event=event,
        entries=[readiness_services.LiveEntry("A1-001", now - dt.timedelta(hours=1), "opened")],
        now=now,
    )
    assert (reported.accepted, reported.errors) == (1, {})
    assert readiness_services.stations_mark_unreachable(now=now) == 1

    page = client_for(county_user).get("/")
    dashboard = page.context["dashboard"]
    # County A1 has 2 stations and 8 items: 1 of 16 station-items done; every item is due today.
    assert (dashboard.readiness_percent, dashboard.readiness_at_risk) == (6.2, 15)
    assert dashboard.live_unreachable == 1
    assert f'class="card alert" href="{reverse("readiness:live")}"' in page.content.decode()


def test_home_counts_the_open_overdue_and_unmoderated_incidents(
    county_user: User, outsider: User, world: World
) -> None:
    from amanat.incidents import services as incident_services
    from amanat.incidents.models import IncidentCategory

    now = timezone.now()
    report = incident_services.ReportInput(
        category_code="violence",
        occurred_at=now - dt.timedelta(hours=5),
        description="درگیری در صف شعبه",
        station_code="A1-001",
    )
    # Reported four hours ago: a critical case (two hours to deal with it) is past its deadline.
    incident_services.incident_report(actor=county_user, report=report, now=now - dt.timedelta(hours=4))
    incident_services.incident_report_public(
        county=world.county_a1,
        station_code="A1-002",
        category=IncidentCategory.objects.get(code="vote-buying"),
        occurred_at=now - dt.timedelta(hours=1),
        description="گزارش مردمی",
    )

    def figures(user: User) -> list[str]:
        section = re.search(r'<section class="cards" id="incidents">(.*?)</section>', _home(user), re.S)
        assert section is not None
        return re.findall(r'<div class="figure">([^<]*)</div>', section.group(1))

    assert figures(county_user) == ["۲", "۱", "۱"]  # open (both), past deadline, awaiting moderation
    assert figures(outsider) == ["۰", "۰", "۰"]


def _home(user: User) -> str:
    return client_for(user).get("/").content.decode()
