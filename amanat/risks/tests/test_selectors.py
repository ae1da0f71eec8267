"""Atlas reads: every selector keeps the caller inside their jurisdiction (missing and forbidden
both 404), and the lists, queue, tallies and identity card show exactly what they promise."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from amanat.accounts.models import OrganisationKind, User
from amanat.accounts.roles import Role
from amanat.accounts.services import organisation_create, user_create
from amanat.committees.models import ActionStatus
from amanat.committees.services import action_item_update
from amanat.elections.models import ElectionEvent
from amanat.elections.services import election_event_create
from amanat.risks import selectors, services
from amanat.risks.models import Atlas, AtlasVersion, CountyClassification, Risk, RiskMitigation
from amanat.scoping import unscoped
from conftest import PASSWORD, Committees, World

TODAY = dt.date(2026, 11, 24)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: pytest.MonkeyPatch) -> None:
    real = timezone.localdate
    monkeypatch.setattr(
        timezone, "localdate", lambda value=None, tz=None: TODAY if value is None else real(value, tz)
    )


@pytest.fixture
def province_b_chair(admin: User, world: World) -> User:
    org_b = organisation_create(
        actor=admin, name="استانداری ب", kind=OrganisationKind.GOVERNORATE, province=world.province_b
    )
    return user_create(
        actor=admin,
        username="province_b",
        password=PASSWORD,
        role=Role.CHAIR,
        organisation=org_b,
        province=world.province_b,
    )


@dataclass
class Landscape:
    """Three atlases of one event.

    A1 (submitted, v1 awaiting review): before: 25, 20, 16, 12, 6, 1; during: 12, 12 and a withdrawn
    25; after: 4 and 2 (recorded unassessed, assessed and treated later); two mitigations (one done).
    42 points: important.
    A2 (returned v1): one risk scored 12. 5 points: normal.
    B1 (submitted v1): 25 and 20. 20 points: important.
    """

    atlas_a1: Atlas
    atlas_a2: Atlas
    atlas_b1: Atlas
    risks: dict[str, Risk]
    v_a1: AtlasVersion
    v_a2: AtlasVersion
    v_b1: AtlasVersion


@pytest.fixture
def landscape(
    atlas_a1: Atlas,
    atlas_b1: Atlas,
    make_risk: Callable[..., Risk],
    county_user: User,
    county_admin: User,
    province_user: User,
    outsider: User,
    event: ElectionEvent,
    world: World,
    committees: Committees,
) -> Landscape:
    risks: dict[str, Risk] = {}
    for name, likelihood, impact in (
        ("b25", 5, 5),
        ("b20", 4, 5),
        ("b16", 4, 4),
        ("b12", 3, 4),
        ("b6", 2, 3),
        ("b1", 1, 1),
    ):
        risks[name] = make_risk(
            atlas_a1, phase="before", kind="threat", likelihood=likelihood, impact=impact, title=name
        )
    risks["d12a"] = make_risk(atlas_a1, phase="during", likelihood=3, impact=4, title="d12a")
    risks["d12b"] = make_risk(atlas_a1, phase="during", likelihood=3, impact=4, title="d12b")
    risks["d25w"] = make_risk(atlas_a1, phase="during", likelihood=5, impact=5, title="d25w")
    services.risk_withdraw(actor=county_user, risk=risks["d25w"], reason="تکراری")
    risks["a4"] = make_risk(atlas_a1, phase="after", kind="challenge", likelihood=2, impact=2, title="a4")
    risks["a?"] = make_risk(atlas_a1, phase="after", likelihood=None, impact=None, treatment="", title="a?")
    done = services.mitigation_add(
        actor=county_user,
        risk=risks["b25"],
        title="خط دوم",
        responsible=world.org_a1,
        due_on=TODAY + dt.timedelta(days=10),
    )
    services.mitigation_add(
        actor=county_user,
        risk=risks["b25"],
        title="برق اضطراری",
        responsible=world.org_a1,
        due_on=TODAY + dt.timedelta(days=20),
    )
    with unscoped():
        item = done.action_item
    action_item_update(actor=county_admin, item=item, status=ActionStatus.DONE, note="نصب شد")
    services.risk_assess(actor=county_user, risk=risks["a?"], likelihood=1, impact=2)
    _update_treatment(county_user, risks["a?"])
    v_a1 = services.atlas_submit(actor=county_user, atlas=atlas_a1)

    atlas_a2 = services.atlas_open(actor=province_user, event=event, county=world.county_a2)
    risks["a2"] = make_risk(atlas_a2, actor=province_user, title="a2")
    v_a2 = services.atlas_submit(actor=province_user, atlas=atlas_a2)
    services.atlas_review(actor=province_user, version=v_a2, approve=False, note="کامل کنید")

    risks["x25"] = make_risk(atlas_b1, actor=outsider, likelihood=5, impact=5, title="x25")
    risks["x20"] = make_risk(atlas_b1, actor=outsider, likelihood=4, impact=5, title="x20")
    v_b1 = services.atlas_submit(actor=outsider, atlas=atlas_b1)
    return Landscape(atlas_a1, atlas_a2, atlas_b1, risks, v_a1, v_a2, v_b1)


def _update_treatment(actor: User, risk: Risk) -> None:
    """Give the once-unassessed risk its treatment, so the atlas can be submitted (it scores 2: low)."""
    with unscoped():
        fresh = Risk.objects.get(pk=risk.pk)
    services.risk_update(
        actor=actor,
        risk=fresh,
        kind=fresh.kind,
        phase=fresh.phase,
        category=fresh.category,
        title=fresh.title,
        likelihood=fresh.likelihood,
        impact=fresh.impact,
        treatment="transfer",
    )


# --- scoping ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["outsider", "province_b_chair"])
def test_outsiders_get_404_for_county_a1(
    db: Any,
    persona: str,
    request: pytest.FixtureRequest,
    landscape: Landscape,
    event: ElectionEvent,
    world: World,
) -> None:
    actor = request.getfixturevalue(persona)
    risk = landscape.risks["b25"]

    with pytest.raises(Http404):
        selectors.atlas_get_for(user=actor, atlas_id=landscape.atlas_a1.pk)
    with pytest.raises(Http404):
        selectors.risk_get_for(user=actor, risk_id=risk.pk)
    with pytest.raises(Http404):
        selectors.atlas_version_get_for(user=actor, version_id=landscape.v_a1.pk)
    with pytest.raises(Http404):
        selectors.identity_card_for(user=actor, event=event, county=world.county_a1)
    assert selectors.atlas_find_for(user=actor, event=event, county=world.county_a1) is None
    assert list(selectors.atlas_version_list_for(user=actor, atlas=landscape.atlas_a1)) == []
    assert list(selectors.risk_list_for(user=actor, atlas=landscape.atlas_a1)) == []
    # Their own county's atlas is theirs to read.
    assert selectors.atlas_get_for(user=actor, atlas_id=landscape.atlas_b1.pk) == landscape.atlas_b1


@pytest.mark.parametrize("bad", ["abc", None, "", 10**30, -1, "1.5", 999_999])
def test_bad_ids_are_404(landscape: Landscape, national: User, bad: Any) -> None:
    with pytest.raises(Http404):
        selectors.atlas_get_for(user=national, atlas_id=bad)
    with pytest.raises(Http404):
        selectors.risk_get_for(user=national, risk_id=bad)
    with pytest.raises(Http404):
        selectors.atlas_version_get_for(user=national, version_id=bad)
    with pytest.raises(Http404):
        selectors.county_duty_get_for(user=national, duty_id=bad)


def test_anonymous_callers_are_refused(landscape: Landscape) -> None:
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionDenied):
        selectors.atlas_list_for(user=AnonymousUser())
    with pytest.raises(PermissionDenied):
        selectors.risk_category_list_for(user=None)


def test_atlas_lists_follow_the_jurisdiction(
    landscape: Landscape, national: User, province_user: User, county_user: User, outsider: User
) -> None:
    def counties(user: User, **filters: Any) -> list[str]:
        return [a.county.code for a in selectors.atlas_list_for(user=user, **filters)]

    assert counties(national) == ["A1", "A2", "B1"]
    assert counties(province_user) == ["A1", "A2"]
    assert counties(county_user) == ["A1"]
    assert counties(outsider) == ["B1"]
    assert counties(national, status="submitted") == ["A1", "B1"]
    assert counties(national, status="returned") == ["A2"]
    assert counties(national, status="bogus") == ["A1", "A2", "B1"]
    assert counties(national, province_id=landscape.atlas_b1.province_id) == ["B1"]
    other = election_event_create(actor=national, name="میان‌دوره‌ای", voting_day=dt.date(2027, 6, 1))
    assert counties(national, event_id=other.pk) == []
    assert counties(national, event_id=landscape.atlas_a1.event_id) == ["A1", "A2", "B1"]

    atlases: list[Any] = list(selectors.atlas_list_for(user=national))
    active = {a.county.code: a.active_risks for a in atlases}
    assert active == {"A1": 10, "A2": 1, "B1": 2}  # the withdrawn risk is not counted


def test_province_user_reads_its_counties_atlases(landscape: Landscape, province_user: User) -> None:
    assert selectors.atlas_get_for(user=province_user, atlas_id=landscape.atlas_a2.pk) == landscape.atlas_a2
    assert selectors.risk_get_for(user=province_user, risk_id=landscape.risks["b25"].pk).title == "b25"
    with pytest.raises(Http404):
        selectors.atlas_get_for(user=province_user, atlas_id=landscape.atlas_b1.pk)
    with pytest.raises(Http404):
        selectors.risk_get_for(user=province_user, risk_id=landscape.risks["x25"].pk)
    with pytest.raises(Http404):
        selectors.atlas_version_get_for(user=province_user, version_id=landscape.v_b1.pk)


def test_county_user_does_not_read_a_neighbouring_county(landscape: Landscape, county_user: User) -> None:
    with pytest.raises(Http404):
        selectors.atlas_get_for(user=county_user, atlas_id=landscape.atlas_a2.pk)
    with pytest.raises(Http404):
        selectors.risk_get_for(user=county_user, risk_id=landscape.risks["a2"].pk)


# --- risks -----------------------------------------------------------------------------------


def test_risk_list_filters_and_annotations(landscape: Landscape, county_user: User) -> None:
    atlas = landscape.atlas_a1

    rows: dict[str, Any] = {r.title: r for r in selectors.risk_list_for(user=county_user, atlas=atlas)}
    assert set(rows) == {"b25", "b20", "b16", "b12", "d12a", "d12b", "b6", "a4", "a?", "b1"}
    assert {r.title for r in selectors.risk_list_for(user=county_user, atlas=atlas, phase="during")} == {
        "d12a",
        "d12b",
    }
    assert [r.title for r in selectors.risk_list_for(user=county_user, atlas=atlas, kind="challenge")] == [
        "a4"
    ]
    with_withdrawn = selectors.risk_list_for(user=county_user, atlas=atlas, include_withdrawn=True)
    assert len(with_withdrawn) == 11
    assert "d25w" in {r.title for r in with_withdrawn}
    assert (rows["b25"].mitigation_count, rows["b25"].mitigations_done) == (2, 1)
    assert (rows["b20"].mitigation_count, rows["b20"].mitigations_done) == (0, 0)


def test_risk_list_orders_by_score(landscape: Landscape, county_user: User) -> None:
    """The docstring: "highest score first" (ties in the order of recording)."""
    rows = selectors.risk_list_for(user=county_user, atlas=landscape.atlas_a1)

    assert [r.title for r in rows] == ["b25", "b20", "b16", "b12", "d12a", "d12b", "b6", "a4", "a?", "b1"]


def test_unassessed_risks_list_last(
    atlas_a1: Atlas, make_risk: Callable[..., Risk], county_user: User
) -> None:
    make_risk(atlas_a1, likelihood=None, impact=None, title="later")
    make_risk(atlas_a1, likelihood=1, impact=1, title="low")

    assert [r.title for r in selectors.risk_list_for(user=county_user, atlas=atlas_a1)] == ["low", "later"]


def test_risk_list_query_count_does_not_grow(
    landscape: Landscape, national: User, django_assert_max_num_queries: Any
) -> None:
    def touch(atlas: Atlas) -> None:
        risks: list[Any] = list(selectors.risk_list_for(user=national, atlas=atlas))
        for risk in risks:
            _ = (risk.category.name, risk.band and risk.band.colour, risk.owner, risk.mitigation_count)

    with django_assert_max_num_queries(3) as few:
        touch(landscape.atlas_a2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        touch(landscape.atlas_a1)


def test_mitigations_and_review_comments_of_a_risk(
    landscape: Landscape, county_user: User, province_user: User
) -> None:
    risk = landscape.risks["a2"]
    mitigations = selectors.risk_mitigations_for(user=county_user, risk=landscape.risks["b25"])
    assert [(m.action_item.title, m.action_item.status) for m in mitigations] == [
        ("خط دوم", ActionStatus.DONE),
        ("برق اضطراری", ActionStatus.OPEN),
    ]
    assert list(selectors.risk_review_comments_for(user=province_user, risk=risk)) == []

    services.atlas_review(
        actor=province_user,
        version=landscape.v_a1,
        approve=False,
        comments={landscape.risks["b25"].pk: "جدی‌تر است"},
    )
    comments = selectors.risk_review_comments_for(user=county_user, risk=landscape.risks["b25"])
    assert [(c.version.number, c.text) for c in comments] == [(1, "جدی‌تر است")]
    assert selectors.version_comments_for(version=landscape.v_a1) == {landscape.risks["b25"].pk: "جدی‌تر است"}


# --- versions and the review queue -----------------------------------------------------------


def test_versions_newest_first_without_content(
    landscape: Landscape, province_user: User, county_user: User, make_risk: Callable[..., Risk]
) -> None:
    services.atlas_review(actor=province_user, version=landscape.v_a1, approve=False, note="اصلاح")
    with unscoped():
        atlas = Atlas.objects.get(pk=landscape.atlas_a1.pk)
    services.atlas_submit(actor=county_user, atlas=atlas)

    versions = list(selectors.atlas_version_list_for(user=county_user, atlas=atlas))
    assert [v.number for v in versions] == [2, 1]
    assert "content" in versions[0].get_deferred_fields()
    version = selectors.atlas_version_get_for(user=province_user, version_id=versions[1].pk)
    assert [r["title"] for r in version.content["risks"]][:2] == ["b25", "b20"]


def test_review_queue_lists_only_submitted_versions_in_the_province(
    landscape: Landscape, province_user: User, national: User, province_b_chair: User, county_user: User
) -> None:
    assert [v.pk for v in selectors.review_queue_for(user=province_user)] == [landscape.v_a1.pk]
    assert [v.pk for v in selectors.review_queue_for(user=province_b_chair)] == [landscape.v_b1.pk]
    assert [v.pk for v in selectors.review_queue_for(user=national)] == [landscape.v_a1.pk, landscape.v_b1.pk]
    assert [v.pk for v in selectors.review_queue_for(user=province_user, event_id=999_999)] == []

    services.atlas_review(actor=province_user, version=landscape.v_a1, approve=True)
    assert list(selectors.review_queue_for(user=province_user)) == []


# --- classification, tallies and the map -----------------------------------------------------


@pytest.fixture
def decided(
    landscape: Landscape, national: User, province_user: User, event: ElectionEvent, world: World
) -> None:
    """A1: 42 points (important), decided sensitive; A2: 5 (normal), normal; B1: 20 (important), important."""
    services.county_classify(event=event, actor=national)
    services.security_level_decide(
        actor=province_user, event=event, county=world.county_a1, level="sensitive", reason="ابطال پیشین"
    )
    services.security_level_decide(actor=province_user, event=event, county=world.county_a2, level="normal")
    services.security_level_decide(actor=national, event=event, county=world.county_b1, level="important")


def _codes(rows: Any) -> list[str]:
    return [row.county.code for row in rows]


def test_classification_scores_of_the_landscape(decided: None, national: User, event: ElectionEvent) -> None:
    rows = {
        r.county.code: (r.score, r.recommended_level, r.level)
        for r in selectors.classification_list_for(user=national, event=event)
    }

    assert rows == {
        "A1": (42, "important", "sensitive"),
        "A2": (5, "normal", "normal"),
        "B1": (20, "important", "important"),
    }


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-score", ["A1", "B1", "A2"]),
        ("score", ["A2", "B1", "A1"]),
        ("county", ["A1", "A2", "B1"]),
        ("-county", ["B1", "A2", "A1"]),
        ("province", ["A1", "A2", "B1"]),
        ("-province", ["B1", "A1", "A2"]),
        ("nonsense", ["A1", "B1", "A2"]),  # the default: highest score first
    ],
)
def test_classification_list_sorts(
    decided: None, national: User, event: ElectionEvent, sort: str, expected: list[str]
) -> None:
    assert _codes(selectors.classification_list_for(user=national, event=event, sort=sort)) == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("level", ["A2", "B1", "A1"]),  # normal, important, sensitive
        ("-level", ["A1", "B1", "A2"]),
        ("recommended", ["A2", "A1", "B1"]),  # normal, then the two important by name
        ("-recommended", ["A1", "B1", "A2"]),
    ],
)
def test_classification_sorted_by_level_follows_severity(
    decided: None, national: User, event: ElectionEvent, sort: str, expected: list[str]
) -> None:
    """A table sorted by level reads normal < important < sensitive, not the codes' alphabet."""
    assert _codes(selectors.classification_list_for(user=national, event=event, sort=sort)) == expected


def test_classification_list_filters_and_scopes(
    decided: None,
    national: User,
    province_user: User,
    county_user: User,
    outsider: User,
    event: ElectionEvent,
    world: World,
) -> None:
    def codes(user: User, **filters: Any) -> list[str]:
        return sorted(_codes(selectors.classification_list_for(user=user, event=event, **filters)))

    assert codes(national, level="important") == ["B1"]
    assert codes(national, level="sensitive") == ["A1"]
    assert codes(national, level="undecided") == []
    assert codes(national, level="bogus") == ["A1", "A2", "B1"]
    assert codes(national, province_id=world.province_a.pk) == ["A1", "A2"]
    assert codes(province_user) == ["A1", "A2"]
    assert codes(province_user, province_id=world.province_b.pk) == []
    assert codes(county_user) == ["A1"]
    assert codes(outsider) == ["B1"]
    assert selectors.classification_get_for(user=outsider, event=event, county=world.county_a1) is None
    row = selectors.classification_get_for(user=county_user, event=event, county=world.county_a1)
    assert row is not None and row.level == "sensitive"


def test_undecided_filter(
    landscape: Landscape, national: User, province_user: User, event: ElectionEvent, world: World
) -> None:
    services.county_classify(event=event, actor=national)
    services.security_level_decide(actor=province_user, event=event, county=world.county_a2, level="normal")

    rows = selectors.classification_list_for(user=national, event=event, level="undecided")
    assert sorted(_codes(rows)) == ["A1", "B1"]


def test_level_tally_counts_per_province(
    decided: None, national: User, province_user: User, county_user: User, event: ElectionEvent, world: World
) -> None:
    tally = {t.province.code: t for t in selectors.level_tally_for(user=national, event=event)}
    assert set(tally) == {"A", "B"}
    assert (tally["A"].counts, tally["A"].undecided, tally["A"].total, tally["A"].top_level) == (
        {"sensitive": 1, "normal": 1},
        0,
        2,
        "sensitive",
    )
    assert (tally["B"].counts, tally["B"].undecided, tally["B"].top_level) == (
        {"important": 1},
        0,
        "important",
    )

    own = selectors.level_tally_for(user=province_user, event=event)
    assert [(t.province.code, t.counts) for t in own] == [("A", {"sensitive": 1, "normal": 1})]
    county = selectors.level_tally_for(user=county_user, event=event)
    assert [(t.province.code, t.counts, t.undecided) for t in county] == [("A", {"sensitive": 1}, 0)]


def test_level_tally_before_any_decision(landscape: Landscape, national: User, event: ElectionEvent) -> None:
    services.county_classify(event=event, actor=national)

    tally = {t.province.code: t for t in selectors.level_tally_for(user=national, event=event)}
    assert (tally["A"].counts, tally["A"].undecided, tally["A"].top_level) == ({}, 2, "")
    assert (tally["B"].counts, tally["B"].undecided) == ({}, 1)


def test_level_tally_query_count(
    decided: None, national: User, event: ElectionEvent, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(3):
        selectors.level_tally_for(user=national, event=event)


def test_province_map_tiles(decided: None, province_user: User, event: ElectionEvent, world: World) -> None:
    tiles = selectors.county_level_map_for(user=province_user, event=event, province=world.province_a)

    assert [(t["code"], t["level"], t["recommended_level"], t["score"]) for t in tiles] == [
        ("A1", "sensitive", "important", 42),
        ("A2", "normal", "normal", 5),
    ]


def test_level_history_newest_first_and_scoped(
    decided: None, national: User, outsider: User, event: ElectionEvent, world: World
) -> None:
    services.security_level_decide(
        actor=national, event=event, county=world.county_a1, level="important", reason="بازنگری"
    )

    history = list(selectors.level_history_for(user=national, event=event, county=world.county_a1))
    assert [(d.level, d.reason) for d in history] == [("important", "بازنگری"), ("sensitive", "ابطال پیشین")]
    assert list(selectors.level_history_for(user=outsider, event=event, county=world.county_a1)) == []


def test_county_duties_for_the_level(
    decided: None, county_user: User, event: ElectionEvent, world: World
) -> None:
    lines = selectors.county_duties_for(
        user=county_user, event=event, county=world.county_a1, level="sensitive"
    )
    assert len(lines) == 4
    assert not any(line.is_done for line in lines)

    services.county_duty_complete(
        actor=county_user,
        event=event,
        county=world.county_a1,
        template=lines[1].template,
        evidence="صورتجلسه",
    )
    lines = selectors.county_duties_for(
        user=county_user, event=event, county=world.county_a1, level="sensitive"
    )
    assert [line.is_done for line in lines] == [False, True, False, False]
    assert selectors.county_duties_for(user=county_user, event=event, county=world.county_a1, level="") == []
    duty = lines[1].duty
    assert duty is not None
    assert selectors.county_duty_get_for(user=county_user, duty_id=duty.pk) == duty


def test_county_duty_is_404_outside(
    decided: None, county_user: User, outsider: User, event: ElectionEvent, world: World
) -> None:
    lines = selectors.county_duties_for(
        user=county_user, event=event, county=world.county_a1, level="sensitive"
    )
    duty = services.county_duty_complete(
        actor=county_user, event=event, county=world.county_a1, template=lines[0].template, evidence="شواهد"
    )

    with pytest.raises(Http404):
        selectors.county_duty_get_for(user=outsider, duty_id=duty.pk)


# --- the identity card -----------------------------------------------------------------------


def test_identity_card(
    decided: None,
    landscape: Landscape,
    county_user: User,
    province_user: User,
    event: ElectionEvent,
    world: World,
) -> None:
    services.past_election_record(
        actor=province_user,
        county=world.county_a1,
        held_on=dt.date(2024, 3, 1),
        title="مجلس ۱۴۰۲",
        was_annulled=True,
    )

    card = selectors.identity_card_for(user=county_user, event=event, county=world.county_a1)

    assert (card.atlas, card.stations, card.districts, card.risk_count) == (landscape.atlas_a1, 2, 1, 10)
    assert [c.kind for c in card.contests] == ["city_council"]
    assert [(p.title, p.was_annulled) for p in card.past_elections] == [("مجلس ۱۴۰۲", True)]
    assert card.matrix is not None and card.matrix.name == "۵×۵"
    assert card.heat == {
        (5, 5): 1,
        (4, 5): 1,
        (4, 4): 1,
        (3, 4): 3,
        (2, 3): 1,
        (1, 1): 1,
        (2, 2): 1,
        (1, 2): 1,
    }
    assert sum(card.heat.values()) == 10  # the withdrawn risk stays off the map
    assert card.likelihoods == [5, 4, 3, 2, 1]
    assert card.impacts == [1, 2, 3, 4, 5]
    rows = card.heat_rows
    assert [cell["likelihood"] for cell in rows[0]] == [5] * 5
    assert (rows[0][4]["count"], rows[0][4]["cell"].band.code) == (1, "extreme")
    assert (rows[4][0]["count"], rows[4][0]["cell"].score) == (1, 1)
    assert {k: [r.title for r in v] for k, v in card.top_risks.items()} == {
        "before": ["b25", "b20", "b16", "b12", "b6"],  # five at most, highest first
        "during": ["d12a", "d12b"],  # a tie keeps the order of recording
        "after": ["a4", "a?"],
    }
    assert [m.action_item.title for m in card.mitigations] == ["خط دوم", "برق اضطراری"]
    assert dict(card.mitigation_progress) == {ActionStatus.DONE: 1, ActionStatus.OPEN: 1}
    assert card.classification is not None and card.classification.level == "sensitive"
    assert [d.level for d in card.level_history] == ["sensitive"]


def test_identity_card_of_a_county_without_atlas(national: User, event: ElectionEvent, world: World) -> None:
    card = selectors.identity_card_for(user=national, event=event, county=world.county_a2)

    assert (card.atlas, card.risk_count, card.heat, card.mitigations, card.classification) == (
        None,
        0,
        {},
        [],
        None,
    )
    assert card.top_risks == {"before": [], "during": [], "after": []}
    assert card.matrix is not None and len(card.heat_rows) == 5
    assert (card.stations, card.districts) == (1, 1)


def test_identity_card_query_count_does_not_grow(
    decided: None,
    landscape: Landscape,
    national: User,
    event: ElectionEvent,
    world: World,
    django_assert_max_num_queries: Any,
) -> None:
    def read(county: Any) -> None:
        card = selectors.identity_card_for(user=national, event=event, county=county)
        for risks in card.top_risks.values():
            for risk in risks:
                _ = (risk.category.name, risk.band and risk.band.colour, risk.owner, risk.residual_band)
        for mitigation in card.mitigations:
            _ = (mitigation.risk.title, mitigation.action_item.responsible.name)
        for decision in card.level_history:
            _ = decision.decided_by.username
        for row in card.heat_rows:
            for cell in row:
                _ = cell["cell"].band.colour

    with django_assert_max_num_queries(20) as few:
        read(world.county_a2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        read(world.county_a1)


# --- reference data --------------------------------------------------------------------------


def test_reference_data_reads(national: User, county_user: User) -> None:
    categories = selectors.risk_category_list_for(user=county_user)
    assert categories.count() == 15
    category = categories.get(code="cyber-threats")
    services.risk_category_update(actor=national, category=category, name=category.name, is_active=False)
    assert selectors.risk_category_list_for(user=county_user, active_only=True).count() == 14
    assert selectors.risk_category_get_for(user=county_user, category_id=category.pk) == category
    with pytest.raises(Http404):
        selectors.risk_category_get_for(user=county_user, category_id="x")

    matrices = list(selectors.risk_matrix_list_for(user=county_user))
    assert [(m.name, m.bands.count(), m.cells.count()) for m in matrices] == [("۵×۵", 4, 25)]
    assert selectors.risk_matrix_default() == matrices[0]
    assert selectors.duty_template_list_for(user=county_user, level="important").count() == 3
    assert selectors.duty_template_list_for(user=county_user).count() == 9


def test_classification_rows_are_models(decided: None) -> None:
    """The fixtures built three classification rows, one per county (guards the counts above)."""
    with unscoped():
        assert CountyClassification.objects.count() == 3
        assert RiskMitigation.objects.count() == 2


def test_atlas_tally_counts_each_province_s_atlases_by_status(
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
    county_user: User,
    province_user: User,
    national: User,
    world: World,
    event: ElectionEvent,
) -> None:
    make_risk(atlas_a1)
    version = services.atlas_submit(actor=county_user, atlas=atlas_a1)
    services.atlas_review(actor=province_user, version=version, approve=True)

    tallies = {t.province.pk: t for t in selectors.atlas_tally_for(user=national, event=event)}

    a, b = tallies[world.province_a.pk], tallies[world.province_b.pk]
    assert (a.counties, a.approved, a.submitted, a.not_started) == (2, 1, 0, 1)
    assert (b.counties, b.approved, b.not_started) == (1, 0, 1)
    # A province sees its own set only.
    assert [t.province.pk for t in selectors.atlas_tally_for(user=province_user, event=event)] == [
        world.province_a.pk
    ]
