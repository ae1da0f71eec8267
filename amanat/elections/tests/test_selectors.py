"""Election reads: phases by date, the current event, contests counted within the caller's jurisdiction."""

import datetime as dt
from typing import Any

import pytest
from django.http import Http404
from django.utils import timezone

from amanat.accounts.models import User
from amanat.elections import selectors
from amanat.elections.models import ContestKind, ElectionEvent, Phase
from amanat.elections.services import contest_add, election_event_create
from conftest import World

D = dt.date


@pytest.fixture
def event(national: User, world: World) -> ElectionEvent:
    return election_event_create(
        actor=national,
        name="انتخابات",
        opens_on=D(2024, 3, 1),
        voting_day=D(2024, 6, 28),
        voting_ends_on=D(2024, 6, 29),
        closes_on=D(2024, 7, 29),
    )


@pytest.mark.parametrize(
    ("day", "phase", "days_to_voting"),
    [
        (D(2024, 1, 1), Phase.BEFORE, 179),
        (D(2024, 3, 1), Phase.BEFORE, 119),
        (D(2024, 6, 27), Phase.BEFORE, 1),
        (D(2024, 6, 28), Phase.DURING, 0),
        (D(2024, 6, 29), Phase.DURING, -1),
        (D(2024, 6, 30), Phase.AFTER, -2),
        (D(2024, 7, 29), Phase.AFTER, -31),
        (D(2024, 7, 30), Phase.CLOSED, -32),
        (D(2025, 1, 1), Phase.CLOSED, -187),
    ],
)
def test_phase_on_each_date(day: dt.date, phase: str, days_to_voting: int, event: ElectionEvent) -> None:
    assert event.phase_on(day) == phase
    assert event.days_to_voting(day) == days_to_voting


def test_single_day_event_has_one_voting_day(national: User, world: World) -> None:
    event = election_event_create(actor=national, name="یک‌روزه", voting_day=D(2024, 6, 28))

    assert event.phase_on(D(2024, 6, 27)) == Phase.BEFORE
    assert event.phase_on(D(2024, 6, 28)) == Phase.DURING
    assert event.phase_on(D(2024, 6, 29)) == Phase.AFTER


def _event(actor: User, name: str, voting_day: dt.date) -> ElectionEvent:
    return election_event_create(
        actor=actor,
        name=name,
        voting_day=voting_day,
        opens_on=voting_day - dt.timedelta(days=30),
        closes_on=voting_day + dt.timedelta(days=10),
    )


def test_current_event_prefers_the_one_in_season(national: User, world: World) -> None:
    past = _event(national, "گذشته", D(2024, 1, 10))
    in_season = _event(national, "جاری", D(2024, 6, 28))
    upcoming = _event(national, "آینده", D(2024, 6, 20) + dt.timedelta(days=60))

    assert selectors.election_event_current(today=D(2024, 6, 10)) == in_season
    assert selectors.election_event_current(today=D(2024, 7, 5)) == in_season  # after voting, still in season
    assert selectors.election_event_current(today=D(2024, 7, 15)) == upcoming  # season over: the next one
    assert selectors.election_event_current(today=D(2025, 1, 1)) == upcoming  # nothing ahead: the latest
    assert selectors.election_event_current(today=D(2023, 1, 1)) == past  # the nearest ahead


def test_current_event_of_two_in_season_is_the_earlier_vote(national: User, world: World) -> None:
    _event(national, "دوم", D(2024, 7, 5))
    sooner = _event(national, "اول", D(2024, 6, 28))

    assert selectors.election_event_current(today=D(2024, 6, 20)) == sooner


def test_current_event_of_none(world: World) -> None:
    assert selectors.election_event_current(today=D(2024, 6, 1)) is None


def test_current_event_defaults_to_today(national: User, world: World, monkeypatch: Any) -> None:
    event = _event(national, "جاری", D(2024, 6, 28))
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: D(2024, 6, 1))

    assert selectors.election_event_current() == event


@pytest.fixture
def contests(national: User, event: ElectionEvent, world: World) -> dict[str, Any]:
    return {
        "all": contest_add(actor=national, event=event, kind=ContestKind.PRESIDENTIAL),
        "a2_b1": contest_add(
            actor=national,
            event=event,
            kind=ContestKind.BY_ELECTION,
            counties=[world.county_a2, world.county_b1],
        ),
    }


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("national", {"all": 3, "a2_b1": 2}),
        ("auditor", {"all": 3, "a2_b1": 2}),
        ("province_user", {"all": 2, "a2_b1": 1}),
        ("county_user", {"all": 1, "a2_b1": 0}),
        ("outsider", {"all": 1, "a2_b1": 1}),
    ],
)
def test_contest_list_counts_counties_in_jurisdiction(
    persona: str, expected: dict[str, int], request: Any, event: ElectionEvent, contests: dict[str, Any]
) -> None:
    user = request.getfixturevalue(persona)
    names = {contest.pk: name for name, contest in contests.items()}

    rows = selectors.contest_list_for(user=user, event=event)

    assert {names[row.contest.pk]: row.counties_in_jurisdiction for row in rows} == expected


def test_contest_counties_are_scoped(
    county_user: User, province_user: User, contests: dict[str, Any], world: World
) -> None:
    def codes(user: User, name: str) -> set[str]:
        return {c.code for c in selectors.contest_county_list_for(user=user, contest=contests[name])}

    assert codes(county_user, "all") == {"A1"}
    assert codes(county_user, "a2_b1") == set()
    assert codes(province_user, "all") == {"A1", "A2"}
    assert codes(province_user, "a2_b1") == {"A2"}


def test_county_contests(
    national: User, event: ElectionEvent, contests: dict[str, Any], world: World
) -> None:
    def kinds(county: Any) -> set[str]:
        return set(
            selectors.county_contests_for(user=national, county=county, event=event).values_list(
                "kind", flat=True
            )
        )

    assert kinds(world.county_a1) == {ContestKind.PRESIDENTIAL}
    assert kinds(world.county_b1) == {ContestKind.PRESIDENTIAL, ContestKind.BY_ELECTION}
    assert not selectors.county_contests_for(user=national, county=world.county_a1, event=None).exists()


def test_event_and_contest_gets(
    county_user: User, national: User, event: ElectionEvent, contests: dict[str, Any]
) -> None:
    assert selectors.election_event_get_for(user=county_user, event_id=str(event.pk)) == event
    with pytest.raises(Http404):
        selectors.election_event_get_for(user=county_user, event_id="x")
    with pytest.raises(Http404):
        selectors.election_event_get_for(user=county_user, event_id=event.pk + 1000)
    other = election_event_create(actor=national, name="دیگر", voting_day=D(2025, 1, 1))
    with pytest.raises(Http404):
        selectors.contest_get_for(user=county_user, event=other, contest_id=contests["all"].pk)
    assert (
        selectors.contest_get_for(user=county_user, event=event, contest_id=contests["all"].pk)
        == contests["all"]
    )


def test_event_list_newest_first(national: User, county_viewer: User, world: World) -> None:
    older = _event(national, "قدیمی", D(2020, 2, 21))
    newer = _event(national, "تازه", D(2024, 3, 1))

    assert list(selectors.election_event_list_for(user=county_viewer)) == [newer, older]


def test_the_calendar_is_cached_and_read_again_after_a_change(
    national: User, admin: User, world: World
) -> None:
    from django.contrib import admin as django_admin
    from django.test import RequestFactory

    from amanat.elections.admin import ElectionEventAdmin

    today = timezone.localdate()
    event = election_event_create(actor=national, name="first", voting_day=today + dt.timedelta(days=30))
    assert selectors.election_event_current(today=today) == event
    assert selectors.election_event_covering(day=today).name == "first"  # type: ignore[union-attr]
    # Changed behind the services' back: the cached calendar does not see it ...
    ElectionEvent.objects.filter(pk=event.pk).update(name="renamed")
    assert selectors.election_event_covering(day=today).name == "first"  # type: ignore[union-attr]
    # ... but a change through the admin (or a service) drops it at once.
    request = RequestFactory().post("/admin/")
    request.user = admin
    event.refresh_from_db()
    event.name = "edited in the admin"
    ElectionEventAdmin(ElectionEvent, django_admin.site).save_model(request, event, form=None, change=True)
    assert selectors.election_event_covering(day=today).name == "edited in the admin"  # type: ignore[union-attr]
    assert selectors.election_event_covering(day=today + dt.timedelta(days=400)) is None
