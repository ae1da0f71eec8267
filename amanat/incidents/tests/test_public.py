"""The public reporting page: no login, a real proof-of-work challenge, a rate limit, bad input named.

The challenge is solved in each test with the altcha library's own solver (the work factor is made
small), and verified by the page as it would be in production: signature, solution, expiry, replay.
"""

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import altcha
import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from amanat.audit.models import AuditEntry
from amanat.incidents.forms import public as public_forms
from amanat.incidents.models import Channel, Incident, IncidentCategory, IncidentEvidence, IncidentState
from amanat.incidents.services import incident_taxonomy_forget
from amanat.incidents.tests.test_evidence import EXE, PNG
from amanat.scoping import unscoped
from amanat.ui.formatting import jalali_input_value
from conftest import World

URL = "/incidents/report/"
CHALLENGE_URL = "/incidents/report/challenge/"


@pytest.fixture(autouse=True)
def _fresh(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Small work factor; an empty cache (rate counters, used challenges); evidence in a temporary folder."""
    settings.ALTCHA_MAX_NUMBER = 200
    settings.PUBLIC_REPORT_RATE = "100/h"
    monkeypatch.setattr(IncidentEvidence._meta.get_field("file"), "storage", FileSystemStorage(tmp_path))
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def client() -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _solved(client: Client) -> str:
    """Fetch a challenge from the page's own endpoint and solve it as the browser widget would."""
    response = client.get(CHALLENGE_URL)
    assert response.status_code == 200
    challenge = altcha.Challenge.from_dict(response.json())
    solution = altcha.solve_challenge(challenge, timeout=30)
    assert solution is not None
    return altcha.Payload(challenge, solution).to_base64()


def _category(code: str = "vote-buying") -> IncidentCategory:
    return IncidentCategory.objects.get(code=code)


def _form(client: Client, world: World, **overrides: Any) -> dict[str, Any]:
    """A valid submission: vote buying at station A1-001 an hour ago, with a solved challenge."""
    when = timezone.localtime() - dt.timedelta(hours=1)
    data: dict[str, Any] = {
        "province": world.province_a.pk,
        "county": world.county_a1.pk,
        "station_code": "A1-001",
        "category": _category().pk,
        "occurred_date": jalali_input_value(when.date()),
        "occurred_time": when.strftime("%H:%M"),
        "description": "پخش پول میان رأی‌دهندگان در صف شعبه",
        "reporter_name": "شهروند",
        "reporter_contact": "0912 000 0000",
    }
    data.update(overrides)
    if "altcha" not in data:
        data["altcha"] = _solved(client)
    return {key: value for key, value in data.items() if value is not None}


def _incidents() -> list[Incident]:
    with unscoped():
        return list(Incident.objects.all())


def _errors(response: Any) -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in response.context["form"].errors.items()}


# --- the page ---------------------------------------------------------------------------------


def test_page_renders_without_login_nav_or_external_resources(client: Client, world: World) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    # Nothing loaded from elsewhere: every src/href is a path on this site.
    for url in re.findall(r'(?:src|href|action|challenge)="([^"]*)"', html):
        assert url.startswith("/") or url.startswith("#"), url
    assert "http://" not in html and "https://" not in html and "//" not in html
    assert "/static/vendor/altcha/altcha.i18n.min.js" in html
    assert f'challenge="{CHALLENGE_URL}"' in html
    # A minimal base: no navigation and no user menu.
    assert "mainnav" not in html and "/accounts/" not in html and "Log out" not in html
    # The reporter's details are said to stay with the handling officials.
    assert "only the officials handling reports in that county see them" in html
    # Active categories and every county are offered.
    assert "Vote buying" in html and world.county_b1.name_en in html


def test_persian_is_the_default_language(world: World) -> None:
    html = Client().get(URL).content.decode()
    assert 'lang="fa" dir="rtl"' in html


def test_the_page_looks_the_same_to_a_logged_in_official(world: World, county_user: Any) -> None:
    official = Client()
    official.force_login(county_user)
    html = official.get(URL).content.decode()
    assert "mainnav" not in html and county_user.username not in html


def test_counties_are_narrowed_by_province(client: Client, world: World) -> None:
    response = client.get("/incidents/report/counties/", {"province": world.province_a.pk})
    html = response.content.decode()
    assert "County A1" in html and "County A2" in html and "County B1" not in html
    assert 'hx-get="/incidents/report/counties/"' in client.get(URL).content.decode()


def test_the_widget_is_vendored_locally() -> None:
    widget = Path(__file__).resolve().parents[2] / "ui/static/vendor/altcha/altcha.i18n.min.js"
    assert widget.stat().st_size > 10_000


# --- the challenge ----------------------------------------------------------------------------


def test_challenge_is_signed_expiring_and_not_cached(client: Client) -> None:
    response = client.get(CHALLENGE_URL)
    assert "no-store" in response.headers["Cache-Control"]
    body = response.json()
    assert body["signature"] and body["parameters"]["algorithm"] == "SHA-256"
    assert body["parameters"]["expiresAt"] > dt.datetime.now().timestamp()
    assert client.get(CHALLENGE_URL).json()["signature"] != body["signature"]


def test_valid_report_enters_moderation_and_shows_only_a_receipt(client: Client, world: World) -> None:
    response = client.post(URL, _form(client, world), REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 302, _errors(response) if response.context else response
    [incident] = _incidents()
    assert incident.state == IncidentState.AWAITING_MODERATION
    assert incident.channel == Channel.PUBLIC
    assert incident.county_id == world.county_a1.pk and incident.station_id == world.station_a1.pk
    assert incident.reporter_name == "شهروند" and incident.reporter_contact == "0912 000 0000"
    assert incident.reported_by is None
    assert timezone.now() - dt.timedelta(hours=2) < incident.occurred_at < timezone.now()
    with unscoped():
        entry = AuditEntry.objects.get(entity_type="incidents.Incident", entity_id=str(incident.pk))
    assert entry.ip_address == "198.51.100.7" and entry.actor_id is None

    thanks = client.get(response["Location"])
    assert thanks.status_code == 200
    html = thanks.content.decode()
    assert incident.public_ref in html
    for private in ("شهروند", "0912", "پخش پول", "A1-001", "County A1", "Vote buying"):
        assert private not in html


def test_report_with_evidence_stores_the_checked_file(client: Client, world: World) -> None:
    data = _form(client, world, evidence=[SimpleUploadedFile("صحنه.png", PNG, content_type="image/png")])
    response = client.post(URL, data)
    assert response.status_code == 302
    [incident] = _incidents()
    with unscoped():
        [evidence] = IncidentEvidence.objects.filter(incident=incident)
    assert evidence.content_type == "image/png" and evidence.original_name == "صحنه.png"
    assert str(evidence.file.name).endswith(".png")


def test_report_about_a_county_without_station(client: Client, world: World) -> None:
    data = _form(client, world, province=world.province_b.pk, county=world.county_b1.pk, station_code="")
    assert client.post(URL, data).status_code == 302
    [incident] = _incidents()
    assert incident.county_id == world.county_b1.pk and incident.station_id is None


def test_forged_receipt_is_not_found(client: Client, world: World) -> None:
    assert client.get("/incidents/report/thanks/ABCDEF123456/").status_code == 404
    assert client.get("/incidents/report/thanks/IkFCQyI:1abc:xyz/").status_code == 404


# --- the challenge refused --------------------------------------------------------------------


def test_missing_solution_is_refused(client: Client, world: World) -> None:
    response = client.post(URL, _form(client, world, altcha=""))
    assert response.status_code == 200
    assert _errors(response)["altcha"] == ["Confirm that you are not a robot."]
    assert _incidents() == []
    # The input is kept.
    assert "پخش پول میان رأی‌دهندگان" in response.content.decode()


def test_forged_challenge_is_refused(client: Client, world: World) -> None:
    """A challenge signed with another key, solved correctly, is not ours."""
    forged = altcha.create_challenge(
        algorithm="SHA-256",
        cost=1,
        counter=3,
        expires_at=int(timezone.now().timestamp()) + 600,
        hmac_secret="not-our-secret",
    )
    solution = altcha.solve_challenge(forged)
    assert solution is not None
    payload = altcha.Payload(forged, solution).to_base64()
    response = client.post(URL, _form(client, world, altcha=payload))
    assert "altcha" in _errors(response)
    assert _incidents() == []


def test_wrong_solution_and_garbage_are_refused(client: Client, world: World) -> None:
    challenge = altcha.Challenge.from_dict(client.get(CHALLENGE_URL).json())
    wrong = altcha.Payload(challenge, altcha.Solution(counter=1, derived_key="00" * 32)).to_base64()
    for payload in (wrong, "not base64 at all", "eyJmb28iOiAxfQ=="):
        response = client.post(URL, _form(client, world, altcha=payload))
        assert "altcha" in _errors(response), payload
    assert _incidents() == []


def test_replayed_solution_is_refused(client: Client, world: World) -> None:
    payload = _solved(client)
    assert client.post(URL, _form(client, world, altcha=payload)).status_code == 302
    response = client.post(URL, _form(client, world, altcha=payload, description="دوباره"))
    assert response.status_code == 200
    assert "failed or expired" in _errors(response)["altcha"][0]
    assert len(_incidents()) == 1


def test_expired_challenge_is_refused(client: Client, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public_forms, "CHALLENGE_SECONDS", -5)
    payload = _solved(client)
    expires_at = altcha.Payload.from_base64(payload).challenge.parameters.expires_at
    assert expires_at is not None and expires_at < timezone.now().timestamp()
    response = client.post(URL, _form(client, world, altcha=payload))
    assert "altcha" in _errors(response)
    assert _incidents() == []


# --- the rate limit ---------------------------------------------------------------------------


def test_rate_limit_answers_429_per_client_address(settings: Any, client: Client, world: World) -> None:
    settings.PUBLIC_REPORT_RATE = "2/h"
    for _ in range(2):
        assert client.post(URL, _form(client, world), REMOTE_ADDR="203.0.113.9").status_code == 302
    response = client.post(URL, _form(client, world), REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429
    assert "Too many reports from your connection" in response.content.decode()
    assert len(_incidents()) == 2
    # Reading the page is not limited, and another address may still report.
    assert client.get(URL, REMOTE_ADDR="203.0.113.9").status_code == 200
    assert client.post(URL, _form(client, world), REMOTE_ADDR="203.0.113.10").status_code == 302


def test_failed_submissions_count_towards_the_limit(settings: Any, client: Client, world: World) -> None:
    settings.PUBLIC_REPORT_RATE = "1/h"
    assert client.post(URL, {"description": "x"}, REMOTE_ADDR="203.0.113.20").status_code == 200
    assert client.post(URL, _form(client, world), REMOTE_ADDR="203.0.113.20").status_code == 429
    assert _incidents() == []


# --- bad input named on the form --------------------------------------------------------------


def test_disguised_evidence_is_a_form_error_and_nothing_is_created(
    client: Client, world: World, tmp_path: Path
) -> None:
    data = _form(
        client,
        world,
        evidence=[
            SimpleUploadedFile("ok.png", PNG, content_type="image/png"),
            SimpleUploadedFile("photo.jpg", EXE, content_type="image/jpeg"),
        ],
    )
    response = client.post(URL, data)
    assert response.status_code == 200
    [message] = _errors(response)["evidence"]
    assert "“photo.jpg”" in message
    assert _incidents() == []
    with unscoped():
        assert IncidentEvidence.objects.count() == 0
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert "پخش پول میان رأی‌دهندگان" in response.content.decode()


def test_more_than_three_files_are_refused(client: Client, world: World) -> None:
    files = [SimpleUploadedFile(f"p{i}.png", PNG, content_type="image/png") for i in range(4)]
    response = client.post(URL, _form(client, world, evidence=files))
    assert _errors(response)["evidence"] == ["At most 3 files per report."]
    assert _incidents() == []


def test_a_time_in_the_future_is_refused(client: Client, world: World) -> None:
    later = timezone.localtime() + dt.timedelta(days=2)
    data = _form(
        client, world, occurred_date=jalali_input_value(later.date()), occurred_time=later.strftime("%H:%M")
    )
    response = client.post(URL, data)
    assert response.status_code == 200
    assert _errors(response)["occurred_date"] == ["The time is in the future."]
    assert _incidents() == []


def test_a_county_of_another_province_is_refused(client: Client, world: World) -> None:
    response = client.post(URL, _form(client, world, province=world.province_a.pk, county=world.county_b1.pk))
    assert _errors(response)["county"] == ["Choose a county of the chosen province."]
    assert _incidents() == []


def test_a_station_outside_the_county_is_named(client: Client, world: World) -> None:
    response = client.post(URL, _form(client, world, station_code="A2-001"))
    assert _errors(response)["county"] == ["The station is not in this county."]
    response = client.post(URL, _form(client, world, station_code="NOPE-1"))
    assert "station_code" in _errors(response)
    assert _incidents() == []


def test_required_fields_are_named(client: Client, world: World) -> None:
    response = client.post(URL, {"altcha": _solved(client)})
    errors = _errors(response)
    assert {"province", "county", "category", "occurred_date", "occurred_time", "description"} <= set(errors)
    assert _incidents() == []


def test_an_inactive_category_is_not_offered(client: Client, world: World) -> None:
    IncidentCategory.objects.filter(code="procedural-error").update(is_active=False)
    incident_taxonomy_forget()
    assert "Procedural error" not in client.get(URL).content.decode()
    response = client.post(URL, _form(client, world, category=_category("procedural-error").pk))
    assert "category" in _errors(response)
    assert _incidents() == []


# --- in a real browser: the vendored widget solves the page's own challenge ---------------------


@pytest.mark.browser
def test_a_citizen_reports_in_the_browser(
    transactional_db: Any,
    reference_data: None,
    live_server: Any,
    settings: Any,
    world: World,
    page: Any,
    screenshot: Any,
) -> None:
    """The widget fetches the challenge from this site, solves it in the page, and the report arrives.

    Every request the page makes goes to this site (or stays inside the page: data: and blob: workers).
    """
    from playwright.sync_api import expect

    settings.ALTCHA_MAX_NUMBER = 5_000
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}])
    page.goto(live_server.url + URL)

    page.select_option("#id_province", str(world.province_b.pk))
    # htmx narrows the counties to province B's.
    expect(page.locator("#id_county option")).to_have_count(2)
    page.select_option("#id_county", str(world.county_b1.pk))
    page.fill("#id_station_code", "B1-002")
    page.select_option("#id_category", str(_category("intimidation").pk))
    when = timezone.localtime() - dt.timedelta(hours=2)
    page.fill("#id_occurred_date", jalali_input_value(when.date()))
    page.keyboard.press("Escape")
    page.fill("#id_occurred_time", when.strftime("%H:%M"))
    page.fill("#id_description", "Officials at the station were threatened by a group outside.")
    page.set_input_files(
        "#id_evidence", files=[{"name": "scene.png", "mimeType": "image/png", "buffer": PNG}]
    )
    # Focusing the form started the proof of work; wait until the widget says it is done.
    widget = page.locator("altcha-widget")
    page.wait_for_function(
        "() => { const i = document.querySelector('input[name=altcha]'); return i && i.value.length > 20; }",
        timeout=60_000,
    )
    expect(widget).to_be_visible()
    page.locator("button[type=submit].primary").click()
    page.wait_for_url(re.compile(r".*/incidents/report/thanks/.+/$"))
    screenshot(page, "public-report-thanks.png")

    [incident] = _incidents()
    assert incident.state == IncidentState.AWAITING_MODERATION
    assert incident.station_id is not None and incident.county_id == world.county_b1.pk
    expect(page.locator(".receipt")).to_have_text(incident.public_ref)
    with unscoped():
        assert IncidentEvidence.objects.filter(incident=incident).count() == 1
    outside = [url for url in requests if not url.startswith((live_server.url, "data:", "blob:"))]
    assert outside == []
