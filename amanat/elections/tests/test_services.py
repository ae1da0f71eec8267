"""Election writes: events (national administrators only, dates in order) and their contests."""

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from amanat.accounts.models import User
from amanat.audit.models import AuditAction, AuditEntry
from amanat.elections.models import ContestCounty, ContestKind, ElectionEvent
from amanat.elections.services import contest_add, election_event_create
from amanat.scoping import unscoped
from conftest import World

VOTING_DAY = dt.date(2024, 6, 28)


def _participants(contest: Any) -> set[str]:
    with unscoped():
        return set(ContestCounty.objects.filter(contest=contest).values_list("county__code", flat=True))


def test_event_defaults_give_a_season_around_voting_day(national: User, world: World) -> None:
    event = election_event_create(actor=national, name=" انتخابات ریاست جمهوری ", voting_day=VOTING_DAY)

    assert event.name == "انتخابات ریاست جمهوری"
    assert event.opens_on == VOTING_DAY - dt.timedelta(days=120)
    assert event.voting_ends_on == VOTING_DAY
    assert event.closes_on == VOTING_DAY + dt.timedelta(days=30)
    entry = AuditEntry.all_entries.order_by("-seq").first()
    assert entry is not None
    assert (entry.action, entry.entity_id, entry.actor_id) == (AuditAction.CREATE, str(event.pk), national.pk)
    assert (entry.province_id, entry.county_id) == (None, None)


def test_event_with_explicit_dates(national: User, world: World) -> None:
    event = election_event_create(
        actor=national,
        name="دور دوم",
        voting_day=VOTING_DAY,
        opens_on=VOTING_DAY,
        voting_ends_on=VOTING_DAY + dt.timedelta(days=1),
        closes_on=VOTING_DAY + dt.timedelta(days=1),
    )

    assert (event.opens_on, event.voting_ends_on, event.closes_on) == (
        VOTING_DAY,
        VOTING_DAY + dt.timedelta(days=1),
        VOTING_DAY + dt.timedelta(days=1),
    )


@pytest.mark.parametrize(
    ("dates", "field"),
    [
        ({"opens_on": VOTING_DAY + dt.timedelta(days=1)}, "opens_on"),
        ({"voting_ends_on": VOTING_DAY - dt.timedelta(days=1)}, "voting_ends_on"),
        (
            {
                "voting_ends_on": VOTING_DAY + dt.timedelta(days=2),
                "closes_on": VOTING_DAY + dt.timedelta(days=1),
            },
            "closes_on",
        ),
        ({"closes_on": VOTING_DAY - dt.timedelta(days=1)}, "closes_on"),
    ],
)
def test_dates_out_of_order_are_refused_naming_the_field(
    dates: dict[str, Any], field: str, national: User, world: World
) -> None:
    with pytest.raises(ValidationError) as refused:
        election_event_create(actor=national, name="بد", voting_day=VOTING_DAY, **dates)

    assert field in refused.value.message_dict
    assert not ElectionEvent.objects.exists()


def test_event_needs_a_name_and_a_unique_one_per_day(national: User, world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        election_event_create(actor=national, name="  ", voting_day=VOTING_DAY)
    assert "name" in refused.value.message_dict

    election_event_create(actor=national, name="یکی", voting_day=VOTING_DAY)
    with pytest.raises(ValidationError) as refused:
        election_event_create(actor=national, name="یکی", voting_day=VOTING_DAY)
    assert "name" in refused.value.message_dict
    assert ElectionEvent.objects.count() == 1
    # The same name on another day is another event.
    election_event_create(actor=national, name="یکی", voting_day=VOTING_DAY + dt.timedelta(days=7))


@pytest.mark.parametrize("persona", ["province_user", "county_user", "auditor", "county_viewer"])
def test_event_by_non_administrator_is_refused(persona: str, request: Any, world: World) -> None:
    actor = request.getfixturevalue(persona)

    with pytest.raises(PermissionDenied):
        election_event_create(actor=actor, name="x", voting_day=VOTING_DAY)

    assert not ElectionEvent.objects.exists()


def test_event_by_province_administrator_is_refused(province_admin: User, world: World) -> None:
    with pytest.raises(PermissionDenied):
        election_event_create(actor=province_admin, name="x", voting_day=VOTING_DAY)


@pytest.fixture
def event(national: User, world: World) -> ElectionEvent:
    return election_event_create(actor=national, name="انتخابات", voting_day=VOTING_DAY)


def test_contest_with_every_county(national: User, event: ElectionEvent) -> None:
    contest = contest_add(actor=national, event=event, kind=ContestKind.PRESIDENTIAL)

    assert _participants(contest) == {"A1", "A2", "B1"}
    entry = AuditEntry.all_entries.order_by("-seq").first()
    assert entry is not None
    assert entry.entity_id == str(contest.pk)
    assert (entry.after or {})["county_count"] == 3


def test_contest_with_a_subset_of_counties(national: User, event: ElectionEvent, world: World) -> None:
    contest = contest_add(
        actor=national,
        event=event,
        kind=ContestKind.BY_ELECTION,
        title=" میان‌دوره‌ای ",
        counties=[world.county_a2, world.county_b1, world.county_b1],
    )

    assert contest.title == "میان‌دوره‌ای"
    assert _participants(contest) == {"A2", "B1"}


def test_contest_with_the_counties_of_a_province(national: User, event: ElectionEvent, world: World) -> None:
    contest = contest_add(
        actor=national, event=event, kind=ContestKind.CITY_COUNCIL, provinces=[world.province_a]
    )

    assert _participants(contest) == {"A1", "A2"}


def test_contest_with_no_county_is_refused(national: User, event: ElectionEvent) -> None:
    with pytest.raises(ValidationError):
        contest_add(actor=national, event=event, kind=ContestKind.BY_ELECTION, counties=[])

    assert not event.contests.exists()


def test_duplicate_contest_is_refused(national: User, event: ElectionEvent, world: World) -> None:
    contest_add(actor=national, event=event, kind=ContestKind.PARLIAMENTARY)

    with pytest.raises(ValidationError) as refused:
        contest_add(actor=national, event=event, kind=ContestKind.PARLIAMENTARY)

    assert "kind" in refused.value.message_dict
    assert event.contests.count() == 1
    # The same kind with another title is another contest.
    contest_add(
        actor=national,
        event=event,
        kind=ContestKind.PARLIAMENTARY,
        title="دور دوم",
        counties=[world.county_a1],
    )
    assert event.contests.count() == 2


def test_unknown_contest_kind_is_refused(national: User, event: ElectionEvent) -> None:
    with pytest.raises(ValidationError) as refused:
        contest_add(actor=national, event=event, kind="coronation")

    assert "kind" in refused.value.message_dict


def test_contest_by_non_administrator_is_refused(province_user: User, event: ElectionEvent) -> None:
    with pytest.raises(PermissionDenied):
        contest_add(actor=province_user, event=event, kind=ContestKind.PRESIDENTIAL)

    assert not event.contests.exists()
