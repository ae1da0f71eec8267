"""The geography API: scoped lists and details, JSON errors that name the field, token auth."""

from typing import Any

import pytest
from django.test import Client

from amanat.accounts.models import User
from amanat.accounts.services import api_token_create, api_token_revoke
from amanat.geography.services import station_generate
from conftest import World, client_for

API = "/api/v1/geography"


def _bearer(user: User) -> Client:
    _token, key = api_token_create(actor=user, name="test device")
    return Client(headers={"Authorization": f"Bearer {key}"})


def _codes(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {item["code"] for item in response.json()["items"]}


def test_lists_are_scoped_to_the_caller(county_user: User, province_user: User, world: World) -> None:
    county = _bearer(county_user)
    assert _codes(county.get(f"{API}/provinces")) == {"A"}
    assert _codes(county.get(f"{API}/counties")) == {"A1"}
    assert _codes(county.get(f"{API}/districts")) == {"A1-1"}
    assert _codes(county.get(f"{API}/stations")) == {"A1-001", "A1-002"}

    province = _bearer(province_user)
    assert _codes(province.get(f"{API}/counties")) == {"A1", "A2"}
    assert _codes(province.get(f"{API}/stations")) == {"A1-001", "A1-002", "A2-001"}


def test_national_list_and_pagination(national: User, world: World) -> None:
    client = _bearer(national)

    response = client.get(f"{API}/stations", {"limit": 2, "offset": 0})

    body = response.json()
    assert body["count"] == 5
    assert [item["code"] for item in body["items"]] == ["A1-001", "A1-002"]
    page_two = client.get(f"{API}/stations", {"limit": 2, "offset": 2}).json()
    assert [item["code"] for item in page_two["items"]] == ["A2-001", "B1-001"]


def test_list_filters(national: User, world: World) -> None:
    client = _bearer(national)

    assert _codes(client.get(f"{API}/stations", {"county_id": world.county_b1.pk})) == {"B1-001", "B1-002"}
    assert _codes(client.get(f"{API}/stations", {"province_id": world.province_a.pk})) == {
        "A1-001",
        "A1-002",
        "A2-001",
    }
    assert _codes(client.get(f"{API}/stations", {"q": "مسجد"})) == {"A1-002"}
    assert _codes(client.get(f"{API}/counties", {"province_id": world.province_b.pk})) == {"B1"}
    assert _codes(client.get(f"{API}/districts", {"county_id": world.county_a2.pk})) == {"A2-1"}


def test_station_detail(county_user: User, world: World) -> None:
    response = _bearer(county_user).get(f"{API}/stations/{world.station_a1.pk}")

    assert response.status_code == 200
    assert response.json() == {
        "id": world.station_a1.pk,
        "code": "A1-001",
        "name": "مدرسه شهید بهشتی",
        "county_id": world.county_a1.pk,
        "district_id": world.district_a1.pk,
        "address": "خیابان اول",
        "latitude": "35.700000",
        "longitude": "51.400000",
        "is_mobile": False,
        "is_synthetic": False,
    }


@pytest.mark.parametrize(
    ("path", "attr"),
    [
        ("provinces/{}", "province_b"),
        ("counties/{}", "county_b1"),
        ("counties/{}", "county_a2"),
        ("districts/{}", "district_b1"),
        ("stations/{}", "station_b1"),
        ("stations/{}", "station_a2"),
    ],
)
def test_detail_of_another_jurisdiction_is_404(path: str, attr: str, county_user: User, world: World) -> None:
    response = _bearer(county_user).get(f"{API}/{path.format(getattr(world, attr).pk)}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_filter_by_another_county_finds_nothing(county_user: User, world: World) -> None:
    assert _codes(_bearer(county_user).get(f"{API}/stations", {"county_id": world.county_b1.pk})) == set()


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("stations", {"county_id": "abc"}, "county_id"),
        ("stations", {"district_id": "1.5"}, "district_id"),
        ("counties", {"province_id": "x"}, "province_id"),
        ("stations", {"limit": "many"}, "limit"),
        ("stations/abc", {}, "station_id"),
    ],
)
def test_bad_parameters_are_json_errors_naming_the_field(
    path: str, params: dict[str, str], field: str, county_user: User, world: World
) -> None:
    response = _bearer(county_user).get(f"{API}/{path}", params)

    assert response.status_code in (400, 422)
    assert response["Content-Type"].startswith("application/json")
    locations = [error["loc"] for error in response.json()["detail"]]
    assert any(loc[-1] == field for loc in locations), locations


def test_without_authentication_is_401(world: World) -> None:
    response = Client().get(f"{API}/stations")

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication required."}


@pytest.mark.parametrize("header", ["Bearer amn_not-a-real-key", "Bearer nonsense", "Token amn_x", "Bearer "])
def test_bad_tokens_are_401(header: str, world: World) -> None:
    response = Client(headers={"Authorization": header}).get(f"{API}/stations")

    assert response.status_code == 401


def test_session_authentication_works(county_user: User, world: World) -> None:
    assert _codes(client_for(county_user).get(f"{API}/stations")) == {"A1-001", "A1-002"}


def test_revoked_token_is_refused(county_user: User, world: World) -> None:
    token, key = api_token_create(actor=county_user, name="lost phone")
    client = Client(headers={"Authorization": f"Bearer {key}"})
    assert client.get(f"{API}/stations").status_code == 200

    api_token_revoke(actor=county_user, token=token)

    assert client.get(f"{API}/stations").status_code == 401


def test_station_list_queries_do_not_grow(
    admin: User, national: User, world: World, django_assert_max_num_queries: Any
) -> None:
    client = _bearer(national)
    client.get(f"{API}/stations")
    with django_assert_max_num_queries(8) as few:
        client.get(f"{API}/stations", {"limit": 100})
    station_generate(actor=admin, total=150, seed=2)

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(f"{API}/stations", {"limit": 100}).json()["items"]) == 100
