"""Geography pages: they render within the caller's jurisdiction, in a bounded number of queries."""

import csv
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from amanat.accounts.models import User
from amanat.audit.models import AuditEntry
from amanat.geography.models import PollingStation
from amanat.geography.services import geography_import, parse_division_csv, station_generate
from amanat.scoping import unscoped
from amanat.ui.formatting import persian_digits
from conftest import World, client_for


def _shows(body: str, code: str) -> bool:
    """Codes are shown with Persian digits in Persian pages; accept either spelling."""
    return code in body or persian_digits(code) in body


def _more_rows(admin: User, prefix: str, counties: int, stations: int) -> None:
    """Grow the world: more counties in province A and synthetic stations over every county."""
    text = "level,code,name,name_en,parent_code\n" + "".join(
        f"county,{prefix}{n},شهرستان {prefix} {n},Extra {n},A\n"
        f"district,{prefix}{n}-1,بخش {n},District {n},{prefix}{n}\n"
        for n in range(counties)
    )
    geography_import(actor=admin, rows=parse_division_csv(text), source=prefix)
    station_generate(actor=admin, total=stations, seed=11)


def test_anonymous_is_sent_to_login(world: World) -> None:
    response = Client().get(f"/geo/counties/{world.county_a1.pk}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/geo/counties/")


def test_country_page_lists_visible_provinces(province_user: User, national: User, world: World) -> None:
    body = client_for(province_user).get("/geo/").content.decode()
    assert world.province_a.name in body
    assert world.province_b.name not in body

    body = client_for(national).get("/geo/").content.decode()
    assert world.province_a.name in body
    assert world.province_b.name in body


def test_province_page_lists_counties_in_jurisdiction(
    county_user: User, province_user: User, world: World
) -> None:
    url = f"/geo/provinces/{world.province_a.pk}/"

    body = client_for(province_user).get(url).content.decode()
    assert world.county_a1.name in body
    assert world.county_a2.name in body

    body = client_for(county_user).get(url).content.decode()
    assert world.county_a1.name in body
    assert world.county_a2.name not in body


def test_province_page_htmx_search_returns_the_table_only(province_user: User, world: World) -> None:
    response = client_for(province_user).get(
        f"/geo/provinces/{world.province_a.pk}/", {"q": "A2"}, headers={"HX-Request": "true"}
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert world.county_a2.name in body
    assert world.county_a1.name not in body


def test_county_page_renders_stations_and_districts(county_user: User, world: World) -> None:
    response = client_for(county_user).get(f"/geo/counties/{world.county_a1.pk}/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body
    assert _shows(body, "A1-001")
    assert _shows(body, "A1-002")
    assert world.district_a1.name in body
    assert f"/geo/counties/{world.county_a1.pk}/stations.csv" in body


def test_county_page_htmx_request_gets_the_partial(county_user: User, world: World) -> None:
    response = client_for(county_user).get(
        f"/geo/counties/{world.county_a1.pk}/", {"q": "مسجد"}, headers={"HX-Request": "true"}
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert "<table" in body
    assert _shows(body, "A1-002")
    assert not _shows(body, "A1-001")
    assert response.templates[0].name == "geography/partials/station_table.html"


def test_county_page_filters_by_district(county_user: User, world: World) -> None:
    client = client_for(county_user)
    url = f"/geo/counties/{world.county_a1.pk}/"

    assert _shows(client.get(url, {"district": world.district_a1.pk}).content.decode(), "A1-001")
    # Another county's district is not a way into that county's stations.
    body = client.get(url, {"district": world.district_b1.pk}).content.decode()
    assert not _shows(body, "A1-001")
    assert not _shows(body, "B1-001")


@pytest.mark.parametrize("path", ["/geo/counties/{county}/?district=abc", "/geo/stations/?district=abc"])
def test_malformed_district_filter_is_not_a_server_error(path: str, county_user: User, world: World) -> None:
    response = client_for(county_user).get(path.format(county=world.county_a1.pk))

    assert response.status_code in (200, 400, 404)


def test_county_of_another_jurisdiction_is_404(county_user: User, world: World) -> None:
    client = client_for(county_user)

    assert client.get(f"/geo/counties/{world.county_b1.pk}/").status_code == 404
    assert client.get(f"/geo/counties/{world.county_a2.pk}/").status_code == 404
    assert client.get(f"/geo/stations/{world.station_b1.pk}/").status_code == 404
    assert client.get(f"/geo/provinces/{world.province_b.pk}/").status_code == 404


def test_station_page(county_user: User, world: World) -> None:
    response = client_for(county_user).get(f"/geo/stations/{world.station_a1.pk}/")

    body = response.content.decode()
    assert response.status_code == 200
    assert world.station_a1.name in body
    assert "خیابان اول" in body
    assert world.district_a1.name in body


def test_station_search_page_shows_only_own_stations(county_user: User, world: World) -> None:
    body = client_for(county_user).get("/geo/stations/").content.decode()

    assert _shows(body, "A1-001")
    assert not _shows(body, "A2-001")
    assert not _shows(body, "B1-001")


def test_synthetic_stations_are_labelled(admin: User, county_user: User, world: World) -> None:
    station_generate(actor=admin, total=9, seed=1)

    body = client_for(county_user).get("/geo/stations/", {"q": "SYN"}).content.decode()

    assert "badge synthetic" in body


def _csv_rows(response: Any) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def test_csv_export_holds_only_that_countys_stations(province_user: User, admin: User, world: World) -> None:
    station_generate(actor=admin, total=12, seed=5)

    response = client_for(province_user).get(f"/geo/counties/{world.county_a1.pk}/stations.csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "stations-county-a1.csv" in response["Content-Disposition"]
    header, *rows = _csv_rows(response)
    assert header == ["code", "name", "county_code", "district_code", "address", "latitude", "longitude"]
    assert {row[2] for row in rows} == {"A1"}
    codes = {row[0] for row in rows}
    assert {"A1-001", "A1-002"} <= codes
    assert not codes & {"A2-001", "B1-001", "B1-002"}
    assert ["A1-001", "مدرسه شهید بهشتی", "A1", "A1-1", "خیابان اول", "35.700000", "51.400000"] in rows


def test_csv_export_of_another_county_is_404(county_user: User, world: World) -> None:
    response = client_for(county_user).get(f"/geo/counties/{world.county_b1.pk}/stations.csv")

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "persona"),
    [
        ("/geo/", "national"),
        ("/geo/provinces/{province_a}/", "national"),
        ("/geo/counties/{county_a1}/", "county_user"),
        ("/geo/stations/", "national"),
        ("/geo/stations/?q=SYN", "province_user"),
    ],
)
def test_list_pages_do_not_grow_queries_with_rows(
    path: str, persona: str, request: Any, admin: User, world: World, django_assert_max_num_queries: Any
) -> None:
    user = request.getfixturevalue(persona)
    client = client_for(user)
    url = path.format(province_a=world.province_a.pk, county_a1=world.county_a1.pk)
    _more_rows(admin, "AX", counties=1, stations=8)
    client.get(url)  # warm the session
    with django_assert_max_num_queries(12) as few:
        assert client.get(url).status_code == 200

    _more_rows(admin, "AY", counties=40, stations=400)

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


# --- administration pages: station import and edit -------------------------------------------


def _upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("stations.csv", text.encode("utf-8"), content_type="text/csv")


def test_station_import_page_creates_and_updates(county_admin: Any, world: Any) -> None:
    client = client_for(county_admin)
    csv_text = "code,name,county_code\nA1-900,شعبه تازه,A1\nA1-001,نام تازه,A1\n"
    response = client.post("/geo/stations/import/", {"file": _upload(csv_text)})
    assert response.status_code == 302
    with unscoped():
        assert PollingStation.objects.get(code="A1-900").county == world.county_a1
        assert PollingStation.objects.get(code="A1-001").name == "نام تازه"


def test_station_import_page_rejects_whole_file_naming_lines(county_admin: Any, world: Any) -> None:
    client = client_for(county_admin)
    csv_text = "code,name,county_code\nA1-901,خوب,A1\nB1-901,بیرون,B1\nA1-902,,A1\n"
    response = client.post("/geo/stations/import/", {"file": _upload(csv_text)})
    assert response.status_code == 400
    # Malformed rows are found first; every one is named by its line in the file.
    assert [error.line for error in response.context["errors"]] == [4]
    with unscoped():
        assert not PollingStation.objects.filter(code__in=["A1-901", "B1-901", "A1-902"]).exists()


def test_station_import_refuses_county_outside_jurisdiction(county_admin: Any, world: Any) -> None:
    client = client_for(county_admin)
    response = client.post("/geo/stations/import/", {"file": _upload("code,name,county_code\nB1-950,x,B1\n")})
    assert response.status_code == 400
    assert [error.line for error in response.context["errors"]] == [2]
    with unscoped():
        assert not PollingStation.objects.filter(code="B1-950").exists()


def test_station_import_refuses_taking_over_another_jurisdictions_station(
    county_admin: Any, world: Any
) -> None:
    client = client_for(county_admin)
    response = client.post("/geo/stations/import/", {"file": _upload("code,name,county_code\nB1-001,x,A1\n")})
    assert response.status_code == 400
    with unscoped():
        assert PollingStation.objects.get(code="B1-001").county == world.county_b1


def test_station_import_page_hidden_from_non_administrators(county_user: Any) -> None:
    assert client_for(county_user).get("/geo/stations/import/").status_code == 404


def test_station_edit_saves_and_audits(county_admin: Any, world: Any) -> None:
    client = client_for(county_admin)
    station = world.station_a1
    response = client.post(
        f"/geo/stations/{station.pk}/edit/",
        {
            "name": "مدرسه نو",
            "district": world.district_a1.pk,
            "address": "خیابان دوم",
            "latitude": "35.5",
            "longitude": "51.5",
        },
    )
    assert response.status_code == 302
    station.refresh_from_db()
    assert station.name == "مدرسه نو" and station.address == "خیابان دوم"
    entry = AuditEntry.all_entries.filter(entity_type="geography.PollingStation", action="update").latest(
        "seq"
    )
    assert entry.before is not None and entry.after is not None
    assert entry.before["name"] == "مدرسه شهید بهشتی" and entry.after["name"] == "مدرسه نو"
    assert entry.county_id == world.county_a1.pk


def test_station_edit_refuses_bad_latitude_and_keeps_station(county_admin: Any, world: Any) -> None:
    client = client_for(county_admin)
    station = world.station_a1
    response = client.post(f"/geo/stations/{station.pk}/edit/", {"name": "x", "latitude": "123"})
    assert response.status_code == 200
    assert "latitude" in response.context["form"].errors
    station.refresh_from_db()
    assert station.name == "مدرسه شهید بهشتی"


def test_station_edit_of_other_jurisdiction_is_404(county_admin: Any, world: Any) -> None:
    client = client_for(county_admin)
    assert client.get(f"/geo/stations/{world.station_b1.pk}/edit/").status_code == 404


def test_station_edit_hidden_from_members(county_user: Any, world: Any) -> None:
    assert client_for(county_user).get(f"/geo/stations/{world.station_a1.pk}/edit/").status_code == 404
