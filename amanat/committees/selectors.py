"""Reads of committees, scoped to the caller's jurisdiction; missing and forbidden both raise Http404."""

import datetime as dt
import difflib
from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from amanat.committees.models import (
    DEPTH,
    OPEN_STATUSES,
    ActionItem,
    Attendance,
    Committee,
    CommitteeMember,
    Decision,
    Instruction,
    Meeting,
    Minutes,
    ProgressNote,
)
from amanat.scoping import jurisdiction_of, scoped_to


def _get_or_404(queryset: QuerySet[Any], pk: Any) -> Any:
    try:
        return queryset.get(pk=int(pk))
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def instruction_list_for(*, user: Any, event_id: Any = None) -> QuerySet[Instruction]:
    """National instructions (every jurisdiction reads the template it works from)."""
    jurisdiction_of(user)
    instructions = Instruction.objects.select_related("event")
    if event_id not in (None, ""):
        instructions = instructions.filter(event_id=event_id)
    return instructions.order_by("-created_at")


def committee_list_for(*, user: Any, event_id: Any = None, q: str = "") -> QuerySet[Committee]:
    """Committees within the caller's jurisdiction, with how many open action items each has."""
    with scoped_to(user):
        committees = Committee.objects.select_related("event", "province", "county").annotate(
            open_items=Count("action_items", filter=Q(action_items__status__in=OPEN_STATUSES))
        )
        if event_id not in (None, ""):
            committees = committees.filter(event_id=event_id)
        if q:
            committees = committees.filter(name__icontains=q.strip())
        # The nation's committee first, then each province's, then the counties', by province and name.
        at_county = ExpressionWrapper(Q(county__isnull=False), output_field=BooleanField())
        return committees.order_by(at_county, F("province__name").asc(nulls_first=True), "name")


def committee_get_for(*, user: Any, committee_id: Any) -> Committee:
    """One committee, if the caller's jurisdiction reaches it."""
    with scoped_to(user):
        return _get_or_404(
            Committee.objects.select_related("event", "instruction", "province", "county"), committee_id
        )


def committee_members_for(*, user: Any, committee: Committee) -> QuerySet[CommitteeMember]:
    """A committee's seats, chair and secretary first."""
    with scoped_to(user):
        return (
            CommitteeMember.objects.filter(committee=committee)
            .select_related("organisation", "representative")
            .order_by("role", "organisation__name")
        )


def committee_member_get_for(*, user: Any, member_id: Any) -> CommitteeMember:
    """One seat on a committee, if the caller's jurisdiction reaches the committee."""
    with scoped_to(user):
        return _get_or_404(CommitteeMember.objects.select_related("committee", "organisation"), member_id)


@dataclass(frozen=True)
class TermsLine:
    kind: str  # "same", "added", "removed"
    text: str


def committee_terms_diff(*, committee: Committee) -> list[TermsLine]:
    """How the committee's localised terms differ from the instruction, line by line."""
    template = (committee.instruction.duties if committee.instruction else "").splitlines()
    local = committee.terms.splitlines()
    lines: list[TermsLine] = []
    for row in difflib.ndiff(template, local):
        code, text = row[:2], row[2:]
        if code == "  ":
            lines.append(TermsLine("same", text))
        elif code == "+ ":
            lines.append(TermsLine("added", text))
        elif code == "- ":
            lines.append(TermsLine("removed", text))
    return lines


def meeting_list_for(
    *,
    user: Any,
    committee: Committee | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[Meeting]:
    """Meetings within the caller's jurisdiction, in date order."""
    with scoped_to(user):
        meetings = Meeting.objects.select_related("committee")
        if committee is not None:
            meetings = meetings.filter(committee=committee)
        if since is not None:
            meetings = meetings.filter(scheduled_on__gte=since)
        if until is not None:
            meetings = meetings.filter(scheduled_on__lte=until)
        return meetings.order_by("scheduled_on", "starts_at", "pk")


def meeting_get_for(*, user: Any, meeting_id: Any) -> Meeting:
    """One meeting, if the caller's jurisdiction reaches it."""
    with scoped_to(user):
        return _get_or_404(
            Meeting.objects.select_related("committee__event", "committee__instruction"), meeting_id
        )


def minutes_current_for(*, meeting: Meeting) -> Minutes | None:
    """The newest version of a meeting's minutes (the meeting was reached through a scoped read)."""
    return Minutes.objects.filter(meeting=meeting).select_related("approved_by").order_by("-version").first()


def meeting_attendance_for(*, meeting: Meeting) -> QuerySet[Attendance]:
    """Who attended a meeting (the meeting was reached through a scoped read)."""
    return Attendance.objects.filter(meeting=meeting).select_related("member__organisation")


def meeting_decisions_for(*, meeting: Meeting) -> QuerySet[Decision]:
    """A meeting's decisions in order, each with its action item and the organisation responsible."""
    return (
        Decision.objects.filter(meeting=meeting).select_related("action_item__responsible").order_by("number")
    )


def meeting_carried_over_for(*, user: Any, meeting: Meeting) -> QuerySet[ActionItem]:
    """Action items raised before this meeting and not done by its day: its carried-over agenda."""
    with scoped_to(user):
        return (
            ActionItem.objects.filter(committee=meeting.committee, raised_on__lt=meeting.scheduled_on)
            .filter(Q(status__in=OPEN_STATUSES) | Q(completed_on__gt=meeting.scheduled_on))
            .exclude(status="cancelled")
            .select_related("responsible")
            .order_by("due_on", "pk")
        )


def action_item_list_for(
    *,
    user: Any,
    committee: Committee | None = None,
    organisation_id: Any = None,
    status: str = "",
    open_only: bool = False,
) -> QuerySet[ActionItem]:
    """Action items within the caller's jurisdiction, filtered, earliest due first."""
    with scoped_to(user):
        items = ActionItem.objects.select_related("responsible", "committee", "decision__meeting")
        if committee is not None:
            items = items.filter(committee=committee)
        if organisation_id not in (None, ""):
            items = items.filter(responsible_id=organisation_id)
        if status:
            items = items.filter(status=status)
        if open_only:
            items = items.filter(status__in=OPEN_STATUSES)
        return items.order_by("due_on", "pk")


def action_item_mine_for(*, user: Any) -> QuerySet[ActionItem]:
    """What the caller's organisation must do, asked by a committee above, at or below the caller.

    A national organisation's people in one county must not see what another county asked of it.
    """
    jurisdiction = jurisdiction_of(user)
    if not user.organisation_id:
        return ActionItem.objects.none()
    return (
        ActionItem.objects.with_scopes_disabled()
        .filter(jurisdiction.related_q(), responsible_id=user.organisation_id)
        .select_related("committee", "responsible", "decision__meeting")
        .order_by("status", "due_on", "pk")
    )


def action_item_get_for(*, user: Any, item_id: Any) -> ActionItem:
    """One action item: within the caller's jurisdiction, or owned by the caller's organisation."""
    with scoped_to(user):
        visible = (
            ActionItem.objects.filter(pk=item_id) if str(item_id).isdigit() else ActionItem.objects.none()
        )
        if not visible.exists() and user.organisation_id:
            visible = (
                action_item_mine_for(user=user).filter(pk=item_id) if str(item_id).isdigit() else visible
            )
        return _get_or_404(visible.select_related("responsible", "committee", "decision__meeting"), item_id)


def action_item_overdue_for(
    *, user: Any, today: dt.date | None = None, include_unescalated: bool = False
) -> QuerySet[ActionItem]:
    """Overdue action items of the caller's level, and those its child jurisdictions escalated to it."""
    today = today or timezone.localdate()
    jurisdiction = jurisdiction_of(user)
    with scoped_to(user):
        items = ActionItem.objects.filter(status__in=OPEN_STATUSES, due_on__lt=today).select_related(
            "responsible", "committee"
        )
        if not include_unescalated:
            items = items.filter(visible_from_depth__lte=DEPTH[jurisdiction.level])
        return items.order_by("due_on", "pk")


def action_item_notes_for(*, item: ActionItem) -> QuerySet[ProgressNote]:
    """An action item's progress notes, oldest first, with their authors (the item was reached scoped)."""
    return ProgressNote.objects.filter(action_item=item).select_related("author").order_by("created_at", "pk")
