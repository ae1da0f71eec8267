"""Account pages: login, profile with API tokens, token revocation."""

from typing import Any

from django.test import Client

from amanat.accounts.models import ApiToken, User
from amanat.accounts.roles import Role
from amanat.accounts.services import api_token_authenticate, api_token_create
from conftest import PASSWORD, World, client_for


def test_login_page_renders_for_anonymous(db: Any) -> None:
    response = Client().get("/accounts/login/")

    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()
    assert 'name="password"' in response.content.decode()


def test_logged_in_user_is_sent_home_from_login(county_user: User, world: World) -> None:
    response = client_for(county_user).get("/accounts/login/")

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_login_follows_next(county_user: User, world: World) -> None:
    response = Client().post(
        "/accounts/login/", {"username": "county_a1", "password": PASSWORD, "next": "/geo/stations/"}
    )

    assert response["Location"] == "/geo/stations/"


def test_login_refuses_an_external_next(county_user: User, world: World) -> None:
    response = Client().post(
        "/accounts/login/", {"username": "county_a1", "password": PASSWORD, "next": "https://evil.example/"}
    )

    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_profile_shows_jurisdiction_and_own_tokens(county_user: User, outsider: User, world: World) -> None:
    api_token_create(actor=county_user, name="my-tablet")
    api_token_create(actor=outsider, name="their-tablet")

    body = client_for(county_user).get("/accounts/profile/").content.decode()

    assert world.county_a1.name in body
    assert world.org_a1.name in body
    assert "my-tablet" in body
    assert "their-tablet" not in body


def test_profile_creates_a_token_and_shows_the_key_once(county_viewer: User, world: World) -> None:
    client = client_for(county_viewer)

    response = client.post("/accounts/profile/", {"name": "kiosk"})

    key = response.context["new_key"]
    assert key.startswith("amn_")
    assert key in response.content.decode()
    assert api_token_authenticate(raw_key=key) == county_viewer
    assert key not in client.get("/accounts/profile/").content.decode()


def test_profile_token_form_requires_a_name(county_user: User, world: World) -> None:
    response = client_for(county_user).post("/accounts/profile/", {"name": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert not ApiToken.objects.filter(user=county_user).exists()


def test_token_revoke_view(county_user: User, world: World) -> None:
    token, key = api_token_create(actor=county_user, name="laptop")
    client = client_for(county_user)

    assert client.get(f"/accounts/tokens/{token.pk}/revoke/").status_code == 405
    response = client.post(f"/accounts/tokens/{token.pk}/revoke/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    assert api_token_authenticate(raw_key=key) is None


def test_revoking_another_users_token_is_404(county_user: User, outsider: User, world: World) -> None:
    token, key = api_token_create(actor=outsider, name="laptop")

    response = client_for(county_user).post(f"/accounts/tokens/{token.pk}/revoke/")

    assert response.status_code == 404
    assert api_token_authenticate(raw_key=key) == outsider


def test_profile_needs_login(db: Any) -> None:
    response = Client().get("/accounts/profile/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/accounts/profile/"


# --- jurisdiction administrators manage their users ------------------------------------------


def test_user_create_page_creates_user_in_a_county_of_the_province(province_admin: Any, world: Any) -> None:
    client = client_for(province_admin)
    response = client.post(
        "/accounts/users/new/",
        {
            "username": "new_a2",
            "organisation": world.org_a.pk,
            "jurisdiction": f"c:{world.county_a2.pk}",
            "role": Role.MEMBER,
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
    )
    assert response.status_code == 302
    created = User.objects.get(username="new_a2")
    assert (created.province_id, created.county_id) == (world.province_a.pk, world.county_a2.pk)


def test_user_create_page_offers_only_the_administrators_jurisdiction(
    province_admin: Any, world: Any
) -> None:
    client = client_for(province_admin)
    form = client.get("/accounts/users/new/").context["form"]
    values = {value for _group, options in form.fields["jurisdiction"].choices for value, _label in options}
    assert f"c:{world.county_a1.pk}" in values and f"p:{world.province_a.pk}" in values
    assert f"c:{world.county_b1.pk}" not in values and "n" not in values
    response = client.post(
        "/accounts/users/new/",
        {
            "username": "sneaky",
            "organisation": world.org_a.pk,
            "jurisdiction": f"c:{world.county_b1.pk}",
            "role": Role.MEMBER,
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
    )
    assert response.status_code == 200
    assert "jurisdiction" in response.context["form"].errors
    assert not User.objects.filter(username="sneaky").exists()


def test_user_create_page_reports_weak_password_on_its_field(province_admin: Any, world: Any) -> None:
    client = client_for(province_admin)
    response = client.post(
        "/accounts/users/new/",
        {
            "username": "weak",
            "organisation": world.org_a.pk,
            "jurisdiction": f"p:{world.province_a.pk}",
            "role": Role.VIEWER,
            "password": "123",
            "password_again": "123",
        },
    )
    assert response.status_code == 200
    assert "password" in response.context["form"].errors
    assert not User.objects.filter(username="weak").exists()


def test_user_pages_hidden_from_non_administrators(county_user: Any) -> None:
    client = client_for(county_user)
    assert client.get("/accounts/users/").status_code == 404
    assert client.get("/accounts/users/new/").status_code == 404


def test_user_list_shows_only_the_jurisdictions_users(
    province_admin: Any, world: Any, county_user: Any, outsider: Any
) -> None:
    body = client_for(province_admin).get("/accounts/users/").content.decode()
    assert county_user.username in body
    assert outsider.username not in body


# --- notifications ---------------------------------------------------------------------------


def test_notifications_page_lists_only_my_messages_and_marks_them_read(
    county_user: Any, outsider: Any
) -> None:
    from amanat.accounts.models import Notification
    from amanat.accounts.services import notification_send

    notification_send(users=[county_user], message="یادآوری: اقدام سررسید دارد", url="/")
    notification_send(users=[outsider], message="پیام دیگری", url="/")
    client = client_for(county_user)
    body = client.get("/accounts/notifications/").content.decode()
    assert "یادآوری: اقدام سررسید دارد" in body and "پیام دیگری" not in body
    assert client.post("/accounts/notifications/").status_code == 302
    assert not Notification.objects.filter(user=county_user, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=outsider, read_at__isnull=True).exists()
