"""A county member's journey through the site in a real browser (headless Debian Chromium).

Logs in through the form, checks the Persian-first page (RTL, Jalali date with Persian digits),
clicks from home to the county, to a polling station, then switches to English and checks the
layout turns left-to-right. Assertions avoid specific Persian UI translations (the catalogue
changes often); they rely on attributes, data from the test world and English strings.
"""

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from amanat.elections.services import election_event_create
from amanat.ui.formatting import format_date, localize_digits
from conftest import PASSWORD, World

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO_ROOT / "var" / "screenshots" / "county-journey.png"
TIMEOUT_MS = 15_000


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.mark.browser
def test_county_member_journey(
    transactional_db: Any,
    live_server: Any,
    world: World,
    county_user: Any,
    admin: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _require_chromium()
    # Playwright's sync API runs an asyncio loop in this thread, and Django refuses ORM calls made
    # while a loop runs. Allow them for this test only, so the switch does not leak into the rest
    # of the session and hide real async-safety bugs elsewhere.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    voting_day = timezone.localdate() + dt.timedelta(days=60)
    election_event_create(
        actor=admin, name="انتخابات آزمایشی", name_en="Test election", voting_day=voting_day
    )
    station = world.station_a1
    with translation.override("fa"):
        voting_day_fa = format_date(voting_day, long=True)
        station_code_fa = localize_digits(station.code)
    assert any(digit in voting_day_fa for digit in "۰۱۲۳۴۵۶۷۸۹"), voting_day_fa

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.set_default_timeout(TIMEOUT_MS)
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

            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
