"""The atlas API: scoped reads, one service per write, JSON errors that name the field."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from amanat.accounts.models import User
from amanat.accounts.roles import Role
from amanat.accounts.services import api_token_create, user_create
from amanat.risks import services
from amanat.risks.models import (
    Atlas,
    AtlasStatus,
    AtlasVersion,
    ClassificationPolicy,
    CountyClassification,
    CountyDuty,
    DutyTemplate,
    PastElection,
    ReviewComment,
    Risk,
    RiskCategory,
    RiskMatrix,
    RiskMitigation,
    SecurityLevelDecision,
)
from amanat.scoping import unscoped
from conftest import PASSWORD, Committees, World, page_queries

API = "/api/v1/atlas"

# The event opened on 2026-11-01 and votes on 2027-03-05: today lies in its season.
TODAY = dt.date(2026, 11, 30)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: Any) -> None:
    real = timezone.localdate
    monkeypatch.setattr(
        timezone, "localdate", lambda value=None, tz=None: TODAY if value is None else real(value, tz)
    )


def _bearer(user: User, language: str = "") -> Client:
    _token, key = api_token_create(actor=user, name="test device")
    client = Client(headers={"Authorization": f"Bearer {key}"})
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _post(client: Client, url: str, body: Any = None) -> Any:
    return client.post(url, body if body is not None else {}, content_type="application/json")


def _put(client: Client, url: str, body: Any) -> Any:
    return client.put(url, body, content_type="application/json")


def _patch(client: Client, url: str, body: Any) -> Any:
    return client.patch(url, body, content_type="application/json")


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def _locs(response: Any, status: int) -> list[list[Any]]:
    assert response.status_code == status, response.content
    return [error["loc"] for error in response.json()["detail"]]


def _fields(response: Any, status: int) -> list[Any]:
    return [loc[-1] for loc in _locs(response, status)]


def _count(model: Any, **filters: Any) -> int:
    with unscoped():
        return int(model.objects.filter(**filters).count())


RISK_BODY = {
    "kind": "vulnerability",
    "phase": "during",
    "title": "قطع خط فیبر نوری شعب روستایی",
    "location": "شعب روستایی بخش مرکزی",
    "likelihood": 3,
    "impact": 4,
    "treatment": "mitigate",
}


def _risk_body(category: RiskCategory, **changes: Any) -> dict[str, Any]:
    return {**RISK_BODY, "category_id": category.pk, **changes}


@pytest.fixture
def risk(atlas_a1: Atlas, make_risk: Callable[..., Risk]) -> Risk:
    """An assessed risk of county A1: likelihood 3 x impact 4 = 12, the high band."""
    return make_risk(atlas_a1)


@pytest.fixture
def version(atlas_a1: Atlas, risk: Risk, county_user: User) -> AtlasVersion:
    """County A1's atlas submitted to province A as version 1."""
    return services.atlas_submit(actor=county_user, atlas=atlas_a1, note="نسخه نخست")


@pytest.fixture
def province_b_user(admin: User, world: World) -> User:
    """The chair of province B: reviews and decides for B1, and sees nothing of province A."""
    return user_create(
        actor=admin,
        username="province_b",
        password=PASSWORD,
        role=Role.CHAIR,
        organisation=world.org_b1,
        province=world.province_b,
    )


def _decided(province_user: User, event: Any, world: World, level: str = "normal", reason: str = "") -> Any:
    return services.security_level_decide(
        actor=province_user, event=event, county=world.county_a1, level=level, reason=reason
    )


# --- reference data --------------------------------------------------------------------------


def test_category_list_and_active_filter(county_user: User, national: User, category: RiskCategory) -> None:
    client = _bearer(county_user)

    listed = _ok(client.get(f"{API}/categories"))
    assert len(listed) == _count(RiskCategory) == 15
    assert [c["group"] for c in listed] == ["external"] * 6 + ["internal"] * 9
    lines = next(c for c in listed if c["code"] == "communication-lines")
    assert (lines["id"], lines["name_en"], lines["is_active"]) == (
        category.pk,
        "Polling-station communication lines",
        True,
    )

    services.risk_category_update(actor=national, category=category, name=category.name, is_active=False)

    active = _ok(client.get(f"{API}/categories", {"active_only": "true"}))
    assert category.pk not in {c["id"] for c in active}
    assert len(active) == 14
    assert len(_ok(client.get(f"{API}/categories"))) == 15


def test_category_create(national: User) -> None:
    response = _post(
        _bearer(national),
        f"{API}/categories",
        {
            "code": "Ballot-Printing",
            "group": "internal",
            "name": " چاپ برگه‌ها ",
            "name_en": "Ballot printing",
        },
    )

    body = _ok(response, 201)
    assert (body["code"], body["group"], body["name"], body["is_active"]) == (
        "ballot-printing",
        "internal",
        "چاپ برگه‌ها",
        True,
    )
    assert _count(RiskCategory, code="ballot-printing") == 1


def test_category_with_a_taken_code_is_400_on_code(national: User, category: RiskCategory) -> None:
    response = _post(
        _bearer(national), f"{API}/categories", {"code": category.code, "group": "internal", "name": "x"}
    )

    assert _locs(response, 400) == [["body", "code"]]
    assert _count(RiskCategory) == 15


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"code": "no spaces"}, "code"), ({"group": "political"}, "group"), ({"name": "x" * 151}, "name")],
)
def test_category_schema_errors_are_422(national: User, changes: dict[str, Any], field: str) -> None:
    body = {"code": "new-one", "group": "external", "name": "x", **changes}

    assert _fields(_post(_bearer(national), f"{API}/categories", body), 422) == [field]
    assert _count(RiskCategory) == 15


def test_category_put_and_patch(national: User, category: RiskCategory) -> None:
    client = _bearer(national)
    url = f"{API}/categories/{category.pk}"

    put = _ok(_put(client, url, {"name": "خطوط ارتباطی", "description": "فیبر و رادیو"}))
    assert (put["name"], put["name_en"], put["description"], put["is_active"]) == (
        "خطوط ارتباطی",
        "",
        "فیبر و رادیو",
        True,
    )
    patched = _ok(_patch(client, url, {"is_active": False, "name_en": "Lines"}))
    assert (patched["name"], patched["name_en"], patched["description"], patched["is_active"]) == (
        "خطوط ارتباطی",
        "Lines",
        "فیبر و رادیو",
        False,
    )
    category.refresh_from_db()
    assert (category.code, category.is_active) == ("communication-lines", False)

    assert _locs(_patch(client, url, {"name": "  "}), 400) == [["body", "name"]]
    assert (
        client.put(f"{API}/categories/987654", {"name": "x"}, content_type="application/json").status_code
        == 404
    )


def test_matrices_with_bands_and_cells(county_user: User) -> None:
    [matrix] = _ok(_bearer(county_user).get(f"{API}/matrices"))

    assert (matrix["likelihood_levels"], matrix["impact_levels"], matrix["is_default"]) == (5, 5, True)
    assert [(b["code"], b["rank"], b["weight"], b["colour"]) for b in matrix["bands"]] == [
        ("low", 1, 0, "#2e7d32"),
        ("medium", 2, 2, "#f9a825"),
        ("high", 3, 5, "#ef6c00"),
        ("extreme", 4, 10, "#c62828"),
    ]
    assert len(matrix["cells"]) == 25
    cells = {(c["likelihood"], c["impact"]): (c["score"], c["band"]) for c in matrix["cells"]}
    assert cells[(3, 4)] == (12, "high")
    assert cells[(5, 5)] == (25, "extreme")
    assert cells[(1, 1)] == (1, "low")


THREE_BY_THREE: dict[str, Any] = {
    "name": "۳×۳",
    "likelihood_levels": 3,
    "impact_levels": 3,
    "bands": [
        {"code": "green", "name": "سبز", "name_en": "Green", "colour": "#00aa00", "weight": 0},
        {"code": "red", "name": "قرمز", "name_en": "Red", "colour": "#cc0000", "weight": 8},
    ],
    "cells": [
        {"likelihood": lk, "impact": im, "score": lk * im, "band": "red" if lk * im >= 4 else "green"}
        for lk in range(1, 4)
        for im in range(1, 4)
    ],
}


def test_matrix_create_3x3_as_the_default(
    national: User, atlas_a1: Atlas, county_user: User, category: Any
) -> None:
    client = _bearer(national)

    body = _ok(_post(client, f"{API}/matrices", {**THREE_BY_THREE, "make_default": True}), 201)

    assert (body["name"], body["likelihood_levels"], body["is_default"]) == ("۳×۳", 3, True)
    assert [(b["code"], b["rank"], b["weight"]) for b in body["bands"]] == [("green", 1, 0), ("red", 2, 8)]
    assert len(body["cells"]) == 9
    listed = _ok(client.get(f"{API}/matrices"))
    assert [m["name"] for m in listed] == ["۳×۳", "۵×۵"]
    # New risks are assessed on the new default: a likelihood of 4 is off its grid.
    refused = _post(
        _bearer(county_user),
        f"{API}/atlases/{atlas_a1.pk}/risks",
        _risk_body(category, likelihood=4, impact=1),
    )
    assert _locs(refused, 400) == [["body", "likelihood"]]


@pytest.mark.parametrize(
    "cells",
    [
        THREE_BY_THREE["cells"][:-1],  # a cell missing
        [*THREE_BY_THREE["cells"], {"likelihood": 1, "impact": 1, "score": 1, "band": "green"}],  # twice
        [{**cell, "band": "amber"} for cell in THREE_BY_THREE["cells"]],  # no such band
        [*THREE_BY_THREE["cells"], {"likelihood": 4, "impact": 1, "score": 4, "band": "red"}],  # off the grid
    ],
    ids=["missing", "repeated", "unknown-band", "off-the-grid"],
)
def test_matrix_with_a_bad_grid_is_400_on_cells(national: User, cells: list[dict[str, Any]]) -> None:
    response = _post(_bearer(national), f"{API}/matrices", {**THREE_BY_THREE, "cells": cells})

    assert _locs(response, 400) == [["body", "cells"]]
    assert _count(RiskMatrix) == 1


def test_matrix_with_a_bad_size_or_band_is_refused(national: User) -> None:
    client = _bearer(national)

    big = _post(client, f"{API}/matrices", {**THREE_BY_THREE, "likelihood_levels": 11})
    assert _locs(big, 400) == [["body", "likelihood_levels"]]
    colour = _post(
        client,
        f"{API}/matrices",
        {**THREE_BY_THREE, "bands": [{**THREE_BY_THREE["bands"][0], "colour": "#zzzzzz"}]},
    )
    assert _fields(colour, 422) == ["colour"]
    huge = _post(
        client,
        f"{API}/matrices",
        {**THREE_BY_THREE, "cells": [{**THREE_BY_THREE["cells"][0], "score": 40000}]},
    )
    assert _fields(huge, 422) == ["score"]
    assert _count(RiskMatrix) == 1


def test_policy_read_put_and_patch(county_user: User, national: User) -> None:
    assert _ok(_bearer(county_user).get(f"{API}/policy"))["sensitive_from"] == 45
    client = _bearer(national)
    values = {
        "annulled_points": 20,
        "incident_points": 3,
        "incident_points_cap": 30,
        "stations_per_point": 0,
        "important_from": 10,
        "sensitive_from": 40,
    }

    put = _ok(_put(client, f"{API}/policy", values))
    assert {name: put[name] for name in values} == values
    patched = _ok(_patch(client, f"{API}/policy", {"sensitive_from": 60}))
    assert (patched["important_from"], patched["sensitive_from"]) == (10, 60)
    with unscoped():
        policy = ClassificationPolicy.objects.get()
    assert (policy.annulled_points, policy.sensitive_from) == (20, 60)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"sensitive_from": 5}, 400, "sensitive_from"),  # not above important_from (20)
        ({"annulled_points": -1}, 400, "annulled_points"),
        ({"incident_points": 40000}, 422, "incident_points"),
        ({"important_from": "many"}, 422, "important_from"),
    ],
)
def test_bad_policy_is_refused_naming_the_field(national: User, body: Any, status: int, field: str) -> None:
    assert _fields(_patch(_bearer(national), f"{API}/policy", body), status) == [field]
    with unscoped():
        assert ClassificationPolicy.objects.get().sensitive_from == 45


def test_policy_put_needs_every_setting(national: User) -> None:
    assert _fields(_put(_bearer(national), f"{API}/policy", {"sensitive_from": 50}), 422) == [
        "annulled_points",
        "incident_points",
        "incident_points_cap",
        "stations_per_point",
        "important_from",
    ]


def test_duty_templates(county_user: User, national: User) -> None:
    reader = _bearer(county_user)
    assert len(_ok(reader.get(f"{API}/duty-templates"))) == 9
    sensitive = _ok(reader.get(f"{API}/duty-templates", {"level": "sensitive"}))
    assert [d["level"] for d in sensitive] == ["sensitive"] * 4
    client = _bearer(national)

    created = _ok(
        _post(
            client, f"{API}/duty-templates", {"level": "important", "text": "بازدید شبانه از انبار صندوق‌ها"}
        ),
        201,
    )
    assert (created["level"], created["is_active"]) == ("important", True)
    again = _post(
        client, f"{API}/duty-templates", {"level": "important", "text": "بازدید شبانه از انبار صندوق‌ها"}
    )
    assert _locs(again, 400) == [["body", "text"]]
    updated = _ok(
        _put(client, f"{API}/duty-templates/{created['id']}", {"text": "بازدید شبانه", "is_active": False})
    )
    assert (updated["text"], updated["level"], updated["is_active"]) == ("بازدید شبانه", "important", False)
    assert len(_ok(reader.get(f"{API}/duty-templates", {"level": "important", "active_only": "true"}))) == 3
    unknown = _post(client, f"{API}/duty-templates", {"level": "extreme", "text": "x"})
    assert _fields(unknown, 422) == ["level"]
    assert _count(DutyTemplate) == 10


POLICY = {
    "annulled_points": 1,
    "incident_points": 1,
    "incident_points_cap": 1,
    "stations_per_point": 1,
    "important_from": 10,
    "sensitive_from": 20,
}
REFERENCE_WRITES: list[tuple[str, str, Callable[[Any], Any]]] = [
    ("post", "/categories", lambda c: {"code": "new-one", "group": "internal", "name": "x"}),
    ("put", "/categories/{category}", lambda c: {"name": "x"}),
    ("patch", "/categories/{category}", lambda c: {"is_active": False}),
    ("post", "/matrices", lambda c: THREE_BY_THREE),
    ("put", "/policy", lambda c: POLICY),
    ("patch", "/policy", lambda c: {"sensitive_from": 99}),
    ("post", "/duty-templates", lambda c: {"level": "normal", "text": "x"}),
    ("put", "/duty-templates/{template}", lambda c: {"text": "x"}),
]


@pytest.mark.parametrize(
    "persona", ["province_admin", "county_admin", "province_user", "county_user", "county_viewer", "auditor"]
)
def test_reference_data_is_written_by_the_national_administrator_only(
    request: pytest.FixtureRequest, persona: str, category: RiskCategory
) -> None:
    client = _bearer(request.getfixturevalue(persona))
    template = DutyTemplate.objects.first()
    assert template is not None
    with unscoped():
        before = (
            list(RiskCategory.objects.values_list("code", "name", "is_active")),
            list(DutyTemplate.objects.values_list("text", "is_active")),
            list(ClassificationPolicy.objects.values_list("sensitive_from", flat=True)),
            _count(RiskMatrix),
        )

    for method, path, body in REFERENCE_WRITES:
        url = API + path.format(category=category.pk, template=template.pk)
        response = getattr(client, method)(url, body(None), content_type="application/json")
        assert response.status_code == 403, (method, path, response.content)

    with unscoped():
        after = (
            list(RiskCategory.objects.values_list("code", "name", "is_active")),
            list(DutyTemplate.objects.values_list("text", "is_active")),
            list(ClassificationPolicy.objects.values_list("sensitive_from", flat=True)),
            _count(RiskMatrix),
        )
    assert after == before


# --- atlases ---------------------------------------------------------------------------------


def test_atlas_open_answers_201_then_200(county_user: User, event: Any, world: World) -> None:
    client = _bearer(county_user)
    body = {"event_id": event.pk, "county_id": world.county_a1.pk}

    first = _ok(_post(client, f"{API}/atlases", body), 201)
    again = _ok(_post(client, f"{API}/atlases", body), 200)

    assert first["id"] == again["id"]
    assert (first["county_id"], first["province_id"], first["event_id"]) == (
        world.county_a1.pk,
        world.province_a.pk,
        event.pk,
    )
    assert (first["status"], first["editable"], first["county"]) == ("draft", True, world.county_a1.name)
    assert _count(Atlas) == 1


@pytest.mark.parametrize(
    ("persona", "county", "event_shift", "status", "field"),
    [
        ("county_viewer", "county_a1", 0, 403, None),
        ("auditor", "county_a1", 0, 403, None),
        ("county_user", "county_b1", 0, 400, "county_id"),  # outside the caller's jurisdiction
        ("county_user", "county_a2", 0, 400, "county_id"),  # a sibling county
        ("county_user", "county_a1", 1000, 400, "event_id"),
    ],
)
def test_atlas_open_refusals(
    request: pytest.FixtureRequest,
    event: Any,
    world: World,
    persona: str,
    county: str,
    event_shift: int,
    status: int,
    field: str | None,
) -> None:
    body = {"event_id": event.pk + event_shift, "county_id": getattr(world, county).pk}

    response = _post(_bearer(request.getfixturevalue(persona)), f"{API}/atlases", body)

    if field is None:
        assert response.status_code == status, response.content
    else:
        assert _locs(response, status) == [["body", field]]
    assert _count(Atlas) == 0


def test_atlas_list_is_scoped_filtered_and_paginated(
    county_user: User,
    national: User,
    atlas_a1: Atlas,
    atlas_b1: Atlas,
    make_risk: Callable[..., Risk],
    world: World,
    event: Any,
) -> None:
    make_risk(atlas_a1)
    make_risk(atlas_a1, title="قطعی برق")
    services.atlas_submit(actor=county_user, atlas=atlas_a1)

    county = _ok(_bearer(county_user).get(f"{API}/atlases"))
    assert [(a["id"], a["active_risks"], a["status"]) for a in county["items"]] == [
        (atlas_a1.pk, 2, "submitted")
    ]
    client = _bearer(national)

    def ids(**filters: Any) -> list[int]:
        return [a["id"] for a in _ok(client.get(f"{API}/atlases", filters))["items"]]

    assert set(ids()) == {atlas_a1.pk, atlas_b1.pk}
    assert ids(status="submitted") == [atlas_a1.pk]
    assert ids(status="draft") == [atlas_b1.pk]
    assert ids(province_id=world.province_b.pk) == [atlas_b1.pk]
    assert set(ids(event_id=event.pk)) == {atlas_a1.pk, atlas_b1.pk}
    assert ids(event_id=event.pk + 1000) == []
    everything = ids()
    page = _ok(client.get(f"{API}/atlases", {"limit": 1, "offset": 1}))
    assert (page["count"], [a["id"] for a in page["items"]]) == (2, everything[1:])
    assert _fields(client.get(f"{API}/atlases", {"status": "lost"}), 422) == ["status"]


def test_atlas_detail(province_user: User, atlas_a1: Atlas, world: World) -> None:
    body = _ok(_bearer(province_user).get(f"{API}/atlases/{atlas_a1.pk}"))

    assert (body["id"], body["province"], body["county"], body["event"]) == (
        atlas_a1.pk,
        world.province_a.name,
        world.county_a1.name,
        atlas_a1.event.name,
    )


# --- risks -----------------------------------------------------------------------------------


def test_risk_create_assessed(
    county_user: User, atlas_a1: Atlas, category: RiskCategory, world: World
) -> None:
    response = _post(
        _bearer(county_user),
        f"{API}/atlases/{atlas_a1.pk}/risks",
        _risk_body(category, owner_id=world.org_a1.pk, description=" خطوط تک‌مسیره "),
    )

    body = _ok(response, 201)
    assert (body["kind"], body["phase"], body["category_id"], body["category"]) == (
        "vulnerability",
        "during",
        category.pk,
        category.name,
    )
    assert (body["likelihood"], body["impact"], body["score"], body["band"]["code"]) == (3, 4, 12, "high")
    assert (body["treatment"], body["assessed"], body["awaits_acceptance"]) == ("mitigate", True, False)
    assert (body["owner_id"], body["owner"], body["description"]) == (
        world.org_a1.pk,
        world.org_a1.name,
        "خطوط تک‌مسیره",
    )
    assert (body["status"], body["mitigations"], body["review_comments"]) == ("open", [], [])
    with unscoped():
        risk = Risk.objects.get(pk=body["id"])
    assert (risk.atlas_id, risk.county_id, risk.score) == (atlas_a1.pk, world.county_a1.pk, 12)


def test_risk_created_unassessed_then_assessed(
    county_user: User, atlas_a1: Atlas, category: RiskCategory
) -> None:
    client = _bearer(county_user)
    created = _ok(
        _post(
            client,
            f"{API}/atlases/{atlas_a1.pk}/risks",
            _risk_body(category, likelihood=None, impact=None, treatment=""),
        ),
        201,
    )
    assert (created["score"], created["band"], created["assessed"]) == (None, None, False)

    assessed = _ok(
        _post(
            client,
            f"{API}/risks/{created['id']}/assess",
            {"likelihood": 5, "impact": 5, "residual_likelihood": 2, "residual_impact": 2},
        )
    )

    assert (assessed["score"], assessed["band"]["code"]) == (25, "extreme")
    assert (assessed["residual_score"], assessed["residual_band"]["code"]) == (4, "low")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"likelihood": 6}, "likelihood"),
        ({"likelihood": 0}, "likelihood"),
        ({"impact": 99999999999999999999}, "impact"),
        ({"impact": None}, "impact"),  # both or neither
    ],
)
def test_risk_create_out_of_range_is_400_naming_the_field(
    county_user: User, atlas_a1: Atlas, category: RiskCategory, changes: dict[str, Any], field: str
) -> None:
    response = _post(
        _bearer(county_user), f"{API}/atlases/{atlas_a1.pk}/risks", _risk_body(category, **changes)
    )

    assert _locs(response, 400) == [["body", field]]
    assert _count(Risk) == 0


def test_assessment_out_of_range_is_400_and_changes_nothing(county_user: User, risk: Risk) -> None:
    response = _post(_bearer(county_user), f"{API}/risks/{risk.pk}/assess", {"likelihood": 3, "impact": 6})

    assert _locs(response, 400) == [["body", "impact"]]
    risk.refresh_from_db()
    assert (risk.likelihood, risk.impact, risk.score) == (3, 4, 12)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "rumour"}, "kind"),
        ({"phase": "forever"}, "phase"),
        ({"treatment": "ignore"}, "treatment"),
        ({"title": "x" * 201}, "title"),
        ({"likelihood": "high"}, "likelihood"),
        ({"category_id": 0}, "category_id"),
        ({"owner_id": 99999999999999999999}, "owner_id"),
    ],
)
def test_risk_schema_errors_are_422(
    county_user: User, atlas_a1: Atlas, category: RiskCategory, changes: dict[str, Any], field: str
) -> None:
    response = _post(
        _bearer(county_user), f"{API}/atlases/{atlas_a1.pk}/risks", _risk_body(category, **changes)
    )

    assert field in _fields(response, 422)
    assert _count(Risk) == 0


def test_risk_references_out_of_reach_are_400_naming_the_field(
    county_user: User, national: User, atlas_a1: Atlas, category: RiskCategory, world: World
) -> None:
    client = _bearer(county_user)
    url = f"{API}/atlases/{atlas_a1.pk}/risks"

    assert _locs(_post(client, url, _risk_body(category, category_id=987654)), 400) == [
        ["body", "category_id"]
    ]
    assert _locs(_post(client, url, _risk_body(category, owner_id=world.org_b1.pk)), 400) == [
        ["body", "owner_id"]
    ]
    # A national caller may name governorate B1, but it does not serve county A1: the service's
    # refusal names the payload's field.
    national_call = _post(_bearer(national), url, _risk_body(category, owner_id=world.org_b1.pk))
    assert _locs(national_call, 400) == [["body", "owner_id"]]
    services.risk_category_update(actor=national, category=category, name=category.name, is_active=False)
    assert _locs(_post(client, url, _risk_body(category)), 400) == [["body", "category_id"]]
    assert _count(Risk) == 0


def test_risk_list_order_filters_and_mitigation_counts(
    county_user: User,
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
    committees: Committees,
    world: World,
) -> None:
    low = make_risk(atlas_a1, title="کم", likelihood=1, impact=1, phase="before")
    high = make_risk(atlas_a1, title="زیاد", likelihood=5, impact=4, kind="threat")
    unassessed = make_risk(atlas_a1, title="ارزیابی‌نشده", likelihood=None, impact=None, treatment="")
    withdrawn = make_risk(atlas_a1, title="منصرف")
    services.risk_withdraw(actor=county_user, risk=withdrawn, reason="تکراری")
    services.mitigation_add(
        actor=county_user, risk=high, title="خط پشتیبان", responsible=world.org_a1, due_on=TODAY
    )
    client = _bearer(county_user)
    url = f"{API}/atlases/{atlas_a1.pk}/risks"

    def ids(**filters: Any) -> list[int]:
        return [r["id"] for r in _ok(client.get(url, filters))["items"]]

    listed = _ok(client.get(url))["items"]
    assert [r["id"] for r in listed] == [high.pk, low.pk, unassessed.pk]  # highest score first
    assert (listed[0]["mitigation_count"], listed[0]["mitigations_done"]) == (1, 0)
    assert ids(phase="before") == [low.pk]
    assert ids(kind="threat") == [high.pk]
    assert withdrawn.pk in ids(include_withdrawn="true")
    assert _fields(client.get(url, {"phase": "never"}), 422) == ["phase"]


def test_risk_update_replaces_the_risk(
    county_user: User, risk: Risk, category: RiskCategory, world: World
) -> None:
    body = _risk_body(
        category,
        title="قطع خط فیبر (به‌روز)",
        likelihood=2,
        impact=4,
        residual_likelihood=1,
        residual_impact=2,
        status="treated",
        owner_id=world.org_a.pk,
    )

    updated = _ok(_put(_bearer(county_user), f"{API}/risks/{risk.pk}", body))

    assert (updated["title"], updated["score"], updated["band"]["code"], updated["status"]) == (
        "قطع خط فیبر (به‌روز)",
        8,
        "medium",
        "treated",
    )
    assert (updated["residual_score"], updated["owner_id"]) == (2, world.org_a.pk)
    risk.refresh_from_db()
    assert (risk.title, risk.residual_score) == ("قطع خط فیبر (به‌روز)", 2)


def test_risk_update_residual_without_assessment_is_400(
    county_user: User, risk: Risk, category: RiskCategory
) -> None:
    body = _risk_body(category, likelihood=None, impact=None, residual_likelihood=1, residual_impact=1)

    response = _put(_bearer(county_user), f"{API}/risks/{risk.pk}", body)

    assert _locs(response, 400) == [["body", "residual_likelihood"]]
    risk.refresh_from_db()
    assert risk.score == 12


def test_acceptance_needs_an_approver(
    county_user: User, province_user: User, atlas_a1: Atlas, make_risk: Callable[..., Risk]
) -> None:
    accepted = make_risk(atlas_a1, treatment="accept", likelihood=1, impact=2)
    url = f"{API}/risks/{accepted.pk}/approve-acceptance"
    assert _ok(_bearer(county_user).get(f"{API}/risks/{accepted.pk}"))["awaits_acceptance"] is True

    assert _post(_bearer(county_user), url).status_code == 403  # a member may edit, not approve
    body = _ok(_post(_bearer(province_user), url))

    assert (body["awaits_acceptance"], body["acceptance_approved_by_id"]) == (False, province_user.pk)
    assert body["acceptance_approved_at"] is not None


def test_acceptance_approval_of_a_mitigated_risk_is_400(province_user: User, risk: Risk) -> None:
    response = _post(_bearer(province_user), f"{API}/risks/{risk.pk}/approve-acceptance")

    assert _locs(response, 400) == [["body", "treatment"]]


def test_withdraw_needs_a_reason(county_user: User, risk: Risk, atlas_a1: Atlas) -> None:
    client = _bearer(county_user)

    assert _locs(_post(client, f"{API}/risks/{risk.pk}/withdraw", {"reason": " "}), 400) == [
        ["body", "reason"]
    ]
    assert _fields(_post(client, f"{API}/risks/{risk.pk}/withdraw", {}), 422) == ["reason"]
    body = _ok(_post(client, f"{API}/risks/{risk.pk}/withdraw", {"reason": "تکراری"}))

    assert body["status"] == "withdrawn"
    assert _ok(client.get(f"{API}/atlases/{atlas_a1.pk}/risks"))["count"] == 0


def test_mitigation_add(county_user: User, risk: Risk, committees: Committees, world: World) -> None:
    client = _bearer(county_user)

    body = _ok(
        _post(
            client,
            f"{API}/risks/{risk.pk}/mitigations",
            {"title": "خط ارتباطی دوم", "responsible_id": world.org_a1.pk, "due_on": "2026-12-20"},
        ),
        201,
    )

    assert (body["risk_id"], body["title"], body["responsible_id"], body["due_on"], body["status"]) == (
        risk.pk,
        "خط ارتباطی دوم",
        world.org_a1.pk,
        "2026-12-20",
        "open",
    )
    assert (body["committee_id"], body["raised_on"]) == (committees.county_a1.pk, "2026-11-30")
    detail = _ok(client.get(f"{API}/risks/{risk.pk}"))
    assert [m["action_item_id"] for m in detail["mitigations"]] == [body["action_item_id"]]


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"due_on": "2026-11-29"}, 400, "due_on"),
        ({"responsible_id": "org_b1"}, 400, "responsible_id"),
        ({"responsible_id": 987654}, 400, "responsible_id"),
        ({"title": " "}, 400, "title"),
        ({"due_on": "1405/09/30"}, 422, "due_on"),
    ],
)
def test_mitigation_refusals_name_the_field(
    county_user: User,
    risk: Risk,
    committees: Committees,
    world: World,
    changes: dict[str, Any],
    status: int,
    field: str,
) -> None:
    body = {"title": "خط دوم", "responsible_id": world.org_a1.pk, "due_on": "2026-12-20", **changes}
    if body["responsible_id"] == "org_b1":
        body["responsible_id"] = world.org_b1.pk

    response = _post(_bearer(county_user), f"{API}/risks/{risk.pk}/mitigations", body)

    assert _fields(response, status) == [field]
    assert _count(RiskMitigation) == 0


def test_mitigation_without_the_county_committee_is_400(county_user: User, risk: Risk, world: World) -> None:
    response = _post(
        _bearer(county_user),
        f"{API}/risks/{risk.pk}/mitigations",
        {"title": "خط دوم", "responsible_id": world.org_a1.pk, "due_on": "2026-12-20"},
    )

    assert _locs(response, 400) == [["body", "responsible_id"]]


@pytest.mark.parametrize("persona", ["county_viewer", "auditor"])
def test_register_writes_by_a_role_without_edit_are_403(
    request: pytest.FixtureRequest, persona: str, risk: Risk, atlas_a1: Atlas, category: Any, world: World
) -> None:
    client = _bearer(request.getfixturevalue(persona))
    writes = [
        (f"{API}/atlases/{atlas_a1.pk}/risks", _risk_body(category)),
        (f"{API}/risks/{risk.pk}/assess", {"likelihood": 1, "impact": 1}),
        (f"{API}/risks/{risk.pk}/withdraw", {"reason": "x"}),
        (
            f"{API}/risks/{risk.pk}/mitigations",
            {"title": "x", "responsible_id": world.org_a1.pk, "due_on": "2026-12-20"},
        ),
        (f"{API}/atlases/{atlas_a1.pk}/submit", {}),
    ]

    for url, body in writes:
        assert _post(client, url, body).status_code == 403, url
    assert _put(client, f"{API}/risks/{risk.pk}", _risk_body(category)).status_code == 403
    risk.refresh_from_db()
    assert (risk.score, risk.status, _count(Risk), _count(AtlasVersion)) == (12, "open", 1, 0)


# --- submission and review -------------------------------------------------------------------


def test_submit_freezes_a_version(county_user: User, risk: Risk, atlas_a1: Atlas) -> None:
    client = _bearer(county_user)

    body = _ok(_post(client, f"{API}/atlases/{atlas_a1.pk}/submit", {"note": " برای بررسی "}), 201)

    assert (body["number"], body["status"], body["note"], body["submitted_by"]) == (
        1,
        "submitted",
        "برای بررسی",
        county_user.username,
    )
    assert (body["reviewed_by"], body["reviewed_at"], body["comments"]) == (None, None, [])
    [frozen] = body["content"]["risks"]
    assert (frozen["id"], frozen["title"], frozen["score"], frozen["band_code"]) == (
        risk.pk,
        risk.title,
        12,
        "high",
    )
    assert _ok(client.get(f"{API}/atlases/{atlas_a1.pk}"))["status"] == "submitted"
    [listed] = _ok(client.get(f"{API}/atlases/{atlas_a1.pk}/versions"))["items"]
    assert listed["id"] == body["id"]
    assert "content" not in listed


def test_submission_with_an_unassessed_risk_is_400(
    county_user: User, risk: Risk, atlas_a1: Atlas, make_risk: Callable[..., Risk]
) -> None:
    make_risk(atlas_a1, title="بدون ارزیابی", likelihood=None, impact=None)

    response = _post(_bearer(county_user), f"{API}/atlases/{atlas_a1.pk}/submit", {})

    # The refusal concerns the register's risks: it names them, under the field "risks".
    assert _locs(response, 400) == [["body", "risks"]]
    assert "بدون ارزیابی" in response.json()["detail"][0]["msg"]
    assert _count(AtlasVersion) == 0
    atlas_a1.refresh_from_db()
    assert atlas_a1.status == AtlasStatus.DRAFT


def test_the_register_is_frozen_while_with_the_province(
    county_user: User, version: AtlasVersion, risk: Risk, atlas_a1: Atlas, category: RiskCategory
) -> None:
    client = _bearer(county_user)

    created = _post(client, f"{API}/atlases/{atlas_a1.pk}/risks", _risk_body(category))
    assessed = _post(client, f"{API}/risks/{risk.pk}/assess", {"likelihood": 1, "impact": 1})
    again = _post(client, f"{API}/atlases/{atlas_a1.pk}/submit", {})

    assert (_locs(created, 400), _locs(assessed, 400), _locs(again, 400)) == (
        [["body"]],
        [["body"]],
        [["body"]],
    )
    assert (_count(Risk), _count(AtlasVersion)) == (1, 1)


def test_a_version_cannot_be_edited(county_user: User, national: User, version: AtlasVersion) -> None:
    url = f"{API}/versions/{version.pk}"
    content = _ok(_bearer(county_user).get(url))["content"]
    client = _bearer(national)

    for method in ("put", "patch", "delete"):
        response = getattr(client, method)(url, {"content": {"risks": []}}, content_type="application/json")
        assert response.status_code == 405, method

    version.refresh_from_db()
    assert version.content == content
    assert len(content["risks"]) == 1


def test_review_approves(province_user: User, version: AtlasVersion, atlas_a1: Atlas) -> None:
    client = _bearer(province_user)

    body = _ok(_post(client, f"{API}/versions/{version.pk}/review", {"approve": True, "note": "تأیید"}))

    assert (body["status"], body["reviewed_by"], body["review_note"]) == (
        "approved",
        province_user.username,
        "تأیید",
    )
    assert body["reviewed_at"] is not None
    assert _ok(client.get(f"{API}/atlases/{atlas_a1.pk}"))["status"] == "approved"
    assert _count(CountyClassification, county=atlas_a1.county) == 1  # the approval scores the county


def test_review_returns_with_comments_per_risk(
    province_user: User, county_user: User, version: AtlasVersion, risk: Risk, atlas_a1: Atlas
) -> None:
    body = _ok(
        _post(
            _bearer(province_user),
            f"{API}/versions/{version.pk}/review",
            {"approve": False, "comments": [{"risk_id": risk.pk, "text": "احتمال را بازبینی کنید"}]},
        )
    )

    assert body["status"] == "returned"
    assert body["comments"] == [{"risk_id": risk.pk, "text": "احتمال را بازبینی کنید"}]
    county = _bearer(county_user)
    assert _ok(county.get(f"{API}/atlases/{atlas_a1.pk}"))["status"] == "returned"
    [comment] = _ok(county.get(f"{API}/risks/{risk.pk}"))["review_comments"]
    assert (comment["version_id"], comment["version"], comment["text"], comment["author"]) == (
        version.pk,
        1,
        "احتمال را بازبینی کنید",
        province_user.username,
    )


@pytest.mark.parametrize(
    ("comments", "field"),
    [
        ([], "note"),  # returning without any comment or note
        ([{"risk_id": "risk", "text": "  "}], "note"),  # a blank comment is no comment
        ([{"risk_id": 987654, "text": "این خطر کجاست؟"}], "comments"),
        ([{"risk_id": "risk", "text": "یک"}, {"risk_id": "risk", "text": "دو"}], "comments"),
    ],
    ids=["no-comment", "blank-comment", "unknown-risk", "two-on-one-risk"],
)
def test_return_refusals_name_the_field(
    province_user: User, version: AtlasVersion, risk: Risk, comments: list[dict[str, Any]], field: str
) -> None:
    comments = [{**c, "risk_id": risk.pk if c["risk_id"] == "risk" else c["risk_id"]} for c in comments]

    response = _post(
        _bearer(province_user),
        f"{API}/versions/{version.pk}/review",
        {"approve": False, "comments": comments},
    )

    assert _locs(response, 400) == [["body", field]]
    version.refresh_from_db()
    assert (version.status, _count(ReviewComment)) == ("submitted", 0)


@pytest.mark.parametrize("persona", ["county_user", "county_admin", "county_viewer", "national", "auditor"])
def test_review_by_anyone_but_the_parent_province_is_403(
    request: pytest.FixtureRequest, persona: str, version: AtlasVersion
) -> None:
    response = _post(
        _bearer(request.getfixturevalue(persona)), f"{API}/versions/{version.pk}/review", {"approve": True}
    )

    assert response.status_code == 403, response.content
    version.refresh_from_db()
    assert version.status == "submitted"


def test_review_by_another_province_does_not_find_the_version(
    province_b_user: User, version: AtlasVersion
) -> None:
    response = _post(_bearer(province_b_user), f"{API}/versions/{version.pk}/review", {"approve": True})

    assert response.status_code == 404
    version.refresh_from_db()
    assert version.status == "submitted"


def test_review_schema_errors_are_422(province_user: User, version: AtlasVersion) -> None:
    client = _bearer(province_user)
    url = f"{API}/versions/{version.pk}/review"

    assert _fields(_post(client, url, {}), 422) == ["approve"]
    assert _fields(_post(client, url, {"approve": "perhaps"}), 422) == ["approve"]
    assert _fields(_post(client, url, {"approve": False, "comments": [{"text": "x"}]}), 422) == ["risk_id"]


def test_compare_versions_and_the_draft(
    county_user: User,
    province_user: User,
    version: AtlasVersion,
    risk: Risk,
    atlas_a1: Atlas,
    category: RiskCategory,
    make_risk: Callable[..., Risk],
) -> None:
    services.atlas_review(actor=province_user, version=version, approve=False, comments={risk.pk: "بازبینی"})
    client = _bearer(county_user)
    _ok(_put(client, f"{API}/risks/{risk.pk}", _risk_body(category, likelihood=5, impact=4, location="")))
    added = make_risk(atlas_a1, title="حمله سایبری به سامانه", kind="threat")
    second = _ok(_post(client, f"{API}/atlases/{atlas_a1.pk}/submit", {}), 201)
    url = f"{API}/atlases/{atlas_a1.pk}/compare"

    between = _ok(client.get(url, {"a": version.pk, "b": second["id"]}))

    assert (between["a"]["number"], between["b"]["number"]) == (1, 2)
    assert [(c["risk_id"], c["change"]) for c in between["changes"]] == [
        (risk.pk, "changed"),
        (added.pk, "added"),
    ]
    assert between["changes"][0]["fields"] == ["likelihood", "score", "band"]
    assert (between["changes"][0]["old"]["score"], between["changes"][0]["new"]["score"]) == (12, 20)
    assert between["changes"][1]["old"] is None
    assert between["changes"][1]["title"] == "حمله سایبری به سامانه"

    services.atlas_review(actor=province_user, version=_version(second["id"]), approve=True)
    services.risk_withdraw(actor=county_user, risk=added, reason="تکراری")
    with_draft = _ok(client.get(url, {"a": second["id"]}))
    assert with_draft["b"] is None
    assert [(c["risk_id"], c["change"]) for c in with_draft["changes"]] == [
        (added.pk, "removed"),
        (risk.pk, "same"),
    ]


def _version(version_id: int) -> AtlasVersion:
    with unscoped():
        return AtlasVersion.objects.select_related("atlas").get(pk=version_id)


def test_compare_refusals(
    county_user: User,
    outsider: User,
    national: User,
    version: AtlasVersion,
    atlas_a1: Atlas,
    atlas_b1: Atlas,
    make_risk: Any,
) -> None:
    make_risk(atlas_b1, actor=outsider)
    other = services.atlas_submit(actor=outsider, atlas=atlas_b1)
    client = _bearer(county_user)
    url = f"{API}/atlases/{atlas_a1.pk}/compare"

    assert _fields(client.get(url), 422) == ["a"]
    assert _fields(client.get(url, {"a": str(version.pk), "b": "latest"}), 422) == ["b"]
    assert client.get(url, {"a": version.pk, "b": 987654}).status_code == 404
    assert client.get(url, {"a": version.pk, "b": 9999999999999999999}).status_code == 404  # beyond MAX_ID
    assert _fields(client.get(url, {"a": version.pk, "b": 99999999999999999999}), 422) == ["b"]
    assert client.get(url, {"a": other.pk}).status_code == 404  # another county's version
    # A version the caller can see, but of another atlas, is not one of this atlas.
    elsewhere = _bearer(national).get(f"{API}/atlases/{atlas_b1.pk}/compare", {"a": version.pk})
    assert elsewhere.status_code == 404
    assert _ok(_bearer(national).get(f"{API}/atlases/{atlas_b1.pk}/compare", {"a": other.pk}))["b"] is None


# --- classification and levels ---------------------------------------------------------------


def test_classification_run_and_list_with_factors_in_words(
    province_user: User, national: User, risk: Risk, event: Any, world: World
) -> None:
    ran = _ok(_post(_bearer(province_user), f"{API}/classifications/run", {"event_id": event.pk}))
    assert ran == {"event_id": event.pk, "counties": 2}  # province A's two counties
    assert (
        _ok(_post(_bearer(national), f"{API}/classifications/run", {"event_id": event.pk}))["counties"] == 3
    )

    english = _ok(_bearer(province_user, language="en").get(f"{API}/classifications"))
    assert english["count"] == 2
    first = english["items"][0]
    assert (first["county_id"], first["county"], first["province"]) == (
        world.county_a1.pk,
        world.county_a1.name,
        world.province_a.name,
    )
    assert (first["score"], first["recommended_level"], first["level"], first["decided_at"]) == (
        5,
        "normal",
        "",
        None,
    )
    [factor] = first["factors"]
    assert (factor["points"], factor["params"]["band_en"]) == (5, "High")
    assert factor["text"] == "1 open risk in the High band, 5 points each"
    persian = _ok(_bearer(province_user).get(f"{API}/classifications"))["items"][0]["factors"][0]["text"]
    assert "زیاد" in persian
    assert "High" not in persian


def test_classification_list_sort_and_filters(
    national: User, province_user: User, risk: Risk, event: Any, world: World
) -> None:
    services.county_classify(event=event, actor=national)
    _decided(province_user, event, world)
    client = _bearer(national)

    def counties(**filters: Any) -> list[int]:
        return [row["county_id"] for row in _ok(client.get(f"{API}/classifications", filters))["items"]]

    assert counties(sort="-score")[0] == world.county_a1.pk  # 5 points; the others 0
    assert counties(sort="score")[-1] == world.county_a1.pk
    assert counties(sort="-province")[0] == world.county_b1.pk  # استان ب after استان الف
    assert counties(level="normal") == [world.county_a1.pk]
    assert set(counties(level="undecided")) == {world.county_a2.pk, world.county_b1.pk}
    assert counties(province_id=world.province_b.pk) == [world.county_b1.pk]
    assert counties(event_id=event.pk, limit=1, offset=0) == [world.county_a1.pk]
    assert _fields(client.get(f"{API}/classifications", {"sort": "votes"}), 422) == ["sort"]
    assert _fields(client.get(f"{API}/classifications", {"level": "red"}), 422) == ["level"]
    assert client.get(f"{API}/classifications", {"event_id": event.pk + 1000}).status_code == 404


def test_classification_is_scoped(county_user: User, national: User, event: Any, world: World) -> None:
    services.county_classify(event=event, actor=national)

    rows = _ok(_bearer(county_user).get(f"{API}/classifications"))["items"]

    assert [row["county_id"] for row in rows] == [world.county_a1.pk]


@pytest.mark.parametrize("persona", ["county_user", "county_admin", "county_viewer", "auditor"])
def test_classification_run_by_a_county_or_a_reader_is_403(
    request: pytest.FixtureRequest, persona: str, event: Any
) -> None:
    response = _post(
        _bearer(request.getfixturevalue(persona)), f"{API}/classifications/run", {"event_id": event.pk}
    )

    assert response.status_code == 403
    assert _count(CountyClassification) == 0


def test_classification_run_for_an_unknown_event_is_400(national: User, event: Any) -> None:
    response = _post(_bearer(national), f"{API}/classifications/run", {"event_id": event.pk + 1000})

    assert _locs(response, 400) == [["body", "event_id"]]


def test_level_decision_and_history(
    province_user: User, national: User, risk: Risk, event: Any, world: World
) -> None:
    client = _bearer(province_user)
    body = {"event_id": event.pk, "county_id": world.county_a1.pk}

    first = _ok(_post(client, f"{API}/levels", {**body, "level": "normal"}), 201)
    assert (first["level"], first["recommended_level"], first["score"], first["override"]) == (
        "normal",
        "normal",
        5,
        False,
    )
    overridden = _ok(
        _post(
            _bearer(national),
            f"{API}/levels",
            {**body, "level": "sensitive", "reason": "ابطال انتخابات قبلی"},
        ),
        201,
    )
    assert (overridden["override"], overridden["reason"], overridden["decided_by"]) == (
        True,
        "ابطال انتخابات قبلی",
        national.username,
    )

    history = _ok(
        client.get(f"{API}/levels/history", {"event_id": event.pk, "county_id": world.county_a1.pk})
    )
    assert [d["id"] for d in history] == [overridden["id"], first["id"]]
    assert (
        _ok(client.get(f"{API}/levels/history", {"county_id": world.county_a1.pk})) == history
    )  # current event
    assert _ok(client.get(f"{API}/levels/history", {"county_id": world.county_a2.pk})) == []
    with unscoped():
        assert CountyClassification.objects.get(county=world.county_a1).level == "sensitive"


def test_override_without_a_reason_is_400(province_user: User, risk: Risk, event: Any, world: World) -> None:
    response = _post(
        _bearer(province_user),
        f"{API}/levels",
        {"event_id": event.pk, "county_id": world.county_a1.pk, "level": "important", "reason": "  "},
    )

    assert _locs(response, 400) == [["body", "reason"]]
    assert _count(SecurityLevelDecision) == 0


@pytest.mark.parametrize("persona", ["county_user", "county_admin", "county_viewer", "auditor"])
def test_level_decided_by_a_county_or_a_reader_is_403(
    request: pytest.FixtureRequest, persona: str, event: Any, world: World
) -> None:
    response = _post(
        _bearer(request.getfixturevalue(persona)),
        f"{API}/levels",
        {"event_id": event.pk, "county_id": world.county_a1.pk, "level": "normal"},
    )

    assert response.status_code == 403
    assert _count(SecurityLevelDecision) == 0


def test_level_refusals_name_the_field(province_user: User, event: Any, world: World) -> None:
    client = _bearer(province_user)
    body = {"event_id": event.pk, "county_id": world.county_a1.pk, "level": "normal"}

    assert _locs(_post(client, f"{API}/levels", {**body, "county_id": world.county_b1.pk}), 400) == [
        ["body", "county_id"]
    ]
    assert _locs(_post(client, f"{API}/levels", {**body, "event_id": event.pk + 1000}), 400) == [
        ["body", "event_id"]
    ]
    assert _fields(_post(client, f"{API}/levels", {**body, "level": "critical"}), 422) == ["level"]
    assert _fields(_post(client, f"{API}/levels", {**body, "county_id": 99999999999999999999}), 422) == [
        "county_id"
    ]
    assert _count(SecurityLevelDecision) == 0


# --- duties ----------------------------------------------------------------------------------


def test_duty_checklist_follows_the_decided_level(
    county_user: User, province_user: User, event: Any, world: World
) -> None:
    client = _bearer(county_user)
    query = {"event_id": event.pk, "county_id": world.county_a1.pk}

    assert _ok(client.get(f"{API}/duties", query)) == {
        "event_id": event.pk,
        "county_id": world.county_a1.pk,
        "level": "",
        "duties": [],
    }
    _decided(province_user, event, world, level="sensitive", reason="ابطال انتخابات قبلی")

    checklist = _ok(client.get(f"{API}/duties", {"county_id": world.county_a1.pk}))  # the current event
    assert checklist["level"] == "sensitive"
    assert len(checklist["duties"]) == 4
    assert {d["is_done"] for d in checklist["duties"]} == {False}
    assert {d["duty_id"] for d in checklist["duties"]} == {None}


def test_duty_complete_and_reopen(county_user: User, province_user: User, event: Any, world: World) -> None:
    _decided(province_user, event, world)
    client = _bearer(county_user)
    template = DutyTemplate.objects.filter(level="normal").first()
    assert template is not None

    done = _ok(
        _post(
            client,
            f"{API}/duties/complete",
            {
                "event_id": event.pk,
                "county_id": world.county_a1.pk,
                "template_id": template.pk,
                "evidence": " صورتجلسه ۱۲ آذر ",
            },
        )
    )
    assert (done["template_id"], done["is_done"], done["evidence"], done["done_on"], done["done_by"]) == (
        template.pk,
        True,
        "صورتجلسه ۱۲ آذر",
        "2026-11-30",
        county_user.username,
    )
    line = next(
        d
        for d in _ok(client.get(f"{API}/duties", {"county_id": world.county_a1.pk}))["duties"]
        if d["template_id"] == template.pk
    )
    assert (line["duty_id"], line["is_done"], line["evidence"]) == (done["id"], True, "صورتجلسه ۱۲ آذر")

    assert _locs(_post(client, f"{API}/duties/{done['id']}/reopen", {"reason": ""}), 400) == [
        ["body", "reason"]
    ]
    reopened = _ok(_post(client, f"{API}/duties/{done['id']}/reopen", {"reason": "صورتجلسه امضا نشده"}))
    assert (reopened["is_done"], reopened["done_on"], reopened["done_by"]) == (False, None, None)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"template": "sensitive"}, "template_id"),  # not on the checklist of the county's level
        ({"template_id": 987654}, "template_id"),
        ({"evidence": "  "}, "evidence"),
        ({"county": "county_b1"}, "county_id"),
        ({"county": "county_a2"}, "county_id"),
    ],
)
def test_duty_complete_refusals_name_the_field(
    county_user: User, province_user: User, event: Any, world: World, changes: dict[str, Any], field: str
) -> None:
    _decided(province_user, event, world)
    level = changes.pop("template", "normal")
    template = DutyTemplate.objects.filter(level=level).first()
    assert template is not None
    county = getattr(world, changes.pop("county", "county_a1"))
    body = {
        "event_id": event.pk,
        "county_id": county.pk,
        "template_id": template.pk,
        "evidence": "x",
        **changes,
    }

    response = _post(_bearer(county_user), f"{API}/duties/complete", body)

    assert _locs(response, 400) == [["body", field]]
    assert _count(CountyDuty) == 0


def test_duty_complete_before_a_level_is_decided_is_400(county_user: User, event: Any, world: World) -> None:
    template = DutyTemplate.objects.filter(level="normal").first()
    assert template is not None

    response = _post(
        _bearer(county_user),
        f"{API}/duties/complete",
        {"event_id": event.pk, "county_id": world.county_a1.pk, "template_id": template.pk, "evidence": "x"},
    )

    assert _locs(response, 400) == [["body", "template_id"]]


def test_duty_writes_by_a_viewer_are_403(
    county_user: User, county_viewer: User, province_user: User, event: Any, world: World
) -> None:
    _decided(province_user, event, world)
    template = DutyTemplate.objects.filter(level="normal").first()
    assert template is not None
    duty = services.county_duty_complete(
        actor=county_user, event=event, county=world.county_a1, template=template, evidence="صورتجلسه"
    )
    client = _bearer(county_viewer)

    completed = _post(
        client,
        f"{API}/duties/complete",
        {"event_id": event.pk, "county_id": world.county_a1.pk, "template_id": template.pk, "evidence": "x"},
    )
    reopened = _post(client, f"{API}/duties/{duty.pk}/reopen", {"reason": "x"})

    assert (completed.status_code, reopened.status_code) == (403, 403)
    duty.refresh_from_db()
    assert (duty.is_done, duty.evidence) == (True, "صورتجلسه")


# --- past elections and the card -------------------------------------------------------------


def test_past_elections_recorded_by_the_province(
    province_user: User, county_user: User, world: World
) -> None:
    body = {
        "county_id": world.county_a1.pk,
        "held_on": "2024-03-01",
        "title": "انتخابات مجلس ۱۴۰۲",
        "was_annulled": True,
        "serious_incidents": 3,
    }

    created = _ok(_post(_bearer(province_user), f"{API}/past-elections", body), 201)

    assert (
        created["held_on"],
        created["was_annulled"],
        created["serious_incidents"],
        created["county_id"],
    ) == (
        "2024-03-01",
        True,
        3,
        world.county_a1.pk,
    )
    listed = _ok(_bearer(county_user).get(f"{API}/past-elections", {"county_id": world.county_a1.pk}))
    assert [p["id"] for p in listed] == [created["id"]]
    assert _ok(_bearer(province_user).get(f"{API}/past-elections", {"county_id": world.county_a2.pk})) == []


@pytest.mark.parametrize(
    ("persona", "changes", "status", "field"),
    [
        ("county_user", {}, 403, None),  # a county does not keep its own record
        ("county_admin", {}, 403, None),
        ("auditor", {}, 403, None),
        ("province_user", {"held_on": "2026-12-01"}, 400, "held_on"),  # in the future
        ("province_user", {"title": " "}, 400, "title"),
        ("province_user", {"serious_incidents": -1}, 400, "serious_incidents"),
        ("province_user", {"county": "county_b1"}, 400, "county_id"),
        ("province_user", {"held_on": "1402/12/10"}, 422, "held_on"),
    ],
)
def test_past_election_refusals(
    request: pytest.FixtureRequest,
    world: World,
    persona: str,
    changes: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    county = getattr(world, changes.pop("county", "county_a1"))
    body = {"county_id": county.pk, "held_on": "2024-03-01", "title": "انتخابات مجلس", **changes}

    response = _post(_bearer(request.getfixturevalue(persona)), f"{API}/past-elections", body)

    if field is None:
        assert response.status_code == status, response.content
    else:
        assert _fields(response, status) == [field]
    assert _count(PastElection) == 0


def test_county_card(
    county_user: User,
    province_user: User,
    risk: Risk,
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
    committees: Committees,
    event: Any,
    world: World,
) -> None:
    before = make_risk(atlas_a1, title="تأخیر در آموزش عوامل", phase="before", likelihood=2, impact=2)
    services.mitigation_add(
        actor=county_user, risk=risk, title="خط دوم", responsible=world.org_a1, due_on=TODAY
    )
    services.past_election_record(
        actor=province_user,
        county=world.county_a1,
        held_on=dt.date(2024, 3, 1),
        title="مجلس",
        was_annulled=True,
    )
    _decided(province_user, event, world, level="sensitive", reason="ابطال")

    card = _ok(_bearer(county_user, language="en").get(f"{API}/counties/{world.county_a1.pk}/card"))

    assert (card["event_id"], card["county"]["id"], card["county"]["province"]) == (
        event.pk,
        world.county_a1.pk,
        world.province_a.name,
    )
    assert (card["atlas"], card["stations"], card["districts"], card["risk_count"]) == (
        {"id": atlas_a1.pk, "status": "draft"},
        2,
        1,
        2,
    )
    assert [c["kind"] for c in card["contests"]] == ["city_council"]
    assert [(p["title"], p["was_annulled"]) for p in card["past_elections"]] == [("مجلس", True)]
    assert (card["matrix"]["likelihood_levels"], len(card["heat_map"]), len(card["heat_map"][0])) == (5, 5, 5)
    assert card["heat_map"][0][0]["likelihood"] == 5  # the highest likelihood on top
    cells = {(c["likelihood"], c["impact"]): c for row in card["heat_map"] for c in row}
    assert (cells[(3, 4)]["count"], cells[(3, 4)]["band"], cells[(3, 4)]["colour"]) == (1, "high", "#ef6c00")
    assert cells[(2, 2)]["count"] == 1
    assert [r["id"] for r in card["top_risks"]["during"]] == [risk.pk]
    assert [r["id"] for r in card["top_risks"]["before"]] == [before.pk]
    assert card["top_risks"]["after"] == []
    assert [m["title"] for m in card["mitigations"]] == ["خط دوم"]
    assert card["mitigation_progress"] == {"open": 1}
    classification = card["classification"]
    assert (classification["level"], classification["recommended_level"]) == ("sensitive", "important")
    assert {f["code"] for f in classification["factors"]} >= {"annulled"}
    assert "annulled" in next(f["text"] for f in classification["factors"] if f["code"] == "annulled")
    assert [(d["level"], d["override"], d["reason"]) for d in card["level_history"]] == [
        ("sensitive", True, "ابطال")
    ]


def test_county_card_before_anything_is_recorded(county_user: User, event: Any, world: World) -> None:
    card = _ok(_bearer(county_user).get(f"{API}/counties/{world.county_a1.pk}/card", {"event_id": event.pk}))

    assert (card["atlas"], card["risk_count"], card["classification"], card["level_history"]) == (
        None,
        0,
        None,
        [],
    )
    assert card["top_risks"] == {"before": [], "during": [], "after": []}
    assert {c["count"] for row in card["heat_map"] for c in row} == {0}


# --- reach, authentication, schema and queries -----------------------------------------------


def test_another_jurisdictions_objects_are_404(
    admin: User,
    outsider: User,
    county_user: User,
    province_user: User,
    version: AtlasVersion,
    risk: Risk,
    atlas_a1: Atlas,
    event: Any,
    world: World,
    category: RiskCategory,
) -> None:
    _decided(province_user, event, world)
    template = DutyTemplate.objects.filter(level="normal").first()
    assert template is not None
    duty = services.county_duty_complete(
        actor=county_user, event=event, county=world.county_a1, template=template, evidence="x"
    )
    reads = [
        f"{API}/atlases/{atlas_a1.pk}",
        f"{API}/atlases/{atlas_a1.pk}/risks",
        f"{API}/atlases/{atlas_a1.pk}/versions",
        f"{API}/atlases/{atlas_a1.pk}/compare?a={version.pk}",
        f"{API}/risks/{risk.pk}",
        f"{API}/versions/{version.pk}",
        f"{API}/counties/{world.county_a1.pk}/card",
        f"{API}/levels/history?county_id={world.county_a1.pk}",
        f"{API}/duties?county_id={world.county_a1.pk}",
        f"{API}/past-elections?county_id={world.county_a1.pk}",
    ]
    writes = {
        f"{API}/atlases/{atlas_a1.pk}/risks": _risk_body(category),
        f"{API}/atlases/{atlas_a1.pk}/submit": {},
        f"{API}/risks/{risk.pk}/assess": {"likelihood": 1, "impact": 1},
        f"{API}/risks/{risk.pk}/approve-acceptance": {},
        f"{API}/risks/{risk.pk}/withdraw": {"reason": "x"},
        f"{API}/risks/{risk.pk}/mitigations": {
            "title": "x",
            "responsible_id": world.org_b1.pk,
            "due_on": "2026-12-20",
        },
        f"{API}/versions/{version.pk}/review": {"approve": True},
        f"{API}/duties/{duty.pk}/reopen": {"reason": "x"},
    }
    # The other county of the same province sees no more of A1 than the other province does.
    sibling = user_create(
        actor=admin,
        username="county_a2",
        password=PASSWORD,
        role=Role.CHAIR,
        organisation=world.org_a,
        county=world.county_a2,
    )

    for user in (outsider, sibling):
        client = _bearer(user)
        for url in reads:
            response = client.get(url)
            assert response.status_code == 404, (user.username, url, response.content)
            assert response.json() == {"detail": "Not found."}
        for url, body in writes.items():
            assert _post(client, url, body).status_code == 404, (user.username, url)
        assert _put(client, f"{API}/risks/{risk.pk}", _risk_body(category)).status_code == 404
        assert _ok(client.get(f"{API}/atlases"))["count"] == 0
    assert _count(Risk) == 1
    version.refresh_from_db()
    duty.refresh_from_db()
    assert (version.status, duty.is_done) == ("submitted", True)


def test_missing_and_out_of_range_path_ids_are_404(national: User, event: Any, world: World) -> None:
    client = _bearer(national)

    for number in (987654, 99999999999999999999):
        for url in (
            f"{API}/atlases/{number}",
            f"{API}/atlases/{number}/risks",
            f"{API}/risks/{number}",
            f"{API}/versions/{number}",
        ):
            assert client.get(url).status_code == 404, url
        assert _post(client, f"{API}/duties/{number}/reopen", {"reason": "x"}).status_code == 404
        assert _put(client, f"{API}/duty-templates/{number}", {"text": "x"}).status_code == 404
        assert _patch(client, f"{API}/categories/{number}", {"name": "x"}).status_code == 404
    assert client.get(f"{API}/counties/987654/card").status_code == 404
    unknown_event = {"event_id": event.pk + 1000}
    assert client.get(f"{API}/counties/{world.county_a1.pk}/card", unknown_event).status_code == 404


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/atlases?event_id=99999999999999999999", "event_id"),
        ("/atlases?province_id=0", "province_id"),
        ("/classifications?province_id=99999999999999999999", "province_id"),
        ("/levels/history?county_id=99999999999999999999", "county_id"),
        ("/duties?county_id=-1", "county_id"),
        ("/past-elections?county_id=99999999999999999999", "county_id"),
        ("/counties/1/card?event_id=99999999999999999999", "event_id"),
        ("/duties", "county_id"),
        ("/past-elections", "county_id"),
    ],
)
def test_bad_query_ids_are_refused_naming_the_field(
    national: User, event: Any, path: str, field: str
) -> None:
    response = _bearer(national).get(API + path)

    assert _fields(response, 422) == [field]


def test_out_of_range_body_ids_are_422_naming_the_field(national: User, event: Any, world: World) -> None:
    client = _bearer(national)
    huge = 99999999999999999999

    assert _fields(
        _post(client, f"{API}/atlases", {"event_id": huge, "county_id": world.county_a1.pk}), 422
    ) == ["event_id"]
    assert _fields(_post(client, f"{API}/classifications/run", {"event_id": huge}), 422) == ["event_id"]
    assert _fields(
        _post(
            client,
            f"{API}/duties/complete",
            {"event_id": event.pk, "county_id": world.county_a1.pk, "template_id": huge, "evidence": "x"},
        ),
        422,
    ) == ["template_id"]
    assert _fields(
        _post(client, f"{API}/past-elections", {"county_id": huge, "held_on": "2024-03-01", "title": "x"}),
        422,
    ) == ["county_id"]


def test_without_authentication_every_operation_is_401(atlas_a1: Atlas, risk: Risk) -> None:
    anonymous = Client()
    bad_token = Client(headers={"Authorization": "Bearer amn_not-a-token"})

    for client in (anonymous, bad_token):
        for method, path in OPERATIONS:
            url = API + path.format(
                category_id=1,
                template_id=1,
                atlas_id=atlas_a1.pk,
                risk_id=risk.pk,
                version_id=1,
                duty_id=1,
                county_id=1,
            )
            response = client.generic(method.upper(), url, "{}", content_type="application/json")
            assert response.status_code == 401, (method, url)


def test_session_authentication_works_too(county_user: User, atlas_a1: Atlas) -> None:
    client = Client()
    client.force_login(county_user)

    assert _ok(client.get(f"{API}/atlases"))["count"] == 1


OPERATIONS = {
    ("get", "/categories"),
    ("post", "/categories"),
    ("put", "/categories/{category_id}"),
    ("patch", "/categories/{category_id}"),
    ("get", "/matrices"),
    ("post", "/matrices"),
    ("get", "/policy"),
    ("put", "/policy"),
    ("patch", "/policy"),
    ("get", "/duty-templates"),
    ("post", "/duty-templates"),
    ("put", "/duty-templates/{template_id}"),
    ("get", "/atlases"),
    ("post", "/atlases"),
    ("get", "/atlases/{atlas_id}"),
    ("get", "/atlases/{atlas_id}/risks"),
    ("post", "/atlases/{atlas_id}/risks"),
    ("get", "/risks/{risk_id}"),
    ("put", "/risks/{risk_id}"),
    ("post", "/risks/{risk_id}/assess"),
    ("post", "/risks/{risk_id}/approve-acceptance"),
    ("post", "/risks/{risk_id}/withdraw"),
    ("post", "/risks/{risk_id}/mitigations"),
    ("post", "/atlases/{atlas_id}/submit"),
    ("get", "/atlases/{atlas_id}/versions"),
    ("get", "/versions/{version_id}"),
    ("post", "/versions/{version_id}/review"),
    ("get", "/atlases/{atlas_id}/compare"),
    ("get", "/classifications"),
    ("post", "/classifications/run"),
    ("post", "/levels"),
    ("get", "/levels/history"),
    ("get", "/duties"),
    ("post", "/duties/complete"),
    ("post", "/duties/{duty_id}/reopen"),
    ("get", "/past-elections"),
    ("post", "/past-elections"),
    ("get", "/counties/{county_id}/card"),
}


def test_openapi_schema_lists_the_atlas_operations(county_user: User) -> None:
    client = Client()
    client.force_login(county_user)

    schema = _ok(client.get("/api/v1/openapi.json"))

    listed = {
        (method, path.removeprefix(API))
        for path, operations in schema["paths"].items()
        if path.startswith(API + "/")
        for method in operations
    }
    assert listed == OPERATIONS
    operations = [
        op for path, ops in schema["paths"].items() if path.startswith(API + "/") for op in ops.values()
    ]
    assert all(op["summary"] and op["description"] and op["tags"] == ["atlas"] for op in operations)
    assert "never a person" in schema["paths"][f"{API}/atlases/{{atlas_id}}/risks"]["post"]["description"]
    assert "put" not in schema["paths"][f"{API}/versions/{{version_id}}"]


def test_lists_and_details_do_not_grow_their_queries_with_their_rows(
    county_user: User,
    province_user: User,
    national: User,
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
    committees: Committees,
    event: Any,
    world: World,
) -> None:
    first = make_risk(atlas_a1)
    services.mitigation_add(actor=county_user, risk=first, title="م۰", responsible=world.org_a1, due_on=TODAY)
    v1 = services.atlas_submit(actor=county_user, atlas=atlas_a1)
    services.atlas_review(actor=province_user, version=v1, approve=False, comments={first.pk: "x"})
    services.county_classify(event=event, actor=national)
    _decided(province_user, event, world, level="important", reason="x")
    client = _bearer(province_user)
    urls = [
        f"{API}/atlases",
        f"{API}/atlases/{atlas_a1.pk}/risks",
        f"{API}/atlases/{atlas_a1.pk}/versions",
        f"{API}/risks/{first.pk}",
        f"{API}/classifications",
        f"{API}/levels/history?county_id={world.county_a1.pk}",
        f"{API}/duties?county_id={world.county_a1.pk}",
        f"{API}/counties/{world.county_a1.pk}/card",
        f"{API}/matrices",
        f"{API}/categories",
    ]
    client.get(f"{API}/policy")  # the token's first use is recorded once; leave it out of the counts
    before = [page_queries(client, url) for url in urls]
    for n in range(3):
        more = make_risk(atlas_a1, title=f"خطر {n}", likelihood=n + 1, impact=n + 2, phase="before")
        services.mitigation_add(
            actor=county_user, risk=first, title=f"م{n + 1}", responsible=world.org_a, due_on=TODAY
        )
        services.mitigation_add(
            actor=county_user, risk=more, title=f"ن{n}", responsible=world.org_a1, due_on=TODAY
        )
    v2 = services.atlas_submit(actor=county_user, atlas=atlas_a1)
    services.atlas_review(actor=province_user, version=v2, approve=False, comments={first.pk: "y"})
    services.atlas_open(actor=province_user, event=event, county=world.county_a2)
    _decided(province_user, event, world, level="normal")
    services.security_level_decide(actor=province_user, event=event, county=world.county_a2, level="normal")
    for template in DutyTemplate.objects.filter(level="normal"):
        services.county_duty_complete(
            actor=county_user, event=event, county=world.county_a1, template=template, evidence="x"
        )

    assert [page_queries(client, url) for url in urls] == before
