"""The register's pages: the list, an atlas, its risks and mitigations, versions, review and settings.

Each page renders within the caller's jurisdiction and 404s outside it; forms a role may not use
are neither shown nor accepted; bad input shows on the right field with nothing changed; list pages
keep their query count whatever the number of rows; and the whole workflow runs through the pages:
the county records and submits, the province returns a risk with a comment, the county sees it,
fixes and resubmits, the province approves.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from amanat.accounts.models import User
from amanat.accounts.roles import Role
from amanat.accounts.services import user_create
from amanat.committees.models import ActionItem
from amanat.elections.models import ElectionEvent
from amanat.risks import services
from amanat.risks.models import (
    Atlas,
    AtlasStatus,
    AtlasVersion,
    ReviewComment,
    Risk,
    RiskCategory,
    RiskMatrix,
    RiskMitigation,
    RiskStatus,
    VersionStatus,
)
from amanat.scoping import unscoped
from amanat.ui.formatting import jalali_input_value
from conftest import PASSWORD, Committees, World, client_for, page_queries

TODAY = dt.date(2026, 11, 30)  # in the event's season (opens 2026-11-01, votes 2027-03-05)
LOCKED = "The atlas is with the province for review"


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


def _get(model: Any, pk: int) -> Any:
    with unscoped():
        return model.objects.get(pk=pk)


def _errors(response: Any, form: str) -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in response.context[form].errors.items()}


def _risk_data(category: RiskCategory, **changes: Any) -> dict[str, Any]:
    data = {
        "kind": "vulnerability",
        "phase": "during",
        "category": category.pk,
        "title": "قطع خط فیبر نوری شعب روستایی",
        "location": "شعب روستایی بخش مرکزی",
        "likelihood": "3",
        "impact": "4",
        "treatment": "mitigate",
        "owner": "",
    }
    data.update(changes)
    return data


def _update_data(risk: Risk, **changes: Any) -> dict[str, Any]:
    data = {
        "kind": risk.kind,
        "phase": risk.phase,
        "category": risk.category_id,
        "title": risk.title,
        "description": risk.description,
        "location": risk.location,
        "likelihood": risk.likelihood or "",
        "impact": risk.impact or "",
        "treatment": risk.treatment,
        "owner": risk.owner_id or "",
        "status": risk.status,
        "residual_likelihood": "",
        "residual_impact": "",
    }
    data.update(changes)
    return data


@pytest.fixture
def county_chair(admin: User, world: World) -> User:
    """The chair of county A1: may approve within the county, but does not review its atlas."""
    return user_create(
        actor=admin,
        username="chair_a1",
        password=PASSWORD,
        role=Role.CHAIR,
        organisation=world.org_a1,
        county=world.county_a1,
    )


# --- the list --------------------------------------------------------------------------------


def test_list_shows_each_persona_the_atlases_within_reach(
    county_user: User,
    outsider: User,
    province_user: User,
    national: User,
    auditor: User,
    atlas_a1: Atlas,
    atlas_b1: Atlas,
    event: ElectionEvent,
) -> None:
    expected = {
        county_user: {atlas_a1.pk},
        outsider: {atlas_b1.pk},
        province_user: {atlas_a1.pk},
        national: {atlas_a1.pk, atlas_b1.pk},
        auditor: {atlas_a1.pk, atlas_b1.pk},
    }
    for user, atlases in expected.items():
        response = _client(user).get("/atlas/", {"event": event.pk})
        assert response.status_code == 200
        assert {atlas.pk for atlas in response.context["page"]} == atlases, user.username

    body = _client(county_user).get("/atlas/").content.decode()
    assert reverse("risks:atlas", args=[atlas_a1.pk]) in body
    assert reverse("risks:atlas", args=[atlas_b1.pk]) not in body
    assert "شهرستان ب۱" not in body
    assert _client(county_user).get("/atlas/", {"event": 999999}).status_code == 404


def test_national_and_province_see_each_province_s_set_of_atlases(
    county_user: User,
    province_user: User,
    national: User,
    atlas_a1: Atlas,
    atlas_b1: Atlas,
    world: World,
    event: ElectionEvent,
) -> None:
    national_page = _client(national).get("/atlas/", {"event": event.pk})
    rows = {row.province.pk: row for row in national_page.context["province_tally"]}
    assert (rows[world.province_a.pk].draft, rows[world.province_a.pk].not_started) == (1, 1)
    assert f'id="province-set-{world.province_b.pk}"' in national_page.content.decode()
    # The province's link lists that province's atlases only.
    in_b = _client(national).get("/atlas/", {"event": event.pk, "province": world.province_b.pk})
    assert {atlas.pk for atlas in in_b.context["page"]} == {atlas_b1.pk}
    province_page = _client(province_user).get("/atlas/", {"event": event.pk}).content.decode()
    assert f'id="province-set-{world.province_a.pk}"' in province_page
    assert f'id="province-set-{world.province_b.pk}"' not in province_page
    assert "province-sets" not in _client(county_user).get("/atlas/").content.decode()


def test_list_filters_by_status_and_counts_active_risks(
    national: User, atlas_a1: Atlas, atlas_b1: Atlas, make_risk: Callable[..., Risk], outsider: User
) -> None:
    make_risk(atlas_a1)
    withdrawn = make_risk(atlas_a1, title="ریسک کنارگذاشته")
    services.risk_withdraw(actor=national, risk=withdrawn, reason="تکراری")
    make_risk(atlas_b1, actor=outsider)
    services.atlas_submit(actor=outsider, atlas=atlas_b1)
    client = _client(national)

    rows = {atlas.pk: atlas.active_risks for atlas in client.get("/atlas/").context["page"]}
    assert rows == {atlas_a1.pk: 1, atlas_b1.pk: 1}
    submitted = client.get("/atlas/", {"status": "submitted"}).context["page"]
    assert [atlas.pk for atlas in submitted] == [atlas_b1.pk]
    assert len(client.get("/atlas/", {"status": "nonsense"}).context["page"]) == 2

    fragment = client.get("/atlas/", {"status": "draft"}, headers={"HX-Request": "true"})
    text = fragment.content.decode()
    assert "<html" not in text and 'id="atlases"' in text
    assert [atlas.pk for atlas in fragment.context["page"]] == [atlas_a1.pk]


def test_county_user_starts_the_county_atlas_from_the_list(
    county_user: User, county_viewer: User, outsider: User, world: World, event: ElectionEvent
) -> None:
    client = _client(county_user)
    response = client.get("/atlas/")
    open_url = reverse("risks:atlas-open", args=[event.pk, world.county_a1.pk])
    assert response.context["own_atlas"] is None and response.context["can_open"] is True
    assert open_url in response.content.decode()

    viewer_page = _client(county_viewer).get("/atlas/")
    assert viewer_page.context["can_open"] is False
    assert open_url not in viewer_page.content.decode()
    assert _client(county_viewer).post(open_url).status_code == 404
    assert _client(outsider).post(open_url).status_code == 404
    assert client.get(open_url).status_code == 405
    assert _count(Atlas) == 0

    response = client.post(open_url)
    with unscoped():
        atlas = Atlas.objects.get(event=event, county=world.county_a1)
    assert response.status_code == 302 and response["Location"] == reverse("risks:atlas", args=[atlas.pk])
    assert client.post(open_url).status_code == 302  # opening again finds the same atlas
    assert _count(Atlas) == 1
    assert client.get("/atlas/").context["own_atlas"] == atlas


def test_province_user_sees_what_awaits_review(
    province_user: User,
    county_user: User,
    national: User,
    atlas_a1: Atlas,
    atlas_b1: Atlas,
    make_risk: Callable[..., Risk],
    outsider: User,
) -> None:
    make_risk(atlas_a1)
    version = services.atlas_submit(actor=county_user, atlas=atlas_a1)
    make_risk(atlas_b1, actor=outsider)
    other = services.atlas_submit(actor=outsider, atlas=atlas_b1)

    response = _client(province_user).get("/atlas/")
    assert [v.pk for v in response.context["review_queue"]] == [version.pk]
    assert reverse("risks:version", args=[version.pk]) in response.content.decode()
    assert "review_queue" not in _client(county_user).get("/atlas/").context

    queue = _client(province_user).get("/atlas/reviews/")
    assert queue.status_code == 200 and [v.pk for v in queue.context["page"]] == [version.pk]
    national_queue = _client(national).get("/atlas/reviews/").context["page"]
    assert {v.pk for v in national_queue} == {version.pk, other.pk}
    assert [v.pk for v in _client(outsider).get("/atlas/reviews/").context["page"]] == [other.pk]


def test_list_query_count_does_not_grow_with_atlases(
    national: User,
    admin: User,
    world: World,
    event: ElectionEvent,
    make_risk: Callable[..., Risk],
    django_assert_max_num_queries: Any,
) -> None:
    first = services.atlas_open(actor=national, event=event, county=world.county_a1)
    make_risk(first, actor=national)
    client = _client(national)
    few = page_queries(client, "/atlas/")
    for county in (world.county_a2, world.county_b1):
        atlas = services.atlas_open(actor=national, event=event, county=county)
        make_risk(atlas, actor=national)
        make_risk(atlas, actor=national, title="ریسک دوم")
    assert len(client.get("/atlas/").context["page"]) == 3
    assert page_queries(client, "/atlas/") == few
    # Session, user, events, the page and its count, the provinces' tally (3), header and notifications.
    with django_assert_max_num_queries(13):
        client.get("/atlas/")


# --- an atlas --------------------------------------------------------------------------------


def test_atlas_page_groups_risks_by_phase_then_kind(
    county_user: User,
    province_user: User,
    auditor: User,
    outsider: User,
    county_viewer: User,
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
) -> None:
    during = make_risk(atlas_a1)
    threat = make_risk(atlas_a1, kind="threat", title="حمله سایبری به سامانه", likelihood=5, impact=5)
    before = make_risk(atlas_a1, phase="before", title="تأخیر در آموزش عوامل", likelihood=None, impact=None)
    accepted = make_risk(atlas_a1, phase="after", title="تأخیر اعلام نتایج", treatment="accept")
    url = f"/atlas/{atlas_a1.pk}/"

    response = _client(county_user).get(url)
    assert response.status_code == 200
    phases = {group.phase: group for group in response.context["phases"]}
    assert [r.risk.pk for k in phases["before"].kinds for r in k.rows] == [before.pk]
    assert [(k.kind, [r.risk.pk for r in k.rows]) for k in phases["during"].kinds] == [
        ("threat", [threat.pk]),
        ("vulnerability", [during.pk]),
    ]
    assert response.context["unassessed"] == 1 and response.context["awaiting_acceptance"] == 1
    body = response.content.decode()
    assert "acceptance awaits approval" in body and "not assessed" in body
    assert reverse("risks:risk-create", args=[atlas_a1.pk]) in body
    assert 'id="submit-form"' in body
    row = next(r for k in phases["during"].kinds for r in k.rows if r.risk.pk == threat.pk)
    assert row.band is not None and row.band.colour.startswith("#") and row.band.name
    assert accepted.pk in {r.risk.pk for k in phases["after"].kinds for r in k.rows}

    viewer_body = _client(county_viewer).get(url).content.decode()
    assert 'id="submit-form"' not in viewer_body
    assert reverse("risks:risk-create", args=[atlas_a1.pk]) not in viewer_body
    assert _client(province_user).get(url).status_code == 200
    assert _client(auditor).get(url).status_code == 200
    assert _client(outsider).get(url).status_code == 404
    assert _client(county_user).get("/atlas/999999/").status_code == 404


def test_atlas_page_query_count_is_constant(
    county_user: User,
    province_user: User,
    committees: Committees,
    world: World,
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
) -> None:
    first = make_risk(atlas_a1)
    services.mitigation_add(
        actor=county_user, risk=first, title="خط پشتیبان", responsible=world.org_a1, due_on=TODAY
    )
    version = services.atlas_submit(actor=county_user, atlas=atlas_a1)
    services.atlas_review(actor=province_user, version=version, approve=False, comments={first.pk: "دقیق‌تر"})
    client = _client(county_user)
    url = f"/atlas/{atlas_a1.pk}/"
    few = page_queries(client, url)
    for n in range(5):
        risk = make_risk(atlas_a1, title=f"ریسک {n}", phase=["before", "during", "after"][n % 3])
        services.mitigation_add(
            actor=county_user, risk=risk, title=f"اقدام {n}", responsible=world.org_a1, due_on=TODAY
        )
    latest = services.atlas_submit(actor=county_user, atlas=atlas_a1)
    services.atlas_review(
        actor=province_user, version=latest, approve=False, comments={first.pk: "هنوز دقیق نیست"}
    )
    response = client.get(url)
    assert response.context["active_count"] == 6 and len(response.context["versions"]) == 2
    assert page_queries(client, url) == few


def test_atlas_page_has_a_query_ceiling(
    national: User, atlas_a1: Atlas, make_risk: Callable[..., Risk], django_assert_max_num_queries: Any
) -> None:
    for n in range(8):
        make_risk(atlas_a1, title=f"ریسک {n}")
    client = _client(national)
    with django_assert_max_num_queries(12):
        assert client.get(f"/atlas/{atlas_a1.pk}/").status_code == 200


# --- recording and changing risks ------------------------------------------------------------


def test_risk_form_offers_active_categories_grouped_and_the_matrix_levels(
    county_user: User, world: World, atlas_a1: Atlas, national: User
) -> None:
    retired = RiskCategory.objects.get(code="planning")
    services.risk_category_update(actor=national, category=retired, name=retired.name, is_active=False)
    response = _client(county_user).get(f"/atlas/{atlas_a1.pk}/risks/new/")
    assert response.status_code == 200
    form = response.context["form"]
    groups = [label for label, _options in form.fields["category"].choices[1:]]
    assert [str(g) for g in groups] == [
        "Internal to the electoral process",
        "External to the electoral process",
    ]
    offered = {value for _label, options in form.fields["category"].choices[1:] for value, _name in options}
    assert retired.pk not in offered and RiskCategory.objects.get(code="cyber-threats").pk in offered
    matrix = RiskMatrix.objects.get(is_default=True)
    assert [v for v, _label in form.fields["likelihood"].choices] == [""] + [
        str(n) for n in range(1, matrix.likelihood_levels + 1)
    ]
    owners = set(form.fields["owner"].queryset)
    assert world.org_a1 in owners and world.org_a in owners and world.org_national in owners
    assert world.org_b1 not in owners
    assert "Never name a person or a group" in str(form.fields["location"].help_text)


def test_risk_create_records_an_assessed_risk(
    county_user: User, world: World, atlas_a1: Atlas, category: RiskCategory
) -> None:
    response = _client(county_user).post(
        f"/atlas/{atlas_a1.pk}/risks/new/", _risk_data(category, owner=world.org_a1.pk)
    )
    with unscoped():
        risk = Risk.objects.get(atlas=atlas_a1)
    assert response.status_code == 302 and response["Location"] == reverse("risks:risk", args=[risk.pk])
    assert (risk.likelihood, risk.impact, risk.owner, risk.created_by) == (3, 4, world.org_a1, county_user)
    assert risk.score is not None and risk.band is not None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"likelihood": "9"}, "likelihood"),  # outside the 5x5 matrix
        ({"impact": "0"}, "impact"),
        ({"likelihood": "3", "impact": ""}, "impact"),  # both or neither: the service says so
        ({"title": ""}, "title"),
        ({"kind": "person"}, "kind"),
        ({"treatment": "ignore"}, "treatment"),
    ],
)
def test_risk_create_bad_input_is_a_form_error_with_input_kept(
    county_user: User, atlas_a1: Atlas, category: RiskCategory, changes: dict[str, str], field: str
) -> None:
    data = _risk_data(category, **changes)
    response = _client(county_user).post(f"/atlas/{atlas_a1.pk}/risks/new/", data)
    assert response.status_code == 400
    assert field in _errors(response, "form")
    assert response.context["form"]["location"].value() == "شعب روستایی بخش مرکزی"
    assert _count(Risk) == 0


def test_risk_owner_of_another_county_is_refused(
    county_user: User, world: World, atlas_a1: Atlas, category: RiskCategory
) -> None:
    response = _client(county_user).post(
        f"/atlas/{atlas_a1.pk}/risks/new/", _risk_data(category, owner=world.org_b1.pk)
    )
    assert response.status_code == 400 and "owner" in _errors(response, "form")
    assert _count(Risk) == 0


def test_risk_pages_refuse_roles_and_places_without_access(
    county_viewer: User, outsider: User, auditor: User, atlas_a1: Atlas, make_risk: Callable[..., Risk]
) -> None:
    risk = make_risk(atlas_a1)
    for user in (county_viewer, auditor):
        client = _client(user)
        assert client.get(f"/atlas/{atlas_a1.pk}/risks/new/").status_code == 404
        assert client.get(f"/atlas/risks/{risk.pk}/edit/").status_code == 404
        assert client.post(f"/atlas/risks/{risk.pk}/withdraw/", {"reason": "x"}).status_code == 404
        assert client.get(f"/atlas/risks/{risk.pk}/").status_code == 200
    client = _client(outsider)
    for url in (
        f"/atlas/risks/{risk.pk}/",
        f"/atlas/risks/{risk.pk}/edit/",
        f"/atlas/{atlas_a1.pk}/risks/new/",
    ):
        assert client.get(url).status_code == 404
    assert client.post(f"/atlas/risks/{risk.pk}/withdraw/", {"reason": "x"}).status_code == 404
    assert _get(Risk, risk.pk).status == RiskStatus.OPEN


def test_risk_update_changes_assessment_status_and_residual(
    county_user: User, atlas_a1: Atlas, make_risk: Callable[..., Risk]
) -> None:
    risk = make_risk(atlas_a1)
    client = _client(county_user)
    page = client.get(f"/atlas/risks/{risk.pk}/edit/")
    assert page.status_code == 200 and page.context["form"].initial["likelihood"] == 3
    assert "withdrawn" not in [value for value, _label in page.context["form"].fields["status"].choices]

    data = _update_data(risk, likelihood="5", status="treated", residual_likelihood="2", residual_impact="2")
    response = client.post(f"/atlas/risks/{risk.pk}/edit/", data)
    assert response.status_code == 302
    risk = _get(Risk, risk.pk)
    assert (risk.likelihood, risk.status, risk.residual_likelihood) == (5, "treated", 2)
    assert risk.residual_score is not None

    bad = client.post(f"/atlas/risks/{risk.pk}/edit/", _update_data(risk, residual_likelihood="3"))
    assert bad.status_code == 400 and "residual_impact" in _errors(bad, "form")
    assert _get(Risk, risk.pk).residual_likelihood == 2


def test_editing_while_submitted_is_refused_with_a_message(
    county_user: User, atlas_a1: Atlas, make_risk: Callable[..., Risk], category: RiskCategory
) -> None:
    risk = make_risk(atlas_a1)
    services.atlas_submit(actor=county_user, atlas=atlas_a1)
    client = _client(county_user)

    page = client.get(f"/atlas/risks/{risk.pk}/edit/")
    body = page.content.decode()
    assert page.status_code == 200 and page.context["locked"] is True
    assert LOCKED in body and 'id="risk-form"' not in body
    response = client.post(f"/atlas/risks/{risk.pk}/edit/", _update_data(risk, title="عنوان تازه"))
    assert response.status_code == 400
    assert LOCKED in response.content.decode()
    assert _get(Risk, risk.pk).title == risk.title

    create = client.post(f"/atlas/{atlas_a1.pk}/risks/new/", _risk_data(category, title="ریسک تازه"))
    assert create.status_code == 400 and LOCKED in create.content.decode()
    assert _count(Risk) == 1
    detail = client.get(f"/atlas/risks/{risk.pk}/").content.decode()
    assert 'id="withdraw-form"' not in detail and 'id="mitigation-form"' not in detail
    withdraw = client.post(f"/atlas/risks/{risk.pk}/withdraw/", {"reason": "تکراری"})
    assert withdraw.status_code == 400 and _get(Risk, risk.pk).status == RiskStatus.OPEN
    atlas_page = client.get(f"/atlas/{atlas_a1.pk}/").content.decode()
    assert LOCKED in atlas_page and 'id="submit-form"' not in atlas_page


# --- a risk: mitigations, acceptance, withdrawal ---------------------------------------------


def test_risk_detail_adds_mitigations_linked_to_committee_actions(
    county_user: User, committees: Committees, world: World, atlas_a1: Atlas, make_risk: Callable[..., Risk]
) -> None:
    risk = make_risk(atlas_a1)
    client = _client(county_user)
    url = f"/atlas/risks/{risk.pk}/mitigations/"
    due = TODAY + dt.timedelta(days=10)

    bad = client.post(url, {"title": "خط پشتیبان", "responsible": world.org_a1.pk, "due_on": "1405/13/40"})
    assert bad.status_code == 400 and "due_on" in _errors(bad, "mitigation_form")
    past = client.post(
        url,
        {
            "title": "خط پشتیبان",
            "responsible": world.org_a1.pk,
            "due_on": jalali_input_value(TODAY - dt.timedelta(days=1)),
        },
    )
    assert past.status_code == 400 and "due_on" in _errors(past, "mitigation_form")
    other = client.post(
        url, {"title": "خط پشتیبان", "responsible": world.org_b1.pk, "due_on": jalali_input_value(due)}
    )
    assert other.status_code == 400 and "responsible" in _errors(other, "mitigation_form")
    assert _count(RiskMitigation) == 0

    response = client.post(
        url,
        {"title": "خط ارتباطی پشتیبان", "responsible": world.org_a1.pk, "due_on": jalali_input_value(due)},
    )
    assert response.status_code == 302
    with unscoped():
        mitigation = RiskMitigation.objects.select_related("action_item").get(risk=risk)
    assert mitigation.action_item.due_on == due and mitigation.action_item.committee == committees.county_a1
    page = client.get(f"/atlas/risks/{risk.pk}/")
    assert reverse("committees:action", args=[mitigation.action_item.pk]) in page.content.decode()
    assert [m.pk for m in page.context["mitigations"]] == [mitigation.pk]
    atlas_rows = client.get(f"/atlas/{atlas_a1.pk}/").context["phases"]
    row = next(r for g in atlas_rows for k in g.kinds for r in k.rows if r.risk.pk == risk.pk)
    assert (row.risk.mitigations_done, row.risk.mitigation_count) == (0, 1)


def test_mitigation_without_a_committee_is_a_form_error(
    county_user: User, world: World, atlas_a1: Atlas, make_risk: Callable[..., Risk]
) -> None:
    risk = make_risk(atlas_a1)
    due = jalali_input_value(TODAY + dt.timedelta(days=3))
    response = _client(county_user).post(
        f"/atlas/risks/{risk.pk}/mitigations/",
        {"title": "اقدام", "responsible": world.org_a1.pk, "due_on": due},
    )
    assert response.status_code == 400 and "responsible" in _errors(response, "mitigation_form")
    assert _count(ActionItem) == 0


def test_acceptance_is_approved_by_an_approver(
    county_user: User, province_user: User, atlas_a1: Atlas, make_risk: Callable[..., Risk]
) -> None:
    risk = make_risk(atlas_a1, treatment="accept")
    url = f"/atlas/risks/{risk.pk}/accept/"
    own = _client(county_user).get(f"/atlas/risks/{risk.pk}/")
    assert own.context["may_approve_acceptance"] is False and 'id="accept-form"' not in own.content.decode()
    assert _client(county_user).post(url).status_code == 404

    page = _client(province_user).get(f"/atlas/risks/{risk.pk}/")
    assert page.context["may_approve_acceptance"] is True and url in page.content.decode()
    response = _client(province_user).post(url)
    assert response.status_code == 302
    assert _get(Risk, risk.pk).acceptance_approved_by == province_user
    assert _client(province_user).get(f"/atlas/risks/{risk.pk}/").context["may_approve_acceptance"] is False

    mitigated = make_risk(atlas_a1, title="ریسک کاهش‌یافته")
    refused = _client(province_user).post(f"/atlas/risks/{mitigated.pk}/accept/")
    assert refused.status_code == 400 and refused.context["action_errors"]
    assert _get(Risk, mitigated.pk).acceptance_approved_by is None


def test_withdraw_needs_a_reason(county_user: User, atlas_a1: Atlas, make_risk: Callable[..., Risk]) -> None:
    risk = make_risk(atlas_a1)
    client = _client(county_user)
    response = client.post(f"/atlas/risks/{risk.pk}/withdraw/", {"reason": "  "})
    assert response.status_code == 400 and "reason" in _errors(response, "withdraw_form")
    assert _get(Risk, risk.pk).status == RiskStatus.OPEN

    response = client.post(f"/atlas/risks/{risk.pk}/withdraw/", {"reason": "با ریسک دیگری یکی شد"})
    assert response.status_code == 302 and response["Location"] == reverse("risks:atlas", args=[atlas_a1.pk])
    assert _get(Risk, risk.pk).status == RiskStatus.WITHDRAWN
    page = client.get(f"/atlas/{atlas_a1.pk}/")
    assert page.context["active_count"] == 0 and [r.risk.pk for r in page.context["inactive"]] == [risk.pk]


# --- submission, versions and review ---------------------------------------------------------


def test_submit_with_an_unassessed_risk_lists_it_and_changes_nothing(
    county_user: User, atlas_a1: Atlas, make_risk: Callable[..., Risk]
) -> None:
    make_risk(atlas_a1)
    make_risk(atlas_a1, title="ریسک ارزیابی‌نشده", likelihood=None, impact=None)
    response = _client(county_user).post(f"/atlas/{atlas_a1.pk}/submit/", {"note": "نسخه نخست"})
    assert response.status_code == 400
    errors = response.context["submit_form"].non_field_errors()
    assert any("ریسک ارزیابی‌نشده" in error for error in errors)
    assert "ریسک ارزیابی‌نشده" in response.content.decode()
    assert response.context["submit_form"]["note"].value() == "نسخه نخست"
    assert _count(AtlasVersion) == 0 and _get(Atlas, atlas_a1.pk).status == AtlasStatus.DRAFT


def test_submit_refuses_viewers_and_outsiders(
    county_viewer: User, outsider: User, atlas_a1: Atlas, make_risk: Callable[..., Risk]
) -> None:
    make_risk(atlas_a1)
    assert _client(county_viewer).post(f"/atlas/{atlas_a1.pk}/submit/").status_code == 404
    assert _client(outsider).post(f"/atlas/{atlas_a1.pk}/submit/").status_code == 404
    assert _count(AtlasVersion) == 0


def test_version_is_rendered_from_its_frozen_content(
    county_user: User, province_user: User, atlas_a1: Atlas, make_risk: Callable[..., Risk], outsider: User
) -> None:
    risk = make_risk(atlas_a1, title="عنوان هنگام ارسال")
    version = services.atlas_submit(actor=county_user, atlas=atlas_a1, note="یادداشت برای استان")
    services.atlas_review(actor=province_user, version=version, approve=True)
    services.risk_update(**{**_service_fields(risk), "actor": county_user, "title": "عنوان پس از تأیید"})

    response = _client(county_user).get(f"/atlas/versions/{version.pk}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "عنوان هنگام ارسال" in body and "عنوان پس از تأیید" not in body
    assert "یادداشت برای استان" in body and "review_form" not in response.context
    assert _client(outsider).get(f"/atlas/versions/{version.pk}/").status_code == 404
    assert _client(county_user).get("/atlas/versions/999999/").status_code == 404


def _service_fields(risk: Risk) -> dict[str, Any]:
    return {
        "risk": risk,
        "kind": risk.kind,
        "phase": risk.phase,
        "category": risk.category,
        "title": risk.title,
        "likelihood": risk.likelihood,
        "impact": risk.impact,
        "treatment": risk.treatment,
    }


def test_review_is_refused_to_all_but_the_province(
    county_user: User,
    county_chair: User,
    national: User,
    outsider: User,
    admin: User,
    world: World,
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
) -> None:
    risk = make_risk(atlas_a1)
    version = services.atlas_submit(actor=county_user, atlas=atlas_a1)
    other_province = user_create(
        actor=admin,
        username="province_b",
        password=PASSWORD,
        role=Role.CHAIR,
        organisation=world.org_national,
        province=world.province_b,
    )
    data = {"decision": "approve", "note": "", f"comment_{risk.pk}": ""}
    for user in (county_user, county_chair, national, outsider, other_province):
        client = _client(user)
        page = client.get(f"/atlas/versions/{version.pk}/")
        if page.status_code == 200:
            assert "review_form" not in page.context, user.username
        assert client.post(f"/atlas/versions/{version.pk}/review/", data).status_code == 404, user.username
    assert _get(AtlasVersion, version.pk).status == VersionStatus.SUBMITTED
    assert _get(Atlas, atlas_a1.pk).status == AtlasStatus.SUBMITTED


def test_review_form_errors(
    county_user: User, province_user: User, atlas_a1: Atlas, make_risk: Callable[..., Risk]
) -> None:
    risk = make_risk(atlas_a1)
    version = services.atlas_submit(actor=county_user, atlas=atlas_a1)
    client = _client(province_user)
    url = f"/atlas/versions/{version.pk}/review/"

    missing = client.post(url, {"note": "", f"comment_{risk.pk}": ""})
    assert missing.status_code == 400 and "decision" in _errors(missing, "review_form")
    empty_return = client.post(url, {"decision": "return", "note": "", f"comment_{risk.pk}": " "})
    assert empty_return.status_code == 400 and "note" in _errors(empty_return, "review_form")
    assert _get(AtlasVersion, version.pk).status == VersionStatus.SUBMITTED
    assert _count(ReviewComment) == 0


def test_the_workflow_through_the_pages(
    county_user: User, province_user: User, atlas_a1: Atlas, category: RiskCategory
) -> None:
    county, province = _client(county_user), _client(province_user)
    titles = ["قطع خط فیبر نوری شعب روستایی", "نقص تجهیزات احراز هویت", "آب‌گرفتگی مسیر دسترسی"]
    for n, title in enumerate(titles):
        response = county.post(
            f"/atlas/{atlas_a1.pk}/risks/new/",
            _risk_data(category, title=title, phase=["before", "during", "after"][n]),
        )
        assert response.status_code == 302
    with unscoped():
        risks = {risk.title: risk for risk in Risk.objects.filter(atlas=atlas_a1)}
    response = county.post(f"/atlas/{atlas_a1.pk}/submit/", {"note": "سه ریسک نخست"})
    assert response.status_code == 302
    with unscoped():
        first = AtlasVersion.objects.get(atlas=atlas_a1, number=1)

    queue = province.get("/atlas/reviews/")
    assert [v.pk for v in queue.context["page"]] == [first.pk]
    page = province.get(f"/atlas/versions/{first.pk}/")
    assert page.context["review_form"] is not None and len(page.context["review_rows"]) == 3
    returned_risk = risks[titles[1]]
    comment = "احتمال را با توجه به گزارش آزمون دستگاه‌ها بازبینی کنید"
    data = {"decision": "return", "note": "یک ریسک نیاز به بازبینی دارد"}
    data.update({f"comment_{risk.pk}": "" for risk in risks.values()})
    data[f"comment_{returned_risk.pk}"] = comment
    response = province.post(f"/atlas/versions/{first.pk}/review/", data)
    assert response.status_code == 302
    assert _get(AtlasVersion, first.pk).status == VersionStatus.RETURNED
    assert _count(ReviewComment, version=first) == 1

    atlas_page = county.get(f"/atlas/{atlas_a1.pk}/")
    assert atlas_page.context["atlas"].status == AtlasStatus.RETURNED
    rows = {r.risk.pk: r for g in atlas_page.context["phases"] for k in g.kinds for r in k.rows}
    assert rows[returned_risk.pk].comment == comment
    assert {pk for pk, row in rows.items() if row.comment} == {returned_risk.pk}
    assert comment in atlas_page.content.decode()
    risk_page = county.get(f"/atlas/risks/{returned_risk.pk}/")
    assert [c.text for c in risk_page.context["comments"]] == [comment]

    fixed = _update_data(_get(Risk, returned_risk.pk), likelihood="2")
    assert county.post(f"/atlas/risks/{returned_risk.pk}/edit/", fixed).status_code == 302
    assert county.post(f"/atlas/{atlas_a1.pk}/submit/", {"note": "اصلاح شد"}).status_code == 302
    with unscoped():
        second = AtlasVersion.objects.get(atlas=atlas_a1, number=2)
    compare = county.get(f"/atlas/{atlas_a1.pk}/compare/", {"a": first.pk, "b": second.pk})
    assert [(b.change, b.title) for b in compare.context["changed"]] == [("changed", titles[1])]

    approve = {"decision": "approve", "note": "تأیید شد"}
    assert province.post(f"/atlas/versions/{second.pk}/review/", approve).status_code == 302
    assert _get(AtlasVersion, second.pk).status == VersionStatus.APPROVED
    assert _get(Atlas, atlas_a1.pk).status == AtlasStatus.APPROVED
    assert province.get("/atlas/reviews/").context["page"].paginator.count == 0
    again = province.post(f"/atlas/versions/{second.pk}/review/", approve)
    assert again.status_code == 400 and again.context["review_form"].non_field_errors()
    assert _count(AtlasVersion, atlas=atlas_a1) == 2


# --- comparison ------------------------------------------------------------------------------


def test_compare_marks_changed_fields_and_added_rows(
    county_user: User, province_user: User, atlas_a1: Atlas, make_risk: Callable[..., Risk], atlas_b1: Atlas
) -> None:
    kept = make_risk(atlas_a1, title="ریسک ثابت")
    changed = make_risk(atlas_a1, title="ریسک تغییرکرده")
    version = services.atlas_submit(actor=county_user, atlas=atlas_a1)
    services.atlas_review(actor=province_user, version=version, approve=True)
    services.risk_update(**{**_service_fields(changed), "actor": county_user, "likelihood": 5})
    make_risk(atlas_a1, title="ریسک تازه")
    client = _client(county_user)
    url = f"/atlas/{atlas_a1.pk}/compare/"

    blank = client.get(url)
    assert blank.status_code == 200 and blank.context["form"].initial == {"a": version.pk, "b": "draft"}
    response = client.get(url, {"a": str(version.pk), "b": "draft"})
    assert response.status_code == 200
    blocks = {block.title: block for block in response.context["changed"]}
    assert blocks["ریسک تغییرکرده"].change == "changed"
    differing = {line.name for line in blocks["ریسک تغییرکرده"].lines if line.changed}
    assert {"likelihood", "score"} <= differing and "title" not in differing
    line = next(line for line in blocks["ریسک تغییرکرده"].lines if line.name == "likelihood")
    assert (line.old, line.new) == ("3", "5")
    assert blocks["ریسک تازه"].change == "added"
    assert [b.title for b in response.context["same"]] == [kept.title]
    body = response.content.decode()
    assert 'class="prewrap changed"' in body and "diff-added" in body

    assert client.get(url, {"a": version.pk, "b": version.pk}).status_code == 400
    assert client.get(url, {"a": "x", "b": "draft"}).status_code == 400
    assert _client(county_user).get(f"/atlas/{atlas_b1.pk}/compare/").status_code == 404


def test_compare_refuses_a_version_of_another_atlas(
    national: User, atlas_a1: Atlas, atlas_b1: Atlas, make_risk: Callable[..., Risk], outsider: User
) -> None:
    make_risk(atlas_a1, actor=national)
    make_risk(atlas_b1, actor=outsider)
    services.atlas_submit(actor=national, atlas=atlas_a1)
    foreign = services.atlas_submit(actor=outsider, atlas=atlas_b1)
    response = _client(national).get(f"/atlas/{atlas_a1.pk}/compare/", {"a": str(foreign.pk), "b": "draft"})
    assert response.status_code == 400 and "a" in _errors(response, "form")


# --- reference data --------------------------------------------------------------------------


def test_settings_pages_are_for_the_national_administrator_only(
    national: User, province_admin: User, county_admin: User, auditor: User, category: RiskCategory
) -> None:
    urls = [
        "/atlas/settings/categories/",
        f"/atlas/settings/categories/{category.pk}/",
        "/atlas/settings/matrices/",
    ]
    for user in (province_admin, county_admin, auditor):
        for url in urls:
            assert _client(user).get(url).status_code == 404, (user.username, url)
        assert _client(user).post(urls[0], {"code": "x", "group": "internal", "name": "x"}).status_code == 404
    for url in urls:
        assert _client(national).get(url).status_code == 200
    assert _client(national).get("/atlas/settings/categories/999999/").status_code == 404


def test_categories_are_added_edited_retired_and_restored(national: User, category: RiskCategory) -> None:
    client = _client(national)
    url = "/atlas/settings/categories/"
    duplicate = client.post(url, {"code": category.code, "group": "internal", "name": "تکراری"})
    assert duplicate.status_code == 400 and "code" in _errors(duplicate, "form")
    bad_group = client.post(url, {"code": "new-one", "group": "political", "name": "گروه نادرست"})
    assert bad_group.status_code == 400 and "group" in _errors(bad_group, "form")
    created = client.post(
        url, {"code": "ballot-printing", "group": "internal", "name": "چاپ تعرفه", "name_en": "Ballots"}
    )
    assert created.status_code == 302
    new = RiskCategory.objects.get(code="ballot-printing")
    assert (new.group, new.name, new.is_active) == ("internal", "چاپ تعرفه", True)

    edit = f"/atlas/settings/categories/{new.pk}/"
    assert client.get(edit).context["form"].initial["name"] == "چاپ تعرفه"
    blank = client.post(edit, {"name": "", "is_active": "on"})
    assert blank.status_code == 400 and "name" in _errors(blank, "form")
    assert client.post(edit, {"name": "چاپ و توزیع تعرفه", "is_active": "on"}).status_code == 302
    new.refresh_from_db()
    assert new.name == "چاپ و توزیع تعرفه" and new.is_active

    assert client.post(edit, {"toggle": "1"}).status_code == 302
    new.refresh_from_db()
    assert not new.is_active and new.name == "چاپ و توزیع تعرفه"
    assert client.post(edit, {"toggle": "1"}).status_code == 302
    new.refresh_from_db()
    assert new.is_active


def test_matrices_are_drawn_as_grids_and_can_be_added(national: User) -> None:
    client = _client(national)
    url = "/atlas/settings/matrices/"
    page = client.get(url)
    default = RiskMatrix.objects.get(is_default=True)
    view = next(v for v in page.context["matrices"] if v.matrix.pk == default.pk)
    assert len(view.rows) == default.likelihood_levels and view.rows[0][0] == default.likelihood_levels
    assert all(item["cell"] is not None and item["chip"].colour for _lk, cells in view.rows for item in cells)
    assert [band.code for band, _chip in view.bands] == ["low", "medium", "high", "extreme"]

    bands = "low | کم | #2e7d32 | 0 | Low\nhigh | زیاد | #c62828 | 5"
    grid = "1:low 2:low 3:high\n2:low 4:high 6:high\n3:high 6:high 9:high"
    bad = client.post(
        url,
        {
            "name": "ماتریس ۳×۳",
            "likelihood_levels": 3,
            "impact_levels": 3,
            "bands": bands,
            "grid": "1:low 2:low",
        },
    )
    assert bad.status_code == 400 and "grid" in _errors(bad, "form")
    unknown = client.post(
        url,
        {
            "name": "ماتریس ۳×۳",
            "likelihood_levels": 3,
            "impact_levels": 3,
            "bands": bands,
            "grid": grid.replace("9:high", "9:extreme"),
        },
    )
    assert unknown.status_code == 400 and "grid" in _errors(unknown, "form")
    malformed = client.post(
        url,
        {"name": "ماتریس ۳×۳", "likelihood_levels": 3, "impact_levels": 3, "bands": "low kam", "grid": grid},
    )
    assert malformed.status_code == 400 and "bands" in _errors(malformed, "form")
    assert RiskMatrix.objects.count() == 1

    created = client.post(
        url, {"name": "ماتریس ۳×۳", "likelihood_levels": 3, "impact_levels": 3, "bands": bands, "grid": grid}
    )
    assert created.status_code == 302
    matrix = RiskMatrix.objects.get(name="ماتریس ۳×۳")
    assert matrix.cells.count() == 9 and not matrix.is_default
    assert matrix.cells.get(likelihood=3, impact=3).band.code == "high"


def test_acceptance_is_not_offered_to_whoever_proposed_it(
    county_chair: User, county_admin: User, atlas_a1: Atlas, make_risk: Callable[..., Risk]
) -> None:
    risk = make_risk(atlas_a1, actor=county_chair, treatment="accept")
    own = _client(county_chair).get(f"/atlas/risks/{risk.pk}/")
    assert own.context["may_approve_acceptance"] is False
    assert _client(county_chair).post(f"/atlas/risks/{risk.pk}/accept/").status_code == 403
    assert _get(Risk, risk.pk).acceptance_approved_by is None
    other = _client(county_admin).get(f"/atlas/risks/{risk.pk}/")
    assert other.context["may_approve_acceptance"] is True
    assert 'id="accept-form"' in other.content.decode()


def test_compare_without_versions_says_so(county_user: User, atlas_a1: Atlas) -> None:
    response = _client(county_user).get(f"/atlas/{atlas_a1.pk}/compare/")
    assert response.status_code == 200 and response.context["versions"] == []
    assert "nothing to compare" in response.content.decode()
    assert (
        _client(county_user).get(f"/atlas/{atlas_a1.pk}/compare/", {"a": "1", "b": "draft"}).status_code
        == 400
    )


def test_every_page_renders_in_persian(
    county_user: User,
    province_user: User,
    national: User,
    committees: Committees,
    world: World,
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
    category: RiskCategory,
) -> None:
    """Persian is the default language: pages render right to left with Persian digits."""
    risk = make_risk(atlas_a1)
    services.mitigation_add(
        actor=county_user, risk=risk, title="خط پشتیبان", responsible=world.org_a1, due_on=TODAY
    )
    version = services.atlas_submit(actor=county_user, atlas=atlas_a1)
    pages = {
        county_user: [
            "/atlas/",
            f"/atlas/{atlas_a1.pk}/",
            f"/atlas/risks/{risk.pk}/",
            f"/atlas/risks/{risk.pk}/edit/",
            f"/atlas/{atlas_a1.pk}/risks/new/",
            f"/atlas/versions/{version.pk}/",
            f"/atlas/{atlas_a1.pk}/compare/?a={version.pk}&b=draft",
            "/atlas/reviews/",
        ],
        province_user: [f"/atlas/versions/{version.pk}/", "/atlas/reviews/", "/atlas/"],
        national: [
            "/atlas/settings/categories/",
            f"/atlas/settings/categories/{category.pk}/",
            "/atlas/settings/matrices/",
        ],
    }
    for user, urls in pages.items():
        client = client_for(user)
        for url in urls:
            response = client.get(url)
            body = response.content.decode()
            assert response.status_code == 200, url
            assert 'dir="rtl"' in body, url
    version_page = client_for(province_user).get(f"/atlas/versions/{version.pk}/").content.decode()
    assert "۱۲" in version_page  # the score 3 x 4, in Persian digits
