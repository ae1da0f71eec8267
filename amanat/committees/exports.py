"""Documents made from committee data: minutes as a Persian RTL PDF, calendars as iCalendar."""

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import jdatetime
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from amanat.committees import selectors
from amanat.committees.models import (
    Committee,
    Meeting,
    MeetingStatus,
    MemberRole,
    MinutesStatus,
)
from amanat.ui.formatting import format_date, format_datetime, persian_digits
from amanat.ui.pdf import render_pdf

# --- minutes as PDF --------------------------------------------------------------------------

ROLE_ORDER: dict[str, int] = {MemberRole.CHAIR: 0, MemberRole.SECRETARY: 1, MemberRole.MEMBER: 2}


def _person(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def _minutes_context(meeting: Meeting) -> dict[str, Any]:
    committee = meeting.committee
    minutes = selectors.minutes_current_for(meeting=meeting)
    attendance = sorted(
        selectors.meeting_attendance_for(meeting=meeting).select_related("member__representative"),
        key=lambda row: (ROLE_ORDER.get(row.member.role, 9), row.member.organisation.name, row.pk),
    )
    decisions = []
    for decision in selectors.meeting_decisions_for(meeting=meeting):
        try:
            item = decision.action_item
        except ObjectDoesNotExist:
            item = None
        decisions.append(
            {
                "number": persian_digits(decision.number),
                "text": decision.text,
                "responsible": item.responsible.name if item else "",
                "due": format_date(item.due_on, long=True) if item else "",
            }
        )
    return {
        "committee": committee,
        "event": committee.event,
        "province": committee.province,
        "county": committee.county,
        "meeting": meeting,
        "date": format_date(meeting.scheduled_on, long=True),
        "weekday": jdatetime.date.fromgregorian(date=meeting.scheduled_on, locale="fa_IR").strftime("%A"),
        "time": persian_digits(meeting.starts_at.strftime("%H:%M")),
        "voting_day": format_date(committee.event.voting_day, long=True),
        "minutes": minutes,
        "version": persian_digits(minutes.version) if minutes else "",
        "approved": minutes is not None and minutes.status == MinutesStatus.APPROVED,
        "approved_by": _person(minutes.approved_by) if minutes else "",
        "approved_at": format_datetime(minutes.approved_at) if minutes else "",
        "attendance": [
            {
                "number": persian_digits(index),
                "organisation": row.member.organisation.name,
                "role": row.member.role,
                "representative": _person(row.member.representative),
                "status": row.status,
                "note": row.note,
            }
            for index, row in enumerate(attendance, start=1)
        ],
        "decisions": decisions,
        "generated_at": format_datetime(timezone.now()),
    }


def minutes_pdf(*, meeting: Meeting) -> bytes:
    """The meeting's minutes as a printable Persian (RTL) PDF: jurisdiction, Jalali date, attendance."""
    return render_pdf("committees/minutes_pdf.html", lambda: _minutes_context(meeting))


# --- calendar as iCalendar -------------------------------------------------------------------

MEETING_LENGTH = dt.timedelta(hours=2)
CALENDAR_STATUS = {
    MeetingStatus.PLANNED: "CONFIRMED",
    MeetingStatus.HELD: "CONFIRMED",
    MeetingStatus.CANCELLED: "CANCELLED",
}


def meeting_uid(meeting: Meeting) -> str:
    """The meeting's identity in every calendar export, so a re-import updates rather than duplicates."""
    return f"meeting-{meeting.pk}@amanat"


def committee_calendar_ics(*, committee: Committee, meetings: Sequence[Meeting]) -> bytes:
    """The committee's meetings as an iCalendar file that common calendar programs import."""
    zone = ZoneInfo(settings.TIME_ZONE)
    stamp = timezone.now().astimezone(dt.UTC).replace(microsecond=0)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Amanat//Election security committees//FA")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", committee.name)
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    for meeting in meetings:
        starts = dt.datetime.combine(meeting.scheduled_on, meeting.starts_at, tzinfo=zone)
        event = icalendar.Event()
        event.add("uid", meeting_uid(meeting))
        event.add("dtstamp", stamp)
        event.add("dtstart", starts)
        event.add("dtend", starts + MEETING_LENGTH)
        # The text is Persian like the committee names it goes with (calendar programs show it as is).
        event.add("summary", f"جلسه {committee.name}")
        if meeting.location:
            event.add("location", meeting.location)
        description = meeting.agenda
        if meeting.status == MeetingStatus.CANCELLED:
            description = "\n\n".join(
                part for part in (f"لغو شد: {meeting.cancel_reason}", description) if part
            )
        if description:
            event.add("description", description)
        event.add("status", CALENDAR_STATUS[MeetingStatus(meeting.status)])
        # A cancellation revises the planned event: the higher sequence makes programs that imported
        # the meeting before apply it when the file is imported again.
        event.add("sequence", 1 if meeting.status == MeetingStatus.CANCELLED else 0)
        calendar.add_component(event)
    if meetings and hasattr(calendar, "add_missing_timezones"):  # icalendar 6.1+
        # Describe the zone from the first meeting on, not its history since 1970.
        first = min(meeting.scheduled_on for meeting in meetings) - dt.timedelta(days=1)
        calendar.add_missing_timezones(first_date=first)
    ics: bytes = calendar.to_ical()
    return ics
