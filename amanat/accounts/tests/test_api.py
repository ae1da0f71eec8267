"""The accounts API: who am I, and my tokens."""

from django.test import Client

from amanat.accounts.models import User
from amanat.accounts.services import api_token_authenticate, api_token_create
from conftest import World, client_for


def _bearer(user: User) -> Client:
    _token, key = api_token_create(actor=user, name="test device")
    return Client(headers={"Authorization": f"Bearer {key}"})


def test_me_describes_the_caller(county_user: User, world: World) -> None:
    response = _bearer(county_user).get("/api/v1/me")

    assert response.status_code == 200
    assert response.json() == {
        "id": county_user.pk,
        "username": "county_a1",
        "full_name": "",
        "role": "member",
        "organisation": world.org_a1.name,
        "jurisdiction_level": "county",
        "province_id": world.province_a.pk,
        "county_id": world.county_a1.pk,
    }


def test_me_of_national_and_province_users(national: User, province_user: User, world: World) -> None:
    assert _bearer(national).get("/api/v1/me").json()["jurisdiction_level"] == "national"
    body = _bearer(province_user).get("/api/v1/me").json()
    assert (body["jurisdiction_level"], body["province_id"], body["county_id"]) == (
        "province",
        world.province_a.pk,
        None,
    )


def test_me_without_authentication_is_401(world: World) -> None:
    assert Client().get("/api/v1/me").status_code == 401


def test_token_lifecycle_over_the_api(county_user: User, world: World) -> None:
    client = client_for(county_user)

    created = client.post("/api/v1/tokens", {"name": "sensor"}, content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith("amn_")
    assert body["name"] == "sensor"
    assert api_token_authenticate(raw_key=body["key"]) == county_user

    listed = client.get("/api/v1/tokens").json()
    assert [item["name"] for item in listed] == ["sensor"]
    assert "key" not in listed[0]

    revoked = client.delete(f"/api/v1/tokens/{body['id']}")
    assert revoked.status_code == 204
    assert api_token_authenticate(raw_key=body["key"]) is None
    assert client.get("/api/v1/tokens").json()[0]["revoked_at"] is not None


def test_token_can_revoke_itself(county_user: User, world: World) -> None:
    token, key = api_token_create(actor=county_user, name="self")
    client = Client(headers={"Authorization": f"Bearer {key}"})

    assert client.delete(f"/api/v1/tokens/{token.pk}").status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_revoking_another_users_token_is_404(county_user: User, outsider: User, world: World) -> None:
    theirs, key = api_token_create(actor=outsider, name="theirs")

    response = _bearer(county_user).delete(f"/api/v1/tokens/{theirs.pk}")

    assert response.status_code == 404
    assert api_token_authenticate(raw_key=key) == outsider


def test_token_create_errors_name_the_field(county_user: User, world: World) -> None:
    client = _bearer(county_user)

    blank = client.post("/api/v1/tokens", {"name": "  "}, content_type="application/json")
    assert blank.status_code == 400
    assert blank.json()["detail"][0]["loc"] == ["body", "name"]

    missing = client.post("/api/v1/tokens", {}, content_type="application/json")
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"][-1] == "name"


def test_bad_token_id_is_a_json_error(county_user: User, world: World) -> None:
    response = _bearer(county_user).delete("/api/v1/tokens/abc")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "token_id"]
