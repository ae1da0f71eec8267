"""The readiness pages: roll-ups per persona, a county's stations, a station's checklist, the CSV upload
and the national checklist settings.

Each page renders within the caller's jurisdiction and 404s outside it; forms a role may not use are
neither shown nor accepted; bad input shows on the right field with nothing saved; the roll-ups read
the tallies, so their query count does not grow with the stations.
"""

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from amanat.accounts.models import User
from amanat.audit.models import AuditEntry
from amanat.elections.models import ElectionEvent
from amanat.geography.models import PollingStation
from amanat.geography.services import parse_station_csv, station_import
from amanat.readiness import services
from amanat.readiness.forms import MAX_UPLOAD_BYTES
from amanat.readiness.models import ReadinessCounty, ReadinessItem, StationReadiness
from amanat.scoping import unscoped
from amanat.ui.formatting import jalali_input_value
from conftest import World, client_for, page_queries

TODAY = dt.date(2027, 2, 10)  # in the season; the checklist (due 2027-02-20) is within the at-risk window
URL = "/readiness/"


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: Any) -> None:
    real = timezone.localdate
    monkeypatch.setattr(
        timezone, "localdate", lambda value=None, tz=None: TODAY if value is None else real(value, tz)
    )


def _client(user: User) -> Client:
    """A logged-in client reading the pages in English, so assertions read the source strings."""
    client = client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _count(model: Any, **filters: Any) -> int:
    with unscoped():
        return int(model.objects.filter(**filters).count())


def _row(item: ReadinessItem, station: PollingStation) -> StationReadiness | None:
    with unscoped():
        return StationReadiness.objects.filter(item=item, station=station).first()  # type: ignore[no-any-return]


def _errors(response: Any, form: str) -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in response.context[form].errors.items()}


def _set(actor: User, item: ReadinessItem, station: PollingStation, status: str, evidence: str = "") -> None:
    services.station_readiness_set(actor=actor, item=item, station=station, status=status, evidence=evidence)


def _rows(response: Any) -> list[tuple[str, int, str]]:
    """The roll-up table's areas in order: (code, stations, overall percent)."""
    return [(row.area.code, row.stations, row.overall.percent) for row in response.context["rows"]]


def _upload(client: Client, event: ElectionEvent, content: bytes, name: str = "lines.csv") -> Any:
    return client.post(
        f"{URL}upload/", {"event": event.pk, "file": SimpleUploadedFile(name, content, "text/csv")}
    )


@pytest.fixture
def progress(
    national: User, checklist: list[ReadinessItem], stations: dict[str, PollingStation]
) -> list[ReadinessItem]:
    """Province B's two stations have the line installed; A1-001 has it in progress, A2-001 failed."""
    line = checklist[0]
    _set(national, line, stations["B1-001"], "done")
    _set(national, line, stations["B1-002"], "done")
    _set(national, line, stations["A1-001"], "in_progress")
    _set(national, line, stations["A2-001"], "failed")
    return checklist


# --- the roll-ups ----------------------------------------------------------------------------


def test_national_home_shows_the_tile_map_and_provinces_lagging_first(
    national: User, world: World, event: ElectionEvent, progress: list[ReadinessItem]
) -> None:
    response = _client(national).get(URL)

    assert response.status_code == 200
    # Province A: 0 of 24 station items done; province B: 2 of 16.
    assert _rows(response) == [("A", 3, "0.0%"), ("B", 2, "12.5%")]
    line_bars = [row.bars[0] for row in response.context["rows"]]
    assert [(bar.progress.done, bar.progress.in_progress, bar.progress.failed) for bar in line_bars] == [
        (0, 1, 1),
        (2, 0, 0),
    ]
    assert [bar.percent for bar in line_bars] == ["0.0%", "100.0%"]
    # Every station item is due within the window and not done: 24 in A, 16 - 2 in B.
    assert [row.at_risk for row in response.context["rows"]] == [24, 14]
    assert response.context["total"].overall.percent == "5.0%"
    html = response.content.decode()
    assert 'id="tilemap"' in html and 'data-code="A"' in html and 'data-code="B"' in html
    # Each tile prints its percent and its band, not only a colour.
    assert "rband-b0" in html and "12.5%" in html
    assert f'href="/readiness/provinces/{world.province_a.pk}/?event={event.pk}"' in html
    assert "1 failed" in html  # the failed count is written, not only drawn


def test_province_user_sees_their_counties_and_not_the_other_province(
    province_user: User, world: World, event: ElectionEvent, progress: list[ReadinessItem]
) -> None:
    client = _client(province_user)

    response = client.get(URL)

    assert response.status_code == 200
    assert [code for code, _n, _p in _rows(response)] == ["A1", "A2"]
    assert "tiles" not in response.context
    html = response.content.decode()
    assert "County A1" in html or "شهرستان الف۱" in html
    assert "شهرستان ب۱" not in html and "استان ب" not in html
    assert f'href="/readiness/counties/{world.county_a1.pk}/?event={event.pk}"' in html
    assert client.get(f"{URL}provinces/{world.province_a.pk}/").status_code == 200
    assert client.get(f"{URL}provinces/{world.province_b.pk}/").status_code == 404
    assert client.get(f"{URL}counties/{world.county_b1.pk}/").status_code == 404
    assert client.get(f"{URL}stations/{world.station_b1.pk}/").status_code == 404


def test_national_province_page_lists_its_counties_lagging_first(
    national: User, world: World, event: ElectionEvent, progress: list[ReadinessItem], county_user: User
) -> None:
    _set(county_user, progress[1], world.station_a1, "done")  # A1: 1 of 16 done

    response = _client(national).get(f"{URL}provinces/{world.province_a.pk}/?event={event.pk}")

    assert response.status_code == 200
    assert _rows(response) == [("A2", 1, "0.0%"), ("A1", 2, "6.2%")]
    assert response.context["total"].stations == 3
    assert _client(national).get(f"{URL}provinces/999999/").status_code == 404


def test_county_user_sees_their_items_and_a_link_to_their_stations(
    county_user: User, world: World, event: ElectionEvent, progress: list[ReadinessItem]
) -> None:
    client = _client(county_user)

    response = client.get(URL)

    assert response.status_code == 200
    county_row = response.context["county_row"]
    assert county_row.area == world.county_a1
    assert (county_row.bars[0].progress.in_progress, county_row.bars[0].progress.stations) == (1, 2)
    html = response.content.decode()
    assert f'href="/readiness/counties/{world.county_a1.pk}/?event={event.pk}"' in html
    assert f'href="/readiness/counties/{world.county_a1.pk}/?item={progress[0].pk}"' in html
    assert "شهرستان الف۲" not in html and "شهرستان ب۱" not in html
    assert 'href="/readiness/upload/' in html  # a member may upload
    assert 'href="/readiness/items/' not in html
    assert client.get(f"{URL}counties/{world.county_a2.pk}/").status_code == 404
    assert client.get(f"{URL}provinces/{world.province_b.pk}/").status_code == 404


def test_rollup_numbers_follow_updates_made_on_the_county_page(
    county_user: User, national: User, world: World, event: ElectionEvent, progress: list[ReadinessItem]
) -> None:
    line = progress[0]
    url = f"{URL}stations/{world.station_a1.pk}/items/{line.pk}/?item={line.pk}&status=in_progress"

    response = _client(county_user).post(url, {"status": "done", "evidence": "صورتجلسه ۱۲", "back": "county"})

    assert response.status_code == 302
    assert (
        response["Location"] == f"/readiness/counties/{world.county_a1.pk}/?item={line.pk}&status=in_progress"
    )
    row = _row(line, world.station_a1)
    assert row is not None and (row.status, row.evidence, row.verified_by) == (
        "done",
        "صورتجلسه ۱۲",
        county_user,
    )
    national_page = _client(national).get(URL)
    assert _rows(national_page) == [("A", 3, "4.2%"), ("B", 2, "12.5%")]
    assert national_page.context["rows"][0].bars[0].progress.done == 1
    province = _client(national).get(f"{URL}provinces/{world.province_a.pk}/")
    assert _rows(province) == [("A2", 1, "0.0%"), ("A1", 2, "6.2%")]


def test_pages_without_a_checklist_or_an_event_say_so(national: User, world: World) -> None:
    assert "There is no election event yet" in _client(national).get(URL).content.decode()
    assert "There is no election event yet" in _client(national).get(f"{URL}items/").content.decode()


def test_home_without_checklist_offers_the_setup_to_national_administrators(
    national: User, province_user: User, event: ElectionEvent
) -> None:
    html = _client(national).get(URL).content.decode()
    assert "This event has no readiness checklist yet." in html and "/readiness/items/?event=" in html
    assert "/readiness/items/" not in _client(province_user).get(URL).content.decode()


def test_an_event_can_be_chosen_and_an_unknown_one_is_404(
    national: User, event: ElectionEvent, checklist: list[ReadinessItem]
) -> None:
    client = _client(national)
    assert client.get(f"{URL}?event={event.pk}").context["event"] == event
    assert client.get(f"{URL}?event=999999").status_code == 404
    assert client.get(f"{URL}?event=abc").status_code == 404


def test_home_is_in_persian_by_default_with_persian_digits(
    national: User, event: ElectionEvent, progress: list[ReadinessItem]
) -> None:
    html = client_for(national).get(URL).content.decode()

    assert "۱۲٫۵" in html  # province B's percent, in Persian digits
    assert "۱۴۰۵/۱۲/۰۱" in html  # the items' due date, Jalali


# --- a county's stations and a station's checklist -------------------------------------------


def test_county_page_lists_stations_on_one_item_with_a_status_filter(
    county_user: User, world: World, event: ElectionEvent, progress: list[ReadinessItem]
) -> None:
    client = _client(county_user)
    line = progress[0]

    first = client.get(f"{URL}counties/{world.county_a1.pk}/")
    assert first.context["item"] == line  # the first item unless one is chosen
    assert [(entry.station.code, entry.status) for entry in first.context["lines"]] == [
        ("A1-001", "in_progress"),
        ("A1-002", "not_started"),
    ]
    filtered = client.get(f"{URL}counties/{world.county_a1.pk}/?item={line.pk}&status=not_started")
    assert [entry.station.code for entry in filtered.context["lines"]] == ["A1-002"]
    other = client.get(f"{URL}counties/{world.county_a1.pk}/?item={progress[3].pk}")
    assert {entry.status for entry in other.context["lines"]} == {"not_started"}
    html = other.content.decode()
    assert (
        "Set the status" in html
        and f"/readiness/stations/{world.station_a1.pk}/items/{progress[3].pk}/" in html
    )
    partial = client.get(
        f"{URL}counties/{world.county_a1.pk}/?item={line.pk}", headers={"HX-Request": "true"}
    )
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    assert client.get(f"{URL}counties/{world.county_a1.pk}/?item=999999").status_code == 404


def test_viewers_see_the_county_page_without_forms_and_cannot_set(
    county_viewer: User, world: World, event: ElectionEvent, progress: list[ReadinessItem]
) -> None:
    client = _client(county_viewer)
    line = progress[0]

    page = client.get(f"{URL}counties/{world.county_a1.pk}/")
    response = client.post(f"{URL}stations/{world.station_a1.pk}/items/{line.pk}/", {"status": "done"})

    assert page.status_code == 200 and "Set the status" not in page.content.decode()
    assert response.status_code == 404
    assert client.get(f"{URL}upload/").status_code == 404
    assert client.get(f"{URL}upload/template.csv").status_code == 404
    row = _row(line, world.station_a1)
    assert row is not None and row.status == "in_progress"


def test_station_set_outside_the_jurisdiction_is_404(
    outsider: User, world: World, event: ElectionEvent, progress: list[ReadinessItem]
) -> None:
    client = _client(outsider)
    line = progress[1]

    assert (
        client.post(f"{URL}stations/{world.station_a1.pk}/items/{line.pk}/", {"status": "done"}).status_code
        == 404
    )
    assert (
        client.post(f"{URL}stations/{world.station_b1.pk}/items/999999/", {"status": "done"}).status_code
        == 404
    )
    assert client.get(f"{URL}stations/{world.station_a1.pk}/items/{line.pk}/").status_code == 405
    assert _row(line, world.station_a1) is None


def test_station_set_form_errors_show_on_the_page_and_change_nothing(
    county_user: User, national: User, world: World, event: ElectionEvent, progress: list[ReadinessItem]
) -> None:
    client = _client(county_user)
    line = progress[1]
    url = f"{URL}stations/{world.station_a1.pk}/items/{line.pk}/?item={line.pk}"

    bad_status = client.post(url, {"status": "finished", "back": "county"})
    too_long = client.post(url, {"status": "done", "evidence": "x" * 501, "back": "county"})
    empty = client.post(url, {})

    assert bad_status.status_code == 400 and "status" in bad_status.context["lines"][0].form.errors
    assert too_long.status_code == 400 and "evidence" in too_long.context["lines"][0].form.errors
    assert empty.status_code == 400
    assert _row(line, world.station_a1) is None
    # A retired item can no longer be set: the service's refusal shows above the list.
    services.readiness_item_update(
        actor=national, item=line, title=line.title, due_on=line.due_on, is_active=False
    )
    retired = client.post(url, {"status": "done", "back": "county"})
    assert retired.status_code == 400
    assert "This item is no longer on the checklist." in retired.context["form_errors"]
    assert _row(line, world.station_a1) is None


def test_station_page_shows_who_verified_each_item_and_when(
    county_user: User, world: World, event: ElectionEvent, checklist: list[ReadinessItem]
) -> None:
    client = _client(county_user)
    _set(county_user, checklist[0], world.station_a1, "done", evidence="گزارش آزمون ۷")
    _set(county_user, checklist[1], world.station_a1, "failed")

    response = client.get(f"{URL}stations/{world.station_a1.pk}/")

    assert response.status_code == 200
    lines = response.context["lines"]
    assert [(line.item.code, line.row.status if line.row else None) for line in lines[:3]] == [
        ("line-installed", "done"),
        ("line-tested", "failed"),
        ("backup-link", None),
    ]
    assert lines[0].row.verified_by == county_user and lines[1].row.verified_by is None
    assert response.context["done"] == 1
    html = response.content.decode()
    assert "county_a1" in html and "گزارش آزمون ۷" in html and "✗ Failed" in html
    assert client.get(f"{URL}stations/{world.station_a2.pk}/").status_code == 404


def test_station_page_form_returns_to_the_station(
    county_user: User, world: World, event: ElectionEvent, checklist: list[ReadinessItem]
) -> None:
    client = _client(county_user)
    url = f"{URL}stations/{world.station_a1.pk}/items/{checklist[2].pk}/"

    done = client.post(url, {"status": "done", "evidence": "", "back": "station"})
    bad = client.post(url, {"status": "nope", "back": "station"})

    assert done.status_code == 302
    assert done["Location"] == f"/readiness/stations/{world.station_a1.pk}/?event={event.pk}"
    assert bad.status_code == 400 and "status" in bad.context["lines"][2].form.errors
    row = _row(checklist[2], world.station_a1)
    assert row is not None and row.status == "done" and row.verified_at is not None


# --- the CSV upload --------------------------------------------------------------------------

GOOD = (
    "station_code,item_code,status,evidence\n"
    "A1-001,line-installed,done,تحویل ۱\n"
    "A1-002,line-installed,in_progress,\n"
)


def test_upload_applies_the_file_and_shows_the_counts(
    county_user: User, world: World, event: ElectionEvent, checklist: list[ReadinessItem]
) -> None:
    client = _client(county_user)

    response = _upload(client, event, ("\ufeff" + GOOD).encode("utf-8"))

    assert response.status_code == 302 and response["Location"] == f"/readiness/upload/?event={event.pk}"
    page = client.get(response["Location"])
    message = [str(m) for m in page.context["messages"]]
    assert message == ["lines.csv: 2 rows read, 2 stations' items changed (Done: 1 · In progress: 1)."]
    line = checklist[0]
    assert _row(line, world.station_a1).status == "done"  # type: ignore[union-attr]
    assert _count(AuditEntry, entity_label="readiness upload: lines.csv") == 1
    assert _rows(_client(county_user).get(URL)) == [("A1", 2, "6.2%")]


def test_upload_with_bad_lines_lists_each_and_applies_nothing(
    province_user: User, world: World, event: ElectionEvent, checklist: list[ReadinessItem]
) -> None:
    content = (
        "station_code,item_code,status,evidence\n"
        "A1-001,line-installed,done,\n"  # good
        "B1-001,line-installed,done,\n"  # another province
        "A2-001,no-such-item,done,\n"
        "A1-002,line-tested,finished,\n"
        "A1-001,line-installed,failed,\n"  # the same pair as line 2
    )

    response = _upload(_client(province_user), event, content.encode())

    assert response.status_code == 400
    assert [error.line for error in response.context["errors"]] == [3, 4, 5, 6]
    html = response.content.decode()
    assert (
        "Nothing was saved" in html
        and "Line 3: station B1-001 is unknown or outside your jurisdiction" in html
    )
    assert (
        "item no-such-item is not on the checklist" in html and "the same station and item as line 2" in html
    )
    assert _count(StationReadiness) == 0


def test_upload_with_missing_values_names_the_lines(
    county_user: User, event: ElectionEvent, checklist: list[ReadinessItem]
) -> None:
    response = _upload(
        _client(county_user), event, b"station_code,item_code,status\nA1-001,,done\n,,\nA1-002,x,\n"
    )

    assert response.status_code == 400
    assert [(e.line, e.message) for e in response.context["errors"]] == [
        (2, "missing item_code"),
        (4, "missing status"),
    ]
    assert _count(StationReadiness) == 0


@pytest.mark.parametrize(
    ("content", "field_error"),
    [
        ("é,not,utf8\n".encode("latin-1"), "The file is not UTF-8 text."),
        (b"x" * (MAX_UPLOAD_BYTES + 1), "The file is larger than 5 MB."),
    ],
    ids=["not-utf8", "too-large"],
)
def test_upload_refuses_files_it_cannot_read(
    county_user: User, event: ElectionEvent, checklist: list[ReadinessItem], content: bytes, field_error: str
) -> None:
    response = _upload(_client(county_user), event, content)

    assert response.status_code == 400
    assert any(field_error in message for message in _errors(response, "form")["file"])
    assert _count(StationReadiness) == 0


def test_an_unreadable_csv_line_is_named_and_nothing_applied(
    county_user: User, event: ElectionEvent, checklist: list[ReadinessItem]
) -> None:
    content = b'station_code,item_code,status\n"' + b"x" * 200_000 + b'",line-installed,done\n'
    response = _upload(_client(county_user), event, content)

    assert response.status_code == 400
    assert [error.line for error in response.context["errors"]] == [2]
    assert "not readable CSV" in response.content.decode()
    assert _count(StationReadiness) == 0


def test_upload_without_the_header_is_refused_on_line_one(
    county_user: User, event: ElectionEvent, checklist: list[ReadinessItem]
) -> None:
    response = _upload(_client(county_user), event, b"A1-001,line-installed,done\n")

    assert response.status_code == 400
    assert [error.line for error in response.context["errors"]] == [1]
    assert "the header must name the columns" in response.content.decode()
    assert _count(StationReadiness) == 0


def test_upload_without_a_file_or_event_shows_the_fields(county_user: User, event: ElectionEvent) -> None:
    response = _client(county_user).post(f"{URL}upload/", {"event": "999999"})

    assert response.status_code == 400
    assert set(_errors(response, "form")) == {"event", "file"}


def test_upload_page_lists_the_item_codes_and_the_template_has_them(
    county_user: User, event: ElectionEvent, checklist: list[ReadinessItem]
) -> None:
    client = _client(county_user)

    page = client.get(f"{URL}upload/")
    template = client.get(f"{URL}upload/template.csv?event={event.pk}")

    assert page.status_code == 200 and page.context["form"].initial["event"] == event.pk
    assert (
        "line-installed" in page.content.decode()
        and "/readiness/upload/template.csv?event=" in page.content.decode()
    )
    assert template.status_code == 200 and template["Content-Type"] == "text/csv; charset=utf-8"
    text = template.content.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "station_code,item_code,status,evidence"
    assert [line.split(",")[1] for line in lines[1:]] == [item.code for item in checklist]


# --- the checklist settings ------------------------------------------------------------------


@pytest.mark.parametrize(
    "persona", ["province_admin", "county_admin", "province_user", "county_user", "auditor"]
)
def test_checklist_settings_are_404_except_for_national_administrators(
    persona: str, request: Any, event: ElectionEvent, checklist: list[ReadinessItem]
) -> None:
    client = _client(request.getfixturevalue(persona))
    item = checklist[0]

    assert client.get(f"{URL}items/").status_code == 404
    assert client.post(f"{URL}items/", {"event": event.pk, "code": "x", "title": "x"}).status_code == 404
    assert client.post(f"{URL}items/defaults/", {"event": event.pk}).status_code == 404
    assert client.get(f"{URL}items/{item.pk}/").status_code == 404
    assert client.post(f"{URL}recount/", {"event": event.pk}).status_code == 404
    assert _count(ReadinessItem) == 8


def test_national_administrator_sets_up_the_checklist(national: User, event: ElectionEvent) -> None:
    client = _client(national)
    due = jalali_input_value(dt.date(2027, 2, 20))

    late = jalali_input_value(event.voting_day + dt.timedelta(days=1))
    refused = client.post(f"{URL}items/defaults/", {"event": event.pk, "due_on": late})
    assert refused.status_code == 400 and "due_on" in _errors(refused, "defaults_form")
    assert _count(ReadinessItem) == 0
    defaults = client.post(f"{URL}items/defaults/", {"event": event.pk, "due_on": due})
    created = client.post(
        f"{URL}items/",
        {
            "event": event.pk,
            "code": "Cooling",
            "title": "سرمایش اتاق تجهیزات",
            "title_en": "Cooling",
            "due_on": due,
        },
    )

    assert defaults.status_code == 302 and defaults["Location"] == f"/readiness/items/?event={event.pk}"
    assert created.status_code == 302
    with unscoped():
        items = list(ReadinessItem.objects.filter(event=event))
    assert [item.code for item in items][-2:] == ["accessibility", "cooling"]
    assert {item.due_on for item in items} == {dt.date(2027, 2, 20)}
    page = client.get(f"{URL}items/?event={event.pk}")
    assert page.status_code == 200 and "cooling" in page.content.decode()
    again = client.post(f"{URL}items/defaults/", {"event": event.pk, "due_on": due})
    assert again.status_code == 302 and _count(ReadinessItem) == 9


def test_checklist_form_errors_land_on_their_fields(
    national: User, event: ElectionEvent, checklist: list[ReadinessItem]
) -> None:
    client = _client(national)
    late = jalali_input_value(event.voting_day + dt.timedelta(days=1))

    duplicate = client.post(
        f"{URL}items/", {"event": event.pk, "code": "line-installed", "title": "تکراری", "due_on": late}
    )
    bad_date = client.post(
        f"{URL}items/", {"event": event.pk, "code": "x", "title": "x", "due_on": "1405/13/40"}
    )
    bad_code = client.post(
        f"{URL}items/", {"event": event.pk, "code": "خط", "title": "x", "due_on": "1405/12/01"}
    )
    no_event = client.post(f"{URL}items/defaults/", {"due_on": "1405/12/01"})
    late_defaults = client.post(f"{URL}items/defaults/", {"event": event.pk, "due_on": late})

    assert duplicate.status_code == 400
    assert set(_errors(duplicate, "create_form")) == {"code", "due_on"}
    assert bad_date.status_code == 400 and "due_on" in _errors(bad_date, "create_form")
    assert bad_code.status_code == 400 and "code" in _errors(bad_code, "create_form")
    assert no_event.status_code == 400 and "event" in _errors(no_event, "defaults_form")
    # Due after voting day is refused even when every default item exists already.
    assert late_defaults.status_code == 400 and "due_on" in _errors(late_defaults, "defaults_form")
    assert _count(ReadinessItem) == 8


def test_national_administrator_edits_and_retires_an_item(
    national: User, event: ElectionEvent, checklist: list[ReadinessItem], world: World
) -> None:
    client = _client(national)
    item = checklist[2]
    url = f"{URL}items/{item.pk}/"

    form = client.get(url)
    bad = client.post(url, {"title": "", "due_on": "1405/12/01"})
    late = client.post(
        url, {"title": "x", "due_on": jalali_input_value(event.voting_day + dt.timedelta(days=1))}
    )
    saved = client.post(url, {"title": "لینک پشتیبان ماهواره‌ای", "title_en": "", "due_on": "1405/12/05"})

    assert form.status_code == 200 and form.context["form"].initial["is_active"] is True
    assert bad.status_code == 400 and "title" in _errors(bad, "form")
    assert late.status_code == 400 and "due_on" in _errors(late, "form")
    assert saved.status_code == 302
    item.refresh_from_db()
    assert (item.title, item.is_active, item.due_on) == (
        "لینک پشتیبان ماهواره‌ای",
        False,
        dt.date(2027, 2, 24),
    )
    assert item.pk not in {i.pk for i in _client(national).get(URL).context["items"]}
    assert client.get(f"{URL}items/999999/").status_code == 404


def test_recount_refreshes_the_station_counts(
    national: User, admin: User, event: ElectionEvent, checklist: list[ReadinessItem], world: World
) -> None:
    client = _client(national)
    station_import(
        actor=admin,
        rows=parse_station_csv("code,name,county_code\nA2-002,دبیرستان سعدی,A2\nA2-003,حسینیه,A2\n"),
        source="test",
    )
    assert _rows(client.get(URL))[0] == ("A", 3, "0.0%")  # counted before the import

    response = client.post(f"{URL}recount/", {"event": event.pk})
    shown = [str(m) for m in client.get(response["Location"]).context["messages"]]
    refused = client.post(f"{URL}recount/", {})

    assert response.status_code == 302
    assert shown == ["Stations counted again: 7 stations in all."]
    with unscoped():
        assert ReadinessCounty.objects.get(event=event, county=world.county_a2).stations == 3
    assert _rows(client.get(URL))[0] == ("A", 5, "0.0%")
    assert refused.status_code == 400 and "event" in refused.context["recount_form"].errors


# --- query counts ----------------------------------------------------------------------------


def _more_stations(admin: User, national: User, event: ElectionEvent, items: list[ReadinessItem]) -> None:
    """Thirty more stations in every county, each with some readiness recorded, then counted."""
    lines = ["code,name,county_code"]
    for county in ("A1", "A2", "B1"):
        lines += [f"{county}-{n:03d},شعبه {n},{county}" for n in range(100, 130)]
    station_import(actor=admin, rows=parse_station_csv("\n".join(lines) + "\n"), source="test")
    services.readiness_stations_recount(event=event)
    with unscoped():
        added = list(PollingStation.objects.filter(code__contains="-1").select_related("county"))
    for index, station in enumerate(added):
        _set(national, items[index % 3], station, ["done", "in_progress", "failed"][index % 3])


@pytest.mark.parametrize("persona", ["national", "province_user", "county_user"])
def test_rollup_query_count_does_not_grow_with_stations(
    persona: str,
    request: Any,
    admin: User,
    national: User,
    event: ElectionEvent,
    progress: list[ReadinessItem],
) -> None:
    client = _client(request.getfixturevalue(persona))
    province = request.getfixturevalue("world").province_a

    few_home, few_province = page_queries(client, URL), page_queries(client, f"{URL}provinces/{province.pk}/")
    _more_stations(admin, national, event, progress)
    many_home = page_queries(client, URL)

    assert many_home == few_home
    assert page_queries(client, f"{URL}provinces/{province.pk}/") == few_province
    assert client.get(URL).context["total"].stations > 30


def test_county_and_station_pages_query_count_does_not_grow_with_rows(
    county_user: User,
    admin: User,
    national: User,
    world: World,
    event: ElectionEvent,
    progress: list[ReadinessItem],
) -> None:
    client = _client(county_user)
    county_url = f"{URL}counties/{world.county_a1.pk}/?item={progress[0].pk}"
    station_url = f"{URL}stations/{world.station_a1.pk}/"

    few_county, few_station = page_queries(client, county_url), page_queries(client, station_url)
    _more_stations(admin, national, event, progress)
    for item in progress[1:]:
        _set(county_user, item, world.station_a1, "done")

    assert page_queries(client, county_url) == few_county
    assert page_queries(client, station_url) == few_station
    assert len(client.get(county_url).context["lines"]) > 2
