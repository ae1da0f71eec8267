"""A public report followed to its end in a real browser (headless Debian Chromium).

A citizen's report arrives (through the public intake service); the A1 county member finds it in the
moderation queue and accepts it, triages it, assigns it to the county governorate (its own
organisation), starts work, adds a comment (the timeline refreshes in place), refers it to the
prosecutor with a case number and resolves it; the province's chair closes it. Assertions rely on
element ids, the test world's data and the database, not on Persian UI wording.
"""

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from amanat.incidents import services
from amanat.incidents.models import Incident, IncidentActivity, IncidentCategory, IncidentState
from amanat.scoping import unscoped
from conftest import PASSWORD, World

DESCRIPTION = "توزیع بروشور تبلیغاتی در صف رأی‌دهندگان شعبه"
COMMENT = "با رئیس شعبه تماس گرفته شد؛ بروشورها جمع‌آوری شد."


def _log_in(page: Any, live_server: Any, username: str) -> None:
    page.context.clear_cookies()
    page.goto(live_server.url + reverse("accounts:login"))
    form = page.locator("form:has(#id_username)")
    form.locator("#id_username").fill(username)
    form.locator("#id_password").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))


def _state(incident: Incident) -> str:
    with unscoped():
        return str(Incident.objects.get(pk=incident.pk).state)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_public_report_is_moderated_triaged_assigned_referred_and_closed(
    reference_data: None,
    live_server: Any,
    world: World,
    county_user: Any,
    province_user: Any,
    page: Any,
    screenshot: Any,
) -> None:
    from playwright.sync_api import expect

    report = services.incident_report_public(
        county=world.county_a1,
        station_code="A1-001",
        category=IncidentCategory.objects.get(code="campaigning-at-station"),
        occurred_at=timezone.now() - dt.timedelta(hours=1),
        description=DESCRIPTION,
        reporter_name="شهروند",
        reporter_contact="0912 000 0000",
    )
    case_url = live_server.url + reverse("incidents:detail", args=[report.pk])

    # The county member finds the report in the moderation queue and accepts it.
    _log_in(page, live_server, county_user.username)
    page.goto(live_server.url + reverse("incidents:moderation"))
    expect(page.locator(f"#case-{report.pk}")).to_contain_text("A1-001")
    page.locator(f"#moderate-{report.pk} button[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("incidents:moderation"))
    expect(page.locator(f"#case-{report.pk}")).to_have_count(0)
    assert _state(report) == IncidentState.NEW

    # On the case page: the reporter's details, then triage with a higher severity.
    page.goto(case_url)
    expect(page.locator("#reporter")).to_contain_text("0912 000 0000")
    expect(page.locator("#description")).to_contain_text(DESCRIPTION)
    screenshot(page, "incident-accepted.png")
    triage = page.locator("#triage-form")
    triage.locator("select[name='triage-severity']").select_option("high")
    triage.locator("button[type=submit]").click()
    page.wait_for_url(case_url)
    assert _state(report) == IncidentState.TRIAGED

    # Assign it to the county governorate, and start work.
    assign = page.locator("#assign-form")
    assign.locator("select[name='assign-organisation']").select_option(str(world.org_a1.pk))
    assign.locator("button[type=submit]").click()
    page.wait_for_url(case_url)
    assert _state(report) == IncidentState.ASSIGNED
    page.locator("#start-form button[type=submit]").click()
    page.wait_for_url(case_url)
    assert _state(report) == IncidentState.IN_PROGRESS

    # A comment goes in without leaving the page: the timeline refreshes in place.
    page.locator("#comment-form textarea[name=body]").fill(COMMENT)
    page.locator("#comment-form button[type=submit]").click()
    expect(page.locator("#timeline")).to_contain_text(COMMENT)
    expect(page.locator("#comment-form textarea[name=body]")).to_have_value("")
    assert page.url == case_url

    # Referred to the prosecutor with the case number they gave, then resolved.
    refer = page.locator("#refer-form")
    refer.locator("input[name='refer-authority']").fill("دادسرای عمومی و انقلاب الف۱")
    refer.locator("input[name='refer-case_number']").fill("1405-0042")
    refer.locator("button[type=submit]").click()
    page.wait_for_url(case_url)
    assert _state(report) == IncidentState.REFERRED
    expect(page.locator("#referral")).to_contain_text("1405-0042")
    resolve = page.locator("#resolve-form")
    resolve.locator("textarea[name='resolve-resolution']").fill("بروشورها جمع‌آوری و به دادسرا گزارش شد")
    resolve.locator("button[type=submit]").click()
    page.wait_for_url(case_url)
    assert _state(report) == IncidentState.RESOLVED
    # Closing is the approvers' decision: the member is not offered it.
    expect(page.locator("#close-form")).to_have_count(0)

    # The province's chair closes the case.
    _log_in(page, live_server, province_user.username)
    page.goto(case_url)
    page.locator("#close-form button[type=submit]").click()
    page.wait_for_url(case_url)
    assert _state(report) == IncidentState.CLOSED
    expect(page.locator("#timeline li.activity-closed")).to_have_count(1)
    screenshot(page, "incident-closed.png")

    with unscoped():
        kinds = list(IncidentActivity.objects.filter(incident=report).values_list("kind", flat=True))
    assert kinds == [
        "reported",
        "moderated",
        "triaged",
        "assigned",
        "started",
        "commented",
        "referred",
        "resolved",
        "closed",
    ]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_bulk_triage_from_the_list_reports_each_case_and_reloads_the_table(
    reference_data: None,
    live_server: Any,
    world: World,
    county_user: Any,
    page: Any,
    screenshot: Any,
) -> None:
    from playwright.sync_api import expect

    now = timezone.now()
    cases = [
        services.incident_report(
            actor=county_user,
            report=services.ReportInput(
                category_code="outage",
                occurred_at=now - dt.timedelta(hours=1),
                description=f"قطع برق شعبه، گزارش {n}",
                station_code="A1-001",
            ),
        ).incident
        for n in range(3)
    ]
    already = services.incident_triage(actor=county_user, incident=cases[2])

    _log_in(page, live_server, county_user.username)
    page.goto(live_server.url + reverse("incidents:list"))
    for case in cases:
        page.locator(f"#case-{case.pk} input[name=ids]").check()
    page.locator("#bulk summary").click()
    bulk = page.locator("#bulk-form")
    bulk.locator("select[name=action]").select_option("triage")
    bulk.locator("select[name=severity]").select_option("critical")
    bulk.locator("button[type=submit]").click()

    # The outcome shows in place: two changed, the one already triaged refused with its reason.
    expect(page.locator("#bulk-done")).to_be_visible()
    expect(page.locator(f"#refused-{already.pk}")).to_be_visible()
    assert page.url.startswith(live_server.url + reverse("incidents:list"))
    screenshot(page, "incident-bulk.png")
    # The table reloaded: the changed cases now show their new state.
    expect(page.locator(f"#case-{cases[0].pk} .case-state-triaged")).to_have_count(1)
    expect(page.locator(f"#case-{cases[1].pk} .case-severity-critical")).to_have_count(1)
    with unscoped():
        states = {c.pk: (c.state, c.severity) for c in Incident.objects.filter(pk__in=[c.pk for c in cases])}
    assert states[cases[0].pk] == (IncidentState.TRIAGED, "critical")
    assert states[already.pk][1] != "critical"
