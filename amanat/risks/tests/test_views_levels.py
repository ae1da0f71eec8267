"""The identity card, classification, level maps, duties and national settings pages.

Each page renders within the caller's jurisdiction and 404s outside it; forms a role may not use
are neither shown nor accepted; bad input shows on the right field with nothing saved; list pages
keep their query count whatever the number of rows.
"""

import datetime as dt
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from amanat.accounts.models import User
from amanat.elections.models import ElectionEvent
from amanat.elections.services import contest_add
from amanat.geography.models import Province
from amanat.geography.services import geography_import, iran_division_rows, parse_division_csv
from amanat.geography.tiles import tile_layout
from amanat.risks import exports, services
from amanat.risks.models import (
    Atlas,
    ClassificationPolicy,
    CountyClassification,
    CountyDuty,
    DutyTemplate,
    PastElection,
    Risk,
    SecurityLevelDecision,
)
from amanat.risks.selectors import ProvinceTally
from amanat.scoping import unscoped
from amanat.ui.formatting import jalali_input_value
from conftest import Committees, World, client_for, page_queries

TODAY = dt.date(2026, 11, 30)  # in the event's season (opens 2026-11-01, votes 2027-03-05)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: Any) -> None:
    real = timezone.localdate
    monkeypatch.setattr(
        timezone, "localdate", lambda value=None, tz=None: TODAY if value is None else real(value, tz)
    )


def _client(user: User) -> Client:
    """A logged-in client reading the pages in English, so assertions read the source strings."""
    client = client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _count(model: Any, **filters: Any) -> int:
    with unscoped():
        return int(model.objects.filter(**filters).count())


def _errors(response: Any, form: str) -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in response.context[form].errors.items()}


def _card_url(event: ElectionEvent, county: Any, suffix: str = "") -> str:
    return f"/atlas/events/{event.pk}/counties/{county.pk}/{suffix}"


def _classification(event: ElectionEvent, county: Any) -> CountyClassification:
    with unscoped():
        return CountyClassification.objects.get(event=event, county=county)


@pytest.fixture
def register(atlas_a1: Atlas, make_risk: Callable[..., Risk], category: Any) -> list[Risk]:
    """County A1's register: two risks at likelihood 3 x impact 4, one 5 x 5 before, one after."""
    return [
        make_risk(atlas_a1, title="قطع خط فیبر نوری شعب روستایی"),
        make_risk(atlas_a1, title="خرابی دستگاه احراز هویت", kind="threat"),
        make_risk(atlas_a1, title="تأخیر در تحویل تجهیزات", phase="before", likelihood=5, impact=5),
        make_risk(atlas_a1, title="حجم بالای شکایات", phase="after", likelihood=1, impact=2),
    ]


@pytest.fixture
def sensitive_a1(register: list[Risk], province_user: User, event: ElectionEvent, world: World) -> Any:
    """County A1's register recommends important; the province decides sensitive, with its reason."""
    return services.security_level_decide(
        actor=province_user,
        event=event,
        county=world.county_a1,
        level="sensitive",
        reason="شعب کوهستانی با یک خط ارتباطی",
    )


# --- the identity card page ------------------------------------------------------------------


def test_card_shows_key_facts_heat_map_and_top_risks(
    county_user: User, world: World, event: ElectionEvent, register: list[Risk], province_user: User
) -> None:
    services.past_election_record(
        actor=province_user,
        county=world.county_a1,
        held_on=dt.date(2021, 6, 18),
        title="انتخابات شوراهای دوره ششم",
        was_annulled=True,
        serious_incidents=3,
    )
    response = _client(county_user).get(_card_url(event, world.county_a1))

    assert response.status_code == 200
    card = response.context["card"]
    assert (card.stations, card.districts, card.risk_count) == (2, 1, 4)
    body = response.content.decode()
    assert "City councils" in body  # the contest held in the county
    assert "انتخابات شوراهای دوره ششم" in body and "Annulled" in body
    assert "3 serious incidents" in body
    assert f'href="/incidents/?county={world.county_a1.pk}"' in body  # the county's incident cases
    # The heat map: highest likelihood on top, impact left to right, counts and band names.
    heat = response.context["heat"]
    assert [row[0].likelihood for row in heat] == [5, 4, 3, 2, 1]
    assert [cell.impact for cell in heat[0]] == [1, 2, 3, 4, 5]
    counts = {(c.likelihood, c.impact): c.count for row in heat for c in row}
    assert counts[(3, 4)] == 2 and counts[(5, 5)] == 1 and counts[(1, 2)] == 1
    assert sum(counts.values()) == 4
    top_right = heat[0][4]
    assert (top_right.band, top_right.colour, top_right.ink) == ("Extreme", "#c62828", "#ffffff")
    assert 'data-likelihood="5" data-impact="5" data-count="1"' in body
    # Top risks per phase, with the phase's own risks only.
    phases = dict(response.context["phases"])
    assert [r.title for r in phases["Before the election"]] == ["تأخیر در تحویل تجهیزات"]
    assert {r.title for r in phases["During the election"]} == {
        "قطع خط فیبر نوری شعب روستایی",
        "خرابی دستگاه احراز هویت",
    }
    assert [r.title for r in phases["After the election"]] == ["حجم بالای شکایات"]
    assert f'href="/atlas/{card.atlas.pk}/"' in body  # the atlas's register


def test_card_shows_the_level_recommendation_score_factors_and_history(
    national: User, world: World, event: ElectionEvent, sensitive_a1: Any
) -> None:
    response = _client(national).get(_card_url(event, world.county_a1))

    classification = response.context["classification"]
    # 2 risks in "high" (5 points each: 3x4=12), one extreme (10), one low (0); 2 stations.
    assert (classification.score, classification.recommended_level, classification.level) == (
        20,
        "important",
        "sensitive",
    )
    factors = response.context["factors"]
    assert sorted(factors, key=lambda f: f["text"]) == [
        {"text": "1 open risk in the Extreme band, 10 points each", "points": 10},
        {"text": "2 open risks in the High band, 5 points each", "points": 10},
    ]
    body = response.content.decode()
    assert "2 open risks in the High band, 5 points each" in body
    history = list(response.context["card"].level_history)
    assert [(d.level, d.recommended_level, d.decided_by_id) for d in history] == [
        ("sensitive", "important", sensitive_a1.decided_by_id)
    ]


def test_card_mitigations_show_their_progress(
    county_user: User, world: World, event: ElectionEvent, register: list[Risk], committees: Committees
) -> None:
    from amanat.committees.services import action_item_update

    first = services.mitigation_add(
        actor=county_user,
        risk=register[0],
        title="خط ارتباطی پشتیبان برای شعب روستایی",
        responsible=world.org_a1,
        due_on=dt.date(2027, 2, 1),
    )
    services.mitigation_add(
        actor=county_user,
        risk=register[2],
        title="تحویل زودهنگام تجهیزات",
        responsible=world.org_a1,
        due_on=dt.date(2027, 1, 15),
    )
    action_item_update(actor=county_user, item=first.action_item, status="done", note="نصب شد")

    response = _client(county_user).get(_card_url(event, world.county_a1))

    progress = response.context["progress"]
    assert (progress.total, progress.done, progress.percent_done) == (2, 1, 50)
    body = response.content.decode()
    assert "خط ارتباطی پشتیبان برای شعب روستایی" in body and "تحویل زودهنگام تجهیزات" in body
    assert "1 of 2 done (50%)" in body
    assert f'href="/committees/actions/{first.action_item.pk}/"' in body


def test_card_is_within_the_jurisdiction_only(
    county_user: User, outsider: User, province_user: User, world: World, event: ElectionEvent
) -> None:
    assert _client(county_user).get(_card_url(event, world.county_b1)).status_code == 404
    assert _client(outsider).get(_card_url(event, world.county_a1)).status_code == 404
    assert _client(province_user).get(_card_url(event, world.county_b1)).status_code == 404
    assert _client(province_user).get(_card_url(event, world.county_a2)).status_code == 200
    assert _client(county_user).get(f"/atlas/events/999999/counties/{world.county_a1.pk}/").status_code == 404


def test_card_without_an_atlas_offers_to_start_it_to_editors_only(
    county_user: User, county_viewer: User, world: World, event: ElectionEvent
) -> None:
    open_form = f'action="{_card_url(event, world.county_a1, "open/")}"'
    body = _client(county_user).get(_card_url(event, world.county_a1)).content.decode()
    assert "atlas for the event yet." in body
    assert open_form in body and "Start the atlas" in body  # the register's atlas-open route

    body = _client(county_viewer).get(_card_url(event, world.county_a1)).content.decode()
    assert "atlas for the event yet." in body
    assert open_form not in body and "Start the atlas" not in body


# --- deciding the level ----------------------------------------------------------------------


def test_decide_form_is_offered_to_province_and_national_deciders_only(
    county_user: User,
    county_viewer: User,
    county_admin: User,
    province_user: User,
    national: User,
    auditor: User,
    world: World,
    event: ElectionEvent,
    register: list[Risk],
) -> None:
    services.county_classify(event=event)
    for user in (province_user, national):
        response = _client(user).get(_card_url(event, world.county_a1))
        assert 'id="decide-form"' in response.content.decode()
        assert response.context["decide_form"].initial == {"level": "important"}  # the recommendation
        assert 'id="past-election-form"' in response.content.decode()
    for user in (county_user, county_viewer, county_admin, auditor):
        body = _client(user).get(_card_url(event, world.county_a1)).content.decode()
        assert 'id="decide-form"' not in body and 'id="past-election-form"' not in body
        response = _client(user).post(_card_url(event, world.county_a1, "level/"), {"level": "important"})
        assert response.status_code == 404
    assert _count(SecurityLevelDecision) == 0


def test_override_without_a_reason_is_refused_on_the_reason_field(
    province_user: User, world: World, event: ElectionEvent, register: list[Risk]
) -> None:
    client = _client(province_user)
    response = client.post(_card_url(event, world.county_a1, "level/"), {"level": "normal", "reason": " "})

    assert response.status_code == 400
    errors = _errors(response, "decide_form")
    assert list(errors) == ["reason"]
    assert "give the reason" in errors["reason"][0]
    assert _count(SecurityLevelDecision) == 0
    assert _count(CountyClassification) == 0  # the refused decision wrote nothing at all


def test_decide_with_a_reason_is_kept_in_the_history(
    province_user: User, world: World, event: ElectionEvent, register: list[Risk]
) -> None:
    client = _client(province_user)
    response = client.post(
        _card_url(event, world.county_a1, "level/"),
        {"level": "sensitive", "reason": "شعب کوهستانی زیاد با یک خط ارتباطی"},
    )

    assert response.status_code == 302
    assert response["Location"] == _card_url(event, world.county_a1)
    assert _classification(event, world.county_a1).level == "sensitive"
    body = client.get(_card_url(event, world.county_a1)).content.decode()
    assert "شعب کوهستانی زیاد با یک خط ارتباطی" in body
    assert province_user.username in body  # who decided
    assert "override" in body


def test_decide_bad_level_is_a_form_error(
    national: User, province_user: User, world: World, event: ElectionEvent
) -> None:
    response = _client(national).post(_card_url(event, world.county_a1, "level/"), {"level": "critical"})
    assert response.status_code == 400
    assert list(_errors(response, "decide_form")) == ["level"]
    # A province outside the county's is refused as if the county did not exist.
    response = _client(province_user).post(_card_url(event, world.county_b1, "level/"), {"level": "normal"})
    assert response.status_code == 404


# --- the duties of the level -----------------------------------------------------------------


def test_duty_checklist_follows_the_decided_level(
    county_user: User, world: World, event: ElectionEvent, sensitive_a1: Any
) -> None:
    response = _client(county_user).get(_card_url(event, world.county_a1))

    lines = [row.line for row in response.context["duties"]]
    assert [line.template.level for line in lines] == ["sensitive"] * 4
    assert all(row.complete_form is not None for row in response.context["duties"])
    assert "A second (backup) communication link" not in response.content.decode()  # Persian text is data
    assert "خط ارتباطی دوم (پشتیبان) در همه شعب" in response.content.decode()


def test_duty_tick_off_needs_evidence_then_can_be_reopened_with_a_reason(
    county_user: User, world: World, event: ElectionEvent, sensitive_a1: Any
) -> None:
    client = _client(county_user)
    template = DutyTemplate.objects.filter(level="sensitive").order_by("position").first()
    assert template is not None
    url = _card_url(event, world.county_a1, f"duties/{template.pk}/")

    response = client.post(url, {"evidence": "  "})
    assert response.status_code == 400
    duty_row = next(row for row in response.context["duties"] if row.line.template == template)
    assert list(duty_row.complete_form.errors) == ["evidence"]
    assert _count(CountyDuty, is_done=True) == 0

    response = client.post(url, {"evidence": "صورتجلسه ۱۴۰۵/۰۹/۰۱"})
    assert response.status_code == 302
    with unscoped():
        duty = CountyDuty.objects.get(template=template, county=world.county_a1)
    assert duty.is_done and duty.evidence == "صورتجلسه ۱۴۰۵/۰۹/۰۱"
    page = client.get(_card_url(event, world.county_a1))
    assert page.context["duties_done"] == 1
    assert "صورتجلسه ۱۴۰۵/۰۹/۰۱" in page.content.decode()
    assert f'action="/atlas/duties/{duty.pk}/reopen/"' in page.content.decode()

    response = client.post(f"/atlas/duties/{duty.pk}/reopen/", {"reason": ""})
    assert response.status_code == 400
    row = next(row for row in response.context["duties"] if row.line.template == template)
    assert list(row.reopen_form.errors) == ["reason"]
    response = client.post(f"/atlas/duties/{duty.pk}/reopen/", {"reason": "مستند ناقص بود"})
    assert response.status_code == 302
    duty.refresh_from_db()
    assert not duty.is_done


def test_duty_of_another_level_is_refused_and_viewers_cannot_tick(
    county_user: User,
    county_viewer: User,
    outsider: User,
    world: World,
    event: ElectionEvent,
    sensitive_a1: Any,
) -> None:
    normal = DutyTemplate.objects.filter(level="normal").first()
    sensitive = DutyTemplate.objects.filter(level="sensitive").first()
    assert normal is not None and sensitive is not None
    response = _client(county_user).post(
        _card_url(event, world.county_a1, f"duties/{normal.pk}/"), {"evidence": "گزارش"}
    )
    assert response.status_code == 400
    assert response.context["duty_errors"] == ["This duty is not on the checklist of the county's level."]
    assert "This duty is not on the checklist of the county&#x27;s level." in response.content.decode()
    viewer = _client(county_viewer)
    assert 'class="primary">Tick off' not in viewer.get(_card_url(event, world.county_a1)).content.decode()
    url = _card_url(event, world.county_a1, f"duties/{sensitive.pk}/")
    assert viewer.post(url, {"evidence": "گزارش"}).status_code == 404
    assert _client(outsider).post(url, {"evidence": "گزارش"}).status_code == 404
    assert _count(CountyDuty) == 0


# --- the county's record of past elections ---------------------------------------------------


def test_past_election_is_added_with_a_jalali_date(
    province_user: User, world: World, event: ElectionEvent
) -> None:
    client = _client(province_user)
    url = f"/atlas/counties/{world.county_a1.pk}/past-elections/?event={event.pk}"
    response = client.post(
        url,
        {
            "held_on": "۱۴۰۰/۰۳/۲۸",
            "title": "انتخابات شوراهای دوره ششم",
            "was_annulled": "on",
            "serious_incidents": "2",
            "notes": "ابطال یک حوزه",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == _card_url(event, world.county_a1) + "#record"
    with unscoped():
        record = PastElection.objects.get(county=world.county_a1)
    assert (record.held_on, record.was_annulled, record.serious_incidents) == (dt.date(2021, 6, 18), True, 2)


def test_past_election_bad_input_shows_on_the_fields(
    province_user: User, county_user: User, world: World, event: ElectionEvent
) -> None:
    client = _client(province_user)
    url = f"/atlas/counties/{world.county_a1.pk}/past-elections/?event={event.pk}"
    response = client.post(url, {"held_on": "1400/13/40", "title": "", "serious_incidents": "-1"})
    assert response.status_code == 400
    assert set(_errors(response, "past_form")) == {"held_on", "title", "serious_incidents"}

    future = jalali_input_value(TODAY + dt.timedelta(days=10))
    response = client.post(url, {"held_on": future, "title": "آینده", "serious_incidents": "0"})
    assert response.status_code == 400
    assert list(_errors(response, "past_form")) == ["held_on"]  # the service's refusal
    assert _count(PastElection) == 0

    response = _client(county_user).post(
        url, {"held_on": "1400/03/28", "title": "x", "serious_incidents": "0"}
    )
    assert response.status_code == 404
    assert client.post(f"/atlas/counties/{world.county_b1.pk}/past-elections/", {}).status_code == 404


# --- the level maps and the table ------------------------------------------------------------


def _decide_all(actor: User, event: ElectionEvent, world: World) -> None:
    services.county_classify(event=event)
    services.security_level_decide(actor=actor, event=event, county=world.county_a2, level="normal")
    services.security_level_decide(
        actor=actor, event=event, county=world.county_b1, level="important", reason="سابقه ناآرامی"
    )


def test_national_map_colours_provinces_by_their_most_severe_level(
    national: User, world: World, event: ElectionEvent, sensitive_a1: Any
) -> None:
    _decide_all(national, event, world)
    response = _client(national).get("/atlas/levels/", {"event": event.pk})

    assert response.status_code == 200
    tiles = {tile.tally.province.code: tile for tile in response.context["tiles"]}
    assert tiles["A"].tally.top_level == "sensitive" and tiles["A"].tally.counts == {
        "sensitive": 1,
        "normal": 1,
    }
    assert tiles["B"].tally.top_level == "important"
    body = response.content.decode()
    assert f'href="/atlas/levels/provinces/{world.province_a.pk}/?event={event.pk}"' in body
    assert "level-sensitive" in body and "Sensitive 1" in body and "Normal 1" in body  # text, not colour only
    counts = {item["level"]: item["count"] for item in response.context["counts"]}
    assert counts == {"sensitive": 1, "important": 1, "normal": 1, "undecided": 0}


def test_province_and_county_users_land_on_their_province(
    province_user: User, county_user: User, world: World, event: ElectionEvent, register: list[Risk]
) -> None:
    services.county_classify(event=event)
    response = _client(province_user).get("/atlas/levels/")
    assert response.status_code == 200
    assert response.context["province"] == world.province_a
    assert {c["pk"] for c in response.context["counties"]} == {world.county_a1.pk, world.county_a2.pk}
    assert {row.county_id for row in response.context["page"]} == {world.county_a1.pk, world.county_a2.pk}
    assert world.county_b1.name not in response.content.decode()

    response = _client(county_user).get("/atlas/levels/")
    assert [c["pk"] for c in response.context["counties"]] == [world.county_a1.pk]
    assert world.county_a2.name not in response.content.decode()


def test_province_map_shows_decided_and_recommended_levels(
    national: User,
    province_user: User,
    county_user: User,
    world: World,
    event: ElectionEvent,
    register: list[Risk],
) -> None:
    services.county_classify(event=event)
    services.security_level_decide(actor=national, event=event, county=world.county_a2, level="normal")
    url = f"/atlas/levels/provinces/{world.province_a.pk}/"
    response = _client(national).get(url, {"event": event.pk})

    tiles = {c["pk"]: c for c in response.context["counties"]}
    assert (tiles[world.county_a1.pk]["level"], tiles[world.county_a1.pk]["recommended_level"]) == (
        "",
        "important",
    )
    assert tiles[world.county_a2.pk]["level"] == "normal"
    body = response.content.decode()
    assert "level-undecided rec-important" in body  # hatched and outlined with the recommendation
    counts = {item["level"]: item["count"] for item in response.context["counts"]}
    assert counts == {"sensitive": 0, "important": 0, "normal": 1, "undecided": 1}
    assert _client(province_user).get(f"/atlas/levels/provinces/{world.province_b.pk}/").status_code == 404
    assert _client(county_user).get(url).status_code == 200


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("county", ["A1", "A2", "B1"]),
        ("-county", ["B1", "A2", "A1"]),
        ("-score", ["A1", "B1", "A2"]),
        ("score", ["A2", "B1", "A1"]),
        ("nonsense", ["A1", "B1", "A2"]),  # the default: highest score first
    ],
)
def test_table_sorts(
    sort: str,
    expected: list[str],
    national: User,
    world: World,
    event: ElectionEvent,
    register: list[Risk],
    province_user: User,
) -> None:
    services.past_election_record(
        actor=national,
        county=world.county_b1,
        held_on=dt.date(2021, 6, 18),
        title="دوره ششم",
        was_annulled=True,
    )
    services.county_classify(event=event)
    query: dict[str, Any] = {"event": event.pk, "sort": sort}
    response = _client(national).get("/atlas/levels/", query)

    assert [row.county.code for row in response.context["page"]] == expected
    columns = {c["key"]: c for c in response.context["columns"]}
    if sort == "county":
        assert columns["county"]["state"] == "ascending" and columns["county"]["sort"] == "-county"


def test_table_filters_by_level_and_province_and_answers_htmx_with_the_table(
    national: User, world: World, event: ElectionEvent, sensitive_a1: Any
) -> None:
    _decide_all(national, event, world)
    client = _client(national)

    def codes(**params: Any) -> list[str]:
        query: dict[str, Any] = {"event": event.pk, "sort": "county", **params}
        response = client.get("/atlas/levels/", query)
        return [row.county.code for row in response.context["page"]]

    assert codes(level="sensitive") == ["A1"]
    assert codes(level="normal") == ["A2"]
    assert codes(province=world.province_b.pk) == ["B1"]
    assert codes(level="bogus", province="x") == ["A1", "A2", "B1"]
    services.county_classify(event=event)  # recomputing never undoes a decision
    assert codes(level="undecided") == []

    query: dict[str, Any] = {"event": event.pk, "level": "normal"}
    fragment = client.get("/atlas/levels/", query, headers={"HX-Request": "true"})
    text = fragment.content.decode()
    assert "<html" not in text and 'id="tilemap"' not in text
    assert world.county_a2.name in text and world.county_b1.name not in text


def test_levels_page_query_count_does_not_grow_with_counties(
    national: User, admin: User, world: World, event: ElectionEvent, django_assert_max_num_queries: Any
) -> None:
    services.county_classify(event=event)
    client = _client(national)
    url = f"/atlas/levels/?event={event.pk}"
    with django_assert_max_num_queries(16):
        response = client.get(url)
    assert len(response.context["page"]) == 3
    few = page_queries(client, url)
    province_few = page_queries(client, f"/atlas/levels/provinces/{world.province_a.pk}/?event={event.pk}")
    rows = "\n".join(f"county,A{n},شهرستان آزمایشی {n},Test {n},A" for n in range(3, 23))
    geography_import(
        actor=admin, rows=parse_division_csv("level,code,name,name_en,parent_code\n" + rows), source="t"
    )
    with unscoped():
        for code in ("C", "D"):
            Province.objects.create(code=code, name=f"استان {code}")
    contest_add(actor=admin, event=event, kind="village_council")  # in every county, the new ones too
    services.county_classify(event=event)

    assert len(client.get(url).context["page"]) == 23
    assert page_queries(client, url) == few
    assert (
        page_queries(client, f"/atlas/levels/provinces/{world.province_a.pk}/?event={event.pk}")
        == province_few
    )


def test_levels_without_any_event_says_so(national: User, world: World) -> None:
    response = _client(national).get("/atlas/levels/")
    assert response.status_code == 200
    assert "There is no election event yet" in response.content.decode()
    assert _client(national).get("/atlas/levels/", {"event": "999999"}).status_code == 404


# --- recalculating ---------------------------------------------------------------------------


def test_recalculate_is_for_province_and_national_deciders(
    province_user: User,
    county_user: User,
    county_admin: User,
    auditor: User,
    national: User,
    world: World,
    event: ElectionEvent,
    register: list[Risk],
) -> None:
    for user in (county_user, county_admin, auditor):
        assert 'id="classify-form"' not in _client(user).get("/atlas/levels/").content.decode()
        assert _client(user).post("/atlas/levels/classify/", {"event": event.pk}).status_code == 404
    assert _count(CountyClassification) == 0

    client = _client(province_user)
    assert 'id="classify-form"' in client.get("/atlas/levels/").content.decode()
    response = client.post("/atlas/levels/classify/", {"event": event.pk})
    assert response.status_code == 302
    assert response["Location"] == f"/atlas/levels/?event={event.pk}"
    with unscoped():
        classified = set(CountyClassification.objects.values_list("county_id", flat=True))
    assert classified == {world.county_a1.pk, world.county_a2.pk}  # the province's counties only

    response = _client(national).post("/atlas/levels/classify/", {})
    assert response.status_code == 400
    assert "Choose an election event." in response.content.decode()
    assert _client(national).post("/atlas/levels/classify/", {"event": event.pk}).status_code == 302
    assert _count(CountyClassification) == 3


# --- the tile map ----------------------------------------------------------------------------


def _tally(code: str, name: str) -> ProvinceTally:
    return ProvinceTally(province=Province(code=code, name=name))


def test_tile_layout_places_iran_geographically_and_others_in_name_order() -> None:
    tiles, rows, columns = tile_layout(
        [_tally("23", "تهران"), _tally("4", "آذربایجان غربی"), _tally("Z", "زد"), _tally("Y", "الف")]
    )
    where = {tile.tally.province.code: (tile.row, tile.col) for tile in tiles}
    assert where["4"] == (0, 0)  # West Azerbaijan: the north-west corner
    assert where["23"] == (2, 4)  # Tehran
    assert (rows, columns) == (4, 5)
    # The unknown codes fill the rows below, in name order.
    assert where["Y"] == (3, 0) and where["Z"] == (3, 1)

    tiles, rows, columns = tile_layout(
        [_tally(c, n) for c, n in (("b", "Beta"), ("a", "Alpha"), ("c", "Gamma"))]
    )
    assert [(t.tally.province.name, t.row, t.col) for t in tiles] == [
        ("Alpha", 0, 0),
        ("Beta", 0, 1),
        ("Gamma", 1, 0),
    ]
    assert (rows, columns) == (2, 2)


def test_iran_tiles_cover_every_province_once() -> None:
    text = (resources.files("amanat.geography") / "data" / "iran_tiles.json").read_text(encoding="utf-8")
    positions = json.loads(text)["provinces"]
    codes = {row.code for row in iran_division_rows() if row.level == "province"}
    assert set(positions) == codes and len(codes) == 31
    assert len({tuple(rc) for rc in positions.values()}) == 31  # no two provinces on one tile


def test_level_colours_read_with_enough_contrast() -> None:
    for background, ink in exports.LEVEL_COLOURS.values():
        assert exports.contrast(background, ink) >= 4.5
    assert exports.ink_for("#f9a825") == "#1a1a1a"  # amber band: dark text
    assert exports.ink_for("#2e7d32") == "#ffffff"  # green band: light text
    assert exports.ink_for("not a colour") == "#1a1a1a"


# --- national settings -----------------------------------------------------------------------


def test_policy_is_for_the_national_administrator_only(
    national: User, province_admin: User, county_admin: User, province_user: User, world: World
) -> None:
    for user in (province_admin, county_admin, province_user):
        assert _client(user).get("/atlas/settings/policy/").status_code == 404
        assert _client(user).post("/atlas/settings/policy/", {"important_from": 5}).status_code == 404
    response = _client(national).get("/atlas/settings/policy/")
    assert response.status_code == 200
    assert response.context["form"].initial["sensitive_from"] == 45
    assert [row["band"].weight for row in response.context["bands"]] == [0, 2, 5, 10]
    assert 'id="band-weights"' in response.content.decode()


def test_policy_update_checks_thresholds_and_saves(national: User, world: World) -> None:
    client = _client(national)
    values = {
        "annulled_points": 20,
        "incident_points": 3,
        "incident_points_cap": 15,
        "stations_per_point": 0,
        "important_from": 30,
        "sensitive_from": 30,
    }
    response = client.post("/atlas/settings/policy/", values)
    assert response.status_code == 400
    assert list(_errors(response, "form")) == ["sensitive_from"]
    response = client.post("/atlas/settings/policy/", {**values, "important_from": "x", "sensitive_from": -1})
    assert response.status_code == 400
    assert set(_errors(response, "form")) == {"important_from", "sensitive_from"}
    assert ClassificationPolicy.objects.get().important_from == 20

    response = client.post("/atlas/settings/policy/", {**values, "sensitive_from": 60})
    assert response.status_code == 302
    policy = ClassificationPolicy.objects.get()
    assert (
        policy.annulled_points,
        policy.stations_per_point,
        policy.important_from,
        policy.sensitive_from,
    ) == (
        20,
        0,
        30,
        60,
    )


def test_duty_templates_are_listed_added_edited_and_retired(
    national: User, province_admin: User, world: World
) -> None:
    client = _client(national)
    response = client.get("/atlas/settings/duties/")
    assert response.status_code == 200
    by_level = {level: duties for level, _label, duties in response.context["by_level"]}
    assert [len(by_level[level]) for level in ("normal", "important", "sensitive")] == [2, 3, 4]

    response = client.post("/atlas/settings/duties/", {"level": "normal", "text": ""})
    assert response.status_code == 400 and list(_errors(response, "form")) == ["text"]
    existing = by_level["normal"][0].text
    response = client.post("/atlas/settings/duties/", {"level": "normal", "text": existing})
    assert response.status_code == 400 and "already has this duty" in _errors(response, "form")["text"][0]
    response = client.post(
        "/atlas/settings/duties/", {"level": "normal", "text": "تهیه نقشه شعب", "text_en": "Map"}
    )
    assert response.status_code == 302
    duty = DutyTemplate.objects.get(text="تهیه نقشه شعب")

    edit = f"/atlas/settings/duties/{duty.pk}/"
    assert client.get(edit).context["form"].initial == {
        "text": "تهیه نقشه شعب",
        "text_en": "Map",
        "is_active": True,
    }
    response = client.post(edit, {"text": "", "text_en": ""})
    assert response.status_code == 400 and list(_errors(response, "form")) == ["text"]
    response = client.post(
        edit, {"text": "تهیه نقشه همه شعب", "text_en": "Map of stations"}
    )  # unticked: retire
    assert response.status_code == 302
    duty.refresh_from_db()
    assert (duty.text, duty.is_active) == ("تهیه نقشه همه شعب", False)
    assert 'class="retired"' in client.get("/atlas/settings/duties/").content.decode()

    for url in ("/atlas/settings/duties/", edit):
        assert _client(province_admin).get(url).status_code == 404
        assert _client(province_admin).post(url, {"text": "x", "level": "normal"}).status_code == 404
    assert client.get("/atlas/settings/duties/999999/").status_code == 404
