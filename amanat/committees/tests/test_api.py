"""The committees API: scoped reads, one service per write, JSON errors that name the field."""

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from amanat.accounts.models import User
from amanat.accounts.services import api_token_create
from amanat.committees import services
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
)
from amanat.scoping import unscoped
from conftest import Committees, World, page_queries

API = "/api/v1/committees"

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


def _bearer(user: User) -> Client:
    _token, key = api_token_create(actor=user, name="test device")
    return Client(headers={"Authorization": f"Bearer {key}"})


def _post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, body, content_type="application/json")


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def _locs(response: Any, status: int) -> list[list[Any]]:
    assert response.status_code == status, response.content
    return [error["loc"] for error in response.json()["detail"]]


def _meeting(committee: Committee, day: dt.date) -> Meeting:
    with unscoped():
        return Meeting.objects.get(committee=committee, scheduled_on=day, from_cadence=True)


def _count(model: Any, **filters: Any) -> int:
    with unscoped():
        return int(model.objects.filter(**filters).count())


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
    return services.attendance_record(
        actor=county_admin,
        meeting=_meeting(committees.county_a1, FIRST),
        entries=[(secretary, AttendanceStatus.PRESENT, "")],
    )


@pytest.fixture
def item(held: Meeting, world: World, county_admin: User) -> ActionItem:
    """An action of governorate A1, decided at the held meeting and due on 2026-11-15."""
    return services.decision_record(
        actor=county_admin,
        meeting=held,
        text="نصب خط دوم ارتباطی",
        responsible=world.org_a1,
        due_on=dt.date(2026, 11, 15),
    )


# --- committees ------------------------------------------------------------------------------


def test_committee_list_is_scoped_and_filtered(
    county_user: User, province_user: User, committees: Committees, event: Any
) -> None:
    county = _ok(_bearer(county_user).get(f"{API}/committees"))
    assert [c["id"] for c in county["items"]] == [committees.county_a1.pk]
    assert county["items"][0]["level"] == "county"
    assert county["items"][0]["open_items"] == 0

    province = _bearer(province_user)
    listed = _ok(province.get(f"{API}/committees"))["items"]
    assert listed[0]["id"] == committees.province_a.pk  # the province's own committee first
    assert {c["id"] for c in listed} == {
        committees.province_a.pk,
        committees.county_a1.pk,
        committees.county_a2.pk,
    }
    named = _ok(province.get(f"{API}/committees", {"q": committees.county_a2.county.name}))
    assert [c["id"] for c in named["items"]] == [committees.county_a2.pk]
    assert _ok(province.get(f"{API}/committees", {"event_id": event.pk}))["count"] == 3
    assert _ok(province.get(f"{API}/committees", {"event_id": event.pk + 1000}))["count"] == 0


def test_committee_list_pagination(national: User, committees: Committees) -> None:
    client = _bearer(national)
    everything = _ok(client.get(f"{API}/committees", {"limit": 100}))
    assert everything["count"] == 6
    ids = [c["id"] for c in everything["items"]]
    assert ids[0] == committees.national.pk

    first = _ok(client.get(f"{API}/committees", {"limit": 4, "offset": 0}))
    second = _ok(client.get(f"{API}/committees", {"limit": 4, "offset": 4}))

    assert first["count"] == second["count"] == 6
    assert [c["id"] for c in first["items"]] == ids[:4]
    assert [c["id"] for c in second["items"]] == ids[4:]


def test_committee_detail_has_members_and_cadence(
    county_user: User, committees: Committees, secretary: CommitteeMember, world: World, county_admin: User
) -> None:
    body = _ok(_bearer(county_user).get(f"{API}/committees/{committees.county_a1.pk}"))

    assert body["id"] == committees.county_a1.pk
    assert body["name"] == committees.county_a1.name
    assert (body["province_id"], body["county_id"]) == (world.province_a.pk, world.county_a1.pk)
    assert body["first_meeting_on"] == "2026-11-10"
    assert body["terms"].splitlines()[0] == "شناسایی تهدیدات"
    assert {
        key: body[key]
        for key in (
            "regular_interval_days",
            "weekly_from_days_before",
            "daily_from_days_before",
            "daily_until_days_after",
            "meeting_time",
        )
    } == {
        "regular_interval_days": 14,
        "weekly_from_days_before": 56,
        "daily_from_days_before": 7,
        "daily_until_days_after": 3,
        "meeting_time": "10:00:00",
    }
    assert body["members"] == [
        {
            "id": secretary.pk,
            "organisation_id": world.org_a1.pk,
            "organisation": world.org_a1.name,
            "role": "secretary",
            "representative_id": county_admin.pk,
            "representative": county_admin.username,
        }
    ]


def test_committee_meetings_in_date_order_with_bounds(county_user: User, committees: Committees) -> None:
    client = _bearer(county_user)
    url = f"{API}/committees/{committees.county_a1.pk}/meetings"

    bounded = _ok(client.get(url, {"since": "2026-11-10", "until": "2026-11-24"}))
    assert [m["scheduled_on"] for m in bounded["items"]] == ["2026-11-10", "2026-11-24"]
    assert bounded["items"][0]["status"] == "planned"
    assert bounded["items"][0]["from_cadence"] is True

    everything = _ok(client.get(url))
    assert everything["count"] == _count(Meeting, committee=committees.county_a1)
    page = _ok(client.get(url, {"limit": 2, "offset": 1}))
    assert [m["id"] for m in page["items"]] == [m["id"] for m in everything["items"][1:3]]


def test_malformed_date_filter_is_422(county_user: User, committees: Committees) -> None:
    response = _bearer(county_user).get(
        f"{API}/committees/{committees.county_a1.pk}/meetings", {"since": "1405/09/01"}
    )

    assert [loc[-1] for loc in _locs(response, 422)] == ["since"]


# --- meetings --------------------------------------------------------------------------------


def test_meeting_create(county_admin: User, committees: Committees) -> None:
    response = _post(
        _bearer(county_admin),
        f"{API}/committees/{committees.county_a1.pk}/meetings",
        {"scheduled_on": "2026-12-01", "agenda": " جلسه فوق‌العاده ", "location": "فرمانداری"},
    )

    body = _ok(response, 201)
    assert body["scheduled_on"] == "2026-12-01"
    assert body["starts_at"] == "10:00:00"  # the committee's meeting time
    assert (body["agenda"], body["location"], body["from_cadence"]) == ("جلسه فوق‌العاده", "فرمانداری", False)
    with unscoped():
        meeting = Meeting.objects.get(pk=body["id"])
    assert (meeting.committee_id, meeting.scheduled_on) == (committees.county_a1.pk, dt.date(2026, 12, 1))


def test_meeting_create_with_a_time(county_admin: User, committees: Committees) -> None:
    response = _post(
        _bearer(county_admin),
        f"{API}/committees/{committees.county_a1.pk}/meetings",
        {"scheduled_on": "2026-12-02", "starts_at": "16:30"},
    )

    assert _ok(response, 201)["starts_at"] == "16:30:00"


def test_meeting_outside_the_event_season_is_400_on_scheduled_on(
    county_admin: User, committees: Committees
) -> None:
    before = _count(Meeting, committee=committees.county_a1)

    response = _post(
        _bearer(county_admin),
        f"{API}/committees/{committees.county_a1.pk}/meetings",
        {"scheduled_on": "2026-10-01"},
    )

    assert _locs(response, 400) == [["body", "scheduled_on"]]
    assert _count(Meeting, committee=committees.county_a1) == before


@pytest.mark.parametrize("value", ["1405/09/10", "2026-13-01", "tomorrow"])
def test_meeting_with_a_malformed_date_is_422(county_admin: User, committees: Committees, value: str) -> None:
    response = _post(
        _bearer(county_admin), f"{API}/committees/{committees.county_a1.pk}/meetings", {"scheduled_on": value}
    )

    assert [loc[-1] for loc in _locs(response, 422)] == ["scheduled_on"]


def test_meeting_detail(
    county_user: User, county_admin: User, held: Meeting, item: ActionItem, secretary: CommitteeMember
) -> None:
    services.minutes_save(actor=county_admin, meeting=held, text="صورتجلسه")

    body = _ok(_bearer(county_user).get(f"{API}/meetings/{held.pk}"))

    assert (body["id"], body["scheduled_on"], body["status"]) == (held.pk, "2026-11-10", "held")
    assert body["attendance"] == [
        {
            "member_id": secretary.pk,
            "organisation": secretary.organisation.name,
            "status": "present",
            "note": "",
        }
    ]
    assert body["minutes"]["version"] == 1
    assert body["minutes"]["status"] == "draft"
    assert body["minutes"]["text"] == "صورتجلسه"
    [decision] = body["decisions"]
    assert (decision["number"], decision["text"]) == (1, "نصب خط دوم ارتباطی")
    assert decision["action_item"]["id"] == item.pk
    assert decision["action_item"]["meeting_id"] == held.pk


def test_meeting_detail_without_minutes(county_user: User, committees: Committees) -> None:
    meeting = _meeting(committees.county_a1, NEXT)

    body = _ok(_bearer(county_user).get(f"{API}/meetings/{meeting.pk}"))

    assert (body["minutes"], body["attendance"], body["decisions"]) == (None, [], [])


def test_attendance_marks_the_meeting_held(
    county_admin: User, committees: Committees, secretary: CommitteeMember, world: World, admin: User
) -> None:
    chair = services.committee_member_add(
        actor=admin, committee=committees.county_a1, organisation=world.org_a, role="chair"
    )
    meeting = _meeting(committees.county_a1, SECOND)

    response = _post(
        _bearer(county_admin),
        f"{API}/meetings/{meeting.pk}/attendance",
        {
            "entries": [
                {"member_id": secretary.pk, "status": "present"},
                {"member_id": chair.pk, "status": "represented", "note": "معاون"},
            ]
        },
    )

    body = _ok(response)
    assert body["status"] == "held"
    assert {(a["member_id"], a["status"], a["note"]) for a in body["attendance"]} == {
        (secretary.pk, "present", ""),
        (chair.pk, "represented", "معاون"),
    }
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.HELD


def test_attendance_with_an_unknown_member_names_the_entry(
    county_admin: User, committees: Committees, secretary: CommitteeMember, world: World, admin: User
) -> None:
    elsewhere = services.committee_member_add(
        actor=admin, committee=committees.county_a2, organisation=world.org_a, role="member"
    )
    meeting = _meeting(committees.county_a1, SECOND)

    response = _post(
        _bearer(county_admin),
        f"{API}/meetings/{meeting.pk}/attendance",
        {
            "entries": [
                {"member_id": secretary.pk, "status": "present"},
                {"member_id": elsewhere.pk, "status": "present"},
                {"member_id": 987654, "status": "absent"},
            ]
        },
    )

    assert _locs(response, 400) == [["body", "entries", 1, "member_id"], ["body", "entries", 2, "member_id"]]
    assert _count(Attendance, meeting=meeting) == 0
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.PLANNED


def test_attendance_with_an_unknown_status_is_422(
    county_admin: User, committees: Committees, secretary: CommitteeMember
) -> None:
    meeting = _meeting(committees.county_a1, SECOND)

    response = _post(
        _bearer(county_admin),
        f"{API}/meetings/{meeting.pk}/attendance",
        {"entries": [{"member_id": secretary.pk, "status": "asleep"}]},
    )

    assert [loc[-1] for loc in _locs(response, 422)] == ["status"]
    assert _count(Attendance, meeting=meeting) == 0


def test_attendance_without_entries_is_422(county_admin: User, committees: Committees) -> None:
    meeting = _meeting(committees.county_a1, SECOND)

    response = _post(_bearer(county_admin), f"{API}/meetings/{meeting.pk}/attendance", {"entries": []})

    assert [loc[-1] for loc in _locs(response, 422)] == ["entries"]
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.PLANNED


def test_attendance_for_a_future_meeting_is_400(
    county_admin: User, committees: Committees, secretary: CommitteeMember
) -> None:
    meeting = _meeting(committees.county_a1, NEXT)

    response = _post(
        _bearer(county_admin),
        f"{API}/meetings/{meeting.pk}/attendance",
        {"entries": [{"member_id": secretary.pk, "status": "present"}]},
    )

    assert _locs(response, 400) == [["body"]]
    assert _count(Attendance, meeting=meeting) == 0


# --- decisions -------------------------------------------------------------------------------


def test_decision_answers_its_action_item(county_admin: User, held: Meeting, world: World) -> None:
    response = _post(
        _bearer(county_admin),
        f"{API}/meetings/{held.pk}/decisions",
        {
            "text": "تأمین برق اضطراری شعب",
            "title": "برق اضطراری",
            "responsible_organisation_id": world.org_a.pk,
            "due_on": "2026-12-20",
        },
    )

    body = _ok(response, 201)
    assert body["title"] == "برق اضطراری"
    assert body["responsible_organisation_id"] == world.org_a.pk
    assert (body["raised_on"], body["due_on"], body["status"]) == ("2026-11-10", "2026-12-20", "open")
    assert (body["meeting_id"], body["overdue"], body["escalated"]) == (held.pk, False, False)
    with unscoped():
        saved = ActionItem.objects.select_related("decision").get(pk=body["id"])
    assert saved.decision is not None
    assert (saved.decision.meeting_id, saved.decision.text) == (held.pk, "تأمین برق اضطراری شعب")
    assert body["decision_id"] == saved.decision.pk


def test_decision_due_before_its_meeting_is_400_on_due_on(
    county_admin: User, held: Meeting, world: World
) -> None:
    response = _post(
        _bearer(county_admin),
        f"{API}/meetings/{held.pk}/decisions",
        {"text": "x", "responsible_organisation_id": world.org_a1.pk, "due_on": "2026-11-09"},
    )

    assert _locs(response, 400) == [["body", "due_on"]]
    assert _count(Decision, meeting=held) == 0


@pytest.mark.parametrize("organisation", ["org_b1", "missing"])
def test_decision_for_an_organisation_out_of_reach_is_400(
    county_admin: User, held: Meeting, world: World, organisation: str
) -> None:
    organisation_id = getattr(world, organisation).pk if organisation != "missing" else 987654

    response = _post(
        _bearer(county_admin),
        f"{API}/meetings/{held.pk}/decisions",
        {"text": "x", "responsible_organisation_id": organisation_id, "due_on": "2026-11-20"},
    )

    assert _locs(response, 400) == [["body", "responsible_organisation_id"]]
    assert _count(Decision, meeting=held) == 0


def test_decision_with_an_organisation_not_serving_the_committee_names_the_payload_field(
    national: User, held: Meeting, world: World
) -> None:
    # The national user may name governorate B1, but it does not serve county A1's committee.
    response = _post(
        _bearer(national),
        f"{API}/meetings/{held.pk}/decisions",
        {"text": "x", "responsible_organisation_id": world.org_b1.pk, "due_on": "2026-11-20"},
    )

    assert _locs(response, 400) == [["body", "responsible_organisation_id"]]


def test_decision_for_a_meeting_not_held_is_400(
    county_admin: User, committees: Committees, world: World
) -> None:
    meeting = _meeting(committees.county_a1, SECOND)

    response = _post(
        _bearer(county_admin),
        f"{API}/meetings/{meeting.pk}/decisions",
        {"text": "x", "responsible_organisation_id": world.org_a1.pk, "due_on": "2026-11-30"},
    )

    assert _locs(response, 400) == [["body", "meeting"]]
    assert _count(Decision, meeting=meeting) == 0


def test_decision_with_a_malformed_due_date_is_422(county_admin: User, held: Meeting, world: World) -> None:
    response = _post(
        _bearer(county_admin),
        f"{API}/meetings/{held.pk}/decisions",
        {"text": "x", "responsible_organisation_id": world.org_a1.pk, "due_on": "20/11/2026"},
    )

    assert [loc[-1] for loc in _locs(response, 422)] == ["due_on"]


@pytest.mark.parametrize("persona", ["county_viewer", "county_user", "auditor"])
def test_decision_by_a_role_that_does_not_run_meetings_is_403(
    request: pytest.FixtureRequest, persona: str, held: Meeting, world: World
) -> None:
    user = request.getfixturevalue(persona)

    response = _post(
        _bearer(user),
        f"{API}/meetings/{held.pk}/decisions",
        {"text": "x", "responsible_organisation_id": world.org_a1.pk, "due_on": "2026-11-20"},
    )

    assert response.status_code == 403, response.content
    assert _count(Decision, meeting=held) == 0


def test_viewer_may_not_create_meetings_or_record_attendance(
    county_viewer: User, committees: Committees, secretary: CommitteeMember
) -> None:
    client = _bearer(county_viewer)
    meeting = _meeting(committees.county_a1, SECOND)

    created = _post(
        client, f"{API}/committees/{committees.county_a1.pk}/meetings", {"scheduled_on": "2026-12-01"}
    )
    attended = _post(
        client,
        f"{API}/meetings/{meeting.pk}/attendance",
        {"entries": [{"member_id": secretary.pk, "status": "present"}]},
    )

    assert (created.status_code, attended.status_code) == (403, 403)
    assert _count(Meeting, committee=committees.county_a1, from_cadence=False) == 0
    assert _count(Attendance, meeting=meeting) == 0


# --- action items ----------------------------------------------------------------------------


def test_action_item_list_and_filters(
    county_admin: User, held: Meeting, item: ActionItem, world: World, committees: Committees
) -> None:
    other = services.decision_record(
        actor=county_admin,
        meeting=held,
        text="آموزش عوامل",
        responsible=world.org_a,
        due_on=dt.date(2026, 12, 20),
    )
    services.action_item_update(actor=county_admin, item=other, status=ActionStatus.DONE)
    client = _bearer(county_admin)

    def ids(**filters: Any) -> list[int]:
        return [i["id"] for i in _ok(client.get(f"{API}/action-items", filters))["items"]]

    assert ids() == [item.pk, other.pk]  # earliest due first
    assert ids(organisation_id=world.org_a.pk) == [other.pk]
    assert ids(status="done") == [other.pk]
    assert ids(open_only="true") == [item.pk]
    assert ids(committee_id=committees.county_a1.pk) == [item.pk, other.pk]
    assert ids(overdue="true") == [item.pk]  # due 2026-11-15, before today
    page = _ok(client.get(f"{API}/action-items", {"limit": 1, "offset": 1}))
    assert (page["count"], [i["id"] for i in page["items"]]) == (2, [other.pk])


def test_action_item_list_with_an_unknown_status_is_422(county_admin: User, committees: Committees) -> None:
    response = _bearer(county_admin).get(f"{API}/action-items", {"status": "lost"})

    assert [loc[-1] for loc in _locs(response, 422)] == ["status"]


def test_action_item_list_filtered_by_a_committee_out_of_reach_is_404(
    outsider: User, committees: Committees
) -> None:
    response = _bearer(outsider).get(f"{API}/action-items", {"committee_id": committees.county_a1.pk})

    assert response.status_code == 404


def test_overdue_filter_shows_escalated_items_to_the_province(
    province_user: User, county_admin: User, item: ActionItem, settings: Any
) -> None:
    settings.ACTION_ITEM_ESCALATION_GRACE_DAYS = 3
    province = _bearer(province_user)
    url = f"{API}/action-items"

    assert [i["id"] for i in _ok(province.get(url))["items"]] == [item.pk]  # in reach, but...
    assert _ok(province.get(url, {"overdue": "true"}))["items"] == []  # ...not escalated yet

    assert services.action_items_escalate(today=TODAY) == 1

    [escalated] = _ok(province.get(url, {"overdue": "true"}))["items"]
    assert escalated["id"] == item.pk
    assert (escalated["overdue"], escalated["escalated"]) == (True, True)
    county = _ok(_bearer(county_admin).get(url, {"overdue": "true"}))["items"]
    assert [i["id"] for i in county] == [item.pk]


def test_overdue_filter_leaves_out_items_not_yet_due(county_admin: User, held: Meeting, world: World) -> None:
    services.decision_record(
        actor=county_admin, meeting=held, text="بعداً", responsible=world.org_a1, due_on=dt.date(2026, 12, 20)
    )

    response = _bearer(county_admin).get(f"{API}/action-items", {"overdue": "true"})

    assert _ok(response)["count"] == 0


def test_my_action_items(county_user: User, outsider: User, item: ActionItem) -> None:
    mine = _ok(_bearer(county_user).get(f"{API}/action-items/mine"))

    assert [i["id"] for i in mine["items"]] == [item.pk]
    assert mine["items"][0]["overdue"] is True
    assert _ok(_bearer(outsider).get(f"{API}/action-items/mine"))["count"] == 0


def test_action_item_detail_with_notes(county_user: User, item: ActionItem) -> None:
    services.action_item_update(
        actor=county_user, item=item, note="در حال پیگیری", status=ActionStatus.IN_PROGRESS
    )

    body = _ok(_bearer(county_user).get(f"{API}/action-items/{item.pk}"))

    assert (body["id"], body["status"], body["due_on"]) == (item.pk, "in_progress", "2026-11-15")
    assert [(n["author"], n["text"], n["status"]) for n in body["notes"]] == [
        ("county_a1", "در حال پیگیری", "in_progress")
    ]


def test_action_item_update_by_the_responsible_organisation(county_user: User, item: ActionItem) -> None:
    response = _post(
        _bearer(county_user), f"{API}/action-items/{item.pk}/updates", {"note": "انجام شد", "status": "done"}
    )

    body = _ok(response)
    assert (body["status"], body["completed_on"], body["overdue"]) == ("done", "2026-11-30", False)
    assert [n["text"] for n in body["notes"]] == ["انجام شد"]
    item.refresh_from_db()
    assert item.status == ActionStatus.DONE


def test_action_item_cancel_needs_a_reason(county_admin: User, item: ActionItem) -> None:
    response = _post(_bearer(county_admin), f"{API}/action-items/{item.pk}/updates", {"status": "cancelled"})

    assert _locs(response, 400) == [["body", "cancel_reason"]]
    item.refresh_from_db()
    assert item.status == ActionStatus.OPEN


def test_action_item_update_with_nothing_to_say_is_400(county_admin: User, item: ActionItem) -> None:
    response = _post(_bearer(county_admin), f"{API}/action-items/{item.pk}/updates", {})

    assert _locs(response, 400) == [["body", "note"]]


def test_action_item_update_by_a_viewer_is_403(county_viewer: User, item: ActionItem) -> None:
    response = _post(_bearer(county_viewer), f"{API}/action-items/{item.pk}/updates", {"note": "x"})

    assert response.status_code == 403
    item.refresh_from_db()
    assert item.notes.count() == 0


# --- reach and authentication ----------------------------------------------------------------


def _paths(committees: Committees, meeting: Meeting, item: ActionItem) -> dict[str, str]:
    return {
        "committee": f"{API}/committees/{committees.county_a1.pk}",
        "meetings": f"{API}/committees/{committees.county_a1.pk}/meetings",
        "meeting": f"{API}/meetings/{meeting.pk}",
        "item": f"{API}/action-items/{item.pk}",
    }


def test_another_jurisdictions_objects_are_404(
    outsider: User, committees: Committees, held: Meeting, item: ActionItem, world: World, secretary: Any
) -> None:
    client = _bearer(outsider)
    paths = _paths(committees, held, item)

    for url in paths.values():
        assert client.get(url).status_code == 404, url
    writes = {
        f"{paths['meetings']}": {"scheduled_on": "2026-12-01"},
        f"{paths['meeting']}/attendance": {"entries": [{"member_id": secretary.pk, "status": "present"}]},
        f"{paths['meeting']}/decisions": {
            "text": "x",
            "responsible_organisation_id": world.org_b1.pk,
            "due_on": "2026-11-20",
        },
        f"{paths['item']}/updates": {"note": "x"},
    }
    for url, body in writes.items():
        response = _post(client, url, body)
        assert response.status_code == 404, (url, response.content)
        assert response.json() == {"detail": "Not found."}
    assert _ok(client.get(f"{API}/committees"))["items"][0]["id"] == committees.county_b1.pk
    assert _ok(client.get(f"{API}/action-items"))["count"] == 0


def test_missing_objects_are_404(national: User, committees: Committees) -> None:
    client = _bearer(national)

    for url in (f"{API}/committees/987654", f"{API}/meetings/987654", f"{API}/action-items/987654"):
        assert client.get(url).status_code == 404, url


def test_without_authentication_every_endpoint_is_401(
    committees: Committees, held: Meeting, item: ActionItem
) -> None:
    paths = _paths(committees, held, item)
    anonymous = Client()
    bad_token = Client(headers={"Authorization": "Bearer amn_not-a-token"})
    reads = [f"{API}/committees", f"{API}/action-items", f"{API}/action-items/mine", *paths.values()]
    writes = [
        paths["meetings"],
        f"{paths['meeting']}/attendance",
        f"{paths['meeting']}/decisions",
        f"{paths['item']}/updates",
    ]

    for client in (anonymous, bad_token):
        for url in reads:
            assert client.get(url).status_code == 401, url
        for url in writes:
            assert _post(client, url, {}).status_code == 401, url


def test_session_authentication_works_too(county_user: User, committees: Committees) -> None:
    client = Client()
    client.force_login(county_user)

    assert _ok(client.get(f"{API}/committees"))["count"] == 1


def test_openapi_schema_lists_the_committee_operations(county_user: User) -> None:
    client = Client()
    client.force_login(county_user)

    schema = _ok(client.get("/api/v1/openapi.json"))

    paths = {path for path in schema["paths"] if path.startswith(API)}
    assert paths == {
        f"{API}/committees",
        f"{API}/committees/{{committee_id}}",
        f"{API}/committees/{{committee_id}}/meetings",
        f"{API}/meetings/{{meeting_id}}",
        f"{API}/meetings/{{meeting_id}}/attendance",
        f"{API}/meetings/{{meeting_id}}/decisions",
        f"{API}/action-items",
        f"{API}/action-items/mine",
        f"{API}/action-items/{{item_id}}",
        f"{API}/action-items/{{item_id}}/updates",
    }
    assert (
        "Gregorian" in schema["paths"][f"{API}/committees/{{committee_id}}/meetings"]["post"]["description"]
    )


def test_lists_and_details_do_not_grow_their_queries_with_their_rows(
    county_admin: User, held: Meeting, item: ActionItem, world: World, committees: Committees, admin: User
) -> None:
    client = _bearer(county_admin)
    urls = [
        f"{API}/action-items",
        f"{API}/action-items?overdue=true",
        f"{API}/committees/{committees.county_a1.pk}",
        f"{API}/meetings/{held.pk}",
        f"{API}/action-items/{item.pk}",
    ]
    client.get(f"{API}/committees")  # the token's first use is recorded once; leave it out of the counts
    before = [page_queries(client, url) for url in urls]
    for n in range(3):
        more = services.decision_record(
            actor=county_admin, meeting=held, text=f"مصوبه {n}", responsible=world.org_a, due_on=FIRST
        )
        services.action_item_update(actor=county_admin, item=item, note=f"یادداشت {n}")
        services.action_item_update(
            actor=county_admin, item=more, note="آغاز", status=ActionStatus.IN_PROGRESS
        )
    services.committee_member_add(actor=admin, committee=committees.county_a1, organisation=world.org_a)

    assert [page_queries(client, url) for url in urls] == before


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/committees/committees?event_id=99999999999999999999", "event_id"),
        ("/api/v1/committees/action-items?organisation_id=99999999999999999999", "organisation_id"),
        ("/api/v1/committees/action-items?committee_id=0", "committee_id"),
    ],
)
def test_out_of_range_ids_are_refused_naming_the_field(
    national: Any, committees: Any, path: str, field: str
) -> None:
    response = _bearer(national).get(path)
    assert response.status_code == 422
    assert field in {str(part) for error in response.json()["detail"] for part in error["loc"]}


def test_a_number_too_large_for_the_database_is_a_422_anywhere_in_the_api(
    county_user: Any, world: Any
) -> None:
    response = _bearer(county_user).get("/api/v1/geography/stations?county_id=99999999999999999999")
    # SQLite cannot compare such a number (422 from the API's handler); PostgreSQL finds nothing. Never a 500.
    assert response.status_code in (200, 422)
    if response.status_code == 200:
        assert response.json()["items"] == []
