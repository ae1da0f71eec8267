"""Writes to committees: every one atomic, permission-checked and audited in its own transaction."""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from amanat.accounts.models import Organisation, User
from amanat.accounts.permissions import Capability, require
from amanat.accounts.services import notification_send_many
from amanat.audit.models import AuditAction
from amanat.audit.services import audit_record, audit_record_many, snapshot
from amanat.committees.cadence import cadence_check, cadence_dates
from amanat.committees.models import (
    CADENCE_FIELDS,
    DEPTH,
    OPEN_STATUSES,
    ActionItem,
    ActionStatus,
    Attendance,
    AttendanceStatus,
    Committee,
    CommitteeMember,
    Decision,
    Instruction,
    Meeting,
    MeetingStatus,
    MemberRole,
    Minutes,
    MinutesStatus,
    ProgressNote,
)
from amanat.elections.models import ContestCounty, ElectionEvent
from amanat.geography.models import County, Province
from amanat.scoping import Jurisdiction, unscoped

NATIONAL = Jurisdiction()


def _committee_name(province: Province | None, county: County | None) -> str:
    # Committee names are data, written in Persian like the geography they name.
    if county is not None:
        return f"کمیته امنیت انتخابات شهرستان {county.name}"
    if province is not None:
        return f"کمیته امنیت انتخابات استان {province.name}"
    return "کمیته امنیت انتخابات کشور"


# --- the national instruction ----------------------------------------------------------------


def instruction_create(
    *, actor: Any, event: ElectionEvent, title: str, duties: str, **cadence: Any
) -> Instruction:
    """Issue the national instruction for an event: the committees' duties and default cadence."""
    require(actor, Capability.ADMINISTER, within=NATIONAL)
    instruction = Instruction(event=event, title=title.strip(), duties=duties.strip(), **cadence)
    cadence_check(instruction.cadence())
    if not instruction.title:
        raise ValidationError({"title": _("This field is required.")})
    if not instruction.duties:
        raise ValidationError({"duties": _("List at least one duty.")})
    with transaction.atomic():
        instruction.save()
        audit_record(actor=actor, action=AuditAction.CREATE, entity=instruction, after=snapshot(instruction))
    return instruction


# --- committees ------------------------------------------------------------------------------


def _planned_days(committee: Committee, *, from_day: dt.date) -> list[dt.date]:
    # Anchored on the first meeting, so re-planning later keeps the same rhythm of days.
    event = committee.event
    days = cadence_dates(
        first_meeting_on=committee.first_meeting_on,
        voting_day=event.voting_day,
        season_ends_on=event.closes_on,
        **committee.cadence(),
    )
    return [day for day in days if day >= from_day]


def _planned_meetings(committee: Committee, *, from_day: dt.date) -> list[Meeting]:
    return [
        Meeting(committee=committee, scheduled_on=day, starts_at=committee.meeting_time)
        for day in _planned_days(committee, from_day=from_day)
    ]


@dataclass(frozen=True)
class CommitteesCreated:
    committees: int
    meetings: int


def committees_create_for_event(
    *, actor: Any, event: ElectionEvent, instruction: Instruction, today: dt.date | None = None
) -> CommitteesCreated:
    """Create, in one action, the committee of every participating county, their provinces and the nation.

    Each starts from the instruction's duties and cadence, with its meeting calendar planned.
    Committees that already exist are left as they are, so the action can be repeated.
    """
    require(actor, Capability.ADMINISTER, within=NATIONAL)
    if instruction.event_id != event.pk:
        raise ValidationError({"instruction": _("The instruction belongs to another election event.")})
    today = today or timezone.localdate()
    first_meeting_on = min(max(event.opens_on, today), event.closes_on)
    with unscoped(), transaction.atomic():
        county_ids = set(
            ContestCounty.objects.filter(contest__event=event).values_list("county_id", flat=True).distinct()
        )
        counties = list(County.objects.filter(pk__in=county_ids).select_related("province"))
        provinces = {county.province_id: county.province for county in counties}
        existing = set(Committee.objects.filter(event=event).values_list("province_id", "county_id"))
        wanted: list[tuple[Province | None, County | None]] = [(None, None)]
        wanted += [(province, None) for province in provinces.values()]
        wanted += [(county.province, county) for county in counties]
        committees = [
            Committee(
                event=event,
                instruction=instruction,
                province=province,
                county=county,
                name=_committee_name(province, county),
                terms=instruction.duties,
                first_meeting_on=first_meeting_on,
                **instruction.cadence(),
            )
            for province, county in wanted
            if (province.pk if province else None, county.pk if county else None) not in existing
        ]
        Committee.objects.bulk_create(committees, batch_size=500)
        # bulk_create returns primary keys on PostgreSQL and SQLite 3.35+, which the meetings need.
        meetings = [
            m for committee in committees for m in _planned_meetings(committee, from_day=first_meeting_on)
        ]
        Meeting.objects.bulk_create(meetings, batch_size=2000)
        audit_record_many(actor=actor, action=AuditAction.CREATE, entities=committees)
    return CommitteesCreated(committees=len(committees), meetings=len(meetings))


def committee_terms_update(*, actor: Any, committee: Committee, terms: str) -> Committee:
    """Localise the committee's terms of reference (بومی‌سازی); the template stays as issued."""
    require(actor, Capability.APPROVE, within=committee.jurisdiction)
    with transaction.atomic():
        before = {"terms": committee.terms}
        committee.terms = terms.strip()
        committee.save(update_fields=["terms"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=committee,
            before=before,
            after={"terms": committee.terms},
        )
    return committee


def committee_member_add(
    *,
    actor: Any,
    committee: Committee,
    organisation: Organisation,
    role: str = MemberRole.MEMBER,
    representative: User | None = None,
) -> CommitteeMember:
    """Seat an organisation on the committee; it must serve the committee's jurisdiction."""
    require(actor, Capability.APPROVE, within=committee.jurisdiction)
    if role not in MemberRole.values:
        raise ValidationError({"role": _("Unknown role.")})
    if not organisation.jurisdiction.covers(committee.jurisdiction):
        raise ValidationError(
            {"organisation": _("The organisation does not serve this committee's jurisdiction.")}
        )
    if representative is not None and representative.organisation_id != organisation.pk:
        raise ValidationError({"representative": _("The representative must belong to the organisation.")})
    member = CommitteeMember(
        committee=committee, organisation=organisation, role=role, representative=representative
    )
    try:
        with transaction.atomic():
            member.save()
            audit_record(actor=actor, action=AuditAction.CREATE, entity=member, after=snapshot(member))
    except IntegrityError as exc:
        taken = CommitteeMember.objects.with_scopes_disabled().filter(committee=committee)
        if taken.filter(organisation=organisation).exists():
            raise ValidationError({"organisation": _("This organisation already has a seat.")}) from exc
        raise ValidationError(
            {"role": _("The committee already has a %(role)s.") % {"role": MemberRole(role).label}}
        ) from exc
    return member


def committee_member_remove(*, actor: Any, member: CommitteeMember) -> None:
    """Take an organisation's seat away (its attendance history goes with it only if never recorded)."""
    require(actor, Capability.APPROVE, within=member.committee.jurisdiction)
    if member.attendance.exists():
        raise ValidationError(
            _("This member has recorded attendance; change its role instead of removing it.")
        )
    with transaction.atomic():
        before, pk, label, jurisdiction = snapshot(member), member.pk, str(member), member.jurisdiction
        member.delete()
        audit_record(
            actor=actor,
            action=AuditAction.DELETE,
            entity_type="committees.CommitteeMember",
            entity_id=pk,
            entity_label=label,
            before=before,
            province_id=jurisdiction.province_id,
            county_id=jurisdiction.county_id,
        )


def _replan(committee: Committee, *, today: dt.date) -> int:
    """Re-plan future cadence meetings; meetings held, cancelled, written up or added by hand stay.

    Untouched planned meetings on a day the new plan keeps stay the same rows (so calendar programs
    see the same events), moved to the new time; those on days it drops are removed; new days are added,
    never on a day that already has a meeting.
    """
    wanted = set(_planned_days(committee, from_day=today))
    with unscoped():
        untouched = (
            Meeting.objects.filter(
                committee=committee, from_cadence=True, status=MeetingStatus.PLANNED, scheduled_on__gte=today
            )
            .exclude(agenda__gt="")
            .filter(minutes_versions__isnull=True, decisions__isnull=True, attendance__isnull=True)
        )
        untouched.exclude(scheduled_on__in=wanted).delete()
        untouched.filter(scheduled_on__in=wanted).exclude(starts_at=committee.meeting_time).update(
            starts_at=committee.meeting_time
        )
        taken = set(Meeting.objects.filter(committee=committee).values_list("scheduled_on", flat=True))
        fresh = [
            Meeting(committee=committee, scheduled_on=day, starts_at=committee.meeting_time)
            for day in sorted(wanted - taken)
        ]
        Meeting.objects.bulk_create(fresh)
        # How many untouched meetings the plan now holds from today, kept or new.
        return int(untouched.filter(scheduled_on__in=wanted).count())


def cadence_update(
    *, actor: Any, committee: Committee, today: dt.date | None = None, **params: Any
) -> Committee:
    """Change the meeting cadence; future planned meetings are re-planned, held ones never change."""
    require(actor, Capability.APPROVE, within=committee.jurisdiction)
    unknown = set(params) - set(CADENCE_FIELDS) - {"first_meeting_on"}
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in sorted(unknown)})
    merged = {**committee.cadence(), **{k: v for k, v in params.items() if k in CADENCE_FIELDS}}
    cadence_check(merged)
    if "first_meeting_on" in params:
        # Re-planning would otherwise put meetings outside the season that meeting_create refuses.
        _check_in_window(committee, params["first_meeting_on"], field="first_meeting_on")
    today = today or timezone.localdate()
    with transaction.atomic():
        before = {**committee.cadence(), "first_meeting_on": committee.first_meeting_on}
        for name, value in params.items():
            setattr(committee, name, value)
        committee.save()
        planned = _replan(committee, today=today)
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=committee,
            before=before,
            after={
                **committee.cadence(),
                "first_meeting_on": committee.first_meeting_on,
                "replanned": planned,
            },
        )
    return committee


# --- meetings, attendance, minutes, decisions ------------------------------------------------


def _check_in_window(committee: Committee, day: dt.date, field: str = "scheduled_on") -> None:
    event = committee.event
    if not event.opens_on <= day <= event.closes_on:
        raise ValidationError(
            {
                field: _("The meeting must fall within the election event's season (%(start)s to %(end)s).")
                % {"start": event.opens_on.isoformat(), "end": event.closes_on.isoformat()}
            }
        )


def meeting_create(
    *,
    actor: Any,
    committee: Committee,
    scheduled_on: dt.date,
    starts_at: dt.time | None = None,
    agenda: str = "",
    location: str = "",
) -> Meeting:
    """Add a meeting by hand (an extraordinary session); it is never moved by re-planning."""
    require(actor, Capability.RUN_MEETINGS, within=committee.jurisdiction)
    _check_in_window(committee, scheduled_on)
    meeting = Meeting(
        committee=committee,
        scheduled_on=scheduled_on,
        starts_at=starts_at or committee.meeting_time,
        agenda=agenda.strip(),
        location=location.strip(),
        from_cadence=False,
    )
    with transaction.atomic():
        meeting.save()
        audit_record(actor=actor, action=AuditAction.CREATE, entity=meeting, after=snapshot(meeting))
    return meeting


def meeting_update(*, actor: Any, meeting: Meeting, agenda: str, location: str) -> Meeting:
    """Set a meeting's agenda and place."""
    require(actor, Capability.RUN_MEETINGS, within=meeting.jurisdiction)
    with transaction.atomic():
        before = snapshot(meeting, ["agenda", "location"])
        meeting.agenda, meeting.location = agenda.strip(), location.strip()
        meeting.save(update_fields=["agenda", "location"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=meeting,
            before=before,
            after=snapshot(meeting, ["agenda", "location"]),
        )
    return meeting


def meeting_cancel(*, actor: Any, meeting: Meeting, reason: str) -> Meeting:
    """Cancel a planned meeting, with the reason."""
    require(actor, Capability.RUN_MEETINGS, within=meeting.jurisdiction)
    if meeting.status != MeetingStatus.PLANNED:
        raise ValidationError(_("Only a planned meeting can be cancelled."))
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for cancelling.")})
    with transaction.atomic():
        meeting.status, meeting.cancel_reason = MeetingStatus.CANCELLED, reason.strip()
        meeting.save(update_fields=["status", "cancel_reason"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=meeting,
            before={"status": "planned"},
            after={"status": "cancelled", "cancel_reason": meeting.cancel_reason},
        )
    return meeting


def attendance_record(
    *, actor: Any, meeting: Meeting, entries: Sequence[tuple[CommitteeMember, str, str]]
) -> Meeting:
    """Record who attended; a meeting with attendance has been held."""
    require(actor, Capability.RUN_MEETINGS, within=meeting.jurisdiction)
    if meeting.status == MeetingStatus.CANCELLED:
        raise ValidationError(_("The meeting was cancelled."))
    if meeting.scheduled_on > timezone.localdate():
        raise ValidationError(_("Attendance can be recorded on or after the meeting's day."))
    for member, status, _note in entries:
        if member.committee_id != meeting.committee_id:
            raise ValidationError({"attendance": _("%s is not a member of this committee.") % member})
        if status not in AttendanceStatus.values:
            raise ValidationError({"attendance": _("Unknown attendance status.")})
    _require_editable(meeting)  # approved minutes fix the attendance they record
    with transaction.atomic():
        for member, status, note in entries:
            Attendance.objects.update_or_create(
                meeting=meeting, member=member, defaults={"status": status, "note": note.strip()[:200]}
            )
        meeting.status = MeetingStatus.HELD
        meeting.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=meeting,
            after={"status": "held", "attendance": {str(m.pk): s for m, s, _n in entries}},
        )
    return meeting


def _current_minutes(meeting: Meeting) -> Minutes | None:
    return Minutes.objects.filter(meeting=meeting).order_by("-version").first()


def _require_editable(meeting: Meeting) -> Minutes | None:
    current = _current_minutes(meeting)
    if current is not None and current.status == MinutesStatus.APPROVED:
        raise ValidationError(_("The minutes are approved and read-only; start a correction to change them."))
    return current


def minutes_save(*, actor: Any, meeting: Meeting, text: str) -> Minutes:
    """Write the draft minutes of a held meeting."""
    require(actor, Capability.RUN_MEETINGS, within=meeting.jurisdiction)
    if meeting.status != MeetingStatus.HELD:
        raise ValidationError(_("Record the attendance first: minutes belong to a held meeting."))
    with transaction.atomic():
        current = _require_editable(meeting)
        before = None if current is None else {"text": current.text}
        minutes = current or Minutes(meeting=meeting, version=1)
        minutes.text = text.strip()
        minutes.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE if current else AuditAction.CREATE,
            entity=minutes,
            before=before,
            after={"text": minutes.text, "version": minutes.version},
        )
    return minutes


def minutes_approve(*, actor: Any, meeting: Meeting) -> Minutes:
    """Approve the current minutes; from now on they, and the meeting's decisions, are read-only."""
    require(actor, Capability.APPROVE, within=meeting.jurisdiction)
    with transaction.atomic():
        current = _require_editable(meeting)
        if current is None or not current.text:
            raise ValidationError(_("There are no minutes to approve yet."))
        current.status, current.approved_by, current.approved_at = (
            MinutesStatus.APPROVED,
            actor,
            timezone.now(),
        )
        current.save(update_fields=["status", "approved_by", "approved_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=current,
            before={"status": "draft"},
            after={"status": "approved", "version": current.version},
        )
    return current


def minutes_correct(*, actor: Any, meeting: Meeting) -> Minutes:
    """Start a correction: a new draft version copied from the approved one, which stays as it was."""
    require(actor, Capability.RUN_MEETINGS, within=meeting.jurisdiction)
    with transaction.atomic():
        current = _current_minutes(meeting)
        if current is None or current.status != MinutesStatus.APPROVED:
            raise ValidationError(_("Only approved minutes are corrected; edit the draft instead."))
        draft = Minutes.objects.create(meeting=meeting, version=current.version + 1, text=current.text)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            entity=draft,
            after={"version": draft.version, "corrects": current.version},
        )
    return draft


def decision_record(
    *,
    actor: Any,
    meeting: Meeting,
    text: str,
    responsible: Organisation,
    due_on: dt.date,
    title: str = "",
) -> ActionItem:
    """Record a decision (مصوبه) and the action item that follows it."""
    require(actor, Capability.RUN_MEETINGS, within=meeting.jurisdiction)
    committee = meeting.committee
    errors: dict[str, str] = {}
    if meeting.status != MeetingStatus.HELD:
        errors["meeting"] = _("Decisions are recorded for a held meeting; record the attendance first.")
    if not text.strip():
        errors["text"] = _("Write the decision.")
    if due_on < meeting.scheduled_on:
        errors["due_on"] = _("The action cannot fall due before the meeting that decided it.")
    if not responsible.jurisdiction.covers(committee.jurisdiction) and not committee.jurisdiction.covers(
        responsible.jurisdiction
    ):
        errors["responsible"] = _("The organisation does not serve this committee's jurisdiction.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        _require_editable(meeting)
        number = (Decision.objects.filter(meeting=meeting).aggregate(n=Max("number"))["n"] or 0) + 1
        decision = Decision.objects.create(meeting=meeting, number=number, text=text.strip())
        item = ActionItem.objects.create(
            committee=committee,
            decision=decision,
            province_id=committee.province_id,
            county_id=committee.county_id,
            title=(title.strip() or text.strip())[:300],
            responsible=responsible,
            raised_on=meeting.scheduled_on,
            due_on=due_on,
            visible_from_depth=committee.depth,
        )
        audit_record(actor=actor, action=AuditAction.CREATE, entity=decision, after=snapshot(decision))
        audit_record(actor=actor, action=AuditAction.CREATE, entity=item, after=snapshot(item))
    return item


# --- action items ----------------------------------------------------------------------------

ALLOWED_MOVES = {
    ActionStatus.OPEN: {ActionStatus.IN_PROGRESS, ActionStatus.DONE, ActionStatus.CANCELLED},
    ActionStatus.IN_PROGRESS: {ActionStatus.OPEN, ActionStatus.DONE, ActionStatus.CANCELLED},
    ActionStatus.DONE: {ActionStatus.IN_PROGRESS},
    ActionStatus.CANCELLED: {ActionStatus.OPEN},
}


def _may_follow_up(actor: Any, item: ActionItem) -> bool:
    """The responsible organisation's people, or the committee's secretariat and anyone it escalated to."""
    if actor.organisation_id == item.responsible_id and actor.can(Capability.EDIT):
        return bool(actor.jurisdiction.related(item.jurisdiction))
    return actor.can(Capability.RUN_MEETINGS) and actor.jurisdiction.covers(item.jurisdiction)


def action_item_update(
    *,
    actor: Any,
    item: ActionItem,
    note: str = "",
    status: str | None = None,
    cancel_reason: str = "",
    today: dt.date | None = None,
) -> ActionItem:
    """Add a progress note and/or move the item's status (done, in progress, cancelled with a reason)."""
    if not _may_follow_up(actor, item):
        raise PermissionDenied(
            _("Only the responsible organisation or the committee may update this action.")
        )
    today = today or timezone.localdate()
    new_status = status or item.status
    if new_status != item.status and new_status not in ALLOWED_MOVES.get(ActionStatus(item.status), set()):
        raise ValidationError(
            {
                "status": _("An action cannot move from %(old)s to %(new)s.")
                % {
                    "old": ActionStatus(item.status).label,
                    "new": ActionStatus(new_status).label
                    if new_status in ActionStatus.values
                    else new_status,
                }
            }
        )
    if new_status == ActionStatus.CANCELLED and new_status != item.status and not cancel_reason.strip():
        raise ValidationError({"cancel_reason": _("Give the reason for cancelling.")})
    if not note.strip() and new_status == item.status:
        raise ValidationError({"note": _("Write a progress note or change the status.")})
    with transaction.atomic():
        before = snapshot(item, ["status", "cancel_reason", "completed_on"])
        if new_status != item.status:
            item.status = new_status
            item.completed_on = today if new_status == ActionStatus.DONE else None
            item.cancel_reason = cancel_reason.strip() if new_status == ActionStatus.CANCELLED else ""
            item.save(update_fields=["status", "completed_on", "cancel_reason"])
        ProgressNote.objects.create(
            action_item=item,
            author=actor,
            text=note.strip() or str(ActionStatus(new_status).label),
            status=new_status if new_status != before["status"] else "",
        )
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=item,
            before=before,
            after={**snapshot(item, ["status", "cancel_reason", "completed_on"]), "note": note.strip()},
        )
    return item


def _secretariat(committee_ids: Iterable[int]) -> dict[int, list[User]]:
    """Chairs' and secretaries' representatives of each committee."""
    people: dict[int, list[User]] = {}
    seats = CommitteeMember.objects.filter(
        committee_id__in=list(committee_ids),
        role__in=[MemberRole.CHAIR, MemberRole.SECRETARY],
        representative__isnull=False,
        representative__is_active=True,
    ).select_related("representative")
    for seat in seats:
        people.setdefault(seat.committee_id, []).append(seat.representative)
    return people


# Rows per UPDATE ... WHERE id IN (...) and per INSERT of notifications in the daily/hourly jobs.
JOB_BATCH = 1000


def action_items_escalate(*, today: dt.date | None = None) -> int:
    """Climb overdue action items one level per grace period and tell the committee that receives them."""
    today = today or timezone.localdate()
    grace = max(1, settings.ACTION_ITEM_ESCALATION_GRACE_DAYS)
    moved: list[ActionItem] = []
    now = timezone.now()
    with unscoped(), transaction.atomic():
        overdue = (
            # Lock the items only: locking their committees too would hold up every write that
            # refers to one of them (a new meeting or decision) until this transaction ends.
            ActionItem.objects.select_for_update(of=("self",))
            .filter(
                status__in=OPEN_STATUSES,
                due_on__lt=today - dt.timedelta(days=grace - 1),
                visible_from_depth__gt=0,
                committee__event__closes_on__gte=today,  # a closed season's items stay where they are
            )
            .select_related("committee")
        )
        for item in overdue:
            own_depth = item.committee.depth
            levels = (today - item.due_on).days // grace
            depth = max(0, own_depth - levels)
            if depth < item.visible_from_depth:
                item.visible_from_depth, item.escalated_at = depth, now
                moved.append(item)
        # One plain UPDATE per new depth and batch (bulk_update would build a CASE over every row).
        for depth in {item.visible_from_depth for item in moved}:
            pks = [item.pk for item in moved if item.visible_from_depth == depth]
            for start in range(0, len(pks), JOB_BATCH):
                ActionItem.objects.filter(pk__in=pks[start : start + JOB_BATCH]).update(
                    visible_from_depth=depth, escalated_at=now
                )
        audit_record_many(actor=None, action=AuditAction.UPDATE, entities=moved)
        receivers = _receiving_committees(moved)
        secretariat = _secretariat(receivers.values())
        # One message per receiving committee, however many items reached it this run.
        per_committee: dict[int, list[ActionItem]] = {}
        for item in moved:
            if item.pk in receivers:
                per_committee.setdefault(receivers[item.pk], []).append(item)
        url = reverse("committees:overdue")
        notification_send_many(
            messages=[
                (
                    secretariat.get(committee_id, []),
                    _digest_line(_("Escalated to your committee"), items),
                    url,
                )
                for committee_id, items in per_committee.items()
            ]
        )
    return len(moved)


def _digest_line(heading: str, items: Sequence[ActionItem], *, shown: int = 3) -> str:
    """'Heading (N): first titles…' — one line that stands for many items."""
    titles = "؛ ".join(item.title[:80] for item in items[:shown])
    more = len(items) - shown
    tail = _(" and %(count)s more") % {"count": more} if more > 0 else ""
    return f"{heading} ({len(items)}): {titles}{tail}"


def _receiving_committees(items: Sequence[ActionItem]) -> dict[int, int]:
    """For each escalated item, the committee of the jurisdiction it has climbed to."""
    result: dict[int, int] = {}
    keys: dict[int, tuple[int, int | None, None]] = {}
    for item in items:
        if item.visible_from_depth == DEPTH["national"]:
            keys[item.pk] = (item.committee.event_id, None, None)
        else:
            keys[item.pk] = (item.committee.event_id, item.province_id, None)
    lookup = {
        (event_id, province_id, county_id): pk
        for pk, event_id, province_id, county_id in Committee.objects.filter(
            event_id__in={key[0] for key in keys.values()}, county__isnull=True
        ).values_list("pk", "event_id", "province_id", "county_id")
    }
    for pk, key in keys.items():
        if key in lookup:
            result[pk] = lookup[key]
    return result


def action_item_reminders_send(*, today: dt.date | None = None) -> int:
    """Remind the responsible organisations of actions falling due soon or overdue, once a day each."""
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=settings.ACTION_ITEM_REMINDER_DAYS)
    with unscoped(), transaction.atomic():
        items = list(
            ActionItem.objects.select_for_update(of=("self",))  # not the organisations (see escalation)
            .filter(status__in=OPEN_STATUSES, due_on__lte=horizon, committee__event__closes_on__gte=today)
            .exclude(last_reminded_on=today)
            .select_related("responsible")
        )
        people: dict[int, list[User]] = {}
        for user in User.objects.filter(
            organisation_id__in={i.responsible_id for i in items}, is_active=True
        ):
            people.setdefault(user.organisation_id, []).append(user)  # type: ignore[arg-type]
        by_organisation: dict[int, list[ActionItem]] = {}
        for item in items:
            by_organisation.setdefault(item.responsible_id, []).append(item)
        # One digest per person a day, not one message per item: a busy organisation may own thousands.
        # Each person hears only of actions asked above, at or below their own jurisdiction.
        url = reverse("committees:my-actions")
        notes, mails = [], []
        for organisation_id, owned in by_organisation.items():
            for user in people.get(organisation_id, []):
                theirs = [item for item in owned if user.jurisdiction.related(item.jurisdiction)]
                if not theirs:
                    continue
                overdue = [item for item in theirs if item.due_on < today]
                soon = [item for item in theirs if item.due_on >= today]
                lines = []
                if overdue:
                    lines.append(_digest_line(_("Overdue actions"), overdue))
                if soon:
                    lines.append(_digest_line(_("Actions due soon"), soon))
                message = " | ".join(lines)
                notes.append(([user], message, url))
                if user.email:
                    body = "\n".join(
                        f"- {item.title} ({item.due_on.isoformat()})"
                        for item in sorted(theirs, key=lambda i: i.due_on)[:100]
                    )
                    mails.append(
                        (
                            _("Amanat: actions for your organisation"),
                            f"{message}\n\n{body}",
                            settings.DEFAULT_FROM_EMAIL,
                            [user.email],
                        )
                    )
        notification_send_many(messages=notes)
        pks = [i.pk for i in items]
        for start in range(0, len(pks), JOB_BATCH):
            ActionItem.objects.filter(pk__in=pks[start : start + JOB_BATCH]).update(last_reminded_on=today)
        if mails:
            transaction.on_commit(lambda: send_mass_mail(mails, fail_silently=True))
    return len(items)
