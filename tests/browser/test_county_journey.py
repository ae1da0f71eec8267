"""A county member's journey through the site in a real browser (headless Debian Chromium).

Logs in through the form, checks the Persian-first page (RTL, Jalali date with Persian digits),
clicks from home to the county, to a polling station, then switches to English and checks the
layout turns left-to-right. Assertions avoid specific Persian UI translations (the catalogue
changes often); they rely on attributes, data from the test world and English strings.
"""

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from amanat.elections.services import election_event_create
from amanat.ui.formatting import format_date, localize_digits
from conftest import PASSWORD, World


@pytest.mark.browser
def test_county_member_journey(
    transactional_db: Any,
    live_server: Any,
    world: World,
    county_user: Any,
    admin: Any,
    page: Any,
    screenshot: Any,
) -> None:
    from playwright.sync_api import expect

    voting_day = timezone.localdate() + dt.timedelta(days=60)
    election_event_create(
        actor=admin, name="انتخابات آزمایشی", name_en="Test election", voting_day=voting_day
    )
    station = world.station_a1
    with translation.override("fa"):
        voting_day_fa = format_date(voting_day, long=True)
        station_code_fa = localize_digits(station.code)
    assert any(digit in voting_day_fa for digit in "۰۱۲۳۴۵۶۷۸۹"), voting_day_fa

    html = page.locator("html")

    # Log in through the form (the language switch in the header is a form too).
    page.goto(live_server.url + reverse("accounts:login"))
    login_form = page.locator("form:has(#id_username)")
    login_form.locator("#id_username").fill(county_user.username)
    login_form.locator("#id_password").fill(PASSWORD)
    login_form.locator("button[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))

    # Persian first: right-to-left, and the voting day as a Jalali date in Persian digits.
    expect(html).to_have_attribute("lang", "fa")
    expect(html).to_have_attribute("dir", "rtl")
    expect(page.locator(".voting-day")).to_have_text(voting_day_fa)
    assert voting_day_fa in page.inner_text("body")

    # Home → my county → a polling station, by clicking.
    county_url = reverse("geography:county", args=[world.county_a1.pk])
    page.locator(f"main a.button[href='{county_url}']").click()
    page.wait_for_url(live_server.url + county_url)
    expect(page.locator("h1")).to_contain_text(world.county_a1.name)
    page.locator("#station-table").get_by_role("link", name=station.name, exact=True).click()
    page.wait_for_url(live_server.url + reverse("geography:station", args=[station.pk]))
    expect(page.locator("h1")).to_have_text(station.name)
    expect(page.locator("dd.code").first).to_have_text(station_code_fa)

    # Switch to English with the header's language button: left-to-right, English labels.
    page.locator("form.langswitch button[name=language][value=en]").click()
    expect(html).to_have_attribute("lang", "en")
    expect(html).to_have_attribute("dir", "ltr")
    assert page.url == live_server.url + reverse("geography:station", args=[station.pk])
    expect(page.locator("dd.code").first).to_have_text(station.code)
    body = page.inner_text("body")
    assert "Station code" in body
    assert "Polling stations" in body

    screenshot(page, "county-journey.png")
