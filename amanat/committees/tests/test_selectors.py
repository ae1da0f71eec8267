"""Committee reads: every selector keeps the caller inside their jurisdiction, and the action-item
views (carried over, overdue, mine) show exactly what they promise."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from amanat.accounts.models import Organisation, OrganisationKind, User
from amanat.accounts.roles import Role
from amanat.accounts.services import organisation_create, user_create
from amanat.committees import selectors, services
from amanat.committees.models import ActionItem, ActionStatus, Committee, Meeting
from amanat.elections.services import election_event_create
from amanat.scoping import unscoped
from conftest import PASSWORD, Committees, World

TODAY = dt.date(2026, 11, 24)
FIRST = dt.date(2026, 11, 10)  # the committees' first cadence meeting
SECOND = dt.date(2026, 11, 24)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: pytest.MonkeyPatch) -> None:
    real = timezone.localdate
    monkeypatch.setattr(
        timezone, "localdate", lambda value=None, tz=None: TODAY if value is None else real(value, tz)
    )


def _meeting(committee: Committee, day: dt.date) -> Meeting:
    with unscoped():
        return Meeting.objects.select_related("committee__event").get(
            committee=committee, scheduled_on=day, from_cadence=True
        )


def _hold(actor: User, committee: Committee, day: dt.date) -> Meeting:
    return services.attendance_record(actor=actor, meeting=_meeting(committee, day), entries=[])


@dataclass
class Items:
    """One open action item in each committee of the event."""

    national: ActionItem
    province_a: ActionItem
    province_b: ActionItem
    county_a1: ActionItem
    county_a2: ActionItem
    county_b1: ActionItem
    org_a2: Organisation


@pytest.fixture
def items(
    admin: User, world: World, committees: Committees, county_admin: User, province_user: User
) -> Items:
    org_a2 = organisation_create(
        actor=admin, name="فرمانداری الف۲", kind=OrganisationKind.GOVERNORATE, county=world.county_a2
    )

    def decide(actor: User, committee: Committee, responsible: Organisation, text: str) -> ActionItem:
        meeting = _hold(actor, committee, FIRST)
        return services.decision_record(
            actor=actor, meeting=meeting, text=text, responsible=responsible, due_on=dt.date(2026, 11, 30)
        )

    return Items(
        national=decide(admin, committees.national, world.org_national, "اقدام کشوری"),
        province_a=decide(province_user, committees.province_a, world.org_a, "اقدام استان الف"),
        province_b=decide(admin, committees.province_b, world.org_national, "اقدام استان ب"),
        county_a1=decide(county_admin, committees.county_a1, world.org_a1, "اقدام الف۱"),
        county_a2=decide(province_user, committees.county_a2, org_a2, "اقدام الف۲"),
        county_b1=decide(admin, committees.county_b1, world.org_b1, "اقدام ب۱"),
        org_a2=org_a2,
    )


def _pks(rows: Any) -> set[int]:
    return {row.pk for row in rows}


# --- committees --------------------------------------------------------------------------------


def test_committee_list_is_scoped_and_ordered(
    committees: Committees, county_user: User, province_user: User, national: User, outsider: User
) -> None:
    c = committees

    assert list(selectors.committee_list_for(user=county_user)) == [c.county_a1]
    assert list(selectors.committee_list_for(user=outsider)) == [c.county_b1]
    assert list(selectors.committee_list_for(user=province_user)) == [c.province_a, c.county_a1, c.county_a2]
    # The nation's committee first, then the provinces', then the counties' by province.
    assert list(selectors.committee_list_for(user=national)) == [
        c.national,
        c.province_a,
        c.province_b,
        c.county_a1,
        c.county_a2,
        c.county_b1,
    ]


def test_committee_list_filters_and_counts_open_items(
    admin: User, items: Items, committees: Committees, county_admin: User, national: User, event: Any
) -> None:
    services.action_item_update(actor=county_admin, item=items.county_a1, status=ActionStatus.DONE)
    meeting = _meeting(committees.county_a1, FIRST)
    for text in ("دوم", "سوم"):
        services.decision_record(
            actor=county_admin,
            meeting=meeting,
            text=text,
            responsible=items.county_a1.responsible,
            due_on=TODAY,
        )
    other = election_event_create(actor=admin, name="میان‌دوره‌ای", voting_day=dt.date(2027, 6, 1))

    rows: list[Any] = list(selectors.committee_list_for(user=national))  # annotated with open_items
    listed = {row.pk: row.open_items for row in rows}
    assert listed[committees.county_a1.pk] == 2  # the done one is not counted
    assert listed[committees.county_b1.pk] == 1
    assert list(selectors.committee_list_for(user=national, event_id=other.pk)) == []
    assert len(selectors.committee_list_for(user=national, event_id=event.pk)) == 6
    assert list(selectors.committee_list_for(user=national, q=" الف۲ ")) == [committees.county_a2]


def test_committee_reads_outside_the_jurisdiction_are_not_found(
    admin: User, world: World, committees: Committees, county_user: User, province_user: User
) -> None:
    seat_b1 = services.committee_member_add(
        actor=admin, committee=committees.county_b1, organisation=world.org_b1
    )
    seat_a1 = services.committee_member_add(
        actor=admin, committee=committees.county_a1, organisation=world.org_a1
    )

    assert (
        selectors.committee_get_for(user=county_user, committee_id=committees.county_a1.pk)
        == committees.county_a1
    )
    assert selectors.committee_get_for(user=province_user, committee_id=str(committees.county_a2.pk)).pk == (
        committees.county_a2.pk
    )
    for committee in (committees.county_b1, committees.county_a2, committees.province_a, committees.national):
        with pytest.raises(Http404):
            selectors.committee_get_for(user=county_user, committee_id=committee.pk)
    for bad in ("abc", None, "", 10**9):
        with pytest.raises(Http404):
            selectors.committee_get_for(user=county_user, committee_id=bad)
    assert selectors.committee_member_get_for(user=county_user, member_id=seat_a1.pk) == seat_a1
    with pytest.raises(Http404):
        selectors.committee_member_get_for(user=county_user, member_id=seat_b1.pk)
    with pytest.raises(Http404):
        selectors.committee_member_get_for(user=province_user, member_id=seat_b1.pk)
    assert list(selectors.committee_members_for(user=county_user, committee=committees.county_b1)) == []


def test_terms_diff_shows_added_and_removed_lines(
    committees: Committees, county_admin: User, county_user: User
) -> None:
    committee = committees.county_a1
    assert {line.kind for line in selectors.committee_terms_diff(committee=committee)} == {"same"}

    services.committee_terms_update(
        actor=county_admin,
        committee=committee,
        terms="شناسایی تهدیدات\nگزارش روزانه\nهماهنگی با پلیس راه\n",
    )

    with unscoped():
        stored = Committee.objects.select_related("instruction").get(pk=committee.pk)
    diff = [(line.kind, line.text) for line in selectors.committee_terms_diff(committee=stored)]
    assert diff == [
        ("same", "شناسایی تهدیدات"),
        ("removed", "پیگیری آمادگی شعب"),
        ("same", "گزارش روزانه"),
        ("added", "هماهنگی با پلیس راه"),
    ]
    assert stored.instruction is not None
    assert (
        stored.instruction.duties == "شناسایی تهدیدات\nپیگیری آمادگی شعب\nگزارش روزانه"
    )  # the template stays
    with pytest.raises(PermissionDenied):
        services.committee_terms_update(actor=county_user, committee=committee, terms="x")


# --- meetings ----------------------------------------------------------------------------------


def test_meeting_list_is_scoped(
    committees: Committees, county_user: User, province_user: User, national: User, outsider: User
) -> None:
    def committees_seen(user: User) -> set[int]:
        return set(selectors.meeting_list_for(user=user).values_list("committee_id", flat=True))

    c = committees
    assert committees_seen(county_user) == {c.county_a1.pk}
    assert committees_seen(outsider) == {c.county_b1.pk}
    assert committees_seen(province_user) == {c.province_a.pk, c.county_a1.pk, c.county_a2.pk}
    assert committees_seen(national) == {
        c.national.pk,
        c.province_a.pk,
        c.province_b.pk,
        c.county_a1.pk,
        c.county_a2.pk,
        c.county_b1.pk,
    }
    # Naming a committee outside the jurisdiction gives nothing, not its meetings.
    assert list(selectors.meeting_list_for(user=county_user, committee=c.county_b1)) == []
    with pytest.raises(Http404):
        selectors.meeting_get_for(user=county_user, meeting_id=_meeting(c.county_b1, FIRST).pk)
    assert selectors.meeting_get_for(user=province_user, meeting_id=_meeting(c.county_a2, FIRST).pk).pk == (
        _meeting(c.county_a2, FIRST).pk
    )


def test_meeting_list_by_committee_and_days(
    committees: Committees, county_admin: User, county_user: User
) -> None:
    committee = committees.county_a1
    extra = services.meeting_create(
        actor=county_admin, committee=committee, scheduled_on=dt.date(2026, 11, 24), starts_at=dt.time(8, 0)
    )

    days = list(
        selectors.meeting_list_for(
            user=county_user, committee=committee, since=dt.date(2026, 11, 11), until=dt.date(2026, 12, 8)
        )
    )

    assert [(m.scheduled_on, m.pk) for m in days] == [
        (dt.date(2026, 11, 24), extra.pk),  # 08:00, before the cadence's 10:00
        (dt.date(2026, 11, 24), _meeting(committee, SECOND).pk),
        (dt.date(2026, 12, 8), _meeting(committee, dt.date(2026, 12, 8)).pk),
    ]


def test_minutes_current_is_the_newest_version(committees: Committees, county_admin: User) -> None:
    meeting = _hold(county_admin, committees.county_a1, FIRST)
    assert selectors.minutes_current_for(meeting=meeting) is None
    services.minutes_save(actor=county_admin, meeting=meeting, text="نسخه ۱")
    services.minutes_approve(actor=county_admin, meeting=meeting)
    services.minutes_correct(actor=county_admin, meeting=meeting)

    current = selectors.minutes_current_for(meeting=meeting)

    assert current is not None
    assert (current.version, current.status) == (2, "draft")


def test_carried_over_lists_earlier_items_still_open_on_the_day(
    committees: Committees, world: World, county_admin: User, county_user: User, outsider: User
) -> None:
    committee = committees.county_a1
    first = _hold(county_admin, committee, FIRST)

    def decide(text: str) -> ActionItem:
        return services.decision_record(
            actor=county_admin,
            meeting=first,
            text=text,
            responsible=world.org_a1,
            due_on=dt.date(2026, 11, 20),
        )

    still_open = decide("باز")
    in_progress = decide("در جریان")
    done_before = decide("انجام پیش از جلسه")
    done_after = decide("انجام پس از جلسه")
    cancelled = decide("لغو")
    services.action_item_update(actor=county_admin, item=in_progress, status=ActionStatus.IN_PROGRESS)
    services.action_item_update(
        actor=county_admin, item=done_before, status=ActionStatus.DONE, today=dt.date(2026, 11, 20)
    )
    services.action_item_update(
        actor=county_admin, item=done_after, status=ActionStatus.DONE, today=dt.date(2026, 11, 28)
    )
    services.action_item_update(
        actor=county_admin, item=cancelled, status=ActionStatus.CANCELLED, cancel_reason="منتفی"
    )
    second = _hold(county_admin, committee, SECOND)
    raised_at_second = services.decision_record(
        actor=county_admin, meeting=second, text="تازه", responsible=world.org_a1, due_on=dt.date(2026, 12, 1)
    )

    carried = list(selectors.meeting_carried_over_for(user=county_user, meeting=second))

    assert [i.pk for i in carried] == sorted([still_open.pk, in_progress.pk, done_after.pk])
    assert raised_at_second.pk not in _pks(carried)
    assert list(selectors.meeting_carried_over_for(user=county_user, meeting=first)) == []
    # A later meeting carries the second meeting's item too, and not what was done by then.
    third = _meeting(committee, dt.date(2026, 12, 8))
    assert _pks(selectors.meeting_carried_over_for(user=county_user, meeting=third)) == {
        still_open.pk,
        in_progress.pk,
        raised_at_second.pk,
    }
    assert list(selectors.meeting_carried_over_for(user=outsider, meeting=second)) == []


# --- action items ------------------------------------------------------------------------------


def test_action_item_list_is_scoped(
    items: Items, county_user: User, province_user: User, national: User, outsider: User, county_viewer: User
) -> None:
    i = items
    assert _pks(selectors.action_item_list_for(user=county_user)) == {i.county_a1.pk}
    assert _pks(selectors.action_item_list_for(user=county_viewer)) == {i.county_a1.pk}
    assert _pks(selectors.action_item_list_for(user=outsider)) == {i.county_b1.pk}
    assert _pks(selectors.action_item_list_for(user=province_user)) == {
        i.province_a.pk,
        i.county_a1.pk,
        i.county_a2.pk,
    }
    assert _pks(selectors.action_item_list_for(user=national)) == {
        i.national.pk,
        i.province_a.pk,
        i.province_b.pk,
        i.county_a1.pk,
        i.county_a2.pk,
        i.county_b1.pk,
    }
    # Filtering by another jurisdiction's committee or organisation shows nothing of it.
    with unscoped():
        b1_committee = Committee.objects.get(pk=i.county_b1.committee_id)
    assert list(selectors.action_item_list_for(user=county_user, committee=b1_committee)) == []
    assert (
        list(selectors.action_item_list_for(user=county_user, organisation_id=i.county_b1.responsible_id))
        == []
    )
    assert _pks(selectors.action_item_list_for(user=province_user, organisation_id=i.org_a2.pk)) == {
        i.county_a2.pk
    }


def test_action_item_list_filters_by_status(items: Items, county_admin: User, province_user: User) -> None:
    services.action_item_update(actor=county_admin, item=items.county_a1, status=ActionStatus.DONE)

    assert _pks(selectors.action_item_list_for(user=province_user, status=ActionStatus.DONE)) == {
        items.county_a1.pk
    }
    assert _pks(selectors.action_item_list_for(user=province_user, open_only=True)) == {
        items.province_a.pk,
        items.county_a2.pk,
    }


def test_overdue_shows_escalated_items_at_the_level_they_reached(
    items: Items, county_user: User, province_user: User, national: User, outsider: User, settings: Any
) -> None:
    settings.ACTION_ITEM_ESCALATION_GRACE_DAYS = 3
    due = items.county_a1.due_on  # every item falls due on 2026-11-30
    day_after = due + dt.timedelta(days=1)

    def overdue(user: User, today: dt.date, **kwargs: Any) -> set[int]:
        return _pks(selectors.action_item_overdue_for(user=user, today=today, **kwargs))

    assert overdue(county_user, due) == set()  # due today is not overdue
    # Overdue but not escalated: the county sees its own item, the province only when it asks.
    assert overdue(county_user, day_after) == {items.county_a1.pk}
    assert overdue(province_user, day_after) == {items.province_a.pk}
    assert overdue(province_user, day_after, include_unescalated=True) == {
        items.province_a.pk,
        items.county_a1.pk,
        items.county_a2.pk,
    }
    assert overdue(national, day_after) == {items.national.pk}
    assert overdue(outsider, day_after, include_unescalated=True) == {items.county_b1.pk}

    # Once the grace has passed the county items climb to their province, and province items to the nation.
    escalated_on = due + dt.timedelta(days=3)
    services.action_items_escalate(today=escalated_on)

    assert overdue(province_user, escalated_on) == {
        items.province_a.pk,
        items.county_a1.pk,
        items.county_a2.pk,
    }
    assert overdue(county_user, escalated_on) == {items.county_a1.pk}  # still its own
    assert overdue(national, escalated_on) == {items.national.pk, items.province_a.pk, items.province_b.pk}
    assert overdue(outsider, escalated_on) == {items.county_b1.pk}

    # A finished item leaves every overdue list.
    with unscoped():
        a1 = ActionItem.objects.get(pk=items.county_a1.pk)
    services.action_item_update(actor=county_user, item=a1, status=ActionStatus.DONE)
    assert items.county_a1.pk not in overdue(province_user, escalated_on, include_unescalated=True)


def test_my_actions_follow_the_organisation_across_jurisdictions(
    admin: User,
    items: Items,
    world: World,
    committees: Committees,
    county_admin: User,
    province_user: User,
    county_user: User,
    outsider: User,
) -> None:
    # County A1's committee tasks the province's governorate; province A's committee tasks A1's.
    a1_meeting = _meeting(committees.county_a1, FIRST)
    for_province_org = services.decision_record(
        actor=county_admin, meeting=a1_meeting, text="برق اضطراری", responsible=world.org_a, due_on=TODAY
    )
    a_meeting = _meeting(committees.province_a, FIRST)
    for_county_org = services.decision_record(
        actor=province_user, meeting=a_meeting, text="آموزش ناظران", responsible=world.org_a1, due_on=TODAY
    )
    # A member of the province's governorate who sits in county A2.
    org_a_in_a2 = user_create(
        actor=admin,
        username="member_a2",
        password=PASSWORD,
        role=Role.MEMBER,
        organisation=world.org_a,
        county=world.county_a2,
    )
    nobody = user_create(
        actor=admin, username="no_org", password=PASSWORD, role=Role.MEMBER, organisation=None
    )

    assert _pks(selectors.action_item_mine_for(user=province_user)) == {
        items.province_a.pk,
        for_province_org.pk,
    }
    # Sitting in county A2, this member hears of the province's actions, never of what county A1 asked.
    assert _pks(selectors.action_item_mine_for(user=org_a_in_a2)) == {items.province_a.pk}
    assert _pks(selectors.action_item_mine_for(user=county_user)) == {items.county_a1.pk, for_county_org.pk}
    assert _pks(selectors.action_item_mine_for(user=outsider)) == {items.county_b1.pk}
    assert list(selectors.action_item_mine_for(user=nobody)) == []
    # Only the organisation's own: never another organisation's, even one the user's jurisdiction reaches.
    for user in (province_user, org_a_in_a2, county_user, outsider):
        assert {i.responsible_id for i in selectors.action_item_mine_for(user=user)} == {user.organisation_id}

    # The county user reaches the province committee's action it owns, not the province's others.
    assert selectors.action_item_get_for(user=county_user, item_id=for_county_org.pk) == for_county_org
    # ... and every action of its own county, whoever owns it.
    assert selectors.action_item_get_for(user=county_user, item_id=for_province_org.pk) == for_province_org
    assert selectors.action_item_get_for(user=nobody, item_id=items.national.pk) == items.national
    for hidden in (items.province_a, items.county_a2, items.county_b1, items.national):
        with pytest.raises(Http404):
            selectors.action_item_get_for(user=county_user, item_id=hidden.pk)
    # The A2 member reaches neither A1's action owned by its organisation nor A1's own.
    for hidden in (for_province_org, items.county_a1):
        with pytest.raises(Http404):
            selectors.action_item_get_for(user=org_a_in_a2, item_id=hidden.pk)
    # The scoped list stays scoped: the A2 member's list does not gain A1's items.
    assert _pks(selectors.action_item_list_for(user=org_a_in_a2)) == {items.county_a2.pk}
    for bad in ("x", "", "1 OR 1=1", -1):
        with pytest.raises(Http404):
            selectors.action_item_get_for(user=county_user, item_id=bad)


def test_progress_notes_read_in_order(items: Items, county_admin: User, county_user: User) -> None:
    item = items.county_a1
    for text in ("اول", "دوم", "سوم"):
        services.action_item_update(actor=county_user, item=item, note=text)

    assert [n.text for n in selectors.action_item_notes_for(item=item)] == ["اول", "دوم", "سوم"]
