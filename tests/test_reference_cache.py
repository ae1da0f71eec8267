"""The reference cache: values are kept until their services change the data, never longer."""

from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from amanat.accounts.models import User
from amanat.accounts.services import api_token_create, api_token_revoke, user_set_active
from amanat.geography.models import PollingStation
from amanat.geography.selectors import station_place_by_code
from amanat.reference_cache import ReferenceCache
from conftest import World


class Builds:
    """A build function that counts its calls and returns what it is told."""

    def __init__(self, value: Any) -> None:
        self.value, self.calls = value, 0

    def __call__(self) -> Any:
        self.calls += 1
        return self.value


def test_a_value_is_built_once_until_invalidated(db: Any) -> None:
    cache: ReferenceCache[Any] = ReferenceCache("test-once", timeout=60)
    build = Builds({"a": 1})
    assert cache.get("x", build) == {"a": 1}
    assert cache.get("x", build) == {"a": 1}
    assert build.calls == 1
    cache.invalidate()
    build.value = {"a": 2}
    assert cache.get("x", build) == {"a": 2}
    assert build.calls == 2


def test_a_held_value_stays_in_memory_and_goes_with_its_generation(db: Any) -> None:
    cache: ReferenceCache[Any] = ReferenceCache("test-held", timeout=60)
    build = Builds(["first"])
    first = cache.held("all", build)
    assert cache.held("all", build) is first  # the same object: no copy out of a cache
    cache.invalidate()
    build.value = ["second"]
    assert cache.held("all", build) == ["second"]
    assert build.calls == 2


def test_a_missing_value_is_not_kept_when_told() -> None:
    cache: ReferenceCache[Any] = ReferenceCache("test-none", timeout=60)
    build = Builds(None)
    cache.get("wrong-token", build, keep_none=False)
    cache.get("wrong-token", build, keep_none=False)
    assert build.calls == 2
    cache.get("no-event", build)
    cache.get("no-event", build)
    assert build.calls == 3


@pytest.mark.django_db(transaction=True)
def test_a_value_read_before_the_change_committed_is_dropped_at_commit() -> None:
    cache: ReferenceCache[Any] = ReferenceCache("test-commit", timeout=60)
    with transaction.atomic():
        cache.invalidate()
        # Another process reads the old data between the invalidation and the commit:
        cache.get("x", Builds("old"))
    assert cache.get("x", Builds("new")) == "new"


def _bearer(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


def test_a_revoked_token_is_refused_at_once(county_user: User, world: World) -> None:
    token, key = api_token_create(actor=county_user, name="device")
    device = _bearer(key)
    assert device.get("/api/v1/me").status_code == 200  # the user behind the token is cached now
    api_token_revoke(actor=county_user, token=token)
    assert device.get("/api/v1/me").status_code == 401


def test_a_deactivated_user_s_token_is_refused_at_once(
    county_user: User, county_admin: User, world: World
) -> None:
    _token, key = api_token_create(actor=county_user, name="device")
    device = _bearer(key)
    assert device.get("/api/v1/me").status_code == 200
    user_set_active(actor=county_admin, user=county_user, active=False)
    assert device.get("/api/v1/me").status_code == 401


def test_a_station_added_after_the_places_were_read_is_found(world: World) -> None:
    known = station_place_by_code(code=world.station_a1.code)
    assert known is not None and known.county_id == world.station_a1.county_id
    added = PollingStation.objects.create(code="NEW-1", name="new", county=world.county_a2)
    found = station_place_by_code(code="NEW-1")
    assert found is not None and (found.station_id, found.county_id) == (added.pk, world.county_a2.pk)
    assert station_place_by_code(code="NO-SUCH-STATION") is None
