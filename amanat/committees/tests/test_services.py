"""Committee services: the cadence calendar, bulk creation, re-planning, meetings, minutes, decisions,
action items, escalation and reminders. State is built through the services, as a user would."""

import datetime as dt
import itertools
import sqlite3
from typing import Any

import jdatetime
import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from amanat.accounts.models import Notification, Organisation, OrganisationKind, User
from amanat.accounts.roles import Role
from amanat.accounts.services import organisation_create, user_create
from amanat.audit.models import AuditAction, AuditEntry
from amanat.audit.services import audit_chain_verify
from amanat.committees import selectors, services
from amanat.committees.cadence import cadence_check, cadence_dates, cadence_errors
from amanat.committees.models import (
    ActionItem,
    ActionStatus,
    Attendance,
    AttendanceStatus,
    Committee,
    CommitteeMember,
    Decision,
    Meeting,
    MeetingStatus,
    MemberRole,
    Minutes,
    MinutesStatus,
    ProgressNote,
)
from amanat.elections.services import contest_add, election_event_create
from amanat.geography.models import County
from amanat.geography.services import DivisionRow, geography_import
from amanat.scoping import unscoped
from conftest import PASSWORD, VOTING_DAY, Committees, World

# The committees were created on 2026-11-10 (1405/08/19) with the instruction's default cadence
# (every 14 days; weekly from 56 days before voting; daily from 7 days before through 3 after):
# 11-10, 11-24, 12-08, 12-22, 2027-01-05, weekly from 01-08, daily 02-26 .. 03-08.
# "Today" is the second meeting's day.
TODAY = dt.date(2026, 11, 24)
FIRST = dt.date(2026, 11, 10)
NEXT = dt.date(2026, 12, 8)
SEASON_OPENS = dt.date(2026, 11, 1)
SEASON_CLOSES = dt.date(2027, 4, 4)  # voting day + 30 days


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: pytest.MonkeyPatch) -> None:
    real = timezone.localdate
    monkeypatch.setattr(
        timezone, "localdate", lambda value=None, tz=None: TODAY if value is None else real(value, tz)
    )


# --- helpers ---------------------------------------------------------------------------------


def _meeting(committee: Committee, day: dt.date) -> Meeting:
    with unscoped():
        return Meeting.objects.select_related("committee__event").get(
            committee=committee, scheduled_on=day, from_cadence=True
        )


def _calendar(committee: Committee) -> list[tuple[Any, ...]]:
    """Everything about a committee's meetings that re-planning could change."""
    with unscoped():
        return list(
            Meeting.objects.filter(committee=committee)
            .order_by("scheduled_on", "pk")
            .values_list(
                "pk", "scheduled_on", "starts_at", "status", "from_cadence", "agenda", "cancel_reason"
            )
        )


def _hold(actor: User, meeting: Meeting) -> Meeting:
    """Record every seat of the committee as present: the meeting is then held."""
    with unscoped():
        members = list(CommitteeMember.objects.filter(committee_id=meeting.committee_id))
    return services.attendance_record(
        actor=actor, meeting=meeting, entries=[(m, AttendanceStatus.PRESENT, "") for m in members]
    )


def _count(model: Any, **filters: Any) -> int:
    with unscoped():
        manager: Any = model.all_entries if model is AuditEntry else model.objects
        return int(manager.filter(**filters).count())


def _reload(item: ActionItem) -> ActionItem:
    with unscoped():
        return ActionItem.objects.select_related("committee", "responsible").get(pk=item.pk)


def _jalali(days: list[dt.date]) -> list[str]:
    return [jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d") for day in days]


def _gaps(days: list[dt.date]) -> list[int]:
    return [(b - a).days for a, b in itertools.pairwise(days)]


@pytest.fixture
def seats(
    admin: User, world: World, committees: Committees, county_admin: User, province_user: User, national: User
) -> None:
    """The secretariats: A1's secretary (county_admin), province A's chair, the nation's chair."""
    services.committee_member_add(
        actor=admin,
        committee=committees.county_a1,
        organisation=world.org_a1,
        role=MemberRole.SECRETARY,
        representative=county_admin,
    )
    services.committee_member_add(
        actor=admin,
        committee=committees.province_a,
        organisation=world.org_a,
        role=MemberRole.CHAIR,
        representative=province_user,
    )
    services.committee_member_add(
        actor=admin,
        committee=committees.national,
        organisation=world.org_national,
        role=MemberRole.CHAIR,
        representative=national,
    )


@pytest.fixture
def held(seats: None, committees: Committees, county_admin: User) -> Meeting:
    """County A1's first meeting (2026-11-10), held."""
    return _hold(county_admin, _meeting(committees.county_a1, FIRST))


@pytest.fixture
def item(held: Meeting, world: World, county_admin: User) -> ActionItem:
    """An action of county A1's first meeting, owned by A1's governorate, due 2026-11-20."""
    return services.decision_record(
        actor=county_admin,
        meeting=held,
        text="نصب خط دوم ارتباطی",
        responsible=world.org_a1,
        due_on=dt.date(2026, 11, 20),
    )


# --- the sketch's two tests, adapted -------------------------------------------------------------


def test_bulk_creation_makes_every_committee_with_its_calendar(committees: Committees) -> None:
    with unscoped():
        meetings = Meeting.objects.filter(committee=committees.county_a1).order_by("scheduled_on")
        days = [m.scheduled_on for m in meetings]
    assert days[0] == dt.date(2026, 11, 10)
    assert days[-1] == dt.date(2027, 3, 8)  # daily until three days after voting
    assert committees.county_a1.terms.splitlines()[0] == "شناسایی تهدیدات"
    assert list(audit_chain_verify()) == []


def test_decision_flow_and_escalation(
    admin: User, world: World, committees: Committees, county_admin: User, settings: Any
) -> None:
    settings.ACTION_ITEM_ESCALATION_GRACE_DAYS = 3
    committee = committees.county_a1
    services.committee_member_add(
        actor=admin,
        committee=committee,
        organisation=world.org_a1,
        role="secretary",
        representative=county_admin,
    )
    meeting = _meeting(committee, FIRST)
    with unscoped():
        member = committee.members.get()
    services.attendance_record(
        actor=county_admin, meeting=meeting, entries=[(member, AttendanceStatus.PRESENT, "")]
    )
    item = services.decision_record(
        actor=county_admin,
        meeting=meeting,
        text="نصب خط دوم ارتباطی",
        responsible=world.org_a1,
        due_on=meeting.scheduled_on + dt.timedelta(days=5),
    )
    with pytest.raises(ValidationError) as refused:
        services.decision_record(
            actor=county_admin,
            meeting=meeting,
            text="x",
            responsible=world.org_a1,
            due_on=meeting.scheduled_on - dt.timedelta(days=1),
        )
    assert "due_on" in refused.value.message_dict
    late = item.due_on + dt.timedelta(days=3)
    assert services.action_items_escalate(today=late) == 1
    assert _reload(item).visible_from_depth == 1
    assert services.action_items_escalate(today=late + dt.timedelta(days=3)) == 1
    assert _reload(item).visible_from_depth == 0
    services.action_item_update(
        actor=county_admin, item=_reload(item), status=ActionStatus.DONE, note="انجام شد"
    )
    assert _reload(item).status == ActionStatus.DONE
    assert _meeting(committee, FIRST).status == MeetingStatus.HELD
    assert _count(Decision, meeting=meeting) == 1
    assert list(audit_chain_verify()) == []


# --- the cadence: pure date arithmetic --------------------------------------------------------

DEFAULT_PLAN = {
    "regular_interval_days": 14,
    "weekly_from_days_before": 56,
    "daily_from_days_before": 7,
    "daily_until_days_after": 3,
}


def _plan(
    voting_day: dt.date, first: dt.date, season_ends_on: dt.date | None = None, **plan: int
) -> list[dt.date]:
    return cadence_dates(
        first_meeting_on=first,
        voting_day=voting_day,
        season_ends_on=season_ends_on or voting_day + dt.timedelta(days=30),
        **{**DEFAULT_PLAN, **plan},
    )


def _check_phases(
    days: list[dt.date],
    *,
    first: dt.date,
    voting_day: dt.date,
    last: dt.date,
    interval: int,
    weekly: int,
    daily: int,
) -> None:
    """Every N days from the first meeting, then every 7 from the weekly boundary, then every day."""
    weekly_start = voting_day - dt.timedelta(days=weekly)
    daily_start = voting_day - dt.timedelta(days=daily)
    regular = [d for d in days if d < weekly_start]
    weekly_days = [d for d in days if weekly_start <= d < daily_start]
    daily_days = [d for d in days if d >= daily_start]
    assert days == sorted(set(days)), "strictly increasing, no day twice"
    assert days[0] == first
    assert days[-1] == last
    assert regular[0] == first
    assert set(_gaps(regular)) <= {interval}
    assert weekly_days[0] == weekly_start
    assert set(_gaps(weekly_days)) == {7}
    assert daily_days[0] == daily_start
    assert set(_gaps(daily_days)) == {1}
    # At each change of pace the gap only shortens.
    assert 0 < (weekly_days[0] - regular[-1]).days <= interval
    assert 0 < (daily_days[0] - weekly_days[-1]).days <= 7


def test_cadence_of_the_fixture_event_tightens_on_its_boundaries() -> None:
    days = _plan(VOTING_DAY, FIRST, season_ends_on=SEASON_CLOSES)

    assert days[:5] == [FIRST + dt.timedelta(days=14 * k) for k in range(5)]
    assert dt.date(2027, 1, 8) in days  # weekly from 56 days before voting
    assert dt.date(2027, 1, 5) in days and dt.date(2027, 1, 19) not in days
    assert days[-11:] == [dt.date(2027, 2, 26) + dt.timedelta(days=k) for k in range(11)]
    assert len(days) == 5 + 7 + 11
    _check_phases(
        days, first=FIRST, voting_day=VOTING_DAY, last=dt.date(2027, 3, 8), interval=14, weekly=56, daily=7
    )


@pytest.mark.parametrize(
    ("voting", "daily_expected"),
    [
        # 1403 is a leap year: Esfand has 30 days.
        (
            (1404, 1, 5),
            [
                "1403/12/28",
                "1403/12/29",
                "1403/12/30",
                "1404/01/01",
                "1404/01/02",
                "1404/01/03",
                "1404/01/04",
                "1404/01/05",
                "1404/01/06",
                "1404/01/07",
                "1404/01/08",
            ],
        ),
        # 1405 is not: Esfand 29 is followed by 1 Farvardin.
        (
            (1406, 1, 5),
            [
                "1405/12/27",
                "1405/12/28",
                "1405/12/29",
                "1406/01/01",
                "1406/01/02",
                "1406/01/03",
                "1406/01/04",
                "1406/01/05",
                "1406/01/06",
                "1406/01/07",
                "1406/01/08",
            ],
        ),
    ],
)
def test_cadence_across_the_jalali_new_year(voting: tuple[int, int, int], daily_expected: list[str]) -> None:
    voting_day = jdatetime.date(*voting).togregorian()
    first = jdatetime.date(voting[0] - 1, 8, 1).togregorian()  # Aban 1 of the year before
    days = _plan(voting_day, first)

    assert _jalali(days)[-11:] == daily_expected
    assert _jalali(days)[0] == f"{voting[0] - 1}/08/01"
    assert voting_day in days
    _check_phases(
        days,
        first=first,
        voting_day=voting_day,
        last=voting_day + dt.timedelta(days=3),
        interval=14,
        weekly=56,
        daily=7,
    )
    # Every Jalali month from Aban to Farvardin has its meetings; none is skipped or doubled.
    months = [day[:7] for day in _jalali(days)]
    year = voting[0] - 1
    assert list(dict.fromkeys(months)) == [
        *(f"{year}/{m:02d}" for m in range(8, 13)),
        f"{voting[0]}/01",
    ]


def test_cadence_across_jalali_month_boundaries() -> None:
    # Voting on 1405/07/10. Every 10 days from 1405/04/20 crosses Tir 31; weekly from 49 days before
    # voting (1405/05/23) crosses Mordad 31; daily from 14 days before crosses Shahrivar 31 into Mehr.
    voting_day = jdatetime.date(1405, 7, 10).togregorian()
    first = jdatetime.date(1405, 4, 20).togregorian()
    days = _plan(
        voting_day,
        first,
        regular_interval_days=10,
        weekly_from_days_before=49,
        daily_from_days_before=14,
        daily_until_days_after=2,
    )

    regular = ["1405/04/20", "1405/04/30", "1405/05/09", "1405/05/19"]
    weekly = ["1405/05/23", "1405/05/30", "1405/06/06", "1405/06/13", "1405/06/20"]
    daily = [f"1405/06/{d}" for d in range(27, 32)] + [f"1405/07/{d:02d}" for d in range(1, 13)]
    assert _jalali(days) == regular + weekly + daily
    _check_phases(
        days,
        first=first,
        voting_day=voting_day,
        last=voting_day + dt.timedelta(days=2),
        interval=10,
        weekly=49,
        daily=14,
    )


def test_cadence_runs_daily_over_election_day_and_stops_at_the_season_end() -> None:
    voting_day = dt.date(2027, 3, 5)
    through = _plan(voting_day, dt.date(2027, 2, 1), daily_until_days_after=5)
    cut = _plan(
        voting_day,
        dt.date(2027, 2, 1),
        daily_until_days_after=5,
        season_ends_on=voting_day + dt.timedelta(days=2),
    )

    assert [d for d in through if d >= voting_day - dt.timedelta(days=1)] == [
        voting_day + dt.timedelta(days=k) for k in range(-1, 6)
    ]
    assert through[-1] == voting_day + dt.timedelta(days=5)
    assert cut[-1] == voting_day + dt.timedelta(days=2)
    assert cut == [d for d in through if d <= voting_day + dt.timedelta(days=2)]


def test_cadence_respects_the_first_meeting() -> None:
    voting_day = dt.date(2027, 3, 5)
    late_first = dt.date(2027, 2, 10)  # after the weekly boundary (01-08): weekly from the first day
    days = _plan(voting_day, late_first)

    assert days[0] == late_first
    assert min(days) == late_first
    assert days[:3] == [late_first, late_first + dt.timedelta(days=7), late_first + dt.timedelta(days=14)]
    assert days[3] == voting_day - dt.timedelta(days=7)  # daily from its own boundary
    # A first meeting inside the daily phase: daily from that day; after the season: nothing.
    assert _plan(voting_day, voting_day)[0] == voting_day
    assert _plan(voting_day, voting_day + dt.timedelta(days=4)) == []
    assert _plan(voting_day, dt.date(2027, 3, 1), season_ends_on=dt.date(2027, 2, 28)) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"weekly_from_days_before": 7, "daily_from_days_before": 7}, "weekly_from_days_before"),
        ({"weekly_from_days_before": 5, "daily_from_days_before": 7}, "weekly_from_days_before"),
        ({"regular_interval_days": 0}, "regular_interval_days"),
        ({"regular_interval_days": 91}, "regular_interval_days"),
        ({"regular_interval_days": -3}, "regular_interval_days"),
        ({"weekly_from_days_before": -1}, "weekly_from_days_before"),
        ({"daily_from_days_before": -1}, "daily_from_days_before"),
        ({"daily_until_days_after": -1}, "daily_until_days_after"),
        ({"daily_until_days_after": 61}, "daily_until_days_after"),
        ({"regular_interval_days": None}, "regular_interval_days"),
    ],
)
def test_invalid_cadence_names_its_field(changes: dict[str, Any], field: str) -> None:
    plan = {**DEFAULT_PLAN, **changes}

    assert list(cadence_errors(plan)) == [field]
    with pytest.raises(ValidationError) as refused:
        cadence_check(plan)
    assert list(refused.value.message_dict) == [field]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"regular_interval_days": 1},
        {"regular_interval_days": 90},
        {"weekly_from_days_before": 8, "daily_from_days_before": 7},
        {"daily_from_days_before": 0, "daily_until_days_after": 0},
        {"daily_until_days_after": 60},
    ],
)
def test_sound_cadence_has_no_errors(changes: dict[str, int]) -> None:
    assert cadence_errors({**DEFAULT_PLAN, **changes}) == {}


def test_negative_values_are_each_named() -> None:
    errors = cadence_errors({**{name: -1 for name in DEFAULT_PLAN}})

    assert set(errors) == set(DEFAULT_PLAN)


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    first=st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2028, 12, 31)),
    lead=st.integers(min_value=-30, max_value=400),
    interval=st.integers(min_value=1, max_value=90),
    daily=st.integers(min_value=0, max_value=60),
    weekly_extra=st.integers(min_value=1, max_value=200),
    after=st.integers(min_value=0, max_value=60),
    season_after=st.integers(min_value=0, max_value=90),
)
def test_cadence_dates_property(
    first: dt.date, lead: int, interval: int, daily: int, weekly_extra: int, after: int, season_after: int
) -> None:
    """Whatever a sound plan, the calendar is exactly: every N days from the first meeting until the
    weekly boundary, weekly from it (or from the first meeting) until the daily boundary, then every
    day through voting + after, never after the season's end nor before the first meeting."""
    voting_day = first + dt.timedelta(days=lead)
    weekly = daily + weekly_extra
    season_end = voting_day + dt.timedelta(days=season_after)
    plan = {
        "regular_interval_days": interval,
        "weekly_from_days_before": weekly,
        "daily_from_days_before": daily,
        "daily_until_days_after": after,
    }
    assert cadence_errors(plan) == {}
    days = cadence_dates(first_meeting_on=first, voting_day=voting_day, season_ends_on=season_end, **plan)

    weekly_start = voting_day - dt.timedelta(days=weekly)
    daily_start = voting_day - dt.timedelta(days=daily)
    weekly_from = max(weekly_start, first)
    last = min(voting_day + dt.timedelta(days=after), season_end)
    expected = []
    day = first
    while day <= last:  # a day-by-day scan: an oracle built differently from the generator's loops
        if day < weekly_start:
            wanted = (day - first).days % interval == 0
        elif day < daily_start:
            wanted = (day - weekly_from).days % 7 == 0
        else:
            wanted = True
        if wanted:
            expected.append(day)
        day += dt.timedelta(days=1)

    assert days == expected
    assert all(b > a for a, b in itertools.pairwise(days))
    assert all(first <= d <= last for d in days)
    assert all(gap == 1 for gap, d in zip(_gaps(days), days[1:], strict=False) if d > daily_start)
    assert all(gap <= max(interval, 7) for gap in _gaps(days))


# --- the national instruction and bulk creation ------------------------------------------------


def test_instruction_with_a_bad_cadence_is_refused(admin: User, event: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        services.instruction_create(
            actor=admin,
            event=event,
            title="t",
            duties="d",
            weekly_from_days_before=7,
            daily_from_days_before=7,
        )

    assert list(refused.value.message_dict) == ["weekly_from_days_before"]
    assert event.instructions.count() == 0


def test_bulk_creation_makes_one_committee_per_jurisdiction(
    admin: User, world: World, event: Any, instruction: Any
) -> None:
    created = services.committees_create_for_event(
        actor=admin, event=event, instruction=instruction, today=dt.date(2026, 11, 10)
    )

    with unscoped():
        committees = list(Committee.objects.filter(event=event))
        places = {(c.province_id, c.county_id) for c in committees}
        per_committee = {
            c.pk: list(
                Meeting.objects.filter(committee=c)
                .order_by("scheduled_on")
                .values_list("scheduled_on", flat=True)
            )
            for c in committees
        }
    assert places == {
        (None, None),
        (world.province_a.pk, None),
        (world.province_b.pk, None),
        (world.province_a.pk, world.county_a1.pk),
        (world.province_a.pk, world.county_a2.pk),
        (world.province_b.pk, world.county_b1.pk),
    }
    expected = _plan(VOTING_DAY, FIRST, season_ends_on=SEASON_CLOSES)
    assert created.committees == 6
    assert created.meetings == 6 * len(expected)
    assert all(days == expected for days in per_committee.values())
    assert {c.terms for c in committees} == {instruction.duties}
    assert {c.first_meeting_on for c in committees} == {FIRST}
    assert {c.regular_interval_days for c in committees} == {instruction.regular_interval_days}
    assert {c.name for c in committees} == {
        "کمیته امنیت انتخابات کشور",
        f"کمیته امنیت انتخابات استان {world.province_a.name}",
        f"کمیته امنیت انتخابات استان {world.province_b.name}",
        f"کمیته امنیت انتخابات شهرستان {world.county_a1.name}",
        f"کمیته امنیت انتخابات شهرستان {world.county_a2.name}",
        f"کمیته امنیت انتخابات شهرستان {world.county_b1.name}",
    }

    # Each committee has its own audit entry, at its jurisdiction, and the chain holds.
    with unscoped():
        entries = list(
            AuditEntry.all_entries.filter(entity_type="committees.Committee", action=AuditAction.CREATE)
        )
    assert sorted(int(e.entity_id) for e in entries) == sorted(c.pk for c in committees)
    by_pk = {c.pk: c for c in committees}
    for entry in entries:
        committee = by_pk[int(entry.entity_id)]
        assert (entry.province_id, entry.county_id) == (committee.province_id, committee.county_id)
        assert entry.actor_id == admin.pk
    assert list(audit_chain_verify()) == []


def test_bulk_creation_is_idempotent(
    admin: User, event: Any, instruction: Any, committees: Committees
) -> None:
    before_committees, before_meetings = _count(Committee), _count(Meeting)
    before_audit = _count(AuditEntry)

    again = services.committees_create_for_event(actor=admin, event=event, instruction=instruction)

    assert again == services.CommitteesCreated(committees=0, meetings=0)
    assert (_count(Committee), _count(Meeting), _count(AuditEntry)) == (
        before_committees,
        before_meetings,
        before_audit,
    )


@pytest.mark.parametrize("persona", ["province_admin", "county_admin", "county_user", "auditor"])
def test_bulk_creation_is_national_administrators_only(
    persona: str, request: pytest.FixtureRequest, event: Any, instruction: Any
) -> None:
    actor = request.getfixturevalue(persona)

    with pytest.raises(PermissionDenied):
        services.committees_create_for_event(actor=actor, event=event, instruction=instruction)

    assert _count(Committee) == 0
    assert _count(Meeting) == 0


def test_bulk_creation_by_a_national_administrator(national: User, event: Any, instruction: Any) -> None:
    assert (
        services.committees_create_for_event(actor=national, event=event, instruction=instruction).committees
        == 6
    )


def test_bulk_creation_refuses_another_events_instruction(admin: User, event: Any, instruction: Any) -> None:
    other = election_event_create(actor=admin, name="دیگر", voting_day=dt.date(2027, 6, 1))

    with pytest.raises(ValidationError) as refused:
        services.committees_create_for_event(actor=admin, event=other, instruction=instruction)

    assert list(refused.value.message_dict) == ["instruction"]
    assert _count(Committee) == 0


@pytest.fixture
def unbatched_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let Django batch as the service asks on SQLite too.

    Django 5.2 assumes SQLite's historical limit of 999 parameters a statement and splits every
    bulk INSERT at it, whatever batch_size the service gives; the SQLite in use allows far more.
    Counting with the library's real limit measures the service's queries, not Django's splitting.
    """
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        monkeypatch.setattr(connection.features, "max_query_params", limit)


# The bulk action's queries, whatever the number of counties: a few reads, one INSERT each for the
# committees, their meetings and their audit entries, and the audit chain's head.
BULK_QUERIES = 12


def test_bulk_creation_queries_do_not_grow_with_counties(
    admin: User,
    world: World,
    event: Any,
    instruction: Any,
    unbatched_sqlite: None,
    django_assert_max_num_queries: Any,
) -> None:
    with django_assert_max_num_queries(BULK_QUERIES):
        small = services.committees_create_for_event(
            actor=admin, event=event, instruction=instruction, today=dt.date(2026, 11, 10)
        )
    assert small.committees == 6

    # Ten times the counties: a new province of 30 counties joins the election.
    rows = [DivisionRow(1, "province", "C", "استان ج")]
    rows += [DivisionRow(n + 2, "county", f"C{n:02d}", f"شهرستان ج{n}", parent_code="C") for n in range(30)]
    geography_import(actor=admin, rows=rows, source="test")
    with unscoped():
        new_counties = list(County.objects.filter(code__startswith="C"))
    contest_add(actor=admin, event=event, kind="by_election", counties=new_counties)

    with django_assert_max_num_queries(BULK_QUERIES):
        large = services.committees_create_for_event(
            actor=admin, event=event, instruction=instruction, today=dt.date(2026, 11, 10)
        )

    assert large.committees == 31  # the 30 counties and their province; the others existed
    assert large.meetings == 31 * len(_plan(VOTING_DAY, FIRST, season_ends_on=SEASON_CLOSES))
    assert _count(Committee, event=event) == 37
    assert _count(AuditEntry, entity_type="committees.Committee") == 37
    assert list(audit_chain_verify()) == []


# --- re-planning the cadence -------------------------------------------------------------------


def test_cadence_update_replans_future_meetings_only(
    seats: None, committees: Committees, county_admin: User, world: World
) -> None:
    committee = committees.county_a1
    past = _meeting(committee, FIRST)  # before today, never held: stays as it is
    held = _hold(county_admin, _meeting(committee, TODAY))
    cancelled = services.meeting_cancel(
        actor=county_admin, meeting=_meeting(committee, NEXT), reason="تعطیلی"
    )
    by_hand = services.meeting_create(
        actor=county_admin, committee=committee, scheduled_on=dt.date(2026, 12, 15)
    )
    with_agenda = services.meeting_update(
        actor=county_admin,
        meeting=_meeting(committee, dt.date(2026, 12, 22)),
        agenda="بررسی آمادگی",
        location="",
    )
    kept_ids = {past.pk, held.pk, cancelled.pk, by_hand.pk, with_agenda.pk}
    kept_before = [row for row in _calendar(committee) if row[0] in kept_ids]
    attendance_before = _count(Attendance, meeting=held)

    plan: dict[str, Any] = {
        "regular_interval_days": 10,
        "weekly_from_days_before": 28,
        "daily_from_days_before": 5,
        "daily_until_days_after": 1,
        "meeting_time": dt.time(16, 30),
    }
    services.cadence_update(actor=county_admin, committee=committee, today=TODAY, **plan)

    after = _calendar(committee)
    assert [row for row in after if row[0] in kept_ids] == kept_before
    assert _count(Attendance, meeting=held) == attendance_before == 1
    # The new plan keeps the rhythm of the first meeting (2026-11-10: every 10 days), from today on,
    # less the days that already have a meeting.
    new_plan = cadence_dates(
        first_meeting_on=committee.first_meeting_on,
        voting_day=VOTING_DAY,
        season_ends_on=SEASON_CLOSES,
        **plan,
    )
    kept_days = {row[1] for row in kept_before}
    fresh = [row for row in after if row[0] not in kept_ids]
    assert [row[1] for row in fresh] == [day for day in new_plan if day >= TODAY and day not in kept_days]
    assert {(row[2], row[3], row[4]) for row in fresh} == {(dt.time(16, 30), MeetingStatus.PLANNED, True)}
    assert fresh[0][1] == dt.date(2026, 11, 30)  # 11-10 + 2 x 10 days, not restarted from today
    assert dt.date(2027, 1, 5) not in {row[1] for row in after}  # the old plan's day is gone
    committee.refresh_from_db()
    assert committee.cadence() == plan
    with unscoped():
        entry = AuditEntry.all_entries.filter(entity_type="committees.Committee", action="update").last()
    assert entry is not None
    assert entry.before is not None and entry.after is not None
    assert entry.before["regular_interval_days"] == 14
    assert entry.after["replanned"] == len(fresh)
    assert list(audit_chain_verify()) == []


def test_cadence_update_can_move_the_first_meeting(committees: Committees, county_admin: User) -> None:
    committee = committees.county_a1
    services.cadence_update(
        actor=county_admin, committee=committee, today=TODAY, first_meeting_on=dt.date(2026, 12, 1)
    )

    days = [row[1] for row in _calendar(committee)]
    assert [d for d in days if d >= TODAY][:3] == [
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 15),
        dt.date(2026, 12, 29),
    ]
    assert FIRST in days  # the past stays
    committee.refresh_from_db()
    assert committee.first_meeting_on == dt.date(2026, 12, 1)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"weekly_from_days_before": 7, "daily_from_days_before": 7}, "weekly_from_days_before"),
        ({"daily_from_days_before": 60}, "weekly_from_days_before"),  # beyond the weekly 56: overlap
        ({"regular_interval_days": 0}, "regular_interval_days"),
        ({"regular_interval_days": 120}, "regular_interval_days"),
        ({"daily_until_days_after": -2}, "daily_until_days_after"),
        ({"name": "کمیته دیگر"}, "name"),
        ({"first_meeting_on": dt.date(2026, 10, 20)}, "first_meeting_on"),  # before the season opens
        ({"first_meeting_on": dt.date(2027, 4, 5)}, "first_meeting_on"),  # after it closes
    ],
)
def test_bad_cadence_is_refused_and_changes_nothing(
    changes: dict[str, Any], field: str, committees: Committees, county_admin: User
) -> None:
    committee = committees.county_a1
    services.meeting_create(actor=county_admin, committee=committee, scheduled_on=dt.date(2026, 12, 15))
    calendar_before = _calendar(committee)
    fields_before = {
        **committee.cadence(),
        "first_meeting_on": committee.first_meeting_on,
        "name": committee.name,
    }
    audit_before = _count(AuditEntry)

    with pytest.raises(ValidationError) as refused:
        services.cadence_update(
            actor=county_admin, committee=committee, today=dt.date(2026, 10, 15), **changes
        )

    assert field in refused.value.message_dict
    assert {
        **committee.cadence(),
        "first_meeting_on": committee.first_meeting_on,
        "name": committee.name,
    } == (fields_before)
    committee.refresh_from_db()
    assert {
        **committee.cadence(),
        "first_meeting_on": committee.first_meeting_on,
        "name": committee.name,
    } == (fields_before)
    assert _calendar(committee) == calendar_before
    assert _count(AuditEntry) == audit_before


def test_cadence_update_needs_the_approve_capability(
    committees: Committees, county_user: User, outsider: User
) -> None:
    committee = committees.county_a1
    before = _calendar(committee)
    for actor in (county_user, outsider):
        with pytest.raises(PermissionDenied):
            services.cadence_update(actor=actor, committee=committee, regular_interval_days=7)
    assert _calendar(committee) == before


# --- meetings, attendance, minutes, decisions ---------------------------------------------------


@pytest.mark.parametrize("day", [dt.date(2026, 10, 31), dt.date(2027, 4, 5), dt.date(2025, 1, 1)])
def test_meeting_outside_the_event_window_is_refused(
    day: dt.date, committees: Committees, county_admin: User
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.meeting_create(actor=county_admin, committee=committees.county_a1, scheduled_on=day)

    assert list(refused.value.message_dict) == ["scheduled_on"]
    assert _count(Meeting, from_cadence=False) == 0


def test_meeting_on_the_season_boundaries_is_accepted(committees: Committees, county_admin: User) -> None:
    for day in (SEASON_OPENS, SEASON_CLOSES):
        meeting = services.meeting_create(
            actor=county_admin, committee=committees.county_a1, scheduled_on=day, agenda="  جلسه فوق‌العاده "
        )
        assert (meeting.from_cadence, meeting.agenda, meeting.starts_at) == (
            False,
            "جلسه فوق‌العاده",
            dt.time(10),
        )
    assert _count(Meeting, from_cadence=False) == 2


def test_attendance_for_a_future_meeting_is_refused(
    seats: None, committees: Committees, county_admin: User
) -> None:
    future = _meeting(committees.county_a1, NEXT)

    with pytest.raises(ValidationError):
        _hold(county_admin, future)

    assert _meeting(committees.county_a1, NEXT).status == MeetingStatus.PLANNED
    assert _count(Attendance) == 0
    # On the meeting's own day it is accepted.
    assert _hold(county_admin, _meeting(committees.county_a1, TODAY)).status == MeetingStatus.HELD
    assert _count(Attendance) == 1


def test_attendance_for_a_cancelled_meeting_is_refused(
    seats: None, committees: Committees, county_admin: User
) -> None:
    meeting = services.meeting_cancel(
        actor=county_admin, meeting=_meeting(committees.county_a1, FIRST), reason="x"
    )

    with pytest.raises(ValidationError):
        _hold(county_admin, meeting)

    assert _meeting(committees.county_a1, FIRST).status == MeetingStatus.CANCELLED


def test_attendance_refuses_a_member_of_another_committee(
    admin: User, world: World, committees: Committees, county_admin: User
) -> None:
    stranger = services.committee_member_add(
        actor=admin, committee=committees.county_b1, organisation=world.org_b1
    )

    with pytest.raises(ValidationError) as refused:
        services.attendance_record(
            actor=county_admin,
            meeting=_meeting(committees.county_a1, FIRST),
            entries=[(stranger, AttendanceStatus.PRESENT, "")],
        )

    assert list(refused.value.message_dict) == ["attendance"]
    assert _meeting(committees.county_a1, FIRST).status == MeetingStatus.PLANNED


def test_minutes_only_for_held_meetings(seats: None, committees: Committees, county_admin: User) -> None:
    planned = _meeting(committees.county_a1, FIRST)

    with pytest.raises(ValidationError):
        services.minutes_save(actor=county_admin, meeting=planned, text="صورتجلسه")
    assert _count(Minutes) == 0

    minutes = services.minutes_save(
        actor=county_admin, meeting=_hold(county_admin, planned), text=" صورتجلسه "
    )
    assert (minutes.version, minutes.text, minutes.status) == (1, "صورتجلسه", MinutesStatus.DRAFT)
    # Saving again edits the same draft.
    again = services.minutes_save(actor=county_admin, meeting=planned, text="صورتجلسه اصلاح‌شده")
    assert again.pk == minutes.pk
    assert _count(Minutes) == 1


def test_approved_minutes_are_read_only(held: Meeting, world: World, county_admin: User) -> None:
    services.decision_record(
        actor=county_admin,
        meeting=held,
        text="مصوبه یک",
        responsible=world.org_a1,
        due_on=dt.date(2026, 11, 30),
    )
    services.minutes_save(actor=county_admin, meeting=held, text="متن تأییدشده")
    approved = services.minutes_approve(actor=county_admin, meeting=held)
    assert approved.status == MinutesStatus.APPROVED
    assert approved.approved_by == county_admin

    with pytest.raises(ValidationError):
        services.minutes_save(actor=county_admin, meeting=held, text="تغییر")
    with pytest.raises(ValidationError):
        services.decision_record(
            actor=county_admin,
            meeting=held,
            text="مصوبه دو",
            responsible=world.org_a1,
            due_on=dt.date(2026, 12, 1),
        )
    with pytest.raises(ValidationError):
        services.minutes_approve(actor=county_admin, meeting=held)
    with unscoped():
        seats = list(held.committee.members.all())
        attendance_before = sorted(held.attendance.values_list("member_id", "status"))
    with pytest.raises(ValidationError):
        services.attendance_record(
            actor=county_admin, meeting=held, entries=[(seat, AttendanceStatus.ABSENT, "") for seat in seats]
        )
    with unscoped():
        assert sorted(held.attendance.values_list("member_id", "status")) == attendance_before

    with unscoped():
        stored = Minutes.objects.get(meeting=held)
    assert (stored.text, stored.status, stored.version) == ("متن تأییدشده", MinutesStatus.APPROVED, 1)
    assert _count(Decision, meeting=held) == 1
    assert _count(ActionItem) == 1


def test_approving_needs_minutes_and_the_approve_capability(
    admin: User, held: Meeting, world: World, county_admin: User
) -> None:
    secretary = user_create(
        actor=admin,
        username="secretary_a1",
        password=PASSWORD,
        role=Role.SECRETARY,
        organisation=world.org_a1,
        county=world.county_a1,
    )
    with pytest.raises(ValidationError):
        services.minutes_approve(actor=county_admin, meeting=held)  # nothing written yet

    services.minutes_save(actor=secretary, meeting=held, text="پیش‌نویس")
    with pytest.raises(PermissionDenied):
        services.minutes_approve(actor=secretary, meeting=held)

    with unscoped():
        assert Minutes.objects.get(meeting=held).status == MinutesStatus.DRAFT


def test_minutes_correction_is_a_new_version(held: Meeting, county_admin: User, world: World) -> None:
    services.minutes_save(actor=county_admin, meeting=held, text="نسخه اول")
    with pytest.raises(ValidationError):
        services.minutes_correct(actor=county_admin, meeting=held)  # a draft is edited, not corrected
    first = services.minutes_approve(actor=county_admin, meeting=held)
    approved_at = first.approved_at

    draft = services.minutes_correct(actor=county_admin, meeting=held)

    assert (draft.version, draft.text, draft.status) == (2, "نسخه اول", MinutesStatus.DRAFT)
    assert draft.approved_by is None
    services.minutes_save(actor=county_admin, meeting=held, text="نسخه دوم")
    with unscoped():
        versions = list(Minutes.objects.filter(meeting=held).order_by("version"))
    assert [(m.version, m.text, m.status) for m in versions] == [
        (1, "نسخه اول", MinutesStatus.APPROVED),
        (2, "نسخه دوم", MinutesStatus.DRAFT),
    ]
    assert versions[0].approved_by_id == county_admin.pk
    assert versions[0].approved_at == approved_at
    # The correction is a draft: decisions may be recorded again until it is approved.
    services.decision_record(
        actor=county_admin, meeting=held, text="مصوبه", responsible=world.org_a1, due_on=dt.date(2026, 12, 1)
    )
    assert services.minutes_approve(actor=county_admin, meeting=held).version == 2


def test_decision_due_before_its_meeting_is_refused(held: Meeting, world: World, county_admin: User) -> None:
    with pytest.raises(ValidationError) as refused:
        services.decision_record(
            actor=county_admin,
            meeting=held,
            text="x",
            responsible=world.org_a1,
            due_on=FIRST - dt.timedelta(days=1),
        )
    assert list(refused.value.message_dict) == ["due_on"]
    assert _count(Decision) == 0

    same_day = services.decision_record(
        actor=county_admin, meeting=held, text="همان روز", responsible=world.org_a1, due_on=FIRST
    )
    assert (same_day.raised_on, same_day.due_on, same_day.visible_from_depth) == (FIRST, FIRST, 2)
    second = services.decision_record(
        actor=county_admin, meeting=held, text="دومی", title="عنوان", responsible=world.org_a1, due_on=FIRST
    )
    with unscoped():
        assert [d.number for d in Decision.objects.filter(meeting=held).order_by("number")] == [1, 2]
        assert second.title == "عنوان"
        assert same_day.title == "همان روز"


def test_decision_needs_a_held_meeting(
    seats: None, committees: Committees, world: World, county_admin: User
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.decision_record(
            actor=county_admin,
            meeting=_meeting(committees.county_a1, FIRST),
            text="x",
            responsible=world.org_a1,
            due_on=TODAY,
        )
    assert "meeting" in refused.value.message_dict


def test_decision_responsible_must_serve_the_jurisdiction(
    held: Meeting, world: World, committees: Committees, county_admin: User, province_user: User, seats: None
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.decision_record(
            actor=county_admin, meeting=held, text="x", responsible=world.org_b1, due_on=TODAY
        )
    assert list(refused.value.message_dict) == ["responsible"]
    assert _count(ActionItem) == 0

    # Organisations above the county serve it.
    for organisation in (world.org_a, world.org_national):
        services.decision_record(
            actor=county_admin, meeting=held, text="x", responsible=organisation, due_on=TODAY
        )
    # A province committee may task its counties' organisations, not another province's.
    province_meeting = _hold(province_user, _meeting(committees.province_a, FIRST))
    services.decision_record(
        actor=province_user, meeting=province_meeting, text="x", responsible=world.org_a1, due_on=TODAY
    )
    with pytest.raises(ValidationError) as refused:
        services.decision_record(
            actor=province_user, meeting=province_meeting, text="x", responsible=world.org_b1, due_on=TODAY
        )
    assert list(refused.value.message_dict) == ["responsible"]
    assert _count(ActionItem) == 3


def test_member_from_outside_the_jurisdiction_is_refused(
    admin: User, world: World, committees: Committees
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.committee_member_add(actor=admin, committee=committees.county_a1, organisation=world.org_b1)
    assert list(refused.value.message_dict) == ["organisation"]
    # A county's organisation does not sit on its province's committee.
    with pytest.raises(ValidationError) as refused:
        services.committee_member_add(actor=admin, committee=committees.province_a, organisation=world.org_a1)
    assert list(refused.value.message_dict) == ["organisation"]
    assert _count(CommitteeMember) == 0

    for organisation in (world.org_a1, world.org_a, world.org_national):
        services.committee_member_add(actor=admin, committee=committees.county_a1, organisation=organisation)
    assert _count(CommitteeMember, committee=committees.county_a1) == 3


def test_one_chair_and_one_seat_per_organisation(
    admin: User, world: World, committees: Committees, county_user: User
) -> None:
    committee = committees.county_a1
    services.committee_member_add(
        actor=admin, committee=committee, organisation=world.org_a1, role=MemberRole.CHAIR
    )

    with pytest.raises(ValidationError) as refused:
        services.committee_member_add(
            actor=admin, committee=committee, organisation=world.org_a, role=MemberRole.CHAIR
        )
    assert list(refused.value.message_dict) == ["role"]
    with pytest.raises(ValidationError) as refused:
        services.committee_member_add(actor=admin, committee=committee, organisation=world.org_a1)
    assert list(refused.value.message_dict) == ["organisation"]
    with pytest.raises(ValidationError) as refused:
        services.committee_member_add(
            actor=admin, committee=committee, organisation=world.org_a, representative=county_user
        )
    assert list(refused.value.message_dict) == ["representative"]
    with pytest.raises(ValidationError) as refused:
        services.committee_member_add(actor=admin, committee=committee, organisation=world.org_a, role="boss")
    assert list(refused.value.message_dict) == ["role"]

    services.committee_member_add(
        actor=admin, committee=committee, organisation=world.org_a, role=MemberRole.SECRETARY
    )
    with unscoped():
        roles = sorted(CommitteeMember.objects.filter(committee=committee).values_list("role", flat=True))
    assert roles == [MemberRole.CHAIR, MemberRole.SECRETARY]
    # Another committee has its own chair.
    services.committee_member_add(
        actor=admin, committee=committees.province_a, organisation=world.org_a, role=MemberRole.CHAIR
    )


def test_a_member_with_attendance_cannot_be_removed(held: Meeting, admin: User, world: World) -> None:
    with unscoped():
        seat = CommitteeMember.objects.select_related("committee").get(committee_id=held.committee_id)
    with pytest.raises(ValidationError):
        services.committee_member_remove(actor=admin, member=seat)
    assert _count(CommitteeMember, pk=seat.pk) == 1

    spare = services.committee_member_add(actor=admin, committee=seat.committee, organisation=world.org_a)
    services.committee_member_remove(actor=admin, member=spare)
    assert _count(CommitteeMember, pk=spare.pk) == 0
    with unscoped():
        assert AuditEntry.all_entries.filter(
            entity_type="committees.CommitteeMember", action="delete"
        ).exists()


@pytest.mark.parametrize("persona", ["county_viewer", "county_user"])
def test_roles_without_run_meetings_cannot_record(
    persona: str, request: pytest.FixtureRequest, held: Meeting, committees: Committees, world: World
) -> None:
    actor = request.getfixturevalue(persona)
    committee = committees.county_a1
    attempts = [
        lambda: services.meeting_create(actor=actor, committee=committee, scheduled_on=TODAY),
        lambda: _hold(actor, _meeting(committee, TODAY)),
        lambda: services.minutes_save(actor=actor, meeting=held, text="x"),
        lambda: services.decision_record(
            actor=actor, meeting=held, text="x", responsible=world.org_a1, due_on=TODAY
        ),
        lambda: services.meeting_cancel(actor=actor, meeting=_meeting(committee, NEXT), reason="x"),
        lambda: services.committee_terms_update(actor=actor, committee=committee, terms="x"),
        lambda: services.committee_member_add(actor=actor, committee=committee, organisation=world.org_a),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    assert _count(Meeting, from_cadence=False) == 0
    assert _count(Minutes) == 0
    assert _count(Decision) == 0
    assert _meeting(committee, TODAY).status == MeetingStatus.PLANNED


def test_outsider_cannot_touch_another_countys_committee(
    held: Meeting, item: ActionItem, committees: Committees, world: World, outsider: User, admin: User
) -> None:
    committee = committees.county_a1
    # Even with every capability, a county B1 administrator stays out of county A1.
    b1_admin = user_create(
        actor=admin,
        username="admin_b1",
        password=PASSWORD,
        role=Role.ADMINISTRATOR,
        organisation=world.org_b1,
        county=world.county_b1,
    )
    audit_before = _count(AuditEntry)
    for actor in (outsider, b1_admin):
        attempts = [
            lambda a=actor: services.meeting_create(actor=a, committee=committee, scheduled_on=TODAY),
            lambda a=actor: _hold(a, _meeting(committee, TODAY)),
            lambda a=actor: services.minutes_save(actor=a, meeting=held, text="x"),
            lambda a=actor: services.decision_record(
                actor=a, meeting=held, text="x", responsible=world.org_a1, due_on=TODAY
            ),
            lambda a=actor: services.committee_member_add(
                actor=a, committee=committee, organisation=world.org_a1
            ),
            lambda a=actor: services.cadence_update(actor=a, committee=committee, regular_interval_days=7),
            lambda a=actor: services.committee_terms_update(actor=a, committee=committee, terms="x"),
            lambda a=actor: services.action_item_update(actor=a, item=item, note="x"),
            lambda a=actor: services.meeting_cancel(actor=a, meeting=_meeting(committee, NEXT), reason="x"),
        ]
        for attempt in attempts:
            with pytest.raises(PermissionDenied):
                attempt()
    assert _count(AuditEntry) == audit_before


# --- action items ----------------------------------------------------------------------------

# Which moves the follow-up allows (the service's table is not consulted: this is the rule).
MOVES = {
    ("open", "in_progress"): True,
    ("open", "done"): True,
    ("open", "cancelled"): True,
    ("in_progress", "open"): True,
    ("in_progress", "done"): True,
    ("in_progress", "cancelled"): True,
    ("done", "in_progress"): True,
    ("done", "open"): False,
    ("done", "cancelled"): False,
    ("cancelled", "open"): True,
    ("cancelled", "in_progress"): False,
    ("cancelled", "done"): False,
}


def _bring_to(item: ActionItem, status: str, actor: User) -> ActionItem:
    if status != ActionStatus.OPEN:
        item = services.action_item_update(actor=actor, item=item, status=status, cancel_reason="دلیل")
    return item


def test_every_status_pair_is_covered() -> None:
    statuses = ActionStatus.values
    assert set(MOVES) == {(a, b) for a in statuses for b in statuses if a != b}


@pytest.mark.parametrize(("move", "allowed"), MOVES.items(), ids=[f"{a}->{b}" for a, b in MOVES])
def test_status_moves(move: tuple[str, str], allowed: bool, item: ActionItem, county_admin: User) -> None:
    start, end = move
    item = _bring_to(item, start, county_admin)
    notes_before = _count(ProgressNote, action_item=item)

    if allowed:
        moved = services.action_item_update(
            actor=county_admin, item=item, status=end, cancel_reason="دلیل", today=TODAY
        )
        stored = _reload(moved)
        assert stored.status == end
        assert stored.completed_on == (TODAY if end == ActionStatus.DONE else None)
        assert stored.cancel_reason == ("دلیل" if end == ActionStatus.CANCELLED else "")
        with unscoped():
            note = ProgressNote.objects.filter(action_item=item).order_by("pk").last()
        assert note is not None
        assert note.status == end
        assert _count(ProgressNote, action_item=item) == notes_before + 1
    else:
        with pytest.raises(ValidationError) as refused:
            services.action_item_update(actor=county_admin, item=item, status=end, cancel_reason="دلیل")
        assert list(refused.value.message_dict) == ["status"]
        assert _reload(item).status == start
        assert _count(ProgressNote, action_item=item) == notes_before


def test_unknown_status_is_refused(item: ActionItem, county_admin: User) -> None:
    with pytest.raises(ValidationError) as refused:
        services.action_item_update(actor=county_admin, item=item, status="lost")
    assert list(refused.value.message_dict) == ["status"]


def test_cancelling_needs_a_reason(item: ActionItem, county_admin: User) -> None:
    for reason in ("", "   "):
        with pytest.raises(ValidationError) as refused:
            services.action_item_update(
                actor=county_admin, item=item, status=ActionStatus.CANCELLED, cancel_reason=reason
            )
        assert list(refused.value.message_dict) == ["cancel_reason"]
    assert _reload(item).status == ActionStatus.OPEN

    services.action_item_update(
        actor=county_admin, item=item, status=ActionStatus.CANCELLED, cancel_reason=" تکراری "
    )
    stored = _reload(item)
    assert (stored.status, stored.cancel_reason) == (ActionStatus.CANCELLED, "تکراری")


def test_done_sets_completed_on_and_reopening_clears_it(item: ActionItem, county_admin: User) -> None:
    services.action_item_update(
        actor=county_admin, item=item, status=ActionStatus.DONE, today=dt.date(2026, 11, 22)
    )
    assert _reload(item).completed_on == dt.date(2026, 11, 22)

    services.action_item_update(actor=county_admin, item=_reload(item), status=ActionStatus.IN_PROGRESS)
    assert _reload(item).completed_on is None

    services.action_item_update(actor=county_admin, item=_reload(item), status=ActionStatus.DONE)
    assert _reload(item).completed_on == TODAY  # the day it was done, by default


def test_progress_notes_are_kept_in_order(item: ActionItem, county_admin: User, county_user: User) -> None:
    with pytest.raises(ValidationError) as refused:
        services.action_item_update(actor=county_admin, item=item, note="  ")
    assert list(refused.value.message_dict) == ["note"]

    services.action_item_update(actor=county_user, item=item, note="یک")
    services.action_item_update(actor=county_admin, item=item, note="دو", status=ActionStatus.IN_PROGRESS)
    services.action_item_update(actor=county_user, item=item, note="سه")
    services.action_item_update(actor=county_user, item=item, status=ActionStatus.DONE)

    with unscoped():
        notes = list(ProgressNote.objects.filter(action_item=item).order_by("created_at", "pk"))
    assert [(n.text, n.status, n.author_id) for n in notes] == [
        ("یک", "", county_user.pk),
        ("دو", ActionStatus.IN_PROGRESS, county_admin.pk),
        ("سه", "", county_user.pk),
        (str(ActionStatus.DONE.label), ActionStatus.DONE, county_user.pk),
    ]
    assert [n.pk for n in notes] == sorted(n.pk for n in notes)


def test_who_may_follow_up_an_action(
    admin: User,
    held: Meeting,
    world: World,
    county_admin: User,
    county_user: User,
    county_viewer: User,
    province_user: User,
    outsider: User,
    auditor: User,
) -> None:
    # A1's committee asks the province's governorate to act.
    item = services.decision_record(
        actor=county_admin, meeting=held, text="تأمین برق اضطراری", responsible=world.org_a, due_on=TODAY
    )
    # A member of the responsible organisation, wherever in its province they sit.
    org_a_member_in_a2 = user_create(
        actor=admin,
        username="member_a2",
        password=PASSWORD,
        role=Role.MEMBER,
        organisation=world.org_a,
        county=world.county_a2,
    )
    org_a_viewer = user_create(
        actor=admin,
        username="viewer_a",
        password=PASSWORD,
        role=Role.VIEWER,
        organisation=world.org_a,
        province=world.province_a,
    )
    org_a_member = user_create(
        actor=admin,
        username="member_a",
        password=PASSWORD,
        role=Role.MEMBER,
        organisation=world.org_a,
        province=world.province_a,
    )
    services.action_item_update(actor=org_a_member, item=item, note="از استان")  # the organisation, above A1
    services.action_item_update(actor=province_user, item=item, note="استان")  # a chair covering A1
    services.action_item_update(actor=county_admin, item=item, note="دبیرخانه")  # the committee's secretariat

    # Not the responsible organisation, or it cannot edit, or it sits in another county (A2), and not
    # running meetings there: refused.
    for actor in (county_user, county_viewer, org_a_viewer, org_a_member_in_a2, outsider, auditor):
        with pytest.raises(PermissionDenied):
            services.action_item_update(actor=actor, item=item, note="x")
    assert _count(ProgressNote, action_item=item) == 3

    # The responsible county organisation's member may update its own action.
    own = services.decision_record(
        actor=county_admin, meeting=held, text="گزارش", responsible=world.org_a1, due_on=TODAY
    )
    services.action_item_update(actor=county_user, item=own, status=ActionStatus.IN_PROGRESS)
    assert _reload(own).status == ActionStatus.IN_PROGRESS


def test_a_county_organisation_follows_up_its_province_committees_action(
    seats: None, committees: Committees, world: World, province_user: User, county_user: User, outsider: User
) -> None:
    meeting = _hold(province_user, _meeting(committees.province_a, FIRST))
    item = services.decision_record(
        actor=province_user, meeting=meeting, text="آموزش ناظران", responsible=world.org_a1, due_on=TODAY
    )

    services.action_item_update(actor=county_user, item=item, status=ActionStatus.DONE, note="انجام شد")

    assert _reload(item).status == ActionStatus.DONE
    with pytest.raises(PermissionDenied):
        services.action_item_update(actor=outsider, item=item, note="x")


# --- escalation --------------------------------------------------------------------------------


def _notified(user: User) -> list[tuple[str, str]]:
    return list(Notification.objects.filter(user=user).order_by("pk").values_list("message", "url"))


def test_escalation_climbs_one_level_per_grace_period(
    item: ActionItem, settings: Any, province_user: User, national: User, county_admin: User
) -> None:
    settings.ACTION_ITEM_ESCALATION_GRACE_DAYS = 3
    due = item.due_on
    overdue_url = reverse("committees:overdue")

    assert services.action_items_escalate(today=due + dt.timedelta(days=2)) == 0  # grace - 1
    assert (_reload(item).visible_from_depth, _reload(item).escalated_at) == (2, None)
    assert _notified(province_user) == []

    assert services.action_items_escalate(today=due + dt.timedelta(days=3)) == 1  # grace: the province
    stored = _reload(item)
    assert stored.visible_from_depth == 1
    assert stored.escalated_at is not None
    assert len(_notified(province_user)) == 1
    message, url = _notified(province_user)[0]
    assert item.title in message
    assert url == overdue_url
    assert _notified(national) == []
    assert _notified(county_admin) == []  # the committee it came from is not told

    assert services.action_items_escalate(today=due + dt.timedelta(days=5)) == 0  # still one level up
    assert services.action_items_escalate(today=due + dt.timedelta(days=3)) == 0  # run twice, same day
    assert len(_notified(province_user)) == 1

    assert services.action_items_escalate(today=due + dt.timedelta(days=6)) == 1  # 2 × grace: national
    assert _reload(item).visible_from_depth == 0
    assert len(_notified(national)) == 1
    assert _notified(national)[0][1] == overdue_url
    assert len(_notified(province_user)) == 1

    assert services.action_items_escalate(today=due + dt.timedelta(days=60)) == 0  # never below 0
    assert _reload(item).visible_from_depth == 0
    with unscoped():
        assert (
            AuditEntry.all_entries.filter(
                entity_type="committees.ActionItem", entity_id=str(item.pk), action="update", actor_id=None
            ).count()
            == 2
        )
    assert list(audit_chain_verify()) == []


def test_escalation_catches_up_and_spares_finished_items(
    held: Meeting, world: World, settings: Any, county_admin: User, national: User
) -> None:
    settings.ACTION_ITEM_ESCALATION_GRACE_DAYS = 3
    due = dt.date(2026, 11, 12)

    def make(text: str) -> ActionItem:
        return services.decision_record(
            actor=county_admin, meeting=held, text=text, responsible=world.org_a1, due_on=due
        )

    late, done, cancelled, on_time = make("دیرکرد"), make("انجام‌شده"), make("لغوشده"), make("به‌موقع")
    services.action_item_update(
        actor=county_admin, item=done, status=ActionStatus.DONE, today=due + dt.timedelta(days=1)
    )
    services.action_item_update(
        actor=county_admin, item=cancelled, status=ActionStatus.CANCELLED, cancel_reason="x"
    )
    services.action_item_update(actor=county_admin, item=on_time, status=ActionStatus.IN_PROGRESS)

    # Never run until 7 days late: straight to the nation (two grace periods), in one step.
    assert services.action_items_escalate(today=due + dt.timedelta(days=7)) == 2
    assert _reload(late).visible_from_depth == 0
    assert _reload(on_time).visible_from_depth == 0  # in progress is still open
    assert _reload(done).visible_from_depth == 2
    assert _reload(cancelled).visible_from_depth == 2
    assert len(_notified(national)) == 1  # one digest for the committee that received both


def test_escalation_grace_setting_is_used(item: ActionItem, settings: Any) -> None:
    settings.ACTION_ITEM_ESCALATION_GRACE_DAYS = 10
    assert services.action_items_escalate(today=item.due_on + dt.timedelta(days=9)) == 0
    assert services.action_items_escalate(today=item.due_on + dt.timedelta(days=10)) == 1
    assert _reload(item).visible_from_depth == 1


def test_a_province_item_escalates_to_the_nation(
    seats: None, committees: Committees, world: World, province_user: User, national: User, settings: Any
) -> None:
    settings.ACTION_ITEM_ESCALATION_GRACE_DAYS = 3
    meeting = _hold(province_user, _meeting(committees.province_a, FIRST))
    item = services.decision_record(
        actor=province_user,
        meeting=meeting,
        text="استانی",
        responsible=world.org_a,
        due_on=dt.date(2026, 11, 15),
    )
    assert item.visible_from_depth == 1

    assert services.action_items_escalate(today=dt.date(2026, 11, 18)) == 1
    assert _reload(item).visible_from_depth == 0
    assert len(_notified(national)) == 1
    assert _notified(province_user) == []


# --- reminders ---------------------------------------------------------------------------------


def test_reminders_once_a_day_per_item(
    admin: User,
    held: Meeting,
    world: World,
    county_admin: User,
    county_user: User,
    county_viewer: User,
    province_user: User,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.ACTION_ITEM_REMINDER_DAYS = 2
    reader = user_create(
        actor=admin,
        username="reader_a1",
        password=PASSWORD,
        role=Role.MEMBER,
        organisation=world.org_a1,
        county=world.county_a1,
        email="reader@example.invalid",
    )
    gone = user_create(
        actor=admin,
        username="gone_a1",
        password=PASSWORD,
        role=Role.MEMBER,
        organisation=world.org_a1,
        county=world.county_a1,
        email="gone@example.invalid",
    )
    User.objects.filter(pk=gone.pk).update(is_active=False)  # no service deactivates users yet

    def make(text: str, due: dt.date, responsible: Organisation = world.org_a1) -> ActionItem:
        return services.decision_record(
            actor=county_admin, meeting=held, text=text, responsible=responsible, due_on=due
        )

    soon = make("به‌زودی", TODAY + dt.timedelta(days=2))
    late = make("دیرکرد", TODAY - dt.timedelta(days=4))
    make("دور", TODAY + dt.timedelta(days=3))  # beyond the reminder horizon
    finished = make("تمام‌شده", TODAY)
    services.action_item_update(actor=county_admin, item=finished, status=ActionStatus.DONE)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert services.action_item_reminders_send(today=TODAY) == 2

    # One digest a person a day, naming the overdue and the soon-due items.
    my_actions = reverse("committees:my-actions")
    for user in (county_admin, county_user, county_viewer, reader):
        notes = _notified(user)
        assert len(notes) == 1, user.username
        message, url = notes[0]
        assert url == my_actions
        assert soon.title in message and late.title in message
        assert message.index(late.title) < message.index(soon.title)  # overdue first
    assert _notified(gone) == []
    assert _notified(province_user) == []
    assert [m.to for m in mail.outbox] == [["reader@example.invalid"]]
    assert soon.title in mail.outbox[0].body and late.title in mail.outbox[0].body
    assert _reload(soon).last_reminded_on == TODAY

    # Again the same day: nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.action_item_reminders_send(today=TODAY) == 0
    assert len(_notified(reader)) == 1
    assert len(mail.outbox) == 1

    # The next day, each open item due within the horizon is reminded again, in one new digest.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.action_item_reminders_send(today=TODAY + dt.timedelta(days=1)) == 3
    assert len(_notified(reader)) == 2
    assert len(mail.outbox) == 2


def test_reminders_reach_the_responsible_organisation_only(
    item: ActionItem,
    admin: User,
    world: World,
    outsider: User,
    county_user: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert services.action_item_reminders_send(today=item.due_on) == 1
    assert len(_notified(county_user)) == 1
    assert _notified(outsider) == []
    assert len(mail.outbox) == 0  # nobody in the organisation has an e-mail address


def test_an_organisation_without_users_is_still_marked_reminded(
    held: Meeting, admin: User, world: World, county_admin: User, django_capture_on_commit_callbacks: Any
) -> None:
    police = organisation_create(
        actor=admin, name="پلیس الف۱", kind=OrganisationKind.POLICE, county=world.county_a1
    )
    item = services.decision_record(
        actor=county_admin, meeting=held, text="گشت", responsible=police, due_on=TODAY
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert services.action_item_reminders_send(today=TODAY) == 1
    assert _reload(item).last_reminded_on == TODAY
    assert Notification.objects.count() == 0


def test_one_committee_per_jurisdiction_is_a_database_rule_on_every_engine(committees: Committees) -> None:
    """Partial unique constraints, which SQLite enforces too (it ignores nulls_distinct=False)."""
    from django.db import IntegrityError, transaction

    for existing in (committees.national, committees.province_a, committees.county_a1):
        with pytest.raises(IntegrityError), transaction.atomic():
            Committee.objects.with_scopes_disabled().create(
                event=existing.event,
                province=existing.province,
                county=existing.county,
                name="دوباره",
                first_meeting_on=existing.first_meeting_on,
            )


def test_replanning_an_unchanged_cadence_keeps_every_meeting_row(
    committees: Committees, county_admin: User
) -> None:
    """Same rows, same days: calendar programs keep the same events (their UIDs are row ids)."""
    committee = committees.county_a1
    before = _calendar(committee)
    services.cadence_update(actor=county_admin, committee=committee, today=TODAY, **committee.cadence())
    assert _calendar(committee) == before


def test_replanning_never_doubles_a_day_that_has_a_hand_added_meeting(
    committees: Committees, county_admin: User
) -> None:
    committee = committees.county_a1
    services.meeting_create(actor=county_admin, committee=committee, scheduled_on=dt.date(2026, 12, 1))
    services.cadence_update(actor=county_admin, committee=committee, today=TODAY, regular_interval_days=7)
    days = [row[1] for row in _calendar(committee)]
    assert dt.date(2026, 12, 1) in days
    assert len(days) == len(set(days))


@pytest.mark.parametrize("field", ["weekly_from_days_before", "daily_from_days_before"])
def test_cadence_refuses_days_before_voting_beyond_a_year(
    committees: Committees, county_admin: User, field: str
) -> None:
    committee = committees.county_a1
    before = _calendar(committee)
    params = {"weekly_from_days_before": 400, "daily_from_days_before": 7}
    if field == "daily_from_days_before":
        params = {"weekly_from_days_before": 500, "daily_from_days_before": 400}
    with pytest.raises(ValidationError) as refused:
        services.cadence_update(actor=county_admin, committee=committee, today=TODAY, **params)
    assert field in refused.value.message_dict
    assert _calendar(committee) == before


def test_a_national_organisation_in_another_county_never_sees_this_countys_action(
    admin: User, held: Meeting, world: World, county_admin: User, django_capture_on_commit_callbacks: Any
) -> None:
    """County A1 tasks a national organisation; its member sitting in county B1 must not see or touch it."""
    item = services.decision_record(
        actor=county_admin, meeting=held, text="طرح محرمانه", responsible=world.org_national, due_on=TODAY
    )
    far_member = user_create(
        actor=admin,
        username="national_org_in_b1",
        password=PASSWORD,
        role=Role.MEMBER,
        organisation=world.org_national,
        county=world.county_b1,
    )
    assert item.pk not in {i.pk for i in selectors.action_item_mine_for(user=far_member)}
    with pytest.raises(PermissionDenied):
        services.action_item_update(actor=far_member, item=item, note="x")
    with django_capture_on_commit_callbacks(execute=True):
        services.action_item_reminders_send(today=TODAY)
    assert all(item.title not in message for message, _url in _notified(far_member))
