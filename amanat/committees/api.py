"""The committees API: committees, their meetings, and the action items that follow their decisions.

Every read goes through the committees' selectors, so a committee, meeting or action item outside
the caller's jurisdiction answers 404; every write is one service call. Dates are ISO 8601 Gregorian
(`YYYY-MM-DD`), times `HH:MM`, whatever calendar the pages show.
"""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from amanat.accounts import selectors as accounts_selectors
from amanat.accounts.models import Organisation
from amanat.accounts.permissions import Capability, require
from amanat.committees import selectors, services
from amanat.committees.models import (
    DEPTH,
    ActionItem,
    ActionStatus,
    Attendance,
    AttendanceStatus,
    Committee,
    CommitteeMember,
    Meeting,
    MeetingStatus,
    MemberRole,
    Minutes,
    MinutesStatus,
)

router = Router(tags=["committees"])

ISO_DATES = "Dates are ISO 8601 Gregorian (`YYYY-MM-DD`), times `HH:MM`."


# --- output ----------------------------------------------------------------------------------


class CommitteeOut(Schema):
    id: int
    name: str
    event_id: int
    level: str = Field(description="national, province or county")
    province_id: int | None
    county_id: int | None
    first_meeting_on: dt.date

    @staticmethod
    def resolve_level(obj: Committee) -> str:
        return obj.jurisdiction.level


class CommitteeListOut(CommitteeOut):
    open_items: int = Field(description="Action items still open or in progress")


class MemberOut(Schema):
    id: int
    organisation_id: int
    organisation: str
    role: MemberRole
    representative_id: int | None
    representative: str | None

    @staticmethod
    def resolve_organisation(obj: CommitteeMember) -> str:
        return obj.organisation.name

    @staticmethod
    def resolve_representative(obj: CommitteeMember) -> str | None:
        person = obj.representative
        return None if person is None else (person.get_full_name() or person.username)


class CommitteeDetailOut(CommitteeOut):
    instruction_id: int | None
    terms: str
    regular_interval_days: int
    weekly_from_days_before: int
    daily_from_days_before: int
    daily_until_days_after: int
    meeting_time: dt.time
    members: list[MemberOut]

    @staticmethod
    def resolve_members(obj: Committee, context: dict[str, Any]) -> Any:
        return selectors.committee_members_for(user=context["request"].user, committee=obj)


class MeetingOut(Schema):
    id: int
    committee_id: int
    scheduled_on: dt.date
    starts_at: dt.time
    status: MeetingStatus
    from_cadence: bool
    agenda: str
    location: str
    cancel_reason: str


class AttendanceOut(Schema):
    member_id: int
    organisation: str
    status: AttendanceStatus
    note: str

    @staticmethod
    def resolve_organisation(obj: Attendance) -> str:
        return obj.member.organisation.name


class MinutesOut(Schema):
    version: int
    status: MinutesStatus
    text: str
    approved_at: dt.datetime | None


class ActionItemOut(Schema):
    id: int
    committee_id: int
    decision_id: int | None
    meeting_id: int | None
    title: str
    responsible_organisation_id: int
    responsible_organisation: str
    raised_on: dt.date
    due_on: dt.date
    status: ActionStatus
    cancel_reason: str
    completed_on: dt.date | None
    overdue: bool = Field(description="Open, and its due date has passed")
    escalated: bool = Field(description="Overdue long enough to have been escalated above its committee")
    province_id: int | None
    county_id: int | None

    @staticmethod
    def resolve_meeting_id(obj: ActionItem) -> int | None:
        decision = obj.decision
        return None if decision is None else decision.meeting_id

    @staticmethod
    def resolve_responsible_organisation_id(obj: ActionItem) -> int:
        return obj.responsible_id

    @staticmethod
    def resolve_responsible_organisation(obj: ActionItem) -> str:
        return obj.responsible.name

    @staticmethod
    def resolve_overdue(obj: ActionItem) -> bool:
        return obj.is_overdue(timezone.localdate())

    @staticmethod
    def resolve_escalated(obj: ActionItem) -> bool:
        return obj.visible_from_depth < DEPTH[obj.jurisdiction.level]


class DecisionOut(Schema):
    id: int
    number: int
    text: str
    action_item: ActionItemOut | None

    @staticmethod
    def resolve_action_item(obj: Any) -> ActionItem | None:
        return getattr(obj, "action_item", None)


class MeetingDetailOut(MeetingOut):
    attendance: list[AttendanceOut]
    minutes: MinutesOut | None = Field(description="The current (newest) version of the minutes")
    decisions: list[DecisionOut]

    @staticmethod
    def resolve_attendance(obj: Meeting) -> Any:
        return selectors.meeting_attendance_for(meeting=obj)

    @staticmethod
    def resolve_minutes(obj: Meeting) -> Minutes | None:
        return selectors.minutes_current_for(meeting=obj)

    @staticmethod
    def resolve_decisions(obj: Meeting) -> Any:
        return selectors.meeting_decisions_for(meeting=obj)


class ProgressNoteOut(Schema):
    id: int
    author: str
    text: str
    status: str = Field(description="The status the item moved to with this note, or empty")
    created_at: dt.datetime

    @staticmethod
    def resolve_author(obj: Any) -> str:
        return str(obj.author.get_full_name() or obj.author.username)


class ActionItemDetailOut(ActionItemOut):
    notes: list[ProgressNoteOut]

    @staticmethod
    def resolve_notes(obj: ActionItem) -> Any:
        return selectors.action_item_notes_for(item=obj)


class ErrorOut(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ErrorsOut(Schema):
    detail: list[ErrorOut]


# --- input -----------------------------------------------------------------------------------


# Database ids: a larger number cannot name a row, and SQLite cannot even compare it.
MAX_ID = 2**63 - 1


class CommitteeFilter(Schema):
    event_id: int | None = Field(None, ge=1, le=MAX_ID)
    q: str = Field("", description="Part of the committee's name")


class MeetingFilter(Schema):
    since: dt.date | None = Field(None, description="On or after this day (YYYY-MM-DD)")
    until: dt.date | None = Field(None, description="On or before this day (YYYY-MM-DD)")


class ActionItemFilter(Schema):
    committee_id: int | None = Field(None, ge=1, le=MAX_ID)
    organisation_id: int | None = Field(None, description="The responsible organisation", ge=1, le=MAX_ID)
    status: ActionStatus | None = None
    open_only: bool = Field(False, description="Only items open or in progress")
    overdue: bool = Field(
        False,
        description="Only overdue items at the caller's level: its own and those escalated to it",
    )


class MeetingIn(Schema):
    scheduled_on: dt.date = Field(description="Within the election event's season (YYYY-MM-DD)")
    starts_at: dt.time | None = Field(None, description="HH:MM; the committee's meeting time if left out")
    agenda: str = ""
    location: str = ""


class AttendanceEntryIn(Schema):
    member_id: int = Field(description="A seat on the meeting's committee (see the committee's members)")
    status: AttendanceStatus
    note: str = Field("", max_length=200)


class AttendanceIn(Schema):
    entries: list[AttendanceEntryIn] = Field(min_length=1, description="One entry per seat to record")


class DecisionIn(Schema):
    text: str
    responsible_organisation_id: int
    due_on: dt.date = Field(description="On or after the meeting's day (YYYY-MM-DD)")
    title: str = Field("", description="The action's short title; the decision's text if left out")


class ActionItemUpdateIn(Schema):
    note: str = ""
    status: ActionStatus | None = Field(None, description="The status to move to, if it changes")
    cancel_reason: str = Field("", description="Required when moving to cancelled")


def _organisation(request: HttpRequest, organisation_id: int, field: str) -> Organisation:
    """An organisation the caller may name: one serving its jurisdiction; others are unknown."""
    organisation = (
        accounts_selectors.organisation_list_for(user=request.user).filter(pk=organisation_id).first()
    )
    if organisation is None:
        raise ValidationError({field: _("Unknown organisation, or one outside your jurisdiction.")})
    return organisation


def _renamed(exc: ValidationError, names: dict[str, str]) -> ValidationError:
    """A service's error with its field names as the API's payload calls them."""
    if not hasattr(exc, "error_dict"):
        return ValidationError(exc.error_list)
    return ValidationError({names.get(field, field): errors for field, errors in exc.error_dict.items()})


# --- committees ------------------------------------------------------------------------------


@router.get(
    "/committees",
    response=list[CommitteeListOut],
    summary="Committees within your jurisdiction",
    description=f"The nation's committee first, then the provinces', then the counties'. {ISO_DATES}",
)
@paginate(LimitOffsetPagination)
def committee_list(request: HttpRequest, filters: Query[CommitteeFilter]) -> Any:
    return selectors.committee_list_for(user=request.user, event_id=filters.event_id, q=filters.q)


@router.get(
    "/committees/{committee_id}",
    response=CommitteeDetailOut,
    summary="A committee with its members and meeting cadence",
    description=ISO_DATES,
)
def committee_detail(request: HttpRequest, committee_id: int) -> Any:
    committee = selectors.committee_get_for(user=request.user, committee_id=committee_id)
    return committee


@router.get(
    "/committees/{committee_id}/meetings",
    response=list[MeetingOut],
    summary="A committee's meetings in date order",
    description=f"`since` and `until` bound the meeting day, both inclusive. {ISO_DATES}",
)
@paginate(LimitOffsetPagination)
def committee_meeting_list(request: HttpRequest, committee_id: int, filters: Query[MeetingFilter]) -> Any:
    committee = selectors.committee_get_for(user=request.user, committee_id=committee_id)
    return selectors.meeting_list_for(
        user=request.user, committee=committee, since=filters.since, until=filters.until
    )


@router.post(
    "/committees/{committee_id}/meetings",
    response={201: MeetingOut, 400: ErrorsOut},
    summary="Add a meeting by hand (an extraordinary session)",
    description=f"The day must fall within the election event's season. {ISO_DATES}",
)
def meeting_create(request: HttpRequest, committee_id: int, payload: MeetingIn) -> Any:
    committee = selectors.committee_get_for(user=request.user, committee_id=committee_id)
    meeting = services.meeting_create(actor=request.user, committee=committee, **payload.dict())
    return 201, meeting


# --- meetings --------------------------------------------------------------------------------


@router.get(
    "/meetings/{meeting_id}",
    response=MeetingDetailOut,
    summary="A meeting with its attendance, current minutes and decisions",
    description=ISO_DATES,
)
def meeting_detail(request: HttpRequest, meeting_id: int) -> Any:
    return selectors.meeting_get_for(user=request.user, meeting_id=meeting_id)


@router.post(
    "/meetings/{meeting_id}/attendance",
    response={200: MeetingDetailOut, 400: ErrorsOut},
    summary="Record who attended; the meeting is then held",
    description=(
        "Each entry names a seat (`member_id`) on the meeting's committee; an unknown seat is refused "
        'with the entry\'s position (`loc: ["body", "entries", <index>, "member_id"]`). Attendance is '
        f"recorded on or after the meeting's day. {ISO_DATES}"
    ),
)
def attendance_record(request: HttpRequest, meeting_id: int, payload: AttendanceIn) -> Any:
    meeting = selectors.meeting_get_for(user=request.user, meeting_id=meeting_id)
    require(request.user, Capability.RUN_MEETINGS, within=meeting.jurisdiction)
    seats = {m.pk: m for m in selectors.committee_members_for(user=request.user, committee=meeting.committee)}
    unknown = [
        {
            "loc": ["body", "entries", index, "member_id"],
            "msg": _("Not a member of this meeting's committee."),
            "type": "value_error",
        }
        for index, entry in enumerate(payload.entries)
        if entry.member_id not in seats
    ]
    if unknown:
        return 400, {"detail": unknown}
    entries = [(seats[entry.member_id], str(entry.status), entry.note) for entry in payload.entries]
    try:
        services.attendance_record(actor=request.user, meeting=meeting, entries=entries)
    except ValidationError as exc:
        raise _renamed(exc, {"attendance": "entries"}) from exc
    return 200, selectors.meeting_get_for(user=request.user, meeting_id=meeting.pk)


@router.post(
    "/meetings/{meeting_id}/decisions",
    response={201: ActionItemOut, 400: ErrorsOut},
    summary="Record a decision of a held meeting; answers the action item that follows it",
    description=(
        "The responsible organisation must serve your jurisdiction (see the organisations you can "
        f"choose on the pages). `due_on` cannot fall before the meeting's day. {ISO_DATES}"
    ),
)
def decision_record(request: HttpRequest, meeting_id: int, payload: DecisionIn) -> Any:
    meeting = selectors.meeting_get_for(user=request.user, meeting_id=meeting_id)
    require(request.user, Capability.RUN_MEETINGS, within=meeting.jurisdiction)
    responsible = _organisation(request, payload.responsible_organisation_id, "responsible_organisation_id")
    try:
        item = services.decision_record(
            actor=request.user,
            meeting=meeting,
            text=payload.text,
            responsible=responsible,
            due_on=payload.due_on,
            title=payload.title,
        )
    except ValidationError as exc:
        raise _renamed(exc, {"responsible": "responsible_organisation_id"}) from exc
    return 201, selectors.action_item_get_for(user=request.user, item_id=item.pk)


# --- action items ----------------------------------------------------------------------------


@router.get(
    "/action-items",
    response=list[ActionItemOut],
    summary="Action items within your jurisdiction, earliest due first",
    description=(
        "`overdue=true` keeps the overdue items of your level: your committees' own, and those "
        f"escalated to you from below once their grace period passed. {ISO_DATES}"
    ),
)
@paginate(LimitOffsetPagination)
def action_item_list(request: HttpRequest, filters: Query[ActionItemFilter]) -> Any:
    user = request.user
    committee = None
    if filters.committee_id is not None:
        committee = selectors.committee_get_for(user=user, committee_id=filters.committee_id)
    items = selectors.action_item_list_for(
        user=user,
        committee=committee,
        organisation_id=filters.organisation_id,
        status=filters.status or "",
        open_only=filters.open_only,
    )
    if filters.overdue:
        items = items.filter(pk__in=selectors.action_item_overdue_for(user=user).values("pk"))
    return items


@router.get(
    "/action-items/mine",
    response=list[ActionItemOut],
    summary="What your organisation must do, wherever the committee sits that asked it",
    description=ISO_DATES,
)
@paginate(LimitOffsetPagination)
def action_item_mine(request: HttpRequest) -> Any:
    return selectors.action_item_mine_for(user=request.user)


@router.get(
    "/action-items/{item_id}",
    response=ActionItemDetailOut,
    summary="An action item with its progress notes",
    description=ISO_DATES,
)
def action_item_detail(request: HttpRequest, item_id: int) -> Any:
    return selectors.action_item_get_for(user=request.user, item_id=item_id)


@router.post(
    "/action-items/{item_id}/updates",
    response={200: ActionItemDetailOut, 400: ErrorsOut},
    summary="Add a progress note and/or move the item's status",
    description=(
        "The responsible organisation's people, or the committee's secretariat (and those it was "
        "escalated to), may update an item. Moving to `cancelled` needs `cancel_reason`; a note or a "
        f"status change is required. {ISO_DATES}"
    ),
)
def action_item_update(request: HttpRequest, item_id: int, payload: ActionItemUpdateIn) -> Any:
    item = selectors.action_item_get_for(user=request.user, item_id=item_id)
    services.action_item_update(
        actor=request.user,
        item=item,
        note=payload.note,
        status=payload.status or None,
        cancel_reason=payload.cancel_reason,
    )
    return 200, selectors.action_item_get_for(user=request.user, item_id=item.pk)
