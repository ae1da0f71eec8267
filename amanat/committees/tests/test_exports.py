"""The minutes PDF and the committee calendar (.ics), checked the way a reader's program reads them."""

import datetime as dt
import io
import re
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import jdatetime
import pytest
from django.utils import timezone, translation
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from amanat.accounts.models import User
from amanat.accounts.roles import Role
from amanat.accounts.services import user_create
from amanat.committees import exports, services
from amanat.committees.models import AttendanceStatus, Committee, Meeting, MeetingStatus
from amanat.scoping import unscoped
from amanat.ui import pdf
from conftest import PASSWORD, Committees, World

FIRST = dt.date(2026, 11, 10)  # 1405/08/19, the committees' first planned meeting
TODAY = dt.date(2026, 11, 24)
TEHRAN = ZoneInfo("Asia/Tehran")


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: Any) -> None:
    real = timezone.localdate
    monkeypatch.setattr(
        timezone, "localdate", lambda value=None, tz=None: TODAY if value is None else real(value, tz)
    )


@pytest.fixture
def chair(admin: User, world: World) -> User:
    return user_create(
        actor=admin,
        username="chair_a1",
        password=PASSWORD,
        role=Role.CHAIR,
        organisation=world.org_a1,
        county=world.county_a1,
        first_name="مریم",
        last_name="کاظمی",
    )


def _meeting(committee: Committee, day: dt.date) -> Meeting:
    with unscoped():
        return Meeting.objects.select_related("committee__event").get(
            committee=committee, scheduled_on=day, from_cadence=True
        )


@pytest.fixture
def held(world: World, committees: Committees, chair: User, county_admin: User) -> Meeting:
    """County A1's first meeting: three seats' attendance, two lines of minutes and two decisions."""
    committee = committees.county_a1
    add = services.committee_member_add
    governorate = add(
        actor=county_admin, committee=committee, organisation=world.org_a1, role="chair", representative=chair
    )
    province = add(actor=county_admin, committee=committee, organisation=world.org_a, role="secretary")
    national = add(actor=county_admin, committee=committee, organisation=world.org_national)
    meeting = _meeting(committee, FIRST)
    services.meeting_update(
        actor=county_admin, meeting=meeting, agenda="بررسی آمادگی شعب", location="سالن جلسات فرمانداری"
    )
    services.attendance_record(
        actor=county_admin,
        meeting=meeting,
        entries=[
            (governorate, AttendanceStatus.PRESENT, ""),
            (province, AttendanceStatus.REPRESENTED, "معاون سیاسی استاندار"),
            (national, AttendanceStatus.ABSENT, "مأموریت"),
        ],
    )
    services.minutes_save(
        actor=county_admin,
        meeting=meeting,
        text="گزارش آمادگی شعب اخذ رأی ارائه شد.\nتکمیل خطوط ارتباطی شعب بررسی شد.",
    )
    services.decision_record(
        actor=county_admin,
        meeting=meeting,
        text="نصب خط دوم ارتباطی در شعب روستایی",
        responsible=world.org_a1,
        due_on=dt.date(2026, 12, 15),  # 1405/09/24: آذر
    )
    services.decision_record(
        actor=county_admin,
        meeting=meeting,
        text="تهیه برنامه حفاظت از تجهیزات مخابراتی",
        responsible=world.org_a,
        due_on=dt.date(2027, 1, 10),  # 1405/10/20: دی
    )
    return meeting


def _pdf_text(pdf: bytes) -> str:
    """The PDF's text as pypdf extracts it, without the zero-width non-joiners extraction may drop.

    Table cells come out run together and digit runs may come out reversed: assert on words and
    on texts without digits.
    """
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages).replace("\u200c", "")


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text))


def _plain(value: str) -> str:
    return value.replace("\u200c", "")


def _embedded_fonts(pdf: bytes) -> dict[str, bool]:
    """Every font the pages use: its name, and whether its file is embedded in the PDF."""
    fonts: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources = page.get("/Resources")
        font_map = resources.get_object().get("/Font") if resources else None
        for ref in (font_map.get_object() if font_map else DictionaryObject()).values():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            described = descendants.get_object()[0].get_object() if descendants else font
            descriptor = described.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor else DictionaryObject()
            embedded = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts[str(font.get("/BaseFont"))] = embedded
    return fonts


def _month(day: dt.date) -> str:
    return jdatetime.date.fromgregorian(date=day, locale="fa_IR").strftime("%B")


# --- the minutes PDF -------------------------------------------------------------------------


def test_minutes_pdf_is_a_persian_document_with_attendance_minutes_and_decisions(
    held: Meeting, committees: Committees, world: World
) -> None:
    with translation.override("en"):  # the reader's language does not matter: the PDF is Persian
        pdf = exports.minutes_pdf(meeting=held)

    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.root_object["/Lang"] == "fa"
    assert [round(float(x)) for x in reader.pages[0].mediabox[2:]] == [595, 842]  # A4 in points
    text = _pdf_text(pdf)
    words = _words(text)
    assert "صورتجلسه کمیته امنیت انتخابات" in text
    assert set(_plain(committees.county_a1.name).split()) <= words
    assert f"استان {_plain(world.province_a.name)}" in text  # the jurisdiction: province and county
    assert f"شهرستان {_plain(world.county_a1.name)}" in text
    assert "انتخابات شوراها" in text  # the election event
    for organisation in (world.org_a1, world.org_a, world.org_national):
        assert _plain(organisation.name) in text
    # Attendance: the heading «حاضران و غایبان» and one present, one absent, one represented seat.
    assert (text.count("حاضر"), text.count("غایب"), text.count("با نماینده")) == (2, 2, 1)
    assert (text.count("رئیس"), text.count("دبیر")) == (1, 1)
    assert "مریم کاظمی" in text and "معاون سیاسی استاندار" in text  # representative and note
    assert "گزارش آمادگی شعب اخذ رأی ارائه شد" in text  # the minutes
    assert "نصب خط دوم ارتباطی در شعب روستایی" in text  # the decisions
    assert "تهیه برنامه حفاظت از تجهیزات مخابراتی" in text
    # Jalali dates with Persian month names: the meeting (آبان) and the two deadlines (آذر, دی).
    assert {_month(FIRST), _month(dt.date(2026, 12, 15)), _month(dt.date(2027, 1, 10))} <= words
    assert _plain("سه‌شنبه") in text  # 2026-11-10 was a Tuesday
    assert "November" not in text and "Present" not in text and "Draft" not in text


def test_minutes_pdf_keeps_the_lines_of_the_minutes_apart(held: Meeting) -> None:
    text = _pdf_text(exports.minutes_pdf(meeting=held))

    lines = [line for line in text.splitlines() if "شد" in line]
    assert any("ارائه" in line and "تکمیل" not in line for line in lines)
    assert any("تکمیل" in line and "ارائه" not in line for line in lines)


def test_minutes_pdf_embeds_the_vazirmatn_font(held: Meeting) -> None:
    fonts = _embedded_fonts(exports.minutes_pdf(meeting=held))

    assert fonts, "the PDF uses no fonts"
    assert all("Vazirmatn" in name for name in fonts), fonts
    assert all(fonts.values()), f"fonts not embedded: {fonts}"
    assert any("Bold" in name for name in fonts), fonts  # headings use the bold face


def test_minutes_pdf_marks_a_draft_until_approved_then_names_the_approver(held: Meeting, chair: User) -> None:
    draft = _words(_pdf_text(exports.minutes_pdf(meeting=held)))
    assert _plain("پیش‌نویس") in draft
    assert "تأییدکننده" not in draft

    services.minutes_approve(actor=chair, meeting=held)
    approved = _pdf_text(exports.minutes_pdf(meeting=held))

    words = _words(approved)
    assert _plain("پیش‌نویس") not in words
    assert {"تأییدکننده", "مریم", "کاظمی"} <= words
    assert approved.count("کاظمی") == 3  # the representative, and the approver in the header and at the end


def test_minutes_pdf_of_a_meeting_without_minutes_says_so(committees: Committees) -> None:
    meeting = _meeting(committees.county_a1, dt.date(2026, 11, 24))

    words = _words(_pdf_text(exports.minutes_pdf(meeting=meeting)))

    assert {_plain("پیش‌نویس"), "نوشته", "نشده"} <= words
    assert set(_plain(committees.county_a1.name).split()) <= words


def test_minutes_pdf_loads_only_its_two_local_fonts(
    held: Meeting, county_admin: User, monkeypatch: Any
) -> None:
    services.minutes_save(
        actor=county_admin,
        meeting=held,
        text='<img src="https://example.com/x.png"> <link rel="stylesheet" href="http://example.com/a.css">',
    )
    fetched: list[str] = []
    real_fetch = pdf.LocalFilesOnly.fetch

    def fetch(self: pdf.LocalFilesOnly, url: str, headers: Any = None) -> Any:
        fetched.append(url)
        return real_fetch(self, url, headers)

    monkeypatch.setattr(pdf.LocalFilesOnly, "fetch", fetch)
    text = _pdf_text(exports.minutes_pdf(meeting=held))

    assert sorted(url.rsplit("/", 1)[-1] for url in fetched) == [
        "Vazirmatn-Bold.woff2",
        "Vazirmatn-Regular.woff2",
    ]
    assert all(url.startswith("file:///") for url in fetched)
    assert "https://example.com/x.png" in text  # the minutes' text is printed, never loaded


def test_minutes_pdf_refuses_to_fetch_anything_but_its_fonts(tmp_path: Any) -> None:
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    (fonts / "font.woff2").write_bytes(b"font")
    (tmp_path / "secret.txt").write_text("secret")
    fetcher = pdf.LocalFilesOnly(fonts)

    assert fetcher.fetch((fonts / "font.woff2").as_uri()).read() == b"font"
    for url in (
        "https://fonts.example.com/vazirmatn.woff2",
        "http://127.0.0.1/x.png",
        "ftp://example.com/x",
        "data:text/plain,hello",
        (tmp_path / "secret.txt").as_uri(),
        f"file://{fonts}/../secret.txt",
        f"file://example.com{fonts}/font.woff2",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


# --- the calendar ----------------------------------------------------------------------------


@pytest.fixture
def meetings(committees: Committees, county_admin: User) -> list[Meeting]:
    """Three of county A1's meetings: one held, one cancelled, one planned by hand at 16:30."""
    committee = committees.county_a1
    held = _meeting(committee, FIRST)
    services.attendance_record(actor=county_admin, meeting=held, entries=[])
    cancelled = services.meeting_cancel(
        actor=county_admin, meeting=_meeting(committee, dt.date(2026, 11, 24)), reason="تعطیلی رسمی"
    )
    extra = services.meeting_create(
        actor=county_admin,
        committee=committee,
        scheduled_on=dt.date(2027, 3, 4),  # 1405/12/13, the eve of voting day
        starts_at=dt.time(16, 30),
        agenda="جلسه فوق‌العاده\nآمادگی روز رأی‌گیری",
        location="فرمانداری",
    )
    return [held, cancelled, extra]


def _events(ics: bytes) -> dict[str, Any]:
    calendar = icalendar.Calendar.from_ical(ics)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_calendar_parses_with_one_event_per_meeting_at_its_local_time(
    committees: Committees, meetings: list[Meeting]
) -> None:
    committee = committees.county_a1
    ics = exports.committee_calendar_ics(committee=committee, meetings=meetings)

    calendar = icalendar.Calendar.from_ical(ics)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"])
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["X-WR-CALNAME"]) == committee.name
    assert str(calendar["X-WR-TIMEZONE"]) == "Asia/Tehran"
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Tehran"]
    events = _events(ics)
    assert len(events) == len(calendar.walk("VEVENT")) == 3
    held, cancelled, extra = (events[f"meeting-{m.pk}@amanat"] for m in meetings)

    start = held.decoded("DTSTART")
    assert start == dt.datetime(2026, 11, 10, 10, 0, tzinfo=TEHRAN)
    assert start.utcoffset() == dt.timedelta(hours=3, minutes=30)
    assert held["DTSTART"].params["TZID"] == "Asia/Tehran"
    assert held.decoded("DTEND") - start == dt.timedelta(hours=2)
    assert held.decoded("DTSTAMP").tzinfo is not None
    assert str(held["SUMMARY"]) == f"جلسه {committee.name}"
    assert str(held["STATUS"]) == "CONFIRMED"

    assert extra.decoded("DTSTART") == dt.datetime(2027, 3, 4, 16, 30, tzinfo=TEHRAN)
    assert extra.decoded("DTSTART").astimezone(dt.UTC) == dt.datetime(2027, 3, 4, 13, 0, tzinfo=dt.UTC)
    assert str(extra["LOCATION"]) == "فرمانداری"
    assert str(extra["DESCRIPTION"]) == "جلسه فوق‌العاده\nآمادگی روز رأی‌گیری"
    assert str(extra["STATUS"]) == "CONFIRMED"
    assert "LOCATION" not in held

    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert "تعطیلی رسمی" in str(cancelled["DESCRIPTION"])


def test_calendar_uids_are_unique_and_stable_across_exports(
    committees: Committees, meetings: list[Meeting]
) -> None:
    committee = committees.county_a1
    with unscoped():
        everything = list(Meeting.objects.filter(committee=committee))

    first = _events(exports.committee_calendar_ics(committee=committee, meetings=everything))
    again = _events(exports.committee_calendar_ics(committee=committee, meetings=everything[::-1]))

    assert len(first) == len(everything)  # a UID per meeting, none shared
    assert first.keys() == again.keys()
    assert all(first[uid].decoded("DTSTART") == again[uid].decoded("DTSTART") for uid in first)
    cancelled = [uid for uid, event in first.items() if str(event["STATUS"]) == "CANCELLED"]
    assert cancelled == [f"meeting-{meetings[1].pk}@amanat"]
    assert {m.status for m in everything} == {
        MeetingStatus.PLANNED,
        MeetingStatus.HELD,
        MeetingStatus.CANCELLED,
    }


def test_calendar_is_folded_crlf_utf8_text(committees: Committees, meetings: list[Meeting]) -> None:
    ics = exports.committee_calendar_ics(committee=committees.county_a1, meetings=meetings)

    assert ics.startswith(b"BEGIN:VCALENDAR\r\n")
    assert ics.endswith(b"END:VCALENDAR\r\n")
    lines = ics.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)  # octets, as RFC 5545 requires
    for line in lines:
        line.decode("utf-8")  # folded between characters, never inside one


def test_calendar_without_meetings_is_an_empty_calendar(committees: Committees) -> None:
    calendar = icalendar.Calendar.from_ical(
        exports.committee_calendar_ics(committee=committees.province_b, meetings=[])
    )

    assert str(calendar["X-WR-CALNAME"]) == committees.province_b.name
    assert calendar.walk("VEVENT") == []
