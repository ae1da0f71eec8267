"""Account writes: users and organisations within the actor's jurisdiction, API tokens, login auditing."""

import hashlib
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from amanat.accounts.models import ApiToken, Organisation, OrganisationKind, User
from amanat.accounts.roles import Role
from amanat.accounts.services import (
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    organisation_create,
    user_create,
    user_set_active,
)
from amanat.audit.models import AuditAction, AuditEntry
from conftest import PASSWORD, World


def _last_entry() -> AuditEntry:
    entry = AuditEntry.all_entries.order_by("-seq").first()
    assert entry is not None
    return entry


# Users


def test_user_create_within_jurisdiction(province_admin: User, world: World) -> None:
    user = user_create(
        actor=province_admin,
        username=" new_a1 ",
        password=PASSWORD,
        role=Role.SECRETARY,
        organisation=world.org_a1,
        county=world.county_a1,
    )

    assert user.username == "new_a1"
    assert (user.province_id, user.county_id) == (world.province_a.pk, world.county_a1.pk)
    assert user.check_password(PASSWORD)
    entry = _last_entry()
    assert entry.action == AuditAction.CREATE
    assert entry.entity_id == str(user.pk)
    assert entry.actor_id == province_admin.pk
    assert (entry.province_id, entry.county_id) == (world.province_a.pk, world.county_a1.pk)
    assert "password" not in (entry.after or {})


@pytest.mark.parametrize("where", ["province_b", "county_b1"])
def test_user_create_outside_the_actors_jurisdiction_is_refused(
    where: str, province_admin: User, world: World
) -> None:
    place = getattr(world, where)
    kwargs = {"province": place} if where.startswith("province") else {"county": place}

    with pytest.raises(PermissionDenied):
        user_create(
            actor=province_admin,
            username="intruder",
            password=PASSWORD,
            role=Role.MEMBER,
            organisation=None,
            **kwargs,
        )

    assert not User.objects.filter(username="intruder").exists()


def test_province_admin_cannot_create_a_national_user(province_admin: User, world: World) -> None:
    with pytest.raises(PermissionDenied):
        user_create(
            actor=province_admin, username="nat", password=PASSWORD, role=Role.AUDITOR, organisation=None
        )


def test_county_not_in_the_province_is_refused(admin: User, world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        user_create(
            actor=admin,
            username="mismatch",
            password=PASSWORD,
            role=Role.MEMBER,
            organisation=None,
            province=world.province_a,
            county=world.county_b1,
        )

    assert "county" in refused.value.message_dict


@pytest.mark.parametrize("password", ["short", "password123", "1234567890123", "county_weak"])
def test_weak_password_is_refused_naming_password(password: str, admin: User, world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        user_create(
            actor=admin,
            username="county_weak",
            password=password,
            role=Role.MEMBER,
            organisation=world.org_a1,
            county=world.county_a1,
        )

    assert list(refused.value.message_dict) == ["password"]
    assert not User.objects.filter(username="county_weak").exists()


@pytest.mark.parametrize("persona", ["county_user", "province_user", "auditor", "county_viewer"])
def test_non_administrators_cannot_create_users(persona: str, request: Any, world: World) -> None:
    actor = request.getfixturevalue(persona)

    with pytest.raises(PermissionDenied):
        user_create(
            actor=actor,
            username="by_" + persona,
            password=PASSWORD,
            role=Role.VIEWER,
            organisation=world.org_a1,
            county=world.county_a1,
        )


def test_unknown_role_and_foreign_organisation_are_refused(admin: User, world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        user_create(actor=admin, username="r", password=PASSWORD, role="king", organisation=None)
    assert "role" in refused.value.message_dict

    with pytest.raises(ValidationError) as refused:
        user_create(
            actor=admin,
            username="o",
            password=PASSWORD,
            role=Role.MEMBER,
            organisation=world.org_b1,
            county=world.county_a1,
        )
    assert "organisation" in refused.value.message_dict


def test_duplicate_username_is_refused(admin: User, county_user: User, world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        user_create(
            actor=admin,
            username="county_a1",
            password=PASSWORD,
            role=Role.MEMBER,
            organisation=None,
            county=world.county_a1,
        )

    assert "username" in refused.value.message_dict


# Organisations


def test_organisation_create_records_jurisdiction(province_admin: User, world: World) -> None:
    organisation = organisation_create(
        actor=province_admin,
        name=" پلیس الف۲ ",
        kind=OrganisationKind.POLICE,
        county=world.county_a2,
        name_en="Police A2",
    )

    assert organisation.name == "پلیس الف۲"
    assert (organisation.province_id, organisation.county_id) == (world.province_a.pk, world.county_a2.pk)
    entry = _last_entry()
    assert (entry.action, entry.entity_id) == (AuditAction.CREATE, str(organisation.pk))
    assert (entry.province_id, entry.county_id) == (world.province_a.pk, world.county_a2.pk)


def test_organisation_outside_jurisdiction_is_refused(province_admin: User, world: World) -> None:
    with pytest.raises(PermissionDenied):
        organisation_create(
            actor=province_admin, name="x", kind=OrganisationKind.OTHER, province=world.province_b
        )


def test_organisation_by_non_administrator_is_refused(province_user: User, world: World) -> None:
    with pytest.raises(PermissionDenied):
        organisation_create(
            actor=province_user, name="x", kind=OrganisationKind.OTHER, province=world.province_a
        )


def test_duplicate_organisation_and_bad_kind_are_refused(admin: User, world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        organisation_create(
            actor=admin, name="فرمانداری الف۱", kind=OrganisationKind.GOVERNORATE, county=world.county_a1
        )
    assert refused.value.message_dict

    with pytest.raises(ValidationError) as refused:
        organisation_create(actor=admin, name="new", kind="guild", county=world.county_a1)
    assert "kind" in refused.value.message_dict
    assert Organisation.objects.filter(name="new").count() == 0


# API tokens


def test_api_token_create_stores_only_a_hash(county_viewer: User, world: World) -> None:
    token, key = api_token_create(actor=county_viewer, name=" tablet ")

    assert key.startswith("amn_")
    assert len(key) > 40
    assert token.name == "tablet"
    assert token.prefix == key[:12]
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    stored = ApiToken.objects.values_list("prefix", "key_hash", "name")
    assert all(key not in field for row in stored for field in row)
    entry = _last_entry()
    assert (entry.action, entry.entity_id) == (AuditAction.CREATE, str(token.pk))
    assert (entry.province_id, entry.county_id) == (world.province_a.pk, world.county_a1.pk)
    assert key not in str(entry.after)


def test_api_token_authenticates_until_revoked(county_user: User, world: World) -> None:
    token, key = api_token_create(actor=county_user, name="laptop")
    assert api_token_authenticate(raw_key=key) == county_user
    token.refresh_from_db()
    assert token.last_used_at is not None

    api_token_revoke(actor=county_user, token=token)

    assert api_token_authenticate(raw_key=key) is None
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert _last_entry().action == AuditAction.UPDATE


def test_api_token_revoke_is_idempotent(county_user: User, world: World) -> None:
    token, _key = api_token_create(actor=county_user, name="laptop")
    api_token_revoke(actor=county_user, token=token)
    entries = AuditEntry.all_entries.count()
    revoked_at = token.revoked_at

    api_token_revoke(actor=county_user, token=token)

    assert token.revoked_at == revoked_at
    assert AuditEntry.all_entries.count() == entries


def test_someone_elses_token_cannot_be_revoked(county_user: User, outsider: User, world: World) -> None:
    token, key = api_token_create(actor=county_user, name="laptop")

    with pytest.raises(ValidationError):
        api_token_revoke(actor=outsider, token=token)

    assert api_token_authenticate(raw_key=key) == county_user


def test_api_token_needs_a_name(county_user: User, world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        api_token_create(actor=county_user, name="   ")

    assert "name" in refused.value.message_dict


@pytest.mark.parametrize("key", ["", "amn_", "amn_unknown", "not-a-token"])
def test_unknown_keys_authenticate_nobody(key: str, county_user: User, world: World) -> None:
    api_token_create(actor=county_user, name="laptop")

    assert api_token_authenticate(raw_key=key) is None


# Logins (through the login form, as a person logs in)


def _login(client: Client, username: str, password: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_login_is_audited_in_the_users_jurisdiction(county_user: User, world: World) -> None:
    response = _login(Client(), "county_a1", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/"
    entry = _last_entry()
    assert entry.action == AuditAction.LOGIN
    assert entry.actor_id == county_user.pk
    assert (entry.province_id, entry.county_id) == (world.province_a.pk, world.county_a1.pk)
    assert entry.ip_address == "127.0.0.1"


def test_failed_login_is_audited_in_the_targets_jurisdiction(county_user: User, world: World) -> None:
    response = _login(Client(), "county_a1", "wrong-password-1405")

    assert response.status_code == 200
    assert "_auth_user_id" not in response.wsgi_request.session
    entry = _last_entry()
    assert entry.action == AuditAction.LOGIN_FAILED
    assert entry.actor_id is None
    assert entry.entity_label == "county_a1"
    assert entry.entity_id == str(county_user.pk)
    assert (entry.province_id, entry.county_id) == (world.province_a.pk, world.county_a1.pk)


def test_failed_login_of_unknown_user_is_national(world: World) -> None:
    _login(Client(), "nobody", "wrong-password-1405")

    entry = _last_entry()
    assert entry.action == AuditAction.LOGIN_FAILED
    assert entry.entity_label == "nobody"
    assert (entry.entity_id, entry.province_id, entry.county_id) == ("", None, None)


def test_logout_is_audited(province_user: User, world: World) -> None:
    client = Client()
    _login(client, "province_a", PASSWORD)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    entry = _last_entry()
    assert (entry.action, entry.actor_id) == (AuditAction.LOGOUT, province_user.pk)
    assert (entry.province_id, entry.county_id) == (world.province_a.pk, None)


def test_login_is_throttled_after_repeated_failures(settings: Any, county_user: User, world: World) -> None:
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _attempt in range(3):
        _login(client, "county_a1", "wrong-password-1405")

    response = _login(client, "county_a1", PASSWORD)

    assert response.status_code == 429
    assert "accounts/locked_out.html" in [t.name for t in response.templates]
    assert "_auth_user_id" not in client.session
    assert not AuditEntry.all_entries.filter(action=AuditAction.LOGIN, actor=county_user).exists()
    assert client.get("/").status_code == 302


def test_login_works_below_the_failure_limit(settings: Any, county_user: User, world: World) -> None:
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _attempt in range(2):
        assert _login(client, "county_a1", "wrong-password-1405").status_code == 200

    response = _login(client, "county_a1", PASSWORD)

    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_lockout_is_per_username(settings: Any, county_user: User, outsider: User, world: World) -> None:
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _attempt in range(3):
        _login(client, "county_a1", "wrong-password-1405")

    assert _login(client, "county_b1", PASSWORD).status_code == 302


def test_sessions_expire(county_user: User, world: World) -> None:
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert 0 < settings.SESSION_COOKIE_AGE <= 24 * 3600
    client = Client()

    response = _login(client, "county_a1", PASSWORD)

    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == ""
    assert cookie["expires"] == ""
    assert cookie["httponly"]
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert client.session.get_expire_at_browser_close()


def test_deactivated_user_is_refused_at_login_and_by_token(province_admin: User, county_user: User) -> None:
    _token, key = api_token_create(actor=county_user, name="device")
    user_set_active(actor=province_admin, user=county_user, active=False)
    county_user.refresh_from_db()
    assert not county_user.is_active
    entry = _last_entry()
    assert (entry.action, entry.before, entry.after) == ("update", {"is_active": True}, {"is_active": False})
    assert entry.county_id == county_user.county_id
    assert api_token_authenticate(raw_key=key) is None
    assert not Client().login(username=county_user.username, password=PASSWORD)

    user_set_active(actor=province_admin, user=county_user, active=True)
    assert api_token_authenticate(raw_key=key) is not None


def test_deactivation_stays_within_the_administrators_jurisdiction(
    province_admin: User, outsider: User, county_user: User
) -> None:
    with pytest.raises(PermissionDenied):
        user_set_active(actor=province_admin, user=outsider, active=False)
    with pytest.raises(PermissionDenied):
        user_set_active(actor=county_user, user=county_user, active=False)
    with pytest.raises(ValidationError):
        user_set_active(actor=province_admin, user=province_admin, active=False)
    outsider.refresh_from_db()
    assert outsider.is_active


def test_client_address_ignores_forwarded_headers_without_a_trusted_proxy(county_user: User) -> None:
    """Otherwise a client could forge X-Forwarded-For to dodge the lockout or frame another address."""
    Client().post(
        "/accounts/login/",
        {"username": county_user.username, "password": "wrong-password"},
        HTTP_X_FORWARDED_FOR="203.0.113.66",
        REMOTE_ADDR="198.51.100.7",
    )
    assert _last_entry().ip_address == "198.51.100.7"


def test_client_address_comes_from_the_trusted_proxy_chain(county_user: User, settings: Any) -> None:
    settings.AXES_IPWARE_PROXY_COUNT = 1
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
    Client().post(
        "/accounts/login/",
        {"username": county_user.username, "password": "wrong-password"},
        HTTP_X_FORWARDED_FOR="203.0.113.66, 10.0.0.1",
        REMOTE_ADDR="10.0.0.1",
    )
    assert _last_entry().ip_address == "203.0.113.66"
