"""The elections API: events with their phase, contests counted within the caller's jurisdiction."""

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from amanat.accounts.models import User
from amanat.accounts.services import api_token_create
from amanat.elections.models import Contest, ContestKind, ElectionEvent
from amanat.elections.services import contest_add, election_event_create
from conftest import World

API = "/api/v1/elections"
TODAY = dt.date(2024, 6, 18)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: Any) -> None:
    real = timezone.localdate
    monkeypatch.setattr(
        timezone, "localdate", lambda value=None, tz=None: TODAY if value is None else real(value, tz)
    )


def _bearer(user: User) -> Client:
    _token, key = api_token_create(actor=user, name="test device")
    return Client(headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def event(national: User, world: World) -> ElectionEvent:
    return election_event_create(
        actor=national, name="انتخابات", name_en="Election", voting_day=dt.date(2024, 6, 28)
    )


@pytest.fixture
def contests(national: User, event: ElectionEvent, world: World) -> dict[str, Contest]:
    return {
        "all": contest_add(actor=national, event=event, kind=ContestKind.PRESIDENTIAL),
        "b1": contest_add(
            actor=national,
            event=event,
            kind=ContestKind.BY_ELECTION,
            title="میان‌دوره‌ای",
            counties=[world.county_b1],
        ),
    }


def test_event_list_and_detail(county_viewer: User, event: ElectionEvent) -> None:
    client = _bearer(county_viewer)

    listed = client.get(f"{API}/events").json()
    detail = client.get(f"{API}/events/{event.pk}").json()

    assert listed["count"] == 1
    assert listed["items"][0] == detail
    assert detail == {
        "id": event.pk,
        "name": "انتخابات",
        "name_en": "Election",
        "opens_on": "2024-02-29",
        "voting_day": "2024-06-28",
        "voting_ends_on": "2024-06-28",
        "closes_on": "2024-07-28",
        "phase": "before",
        "days_to_voting": 10,
        "is_demo": False,
    }


def test_contests_are_counted_within_jurisdiction(
    county_user: User, outsider: User, national: User, event: ElectionEvent, contests: dict[str, Contest]
) -> None:
    def counts(user: User) -> dict[str, int]:
        response = _bearer(user).get(f"{API}/events/{event.pk}/contests")
        assert response.status_code == 200
        return {item["kind"]: item["counties_in_jurisdiction"] for item in response.json()}

    assert counts(county_user) == {"presidential": 1, "by_election": 0}
    assert counts(outsider) == {"presidential": 1, "by_election": 1}
    assert counts(national) == {"presidential": 3, "by_election": 1}


def test_contest_counties_are_scoped(
    province_user: User, county_user: User, event: ElectionEvent, contests: dict[str, Contest]
) -> None:
    def codes(user: User, name: str) -> set[str]:
        response = _bearer(user).get(f"{API}/events/{event.pk}/contests/{contests[name].pk}/counties")
        assert response.status_code == 200
        return {item["code"] for item in response.json()["items"]}

    assert codes(province_user, "all") == {"A1", "A2"}
    assert codes(county_user, "all") == {"A1"}
    assert codes(county_user, "b1") == set()


def test_missing_event_and_contest_of_another_event_are_404(
    county_user: User, national: User, event: ElectionEvent, contests: dict[str, Contest]
) -> None:
    other = election_event_create(actor=national, name="دیگر", voting_day=dt.date(2025, 1, 1))
    client = _bearer(county_user)

    assert client.get(f"{API}/events/{event.pk + 1000}").status_code == 404
    assert client.get(f"{API}/events/{event.pk + 1000}/contests").status_code == 404
    assert client.get(f"{API}/events/{other.pk}/contests/{contests['all'].pk}/counties").status_code == 404


def test_bad_event_id_names_the_field(county_user: User, world: World) -> None:
    response = _bearer(county_user).get(f"{API}/events/abc")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "event_id"]


def test_events_need_authentication(event: ElectionEvent) -> None:
    assert Client().get(f"{API}/events").status_code == 401
    assert Client().get(f"{API}/events/{event.pk}").status_code == 401
