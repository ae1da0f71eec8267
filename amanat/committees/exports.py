"""Documents made from committee data: minutes as a Persian RTL PDF, calendars as iCalendar."""

from collections.abc import Sequence

from amanat.committees.models import Committee, Meeting


def minutes_pdf(*, meeting: Meeting) -> bytes:
    """The meeting's minutes as a printable Persian (RTL) PDF: jurisdiction, Jalali date, attendance, decisions."""
    raise NotImplementedError  # written by the exports work in progress


def committee_calendar_ics(*, committee: Committee, meetings: Sequence[Meeting]) -> bytes:
    """The committee's meetings as an iCalendar file that common calendar programs import."""
    raise NotImplementedError  # written by the exports work in progress
