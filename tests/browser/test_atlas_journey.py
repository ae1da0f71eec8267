"""The security atlas's review, end to end in a real browser (headless Debian Chromium).

A county member records three risks and submits the atlas; the province's chair returns it with a
comment on one risk; the county sees the comment, fixes that risk and submits again; the province
approves version 2 and decides the county's level, overriding the recommendation with a reason.
Assertions rely on element ids, the test world's data and URLs, not on Persian UI wording.
"""

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from amanat.elections.services import contest_add, election_event_create
from amanat.risks.models import (
    Atlas,
    AtlasStatus,
    AtlasVersion,
    CountyClassification,
    Risk,
    RiskCategory,
    SecurityLevelDecision,
    VersionStatus,
)
from amanat.scoping import unscoped
from conftest import PASSWORD, World

RISKS = [
    # (title, kind, phase, category code, likelihood, impact)
    ("قطع خط فیبر نوری شعب روستایی", "vulnerability", "before", "communication-lines", "4", "4"),
    ("قطع برق در ساعات اوج رأی‌گیری", "threat", "during", "power-utilities", "3", "4"),
    ("حجم بالای شکایات پس از اعلام نتایج", "challenge", "after", "complaints", "2", "3"),
]
COMMENT = "احتمال قطع برق با توجه به برق اضطراری شعب کمتر است؛ دوباره ارزیابی شود."
REASON = "شعب کوهستانی فراوان با یک خط ارتباطی"


def _log_in(page: Any, live_server: Any, username: str) -> None:
    page.context.clear_cookies()
    page.goto(live_server.url + reverse("accounts:login"))
    form = page.locator("form:has(#id_username)")
    form.locator("#id_username").fill(username)
    form.locator("#id_password").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_county_submits_province_returns_county_fixes_province_approves_and_decides(
    reference_data: None,
    live_server: Any,
    world: World,
    admin: Any,
    county_user: Any,
    province_user: Any,
    page: Any,
    screenshot: Any,
) -> None:
    from playwright.sync_api import expect

    today = timezone.localdate()
    event = election_event_create(
        actor=admin,
        name="انتخابات آزمایشی",
        voting_day=today + dt.timedelta(days=90),
        opens_on=today - dt.timedelta(days=30),
    )
    contest_add(actor=admin, event=event, kind="city_council")
    categories = {category.code: category.pk for category in RiskCategory.objects.all()}
    assert {code for _t, _k, _p, code, _l, _i in RISKS} <= set(categories)

    # The county member starts the atlas from the header's list and records three risks.
    _log_in(page, live_server, county_user.username)
    page.locator(f"nav.mainnav a[href='{reverse('risks:list')}']").click()
    page.wait_for_url(f"{live_server.url}{reverse('risks:list')}*")
    page.locator(
        f"form[action='{reverse('risks:atlas-open', args=[event.pk, world.county_a1.pk])}'] button"
    ).click()
    with unscoped():
        atlas = Atlas.objects.get(event=event, county=world.county_a1)
    atlas_url = live_server.url + reverse("risks:atlas", args=[atlas.pk])
    page.wait_for_url(atlas_url)
    for title, kind, phase, code, likelihood, impact in RISKS:
        page.goto(atlas_url)
        page.locator(f"main a[href='{reverse('risks:risk-create', args=[atlas.pk])}']").first.click()
        form = page.locator("#risk-form")
        form.locator("#id_kind").select_option(kind)
        form.locator("#id_phase").select_option(phase)
        form.locator("#id_category").select_option(str(categories[code]))
        form.locator("#id_title").fill(title)
        form.locator("#id_likelihood").select_option(likelihood)
        form.locator("#id_impact").select_option(impact)
        form.locator("#id_treatment").select_option("mitigate")
        form.locator("button[type=submit]").click()
        page.wait_for_url(live_server.url + "/atlas/risks/*/")  # the new risk's page
        expect(page.locator("main")).to_contain_text(title)
    page.goto(atlas_url)
    page.locator("#submit-form button[type=submit]").click()
    page.wait_for_url(atlas_url + "*")
    with unscoped():
        first = AtlasVersion.objects.get(atlas=atlas, number=1)
        power = Risk.objects.get(atlas=atlas, title=RISKS[1][0])
    assert len(first.content["risks"]) == 3

    # The province's chair opens version 1 and returns it, commenting on the power-cut risk only.
    _log_in(page, live_server, province_user.username)
    version_url = live_server.url + reverse("risks:version", args=[first.pk])
    page.goto(version_url)
    review = page.locator("#review-form")
    review.locator("input[name=decision][value=return]").check()
    review.locator(f"textarea[name=comment_{power.pk}]").fill(COMMENT)
    review.locator("button[type=submit]").click()
    page.wait_for_url(live_server.url + "/**")
    with unscoped():
        assert AtlasVersion.objects.get(pk=first.pk).status == VersionStatus.RETURNED

    # The county sees the comment on that risk, lowers its likelihood and submits version 2.
    _log_in(page, live_server, county_user.username)
    page.goto(atlas_url)
    expect(page.locator(f"#risk-{power.pk} + tr.comment-row")).to_contain_text(COMMENT)
    expect(page.locator("#returned")).to_be_visible()
    page.goto(live_server.url + reverse("risks:risk-update", args=[power.pk]))
    page.locator("#risk-form #id_likelihood").select_option("2")
    page.locator("#risk-form button[type=submit]").click()
    page.wait_for_url(live_server.url + "/**")
    page.goto(atlas_url)
    page.locator("#submit-form button[type=submit]").click()
    page.wait_for_url(atlas_url + "*")
    with unscoped():
        second = AtlasVersion.objects.get(atlas=atlas, number=2)
    changed = next(row for row in second.content["risks"] if row["id"] == power.pk)
    assert (changed["likelihood"], changed["score"]) == (2, 8)

    # The province approves version 2, then decides the level against the recommendation, with a reason.
    _log_in(page, live_server, province_user.username)
    page.goto(live_server.url + reverse("risks:version", args=[second.pk]))
    review = page.locator("#review-form")
    review.locator("input[name=decision][value=approve]").check()
    review.locator("button[type=submit]").click()
    page.wait_for_url(live_server.url + "/**")
    with unscoped():
        recommended = CountyClassification.objects.get(event=event, county=world.county_a1).recommended_level
    level = "normal" if recommended != "normal" else "sensitive"
    card_url = live_server.url + reverse("risks:county", args=[event.pk, world.county_a1.pk])
    page.goto(card_url)
    decide = page.locator("#decide-form")
    decide.locator("select[name=level]").select_option(level)
    decide.locator("textarea[name=reason]").fill(REASON)
    decide.locator("button[type=submit]").click()
    page.wait_for_url(card_url + "*")
    expect(page.locator("main")).to_contain_text(REASON)
    screenshot(page, "atlas-identity-card.png")

    with unscoped():
        atlas.refresh_from_db()
        assert atlas.status == AtlasStatus.APPROVED
        assert AtlasVersion.objects.get(pk=second.pk).status == VersionStatus.APPROVED
        decision = SecurityLevelDecision.objects.get(event=event, county=world.county_a1)
        classification = CountyClassification.objects.get(event=event, county=world.county_a1)
    assert (decision.level, decision.recommended_level, decision.reason) == (level, recommended, REASON)
    assert decision.decided_by == province_user
    assert classification.level == level
