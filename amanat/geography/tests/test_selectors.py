"""Geography reads: each caller sees their own jurisdiction, and nothing is read outside a scope."""

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from amanat.accounts.models import User
from amanat.geography import selectors
from amanat.geography.models import County, District, PollingStation, Province
from amanat.scoping import ScopeError, scoped_to, unscoped
from conftest import World


def _codes(queryset: Any) -> set[str]:
    return {obj.code for obj in queryset}


def test_county_user_sees_only_county_a1(county_user: User, world: World) -> None:
    assert _codes(selectors.province_list_for(user=county_user)) == {"A"}
    assert _codes(selectors.county_list_for(user=county_user)) == {"A1"}
    assert _codes(selectors.district_list_for(user=county_user)) == {"A1-1"}
    assert _codes(selectors.station_list_for(user=county_user)) == {"A1-001", "A1-002"}
    counts = selectors.geography_counts_for(user=county_user)
    assert (counts.provinces, counts.counties, counts.districts, counts.stations) == (1, 1, 1, 2)


def test_province_user_sees_both_counties_of_province_a(province_user: User, world: World) -> None:
    assert _codes(selectors.province_list_for(user=province_user)) == {"A"}
    assert _codes(selectors.county_list_for(user=province_user)) == {"A1", "A2"}
    assert _codes(selectors.district_list_for(user=province_user)) == {"A1-1", "A2-1"}
    assert _codes(selectors.station_list_for(user=province_user)) == {"A1-001", "A1-002", "A2-001"}
    assert selectors.geography_counts_for(user=province_user).stations == 3


def test_national_user_sees_everything(national: User, world: World) -> None:
    assert _codes(selectors.province_list_for(user=national)) == {"A", "B"}
    assert _codes(selectors.county_list_for(user=national)) == {"A1", "A2", "B1"}
    assert len(_codes(selectors.station_list_for(user=national))) == 5
    counts = selectors.geography_counts_for(user=national)
    assert (counts.provinces, counts.counties, counts.districts, counts.stations) == (2, 3, 3, 5)


def test_outsider_sees_only_county_b1(outsider: User, world: World) -> None:
    assert _codes(selectors.county_list_for(user=outsider)) == {"B1"}
    assert _codes(selectors.station_list_for(user=outsider)) == {"B1-001", "B1-002"}


def test_filters_cannot_widen_the_jurisdiction(county_user: User, world: World) -> None:
    assert not selectors.station_list_for(user=county_user, county_id=world.county_b1.pk).exists()
    assert not selectors.station_list_for(user=county_user, province_id=world.province_b.pk).exists()
    assert not selectors.county_list_for(user=county_user, province_id=world.province_b.pk).exists()
    assert not selectors.district_list_for(user=county_user, county_id=world.county_a2.pk).exists()


def test_station_search_folds_persian_letter_forms(county_user: User, world: World) -> None:
    # An Arabic yeh typed in the query still finds the name written with a Persian one.
    assert _codes(selectors.station_list_for(user=county_user, q="مسجد")) == {"A1-002"}
    assert _codes(selectors.station_list_for(user=county_user, q="شهيد")) == {"A1-001"}
    assert _codes(selectors.station_list_for(user=county_user, q="a1-002")) == {"A1-002"}


def test_county_counts_for_province_list_stay_in_jurisdiction(county_user: User, world: World) -> None:
    province: Any
    (province,) = selectors.province_list_for(user=county_user)

    assert province.county_count == 1
    assert selectors.station_counts_by_province_for(user=county_user) == {world.province_a.pk: 2}


def test_station_counts_by_county(province_user: User, world: World) -> None:
    ids = [world.county_a1.pk, world.county_a2.pk, world.county_b1.pk]

    assert selectors.station_counts_by_county_for(user=province_user, county_ids=ids) == {
        world.county_a1.pk: 2,
        world.county_a2.pk: 1,
    }


@pytest.mark.parametrize(
    ("getter", "kwarg", "attr"),
    [
        (selectors.province_get_for, "province_id", "province_b"),
        (selectors.county_get_for, "county_id", "county_b1"),
        (selectors.county_get_for, "county_id", "county_a2"),
        (selectors.district_get_for, "district_id", "district_b1"),
        (selectors.station_get_for, "station_id", "station_b1"),
        (selectors.station_get_for, "station_id", "station_a2"),
    ],
)
def test_get_outside_jurisdiction_is_404(
    getter: Any, kwarg: str, attr: str, county_user: User, world: World
) -> None:
    with pytest.raises(Http404):
        getter(user=county_user, **{kwarg: getattr(world, attr).pk})


@pytest.mark.parametrize("bad_id", ["abc", None, "", 10**9])
def test_get_of_a_bad_or_missing_id_is_404(bad_id: Any, national: User, world: World) -> None:
    with pytest.raises(Http404):
        selectors.station_get_for(user=national, station_id=bad_id)


def test_gets_inside_jurisdiction(county_user: User, province_user: User, world: World) -> None:
    assert selectors.station_get_for(user=county_user, station_id=world.station_a1.pk) == world.station_a1
    assert selectors.county_get_for(user=county_user, county_id=world.county_a1.pk) == world.county_a1
    assert selectors.district_get_for(user=county_user, district_id=world.district_a1.pk) == world.district_a1
    # A county's own province is reachable (its page lists only that county).
    assert selectors.province_get_for(user=county_user, province_id=world.province_a.pk) == world.province_a
    assert selectors.station_get_for(user=province_user, station_id=world.station_a2.pk) == world.station_a2


def test_anonymous_caller_is_refused(world: World) -> None:
    with pytest.raises(PermissionDenied):
        selectors.station_list_for(user=AnonymousUser())


@pytest.mark.parametrize("model", [PollingStation, County, District, Province])
def test_query_outside_a_scope_raises(model: Any, world: World) -> None:
    with pytest.raises(ScopeError):
        list(model.objects.all())
    with pytest.raises(ScopeError):
        model.objects.count()
    with pytest.raises(ScopeError):
        model.objects.filter(code="A1-001").first()


def test_scopes_filter_and_unscoped_sees_all(county_user: User, world: World) -> None:
    with scoped_to(county_user):
        assert PollingStation.objects.count() == 2
    with unscoped():
        assert PollingStation.objects.count() == 5
