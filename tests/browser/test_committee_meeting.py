"""A county committee's secretary runs a meeting in a real browser (headless Debian Chromium).

Logs in, opens the committee from the header, opens a meeting held two weeks ago from the calendar,
records the attendance, records two decisions for the county governorate with Jalali due dates,
then opens "My actions" and finds both there. Assertions rely on element ids, data from the test
world and URLs, not on Persian UI translations (the catalogue changes often).
"""

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from amanat.committees.models import ActionItem, Committee, Meeting, MeetingStatus
from amanat.committees.services import committee_member_add, committees_create_for_event, instruction_create
from amanat.elections.services import contest_add, election_event_create
from amanat.scoping import unscoped
from amanat.ui.formatting import jalali_input_value
from conftest import PASSWORD, World


@pytest.mark.browser
def test_secretary_records_a_meeting_and_finds_the_actions(
    transactional_db: Any,
    live_server: Any,
    world: World,
    admin: Any,
    county_admin: Any,
    page: Any,
    screenshot: Any,
) -> None:
    from playwright.sync_api import expect

    # A season around today; the committees were created two weeks ago, so their first meeting
    # (every 14 days) is in the past and the second is today.
    today = timezone.localdate()
    event = election_event_create(
        actor=admin,
        name="انتخابات آزمایشی",
        name_en="Test election",
        voting_day=today + dt.timedelta(days=90),
        opens_on=today - dt.timedelta(days=30),
    )
    contest_add(actor=admin, event=event, kind="city_council")
    instruction = instruction_create(
        actor=admin, event=event, title="دستورالعمل آزمایشی", duties="شناسایی تهدیدات\nگزارش روزانه"
    )
    committees_create_for_event(
        actor=admin, event=event, instruction=instruction, today=today - dt.timedelta(days=14)
    )
    with unscoped():
        committee = Committee.objects.get(event=event, county=world.county_a1)
        meeting = Meeting.objects.get(committee=committee, scheduled_on=today - dt.timedelta(days=14))
    committee_member_add(
        actor=admin,
        committee=committee,
        organisation=world.org_a1,
        role="secretary",
        representative=county_admin,
    )
    decisions = [
        ("نصب خط دوم ارتباطی در شعب", today + dt.timedelta(days=10)),
        ("بازدید مشترک از شعب حساس", today + dt.timedelta(days=3)),
    ]

    page.goto(live_server.url + reverse("accounts:login"))
    login_form = page.locator("form:has(#id_username)")
    login_form.locator("#id_username").fill(county_admin.username)
    login_form.locator("#id_password").fill(PASSWORD)
    login_form.locator("button[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))

    # Header → committees → the county's committee → its calendar → the past meeting.
    page.locator(f"nav.mainnav a[href='{reverse('committees:list')}']").click()
    page.wait_for_url(live_server.url + reverse("committees:list"))
    page.get_by_role("link", name=committee.name, exact=True).click()
    page.wait_for_url(live_server.url + reverse("committees:detail", args=[committee.pk]))
    expect(page.locator("h1")).to_have_text(committee.name)
    expect(page.locator("#members")).to_be_visible()
    assert world.org_a1.name in page.inner_text("main")
    page.locator(f"main a.button[href='{reverse('committees:calendar', args=[committee.pk])}']").click()
    page.wait_for_url(live_server.url + reverse("committees:calendar", args=[committee.pk]))
    meeting_url = reverse("committees:meeting", args=[meeting.pk])
    page.locator(f"main a[href='{meeting_url}']").click()
    page.wait_for_url(live_server.url + meeting_url)

    # Attendance: the organisation's representative was present.
    attendance = page.locator("#attendance-form")
    attendance.locator("select").first.select_option("present")
    attendance.locator("input[type=text]").first.fill("فرماندار")
    attendance.locator("button[type=submit]").click()
    page.wait_for_url(live_server.url + meeting_url)
    expect(page.locator("#meeting-status")).to_have_class("badge meeting-held")

    # Two decisions, each an action for the county governorate with a Jalali due date.
    for text, due in decisions:
        form = page.locator("#decision-form")
        form.locator("#id_text").fill(text)
        form.locator("#id_responsible").select_option(str(world.org_a1.pk))
        form.locator("#id_due_on").fill(jalali_input_value(due))
        page.keyboard.press("Escape")  # close the date picker, if it opened
        form.locator("button[type=submit]").click()
        page.wait_for_url(live_server.url + meeting_url)
        expect(page.locator("#decision-rows")).to_contain_text(text)
    expect(page.locator("#decision-rows tr")).to_have_count(2)

    # My actions, from the header: both decisions are there, to follow up.
    page.locator(f"nav.mainnav a[href='{reverse('committees:my-actions')}']").click()
    page.wait_for_url(live_server.url + reverse("committees:my-actions"))
    cards = page.locator("#my-actions article.action-card")
    expect(cards).to_have_count(2)
    for text, _due in decisions:
        expect(page.locator("#my-actions")).to_contain_text(text)

    screenshot(page, "committee-meeting.png")

    with unscoped():
        saved = list(ActionItem.objects.filter(decision__meeting=meeting).order_by("decision__number"))
        assert Meeting.objects.get(pk=meeting.pk).status == MeetingStatus.HELD
    assert [(item.title, item.due_on, item.responsible_id) for item in saved] == [
        (text, due, world.org_a1.pk) for text, due in decisions
    ]
