"""Account reads: own tokens only, users and organisations within the caller's jurisdiction."""

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from amanat.accounts import selectors
from amanat.accounts.models import User
from amanat.accounts.services import api_token_create
from conftest import World


def test_token_list_is_the_callers_own(county_user: User, outsider: User, world: World) -> None:
    mine, _key = api_token_create(actor=county_user, name="mine")
    api_token_create(actor=outsider, name="theirs")

    assert list(selectors.api_token_list_for(user=county_user)) == [mine]


def test_token_get_of_another_users_token_is_404(
    county_user: User, county_viewer: User, world: World
) -> None:
    theirs, _key = api_token_create(actor=county_viewer, name="theirs")

    with pytest.raises(Http404):
        selectors.api_token_get_for(user=county_user, token_id=theirs.pk)
    assert selectors.api_token_get_for(user=county_viewer, token_id=str(theirs.pk)) == theirs


@pytest.mark.parametrize("token_id", ["x", None, 0])
def test_token_get_of_bad_id_is_404(token_id: Any, county_user: User, world: World) -> None:
    with pytest.raises(Http404):
        selectors.api_token_get_for(user=county_user, token_id=token_id)


def test_anonymous_has_no_tokens(world: World) -> None:
    with pytest.raises(PermissionDenied):
        selectors.api_token_list_for(user=AnonymousUser())


def _usernames(user: User) -> set[str]:
    return set(selectors.user_list_for(user=user).values_list("username", flat=True))


def test_user_list_is_scoped(
    national: User, province_user: User, county_user: User, county_viewer: User, outsider: User, world: World
) -> None:
    assert _usernames(county_user) == {"county_a1", "viewer_a1"}
    assert _usernames(province_user) == {"province_a", "county_a1", "viewer_a1"}
    assert _usernames(outsider) == {"county_b1"}
    assert {"admin", "national", "province_a", "county_a1", "viewer_a1", "county_b1"} <= _usernames(national)


def _organisations(user: User) -> set[str]:
    return set(selectors.organisation_list_for(user=user).values_list("name", flat=True))


def test_organisation_list_serves_the_callers_jurisdiction(
    national: User, province_user: User, county_user: User, outsider: User, world: World
) -> None:
    assert _organisations(county_user) == {"ستاد کشور", "استانداری الف", "فرمانداری الف۱"}
    assert _organisations(province_user) == {"ستاد کشور", "استانداری الف", "فرمانداری الف۱"}
    assert _organisations(outsider) == {"ستاد کشور", "فرمانداری ب۱"}
    assert _organisations(national) == {"ستاد کشور", "استانداری الف", "فرمانداری الف۱", "فرمانداری ب۱"}
