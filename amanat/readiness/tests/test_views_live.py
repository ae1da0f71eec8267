"""The live operations page of voting day: counts by status, areas, unreachable stations, the timeline.

The page and its htmx panel render within the caller's jurisdiction, in Jalali time; the panel
returns only its fragment, raises an alert while stations are unreachable, and keeps its query
count whatever the number of stations. A browser test watches the page update when a station
goes silent.
"""

import datetime as dt
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from amanat.accounts.models import User
from amanat.elections.models import ElectionEvent
from amanat.elections.services import election_event_create
from amanat.geography.services import parse_station_csv, station_import
from amanat.readiness import services
from amanat.readiness.models import StationLive
from amanat.readiness.services import LiveEntry
from amanat.readiness.views import live as live_views
from amanat.scoping import unscoped
from amanat.ui.formatting import format_datetime
from conftest import PASSWORD, World, client_for, page_queries

LIVE = "/readiness/live/"
PANEL = "/readiness/live/panel/"


def _client(user: User, language: str = "en") -> Client:
    """A logged-in client; English unless asked, so assertions read the source strings."""
    client = client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _ago(minutes: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=minutes)


def _report(actor: User, event: ElectionEvent, *entries: LiveEntry) -> None:
    result = services.live_updates_apply(actor=actor, event=event, entries=list(entries))
    assert not result.errors, result.errors


@pytest.fixture
def today_event(admin: User, world: World) -> ElectionEvent:
    """An event voting today (and tomorrow, so a run near midnight stays on voting day), stations counted."""
    today = timezone.localdate()
    event = election_event_create(
        actor=admin,
        name="انتخابات امروز",
        voting_day=today,
        voting_ends_on=today + dt.timedelta(days=1),
        opens_on=today - dt.timedelta(days=60),
    )
    services.readiness_stations_recount(event=event)
    return event


@pytest.fixture
def day(national: User, today_event: ElectionEvent) -> ElectionEvent:
    """A morning: A1-001 opened 40 min ago and went silent; A1-002 operates; B1-001 paused for power."""
    _report(
        national,
        today_event,
        LiveEntry("A1-001", _ago(40), "opened"),
        LiveEntry("A1-002", _ago(35), "opened"),
        LiveEntry("A1-002", _ago(30), "operating"),
        LiveEntry("B1-001", _ago(25), "opened"),
        LiveEntry("B1-001", _ago(3), "paused", "قطع برق"),
        LiveEntry("A1-002", _ago(1)),  # a heartbeat
    )
    assert services.stations_mark_unreachable(now=timezone.now()) == 1
    return today_event


def _counts(response: Any) -> dict[str, str]:
    """The figure behind each status card."""
    statuses = response.context["statuses"]
    return {status["key"]: status["count"] for status in statuses}


def test_the_page_shows_counts_areas_unreachable_and_timeline(national: User, day: ElectionEvent) -> None:
    response = _client(national).get(f"{LIVE}?event={day.pk}")

    assert response.status_code == 200
    assert _counts(response) == {
        "not_opened": 2,
        "opened": 1,
        "operating": 1,
        "paused": 1,
        "closed": 0,
        "unreachable": 1,
    }
    areas = response.context["areas"]
    assert [area["name"] for area in areas] == ["استان الف", "استان ب"]  # most unreachable first
    assert response.context["area_label"] == "Province"
    [silent] = response.context["unreachable"]
    assert silent["live"].station.code == "A1-001"
    assert silent["silent"] == "40 min"
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "1 station unreachable" in html
    assert 'data-station="A1-001"' in html
    assert "شهرستان الف۱" in html
    assert "قطع برق" in html
    timeline = response.context["timeline"]
    latest = [(entry.station.code, entry.kind) for entry in timeline[:2]]
    assert latest == [("A1-001", "unreachable"), ("B1-001", "status")]
    assert len(timeline) == 6


def test_the_page_polls_its_panel_every_ten_seconds(national: User, day: ElectionEvent) -> None:
    html = _client(national).get(f"{LIVE}?event={day.pk}").content.decode()

    panel_url = reverse("readiness:live-panel") + f"?event={day.pk}"
    assert panel_url == f"{PANEL}?event={day.pk}"
    assert f'hx-get="{panel_url}"' in html
    assert 'hx-trigger="every 10s"' in html
    assert 'id="live-panel"' in html


def test_the_panel_is_only_the_fragment(national: User, day: ElectionEvent) -> None:
    response = _client(national).get(f"{PANEL}?event={day.pk}", headers={"HX-Request": "true"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "<h1" not in html and 'id="live-panel"' not in html
    assert 'id="live-alert" role="alert"' in html
    assert "1 station unreachable" in html
    assert 'data-status="unreachable"' in html
    assert 'data-station="A1-001"' in html


def test_times_are_jalali_in_persian(national: User, day: ElectionEvent) -> None:
    response = _client(national, "fa").get(f"{PANEL}?event={day.pk}")

    html = response.content.decode()
    with unscoped():
        heard = StationLive.objects.get(event=day, station__code="A1-001").last_seen_at
    with translation.override("fa"):
        expected = format_datetime(heard)
    assert expected in html
    assert expected.startswith("۱۴")  # a Jalali year in Persian digits
    shown = re.sub(r'datetime="[^"]*"', "", html)  # machine-readable times aside, no Gregorian date
    assert heard.isoformat()[:10] not in shown


def test_the_alert_goes_when_the_station_is_back(
    national: User, county_user: User, day: ElectionEvent
) -> None:
    _report(county_user, day, LiveEntry("A1-001", _ago(0)))

    response = _client(national).get(f"{PANEL}?event={day.pk}")

    html = response.content.decode()
    assert 'role="alert"' not in html
    assert "No station is unreachable." in html
    assert "Back in contact" in html


@pytest.mark.parametrize(
    ("persona", "areas", "shown", "hidden"),
    [
        ("province_user", ["شهرستان الف۱", "شهرستان الف۲"], ["A1-001"], ["B1-001"]),
        ("county_user", ["شهرستان الف۱"], ["A1-001", "A1-002"], ["B1-001"]),
        ("outsider", ["شهرستان ب۱"], ["B1-001"], ["A1-001", "A1-002"]),
        ("auditor", ["استان الف", "استان ب"], ["A1-001", "B1-001"], []),
    ],
)
def test_each_sees_its_jurisdiction(
    persona: str, areas: list[str], shown: list[str], hidden: list[str], request: Any, day: ElectionEvent
) -> None:
    response = _client(request.getfixturevalue(persona)).get(f"{LIVE}?event={day.pk}")

    html = response.content.decode()
    assert response.status_code == 200
    assert [area["name"] for area in response.context["areas"]] == areas
    for code in shown:
        assert code in html
    for code in hidden:
        assert code not in html


def test_county_counts_cover_the_county_only(outsider: User, day: ElectionEvent) -> None:
    response = _client(outsider).get(f"{PANEL}?event={day.pk}")

    assert _counts(response) == {
        "not_opened": 1,
        "opened": 0,
        "operating": 0,
        "paused": 1,
        "closed": 0,
        "unreachable": 0,
    }
    assert response.context["area_label"] == "County"
    assert 'role="alert"' not in response.content.decode()


def test_the_current_event_is_shown_without_choosing(county_user: User, day: ElectionEvent) -> None:
    response = _client(county_user).get(LIVE)

    assert response.status_code == 200
    assert response.context["event"] == day
    assert f'hx-get="{PANEL}?event={day.pk}"' in response.content.decode()


def test_without_any_event_the_page_says_so(county_user: User) -> None:
    page = _client(county_user).get(LIVE)
    panel = _client(county_user).get(PANEL)

    assert page.status_code == panel.status_code == 200
    assert "There is no election event yet" in page.content.decode()
    assert "There is no election event yet" in panel.content.decode()
    assert "hx-get" not in page.content.decode()


@pytest.mark.parametrize("value", ["999999", "abc", "99999999999999999999999"])
def test_an_unknown_event_is_not_found(county_user: User, today_event: ElectionEvent, value: str) -> None:
    assert _client(county_user).get(f"{LIVE}?event={value}").status_code == 404
    assert _client(county_user).get(f"{PANEL}?event={value}").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(today_event: ElectionEvent) -> None:
    for url in (LIVE, PANEL):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_long_lists_are_cut_and_say_how_many_more(
    national: User, day: ElectionEvent, monkeypatch: Any
) -> None:
    _report(national, day, LiveEntry("A2-001", _ago(45), "opened"), LiveEntry("B1-002", _ago(50), "opened"))
    services.stations_mark_unreachable(now=timezone.now())
    monkeypatch.setattr(live_views, "UNREACHABLE_SHOWN", 2)
    monkeypatch.setattr(live_views, "TIMELINE_SHOWN", 4)

    response = _client(national).get(f"{PANEL}?event={day.pk}")

    html = response.content.decode()
    assert [row["live"].station.code for row in response.context["unreachable"]] == ["B1-002", "A2-001"]
    assert "3 stations unreachable" in html
    assert "The 2 longest silent are shown; 1 more are unreachable." in html
    assert len(response.context["timeline"]) == 4
    assert "The latest 4 lines at most" in html


def test_silence_reads_in_hours_and_minutes() -> None:
    now = timezone.now()

    with translation.override("en"):
        assert live_views.silence_text(now - dt.timedelta(minutes=12, seconds=40), now) == "12 min"
        assert live_views.silence_text(now - dt.timedelta(hours=2, minutes=5), now) == "2 h 5 min"
        assert live_views.silence_text(now + dt.timedelta(minutes=1), now) == "0 min"
    with translation.override("fa"):
        assert live_views.silence_text(now - dt.timedelta(hours=1, minutes=3), now).startswith("۱")


def test_the_panel_does_not_grow_its_queries_with_the_stations(
    admin: User, national: User, day: ElectionEvent
) -> None:
    client = _client(national)
    urls = [f"{PANEL}?event={day.pk}", f"{LIVE}?event={day.pk}"]
    client.get(urls[0])  # the session's first request may write; leave it out of the counts
    before = [page_queries(client, url) for url in urls]

    codes = [f"A2-{n:03d}" for n in range(2, 32)]
    rows = "".join(f"{code},شعبه {code},A2,A2-1,,,\n" for code in codes)
    station_import(
        actor=admin,
        rows=parse_station_csv("code,name,county_code,district_code,address,latitude,longitude\n" + rows),
        source="test",
    )
    services.readiness_stations_recount(event=day)
    _report(national, day, *(LiveEntry(code, _ago(30), "opened") for code in codes))
    _report(national, day, *(LiveEntry(code, _ago(20), "operating") for code in codes[:10]))
    services.stations_mark_unreachable(now=timezone.now())
    after = [page_queries(client, url) for url in urls]

    response = client.get(urls[0])
    assert response.context["counts"].stations == 35
    assert len(response.context["unreachable"]) == 31
    assert after == before


# --- in a real browser -----------------------------------------------------------------------


@pytest.mark.browser
def test_the_page_raises_the_alert_when_a_station_goes_silent(
    transactional_db: Any,
    live_server: Any,
    world: World,
    admin: Any,
    county_user: User,
    page: Any,
    screenshot: Any,
) -> None:
    from playwright.sync_api import expect

    today = timezone.localdate()
    event = election_event_create(
        actor=admin,
        name="انتخابات زنده",
        voting_day=today,
        voting_ends_on=today + dt.timedelta(days=1),
        opens_on=today - dt.timedelta(days=60),
    )
    services.readiness_stations_recount(event=event)
    _report(
        county_user, event, LiveEntry("A1-001", _ago(30), "opened"), LiveEntry("A1-002", _ago(1), "opened")
    )

    page.goto(live_server.url + reverse("accounts:login"))
    login_form = page.locator("form:has(#id_username)")
    login_form.locator("#id_username").fill(county_user.username)
    login_form.locator("#id_password").fill(PASSWORD)
    login_form.locator("button[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))
    page.goto(live_server.url + reverse("readiness:live") + f"?event={event.pk}")
    figure = "#live-panel [data-status='{}'] .figure"
    expect(page.locator(figure.format("opened"))).to_have_text(re.compile("^(2|۲)$"))
    expect(page.locator("#live-alert")).to_have_count(0)
    stamp = page.locator("#live-updated").inner_text()
    page.evaluate("window.notReloaded = true")

    # A1-001 has been silent for 30 minutes: the minute's check marks it unreachable.
    assert services.stations_mark_unreachable(now=timezone.now()) == 1

    # The next poll (every 10 s) brings the alert, the row and the timeline line, without a reload.
    expect(page.locator("#live-alert")).to_be_visible(timeout=15_000)
    expect(page.locator("#live-alert")).to_have_attribute("role", "alert")
    expect(page.locator("tr[data-station='A1-001']")).to_be_visible()
    expect(page.locator(".live-timeline li.live-kind-unreachable")).to_have_count(1)
    expect(page.locator(figure.format("unreachable"))).to_have_text(re.compile("^(1|۱)$"))
    assert page.locator("#live-updated").inner_text() != stamp
    assert page.evaluate("window.notReloaded === true")  # the same document: swapped, not reloaded
    screenshot(page, "readiness-live-unreachable.png")
