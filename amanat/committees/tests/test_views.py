"""Committee pages: every page renders within the caller's jurisdiction, bad input shows on the right
field with nothing saved, roles see only the forms they may use, and list pages do not grow their
query count with their rows."""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from amanat.accounts.models import User
from amanat.accounts.roles import Role
from amanat.accounts.services import user_create
from amanat.committees import exports, services
from amanat.committees.models import (
    ActionItem,
    ActionStatus,
    AttendanceStatus,
    Committee,
    CommitteeMember,
    Decision,
    Instruction,
    Meeting,
    MeetingStatus,
    Minutes,
    MinutesStatus,
    ProgressNote,
)
from amanat.elections.services import election_event_create
from amanat.scoping import unscoped
from conftest import PASSWORD, Committees, World, client_for, page_queries

# The committees were created on 2026-11-10 with a 14-day cadence: meetings on 11-10 and 11-24
# lie in the past, 12-08 in the future.
TODAY = dt.date(2026, 11, 30)
FIRST = dt.date(2026, 11, 10)
SECOND = dt.date(2026, 11, 24)
NEXT = dt.date(2026, 12, 8)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: Any) -> None:
    real = timezone.localdate
    monkeypatch.setattr(
        timezone, "localdate", lambda value=None, tz=None: TODAY if value is None else real(value, tz)
    )


@pytest.fixture(autouse=True)
def persian() -> Iterator[None]:
    with translation.override("fa"):
        yield


def _meeting(committee: Committee, day: dt.date) -> Meeting:
    with unscoped():
        return Meeting.objects.get(committee=committee, scheduled_on=day, from_cadence=True)


def _count(model: Any, **filters: Any) -> int:
    with unscoped():
        return int(model.objects.filter(**filters).count())


def _jalali(day: dt.date) -> str:
    """The Jalali input form of a date, as a user types it."""
    from amanat.ui.formatting import jalali_input_value

    return jalali_input_value(day)


def _errors(response: Any, form: str) -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in response.context[form].errors.items()}


@pytest.fixture
def secretary(admin: User, world: World, committees: Committees, county_admin: User) -> CommitteeMember:
    """Governorate A1 seated on county A1's committee as secretary, represented by its administrator."""
    return services.committee_member_add(
        actor=admin,
        committee=committees.county_a1,
        organisation=world.org_a1,
        role="secretary",
        representative=county_admin,
    )


@pytest.fixture
def held(secretary: CommitteeMember, committees: Committees, county_admin: User) -> Meeting:
    """The first meeting of county A1's committee, with its attendance recorded."""
    meeting = _meeting(committees.county_a1, FIRST)
    return services.attendance_record(
        actor=county_admin, meeting=meeting, entries=[(secretary, AttendanceStatus.PRESENT, "")]
    )


def _decide(actor: User, meeting: Meeting, responsible: Any, due_on: dt.date, text: str) -> ActionItem:
    return services.decision_record(
        actor=actor, meeting=meeting, text=text, responsible=responsible, due_on=due_on
    )


# --- the header ------------------------------------------------------------------------------


def test_header_links_to_committees_my_actions_and_overdue(county_user: User) -> None:
    body = client_for(county_user).get("/").content.decode()

    assert 'href="/committees/"' in body
    assert 'href="/committees/actions/mine/"' in body
    assert 'href="/committees/actions/overdue/"' in body


# --- the committee list ----------------------------------------------------------------------


def test_committee_list_shows_committees_within_jurisdiction(
    county_user: User, province_user: User, committees: Committees
) -> None:
    body = client_for(county_user).get("/committees/").content.decode()
    assert committees.county_a1.name in body
    for other in (committees.county_a2, committees.county_b1, committees.province_a, committees.national):
        assert other.name not in body

    page = client_for(province_user).get("/committees/").context["page"]
    assert {c.pk for c in page} == {
        committees.province_a.pk,
        committees.county_a1.pk,
        committees.county_a2.pk,
    }


def test_committee_list_counts_open_actions_and_filters(
    county_admin: User, held: Meeting, world: World, committees: Committees, national: User
) -> None:
    _decide(county_admin, held, world.org_a1, SECOND, "نصب خط دوم")
    item = _decide(county_admin, held, world.org_a1, SECOND, "بازدید از شعب")
    services.action_item_update(actor=county_admin, item=item, status=ActionStatus.DONE, note="انجام شد")

    page = client_for(county_admin).get("/committees/").context["page"]
    assert [(c.pk, c.open_items) for c in page] == [(committees.county_a1.pk, 1)]

    client = client_for(national)
    assert [c.pk for c in client.get("/committees/", {"q": "ب۱"}).context["page"]] == [
        committees.county_b1.pk
    ]
    other = election_event_create(actor=national, name="دیگر", voting_day=dt.date(2027, 6, 1))
    assert list(client.get("/committees/", {"event": other.pk}).context["page"]) == []
    fragment = client.get("/committees/", {"q": "ب۱"}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.content.decode()
    assert committees.county_b1.name in fragment.content.decode()


def test_committee_list_query_count_does_not_grow_with_rows(
    national: User, committees: Committees, django_assert_max_num_queries: Any
) -> None:
    client = client_for(national)
    with django_assert_max_num_queries(12):
        response = client.get("/committees/")
    assert len(response.context["page"]) == 6
    few = page_queries(client, "/committees/")
    other = election_event_create(
        actor=national, name="دیگر", voting_day=dt.date(2027, 6, 1), opens_on=dt.date(2027, 1, 1)
    )
    from amanat.elections.services import contest_add

    contest_add(actor=national, event=other, kind="city_council")
    template = services.instruction_create(actor=national, event=other, title="دیگر", duties="یک")
    services.committees_create_for_event(actor=national, event=other, instruction=template, today=TODAY)

    assert page_queries(client, "/committees/") == few
    assert len(client.get("/committees/").context["page"]) == 12


def test_only_national_administrators_see_the_bulk_create_form(
    national: User, county_admin: User, province_admin: User, committees: Committees
) -> None:
    body = client_for(national).get("/committees/").content.decode()
    assert 'id="bulk-create"' in body
    assert "/committees/instructions/new/" in body
    for user in (county_admin, province_admin):
        body = client_for(user).get("/committees/").content.decode()
        assert 'id="bulk-create"' not in body
        assert client_for(user).post("/committees/bulk-create/").status_code == 404
        assert client_for(user).get("/committees/instructions/new/").status_code == 404


# --- bulk creation and instructions ----------------------------------------------------------


def test_bulk_create_makes_every_committee_in_one_action(
    national: User, world: World, event: Any, instruction: Instruction
) -> None:
    client = client_for(national)

    response = client.post("/committees/bulk-create/", {"event": event.pk, "instruction": instruction.pk})

    assert response.status_code == 302
    assert _count(Committee, event=event) == 6  # the nation, two provinces, three counties
    assert _count(Meeting, committee__event=event) > 6
    again = client.post("/committees/bulk-create/", {"event": event.pk, "instruction": instruction.pk})
    assert again.status_code == 302
    assert _count(Committee, event=event) == 6


def test_bulk_create_with_another_events_instruction_saves_nothing(
    national: User, world: World, event: Any, instruction: Instruction
) -> None:
    other = election_event_create(actor=national, name="دیگر", voting_day=dt.date(2027, 6, 1))

    response = client_for(national).post(
        "/committees/bulk-create/", {"event": other.pk, "instruction": instruction.pk}
    )

    assert response.status_code == 400
    assert list(_errors(response, "bulk_form")) == ["instruction"]
    assert _count(Committee) == 0


def test_national_administrator_issues_an_instruction(national: User, event: Any) -> None:
    client = client_for(national)
    assert client.get("/committees/instructions/new/").status_code == 200

    response = client.post(
        "/committees/instructions/new/",
        {
            "event": event.pk,
            "title": "دستورالعمل",
            "duties": "یک\nدو",
            "regular_interval_days": 10,
            "weekly_from_days_before": 40,
            "daily_from_days_before": 5,
            "daily_until_days_after": 2,
            "meeting_time": "09:30",
        },
    )

    assert response.status_code == 302
    with unscoped():
        created = Instruction.objects.get(title="دستورالعمل")
    assert (created.regular_interval_days, created.meeting_time) == (10, dt.time(9, 30))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"weekly_from_days_before": 5, "daily_from_days_before": 7}, "weekly_from_days_before"),
        ({"regular_interval_days": -3}, "regular_interval_days"),
        ({"daily_until_days_after": -1}, "daily_until_days_after"),
    ],
)
def test_instruction_with_a_bad_cadence_saves_nothing(
    national: User, event: Any, changes: dict[str, int], field: str
) -> None:
    data = {
        "event": event.pk,
        "title": "دستورالعمل",
        "duties": "یک",
        "regular_interval_days": 14,
        "weekly_from_days_before": 56,
        "daily_from_days_before": 7,
        "daily_until_days_after": 3,
        "meeting_time": "10:00",
        **changes,
    }

    response = client_for(national).post("/committees/instructions/new/", data)

    assert response.status_code == 400
    assert list(_errors(response, "form")) == [field]
    assert _count(Instruction) == 0


# --- the committee page ----------------------------------------------------------------------


def test_committee_page_shows_composition_terms_diff_meetings_and_actions(
    county_admin: User, held: Meeting, world: World, committees: Committees
) -> None:
    committee = committees.county_a1
    services.committee_terms_update(
        actor=county_admin, committee=committee, terms="شناسایی تهدیدات\nگزارش روزانه\nهماهنگی با پلیس راه"
    )
    _decide(county_admin, held, world.org_a1, SECOND, "نصب خط دوم ارتباطی")

    response = client_for(county_admin).get(f"/committees/{committee.pk}/")

    body = response.content.decode()
    assert response.status_code == 200
    assert world.org_a1.name in body
    assert county_admin.username in body
    kinds = {(line.kind, line.text) for line in response.context["terms_diff"]}
    assert ("added", "هماهنگی با پلیس راه") in kinds
    assert ("removed", "پیگیری آمادگی شعب") in kinds
    assert '<li class="diff-added">' in body and "هماهنگی با پلیس راه" in body
    assert '<li class="diff-removed"><del>' in body
    assert response.context["upcoming"][0].scheduled_on == NEXT
    assert len(response.context["upcoming"]) == 10
    assert "نصب خط دوم ارتباطی" in body
    for form in ("member-form", "terms-form", "cadence-form"):
        assert f'id="{form}"' in body


def test_committee_page_query_count_does_not_grow_with_members_and_actions(
    county_admin: User, national: User, held: Meeting, world: World, committees: Committees
) -> None:
    client = client_for(county_admin)
    url = f"/committees/{committees.county_a1.pk}/"
    _decide(county_admin, held, world.org_a1, SECOND, "یک")
    few = page_queries(client, url)
    services.committee_member_add(
        actor=national, committee=committees.county_a1, organisation=world.org_national, role="chair"
    )
    services.committee_member_add(actor=national, committee=committees.county_a1, organisation=world.org_a)
    for n in range(5):
        _decide(county_admin, held, world.org_a, SECOND, f"مورد {n}")

    assert page_queries(client, url) == few


def test_meeting_page_query_count_does_not_grow_with_decisions(
    county_admin: User, held: Meeting, world: World
) -> None:
    client = client_for(county_admin)
    url = f"/committees/meetings/{held.pk}/"
    _decide(county_admin, held, world.org_a1, SECOND, "یک")
    few = page_queries(client, url)
    for n in range(5):
        _decide(county_admin, held, world.org_a, SECOND, f"مورد {n}")

    assert page_queries(client, url) == few


def test_viewers_see_the_committee_without_forms(
    county_viewer: User, county_user: User, committees: Committees
) -> None:
    for user in (county_viewer, county_user):
        response = client_for(user).get(f"/committees/{committees.county_a1.pk}/")
        body = response.content.decode()
        assert response.status_code == 200
        for form in ("member-form", "terms-form", "cadence-form"):
            assert f'id="{form}"' not in body


def test_committees_outside_jurisdiction_are_404(outsider: User, committees: Committees) -> None:
    client = client_for(outsider)
    committee = committees.county_a1
    meeting = _meeting(committee, FIRST)

    for url in (
        f"/committees/{committee.pk}/",
        f"/committees/{committee.pk}/calendar/",
        f"/committees/{committee.pk}/calendar.ics",
        f"/committees/{committee.pk}/meetings/new/",
        f"/committees/meetings/{meeting.pk}/",
        f"/committees/meetings/{meeting.pk}/minutes.pdf",
        "/committees/999999/",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        f"/committees/{committee.pk}/members/",
        f"/committees/{committee.pk}/terms/",
        f"/committees/{committee.pk}/cadence/",
        f"/committees/meetings/{meeting.pk}/attendance/",
        f"/committees/meetings/{meeting.pk}/decisions/",
        f"/committees/meetings/{meeting.pk}/cancel/",
    ):
        assert client.post(url, {}).status_code == 404, url


def test_member_add_and_remove(admin: User, county_admin: User, world: World, committees: Committees) -> None:
    client = client_for(county_admin)
    committee = committees.county_a1

    response = client.post(
        f"/committees/{committee.pk}/members/",
        {"organisation": world.org_a1.pk, "role": "chair", "representative": county_admin.pk},
    )

    assert response.status_code == 302
    with unscoped():
        member = CommitteeMember.objects.get(committee=committee)
    assert (member.organisation_id, member.role, member.representative_id) == (
        world.org_a1.pk,
        "chair",
        county_admin.pk,
    )
    assert client.post(f"/committees/members/{member.pk}/remove/").status_code == 302
    assert _count(CommitteeMember, committee=committee) == 0


def test_member_remove_refused_once_attendance_is_recorded(
    county_admin: User, held: Meeting, secretary: CommitteeMember
) -> None:
    response = client_for(county_admin).post(f"/committees/members/{secretary.pk}/remove/", follow=True)

    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert _count(CommitteeMember, pk=secretary.pk) == 1


def test_member_organisation_outside_the_jurisdiction_saves_nothing(
    national: User, province_user: User, admin: User, world: World, committees: Committees
) -> None:
    from amanat.accounts.models import OrganisationKind
    from amanat.accounts.services import organisation_create

    org_a2 = organisation_create(
        actor=admin, name="فرمانداری الف۲", kind=OrganisationKind.GOVERNORATE, county=world.county_a2
    )
    url = f"/committees/{committees.county_a1.pk}/members/"
    for user, organisation in ((national, world.org_b1), (province_user, org_a2)):
        response = client_for(user).post(url, {"organisation": organisation.pk, "role": "member"})

        assert response.status_code == 400
        errors = _errors(response, "member_form")
        assert list(errors) == ["organisation"]
        assert errors["organisation"] == [
            gettext("The organisation does not serve this committee's jurisdiction.")
        ]
    assert _count(CommitteeMember) == 0


def test_member_representative_of_another_organisation_saves_nothing(
    national: User, county_admin: User, world: World, committees: Committees
) -> None:
    response = client_for(national).post(
        f"/committees/{committees.county_a1.pk}/members/",
        {"organisation": world.org_a.pk, "role": "member", "representative": county_admin.pk},
    )

    assert response.status_code == 400
    assert list(_errors(response, "member_form")) == ["representative"]
    assert _count(CommitteeMember) == 0


def test_a_second_seat_for_the_same_organisation_shows_on_organisation(
    county_admin: User, secretary: CommitteeMember, world: World, committees: Committees
) -> None:
    response = client_for(county_admin).post(
        f"/committees/{committees.county_a1.pk}/members/", {"organisation": world.org_a1.pk, "role": "member"}
    )

    assert response.status_code == 400
    assert list(_errors(response, "member_form")) == ["organisation"]
    assert _count(CommitteeMember) == 1


def test_roles_without_approval_cannot_change_a_committee(
    county_user: User, county_viewer: User, world: World, committees: Committees, secretary: CommitteeMember
) -> None:
    committee = committees.county_a1
    for user in (county_user, county_viewer):
        client = client_for(user)
        assert (
            client.post(f"/committees/{committee.pk}/members/", {"organisation": world.org_a1.pk}).status_code
            == 404
        )
        assert client.post(f"/committees/members/{secretary.pk}/remove/").status_code == 404
        assert client.post(f"/committees/{committee.pk}/terms/", {"terms": "x"}).status_code == 404
        assert client.post(f"/committees/{committee.pk}/cadence/", {}).status_code == 404
    committee.refresh_from_db()
    assert committee.terms.startswith("شناسایی تهدیدات")
    assert _count(CommitteeMember) == 1


def test_terms_localised_and_empty_terms_refused(county_admin: User, committees: Committees) -> None:
    client = client_for(county_admin)
    committee = committees.county_a1

    empty = client.post(f"/committees/{committee.pk}/terms/", {"terms": "  "})
    assert empty.status_code == 400
    assert list(_errors(empty, "terms_form")) == ["terms"]

    assert (
        client.post(f"/committees/{committee.pk}/terms/", {"terms": "گزارش روزانه\nبند محلی"}).status_code
        == 302
    )
    committee.refresh_from_db()
    assert committee.terms == "گزارش روزانه\nبند محلی"


CADENCE = {
    "first_meeting_on": "1405/08/19",
    "regular_interval_days": 7,
    "weekly_from_days_before": 56,
    "daily_from_days_before": 7,
    "daily_until_days_after": 3,
    "meeting_time": "11:00",
}


def test_cadence_update_replans_future_meetings_only(
    county_admin: User, held: Meeting, committees: Committees
) -> None:
    committee = committees.county_a1

    response = client_for(county_admin).post(f"/committees/{committee.pk}/cadence/", CADENCE)

    assert response.status_code == 302
    with unscoped():
        days = list(
            Meeting.objects.filter(
                committee=committee, scheduled_on__gte=TODAY, scheduled_on__lt=NEXT + dt.timedelta(days=7)
            )
            .order_by("scheduled_on")
            .values_list("scheduled_on", "starts_at")
        )
        first = Meeting.objects.get(pk=held.pk)
    # Weekly from the first meeting (1405/08/19 = 2026-11-10): the next days after today are 12-01 and
    # 12-08, at the new time; 12-08 was already planned and keeps its row.
    assert days[:2] == [(dt.date(2026, 12, 1), dt.time(11, 0)), (dt.date(2026, 12, 8), dt.time(11, 0))]
    assert (first.status, first.starts_at) == (MeetingStatus.HELD, dt.time(10, 0))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"weekly_from_days_before": 7, "daily_from_days_before": 7}, "weekly_from_days_before"),
        ({"regular_interval_days": -1}, "regular_interval_days"),
        ({"daily_from_days_before": -2}, "daily_from_days_before"),
        ({"first_meeting_on": "1405/13/40"}, "first_meeting_on"),
    ],
)
def test_bad_cadence_shows_on_its_field_and_changes_nothing(
    county_admin: User, committees: Committees, changes: dict[str, Any], field: str
) -> None:
    committee = committees.county_a1
    before = _count(Meeting, committee=committee)

    response = client_for(county_admin).post(f"/committees/{committee.pk}/cadence/", {**CADENCE, **changes})

    assert response.status_code == 400
    assert list(_errors(response, "cadence_form")) == [field]
    assert f'id="id_{field}"' in response.content.decode()
    committee.refresh_from_db()
    assert (committee.regular_interval_days, committee.meeting_time) == (14, dt.time(10, 0))
    assert _count(Meeting, committee=committee) == before


# --- the calendar ----------------------------------------------------------------------------


def test_calendar_groups_meetings_by_jalali_month(county_user: User, committees: Committees) -> None:
    response = client_for(county_user).get(f"/committees/{committees.county_a1.pk}/calendar/")

    body = response.content.decode()
    months = response.context["months"]
    assert months[0].label == "آبان ۱۴۰۵"
    assert months[1].label == "آذر ۱۴۰۵"
    assert [m.scheduled_on for m in months[0].meetings] == [FIRST]
    assert SECOND in [m.scheduled_on for m in months[1].meetings]
    assert [m.label for m in months][-1] == "اسفند ۱۴۰۵"  # daily meetings around voting day, 1405/12/14
    assert months[-1].meetings[-1].scheduled_on == dt.date(2027, 3, 8)
    assert sum(len(m.meetings) for m in months) == _count(Meeting, committee=committees.county_a1)
    assert "۱۹ آبان ۱۴۰۵" in body
    assert f"/committees/{committees.county_a1.pk}/calendar.ics" in body
    assert 'id="meeting-form"' not in body  # a member does not run meetings


def test_calendar_in_english_keeps_jalali_months(county_user: User, committees: Committees) -> None:
    client = client_for(county_user)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    response = client.get(f"/committees/{committees.county_a1.pk}/calendar/")

    assert [m.label for m in response.context["months"]][:2] == ["Aban 1405", "Azar 1405"]
    assert "10 November 2026" in response.content.decode()


def test_calendar_query_count_does_not_grow_with_meetings(
    county_admin: User, committees: Committees, django_assert_max_num_queries: Any
) -> None:
    client = client_for(county_admin)
    with django_assert_max_num_queries(10):
        response = client.get(f"/committees/{committees.county_a1.pk}/calendar/")
    assert sum(len(m.meetings) for m in response.context["months"]) > 20


def test_meeting_added_by_hand(county_admin: User, committees: Committees) -> None:
    committee = committees.county_a1
    client = client_for(county_admin)
    assert client.get(f"/committees/{committee.pk}/meetings/new/").status_code == 200

    response = client.post(
        f"/committees/{committee.pk}/meetings/new/",
        {"scheduled_on": _jalali(dt.date(2026, 12, 1)), "starts_at": "16:00", "agenda": "جلسه فوق‌العاده"},
    )

    assert response.status_code == 302
    with unscoped():
        meeting = Meeting.objects.get(committee=committee, from_cadence=False)
    assert (meeting.scheduled_on, meeting.starts_at, meeting.agenda) == (
        dt.date(2026, 12, 1),
        dt.time(16, 0),
        "جلسه فوق‌العاده",
    )
    assert response["Location"] == f"/committees/meetings/{meeting.pk}/"


@pytest.mark.parametrize("day", [dt.date(2026, 10, 1), dt.date(2027, 6, 1)])
def test_meeting_outside_the_events_window_saves_nothing(
    county_admin: User, committees: Committees, day: dt.date
) -> None:
    committee = committees.county_a1
    before = _count(Meeting, committee=committee)

    response = client_for(county_admin).post(
        f"/committees/{committee.pk}/meetings/new/", {"scheduled_on": _jalali(day)}
    )

    assert response.status_code == 400
    assert list(_errors(response, "meeting_form")) == ["scheduled_on"]
    assert "errorlist" in response.content.decode()
    assert _count(Meeting, committee=committee) == before


def test_calendar_ics_returns_the_exports_bytes(
    county_user: User, committees: Committees, monkeypatch: Any
) -> None:
    seen: dict[str, Any] = {}

    def fake_ics(*, committee: Committee, meetings: Any) -> bytes:
        seen.update(committee=committee.pk, meetings=len(meetings))
        return b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"

    monkeypatch.setattr(exports, "committee_calendar_ics", fake_ics)

    response = client_for(county_user).get(f"/committees/{committees.county_a1.pk}/calendar.ics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "filename=" in response["Content-Disposition"] and ".ics" in response["Content-Disposition"]
    assert response.content.startswith(b"BEGIN:VCALENDAR")
    assert seen == {
        "committee": committees.county_a1.pk,
        "meetings": _count(Meeting, committee=committees.county_a1),
    }


# --- a meeting -------------------------------------------------------------------------------


def test_meeting_page_shows_agenda_attendance_minutes_and_decisions(
    county_admin: User, held: Meeting, world: World
) -> None:
    services.meeting_update(actor=county_admin, meeting=held, agenda="بررسی آمادگی شعب", location="فرمانداری")
    _decide(county_admin, held, world.org_a1, SECOND, "نصب خط دوم")
    services.minutes_save(actor=county_admin, meeting=held, text="متن صورتجلسه")

    response = client_for(county_admin).get(f"/committees/meetings/{held.pk}/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "بررسی آمادگی شعب" in body
    assert "نصب خط دوم" in body
    assert "متن صورتجلسه" in body
    assert f"/committees/meetings/{held.pk}/minutes.pdf" in body
    for form in ("agenda-form", "attendance-form", "minutes-form", "decision-form", "approve-minutes"):
        assert f'id="{form}"' in body
    assert 'id="cancel-form"' not in body  # a held meeting is not cancelled


def test_meeting_page_for_a_viewer_has_no_forms(county_viewer: User, held: Meeting) -> None:
    response = client_for(county_viewer).get(f"/committees/meetings/{held.pk}/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "<form" in body  # the header's language and logout forms
    for form in (
        "agenda-form",
        "attendance-form",
        "minutes-form",
        "decision-form",
        "cancel-form",
        "approve-minutes",
    ):
        assert f'id="{form}"' not in body
    client = client_for(county_viewer)
    assert client.post(f"/committees/meetings/{held.pk}/", {"agenda": "x"}).status_code == 404
    assert client.post(f"/committees/meetings/{held.pk}/minutes/approve/").status_code == 404


def test_agenda_update(county_admin: User, committees: Committees) -> None:
    meeting = _meeting(committees.county_a1, NEXT)

    response = client_for(county_admin).post(
        f"/committees/meetings/{meeting.pk}/", {"agenda": "بند یک\nبند دو", "location": "سالن"}
    )

    assert response.status_code == 302
    meeting.refresh_from_db()
    assert (meeting.agenda, meeting.location) == ("بند یک\nبند دو", "سالن")


def test_attendance_recorded_marks_the_meeting_held(
    county_admin: User, secretary: CommitteeMember, committees: Committees
) -> None:
    meeting = _meeting(committees.county_a1, SECOND)

    response = client_for(county_admin).post(
        f"/committees/meetings/{meeting.pk}/attendance/",
        {f"status_{secretary.pk}": "represented", f"note_{secretary.pk}": "معاون فرماندار"},
    )

    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.HELD
    with unscoped():
        record = meeting.attendance.get()
    assert (record.status, record.note) == ("represented", "معاون فرماندار")


def test_attendance_for_a_future_meeting_saves_nothing(
    county_admin: User, secretary: CommitteeMember, committees: Committees
) -> None:
    meeting = _meeting(committees.county_a1, NEXT)

    response = client_for(county_admin).post(
        f"/committees/meetings/{meeting.pk}/attendance/", {f"status_{secretary.pk}": "present"}
    )

    assert response.status_code == 400
    assert list(_errors(response, "attendance_form")) == ["__all__"]
    assert "errorlist" in response.content.decode()
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.PLANNED
    with unscoped():
        assert not meeting.attendance.exists()


def test_attendance_with_an_unknown_status_shows_on_its_row(
    county_admin: User, secretary: CommitteeMember, committees: Committees
) -> None:
    meeting = _meeting(committees.county_a1, SECOND)

    response = client_for(county_admin).post(
        f"/committees/meetings/{meeting.pk}/attendance/", {f"status_{secretary.pk}": "asleep"}
    )

    assert response.status_code == 400
    assert list(_errors(response, "attendance_form")) == [f"status_{secretary.pk}"]
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.PLANNED


def test_decisions_become_action_items(county_admin: User, held: Meeting, world: World) -> None:
    client = client_for(county_admin)

    for text, due in (("نصب خط دوم", SECOND), ("بازدید از شعب", TODAY)):
        response = client.post(
            f"/committees/meetings/{held.pk}/decisions/",
            {"text": text, "responsible": world.org_a1.pk, "due_on": _jalali(due)},
        )
        assert response.status_code == 302

    with unscoped():
        items = list(ActionItem.objects.filter(decision__meeting=held).order_by("decision__number"))
    assert [(i.decision.number, i.title, i.due_on, i.responsible_id) for i in items] == [  # type: ignore[union-attr]
        (1, "نصب خط دوم", SECOND, world.org_a1.pk),
        (2, "بازدید از شعب", TODAY, world.org_a1.pk),
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"due_on": _jalali(FIRST - dt.timedelta(days=1))}, "due_on"),
        ({"due_on": "not a date"}, "due_on"),
        ({"responsible": "b1"}, "responsible"),
        ({"text": ""}, "text"),
    ],
)
def test_bad_decision_shows_on_its_field_and_saves_nothing(
    county_admin: User, national: User, held: Meeting, world: World, data: dict[str, Any], field: str
) -> None:
    form = {"text": "نصب خط دوم", "responsible": world.org_a1.pk, "due_on": _jalali(SECOND), **data}
    user = county_admin
    if form["responsible"] == "b1":
        form["responsible"], user = world.org_b1.pk, national  # a national user may choose B1's governorate

    response = client_for(user).post(f"/committees/meetings/{held.pk}/decisions/", form)

    assert response.status_code == 400
    assert list(_errors(response, "decision_form")) == [field]
    assert _count(Decision) == 0
    assert _count(ActionItem) == 0


def test_decision_for_a_meeting_not_held_saves_nothing(
    county_admin: User, secretary: CommitteeMember, world: World, committees: Committees
) -> None:
    meeting = _meeting(committees.county_a1, SECOND)

    response = client_for(county_admin).post(
        f"/committees/meetings/{meeting.pk}/decisions/",
        {"text": "x", "responsible": world.org_a1.pk, "due_on": _jalali(TODAY)},
    )

    assert response.status_code == 400
    assert list(_errors(response, "decision_form")) == ["__all__"]
    assert _count(Decision) == 0


def test_open_actions_carry_over_to_the_next_meeting(
    county_admin: User, held: Meeting, world: World, committees: Committees
) -> None:
    open_item = _decide(county_admin, held, world.org_a1, TODAY, "نصب خط دوم")
    done = _decide(county_admin, held, world.org_a1, TODAY, "بازدید از شعب")
    services.action_item_update(actor=county_admin, item=done, status=ActionStatus.DONE, note="")
    later = _meeting(committees.county_a1, NEXT)

    response = client_for(county_admin).get(f"/committees/meetings/{later.pk}/")

    assert [item.pk for item in response.context["carried_over"]] == [open_item.pk]
    assert "نصب خط دوم" in response.content.decode()


def test_minutes_saved_approved_read_only_then_corrected(
    county_admin: User, province_user: User, held: Meeting
) -> None:
    client = client_for(county_admin)
    url = f"/committees/meetings/{held.pk}"

    assert client.post(f"{url}/minutes/", {"text": "پیش‌نویس"}).status_code == 302
    assert client_for(province_user).post(f"{url}/minutes/approve/").status_code == 302
    with unscoped():
        approved = Minutes.objects.get(meeting=held)
    assert (approved.status, approved.approved_by_id) == (MinutesStatus.APPROVED, province_user.pk)

    page = client.get(f"{url}/").content.decode()
    assert 'id="minutes-form"' not in page
    assert 'id="minutes-text"' in page
    assert 'id="correct-minutes"' in page

    refused = client.post(f"{url}/minutes/", {"text": "تغییر"})
    assert refused.status_code == 400
    assert list(_errors(refused, "minutes_form")) == ["__all__"]
    approved.refresh_from_db()
    assert approved.text == "پیش‌نویس"

    assert client.post(f"{url}/minutes/correct/").status_code == 302
    with unscoped():
        versions = list(
            Minutes.objects.filter(meeting=held).order_by("version").values_list("version", "status")
        )
    assert versions == [(1, "approved"), (2, "draft")]
    assert 'id="minutes-form"' in client.get(f"{url}/").content.decode()


def test_minutes_approve_and_correct_refused_show_the_reason(
    county_admin: User, held: Meeting, county_user: User
) -> None:
    client = client_for(county_admin)
    url = f"/committees/meetings/{held.pk}"

    nothing = client.post(f"{url}/minutes/approve/")
    assert nothing.status_code == 400
    assert nothing.context["action_errors"]
    assert "errorlist" in nothing.content.decode()
    draft = client.post(f"{url}/minutes/correct/")
    assert draft.status_code == 400
    assert _count(Minutes) == 0
    assert client_for(county_user).post(f"{url}/minutes/correct/").status_code == 404


def test_minutes_for_a_planned_meeting_save_nothing(county_admin: User, committees: Committees) -> None:
    meeting = _meeting(committees.county_a1, SECOND)

    response = client_for(county_admin).post(f"/committees/meetings/{meeting.pk}/minutes/", {"text": "متن"})

    assert response.status_code == 400
    assert list(_errors(response, "minutes_form")) == ["__all__"]
    assert _count(Minutes) == 0


def test_minutes_pdf_returns_the_exports_bytes(county_viewer: User, held: Meeting, monkeypatch: Any) -> None:
    monkeypatch.setattr(exports, "minutes_pdf", lambda *, meeting: b"%PDF-1.7 " + str(meeting.pk).encode())

    response = client_for(county_viewer).get(f"/committees/meetings/{held.pk}/minutes.pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="minutes-' in response["Content-Disposition"]
    assert response["Content-Disposition"].endswith('.pdf"')
    assert response.content == b"%PDF-1.7 " + str(held.pk).encode()


def test_meeting_cancel_needs_a_reason(county_admin: User, committees: Committees) -> None:
    meeting = _meeting(committees.county_a1, NEXT)
    client = client_for(county_admin)

    refused = client.post(f"/committees/meetings/{meeting.pk}/cancel/", {"reason": " "})
    assert refused.status_code == 400
    assert list(_errors(refused, "cancel_form")) == ["reason"]
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.PLANNED

    assert (
        client.post(f"/committees/meetings/{meeting.pk}/cancel/", {"reason": "تعطیلی رسمی"}).status_code
        == 302
    )
    meeting.refresh_from_db()
    assert (meeting.status, meeting.cancel_reason) == (MeetingStatus.CANCELLED, "تعطیلی رسمی")


def test_cancelling_a_held_meeting_shows_why(county_admin: User, held: Meeting) -> None:
    response = client_for(county_admin).post(f"/committees/meetings/{held.pk}/cancel/", {"reason": "x"})

    assert response.status_code == 400
    assert list(_errors(response, "cancel_form")) == ["__all__"]
    held.refresh_from_db()
    assert held.status == MeetingStatus.HELD


# --- action items ----------------------------------------------------------------------------


@pytest.fixture
def items(county_admin: User, held: Meeting, world: World) -> list[ActionItem]:
    """Two actions for governorate A1 (one overdue), one for province A's governorate."""
    return [
        _decide(county_admin, held, world.org_a1, dt.date(2026, 11, 20), "نصب خط دوم"),
        _decide(county_admin, held, world.org_a1, dt.date(2026, 12, 20), "بازدید از شعب"),
        _decide(county_admin, held, world.org_a, dt.date(2026, 12, 20), "تأمین برق اضطراری"),
    ]


def test_my_actions_lists_my_organisations_items_with_overdue_flagged(
    county_user: User, items: list[ActionItem]
) -> None:
    response = client_for(county_user).get("/committees/actions/mine/")

    body = response.content.decode()
    rows = {row.item.pk: row for row in response.context["rows"]}
    assert set(rows) == {items[0].pk, items[1].pk}
    assert rows[items[0].pk].overdue_days == 10
    assert rows[items[1].pk].overdue_days == 0
    assert "تأمین برق اضطراری" not in body
    assert body.count('class="badge overdue"') == 1
    assert body.count("hx-post=") == 2  # a member of the responsible organisation may update


def test_my_actions_for_a_viewer_has_no_update_forms(county_viewer: User, items: list[ActionItem]) -> None:
    body = client_for(county_viewer).get("/committees/actions/mine/").content.decode()

    assert "نصب خط دوم" in body
    assert "hx-post=" not in body


def test_my_actions_query_count_does_not_grow_with_rows(
    county_user: User, county_admin: User, held: Meeting, world: World
) -> None:
    client = client_for(county_user)
    _decide(county_admin, held, world.org_a1, TODAY, "یک")
    few = page_queries(client, "/committees/actions/mine/")
    for n in range(6):
        _decide(county_admin, held, world.org_a1, TODAY, f"مورد {n}")

    assert page_queries(client, "/committees/actions/mine/") == few


def test_action_update_inline_with_htmx(county_user: User, items: list[ActionItem]) -> None:
    item = items[0]

    response = client_for(county_user).post(
        f"/committees/actions/{item.pk}/",
        {"note": "کابل‌کشی آغاز شد", "status": "in_progress"},
        headers={"HX-Request": "true"},
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert f'id="action-{item.pk}"' in body
    item.refresh_from_db()
    assert item.status == ActionStatus.IN_PROGRESS
    with unscoped():
        assert list(ProgressNote.objects.filter(action_item=item).values_list("text", "status")) == [
            ("کابل‌کشی آغاز شد", "in_progress")
        ]


def test_action_cancel_without_reason_shows_on_cancel_reason(
    county_user: User, items: list[ActionItem]
) -> None:
    item = items[0]
    client = client_for(county_user)

    inline = client.post(
        f"/committees/actions/{item.pk}/", {"status": "cancelled"}, headers={"HX-Request": "true"}
    )
    assert inline.status_code == 200  # htmx swaps only successful answers: the errors come back in place
    assert "errorlist" in inline.content.decode()
    assert list(inline.context["row"].form.errors) == ["cancel_reason"]

    page = client.post(f"/committees/actions/{item.pk}/", {"status": "cancelled"})
    assert page.status_code == 400
    assert list(page.context["row"].form.errors) == ["cancel_reason"]

    empty = client.post(f"/committees/actions/{item.pk}/", {"note": ""})
    assert empty.status_code == 400
    assert list(empty.context["row"].form.errors) == ["note"]
    item.refresh_from_db()
    assert item.status == ActionStatus.OPEN
    assert _count(ProgressNote) == 0

    done = client.post(f"/committees/actions/{item.pk}/", {"status": "cancelled", "cancel_reason": "تکراری"})
    assert done.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.cancel_reason) == (ActionStatus.CANCELLED, "تکراری")


def test_action_detail_shows_the_decision_and_the_notes(
    county_user: User, county_admin: User, items: list[ActionItem], held: Meeting
) -> None:
    item = items[0]
    services.action_item_update(actor=county_user, item=item, note="سفارش تجهیزات")
    services.action_item_update(actor=county_admin, item=item, note="تحویل شد", status=ActionStatus.DONE)

    response = client_for(county_user).get(f"/committees/actions/{item.pk}/")

    body = response.content.decode()
    assert response.status_code == 200
    assert body.index("سفارش تجهیزات") < body.index("تحویل شد")
    assert f"/committees/meetings/{held.pk}/" in body
    assert [n.text for n in response.context["notes"]] == ["سفارش تجهیزات", "تحویل شد"]


def test_action_of_another_organisation_is_refused_to_a_member(
    county_user: User, items: list[ActionItem]
) -> None:
    """A member may follow up only their own organisation's actions: no form, and the service says 403."""
    other = items[2]
    client = client_for(county_user)

    page = client.get(f"/committees/actions/{other.pk}/")
    assert page.status_code == 200
    assert 'id="action-form"' not in page.content.decode()
    assert client.post(f"/committees/actions/{other.pk}/", {"note": "x"}).status_code == 403
    assert _count(ProgressNote) == 0


def test_actions_outside_jurisdiction_are_404(outsider: User, items: list[ActionItem]) -> None:
    client = client_for(outsider)

    assert client.get(f"/committees/actions/{items[0].pk}/").status_code == 404
    assert client.post(f"/committees/actions/{items[0].pk}/", {"note": "x"}).status_code == 404
    assert client.get("/committees/actions/999999/").status_code == 404
    assert "نصب خط دوم" not in client.get("/committees/actions/mine/").content.decode()
    assert "نصب خط دوم" not in client.get("/committees/actions/overdue/").content.decode()


def test_overdue_lists_own_items_and_what_children_escalated(
    county_user: User, province_user: User, national: User, items: list[ActionItem], committees: Committees
) -> None:
    county = client_for(county_user).get("/committees/actions/overdue/")
    rows = county.context["rows"]
    assert [(row.item.pk, row.overdue_days) for row in rows] == [(items[0].pk, 10)]
    assert committees.county_a1.name in county.content.decode()
    assert county.context["offer_toggle"] is False

    province = client_for(province_user)
    assert list(province.get("/committees/actions/overdue/").context["rows"]) == []
    shown = province.get("/committees/actions/overdue/", {"all": "1"}).context["rows"]
    assert [row.item.pk for row in shown] == [items[0].pk]

    # Ten days overdue with three days' grace: the item has climbed to the nation.
    assert services.action_items_escalate(today=TODAY) == 1
    for user in (province_user, national):
        response = client_for(user).get("/committees/actions/overdue/")
        rows = response.context["rows"]
        assert [(row.item.pk, row.escalated) for row in rows] == [(items[0].pk, True)]
        assert committees.county_a1.name in response.content.decode()
        assert 'class="badge escalated"' in response.content.decode()


def test_overdue_query_count_does_not_grow_with_rows(
    province_user: User, county_admin: User, held: Meeting, world: World
) -> None:
    client = client_for(province_user)
    _decide(county_admin, held, world.org_a1, SECOND, "یک")
    few = page_queries(client, "/committees/actions/overdue/?all=1")
    for n in range(6):
        _decide(county_admin, held, world.org_a1, SECOND, f"مورد {n}")

    assert page_queries(client, "/committees/actions/overdue/?all=1") == few
    assert len(client.get("/committees/actions/overdue/?all=1").context["rows"]) == 7


def test_secretary_user_runs_meetings_but_does_not_approve(
    admin: User, world: World, committees: Committees, secretary: CommitteeMember
) -> None:
    person = user_create(
        actor=admin,
        username="secretary_a1",
        password=PASSWORD,
        role=Role.SECRETARY,
        organisation=world.org_a1,
        county=world.county_a1,
    )
    client = client_for(person)
    meeting = _meeting(committees.county_a1, SECOND)

    body = client.get(f"/committees/meetings/{meeting.pk}/").content.decode()
    assert 'id="attendance-form"' in body
    assert (
        client.post(
            f"/committees/meetings/{meeting.pk}/attendance/", {f"status_{secretary.pk}": "present"}
        ).status_code
        == 302
    )
    assert client.post(f"/committees/meetings/{meeting.pk}/minutes/", {"text": "متن"}).status_code == 302
    body = client.get(f"/committees/meetings/{meeting.pk}/").content.decode()
    assert 'id="approve-minutes"' not in body
    assert client.post(f"/committees/meetings/{meeting.pk}/minutes/approve/").status_code == 404
    committee_page = client.get(f"/committees/{committees.county_a1.pk}/").content.decode()
    assert 'id="member-form"' not in committee_page
