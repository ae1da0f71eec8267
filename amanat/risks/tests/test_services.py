"""Atlas services: matrix configuration, the register, acceptance, submission and its immutable
versions, the province's review, classification, level decisions, duties and mitigations, across
roles and jurisdictions. State is built through the services, as a user would build it."""

import copy
import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from amanat.accounts.models import Notification, OrganisationKind, User
from amanat.accounts.roles import Role
from amanat.accounts.services import organisation_create, user_create
from amanat.audit.models import AuditAction, AuditEntry
from amanat.audit.services import audit_chain_verify
from amanat.committees.models import ActionItem, ActionStatus
from amanat.elections.models import ElectionEvent
from amanat.elections.services import election_event_create
from amanat.risks import services
from amanat.risks.models import (
    Atlas,
    AtlasStatus,
    AtlasVersion,
    CountyClassification,
    CountyDuty,
    DutyTemplate,
    PastElection,
    ReviewComment,
    Risk,
    RiskBand,
    RiskCategory,
    RiskMatrix,
    RiskMatrixCell,
    RiskMitigation,
    RiskStatus,
    SecurityLevelDecision,
    VersionStatus,
)
from amanat.risks.services import BandSpec
from amanat.risks.snapshots import atlas_snapshot, snapshot_diff
from amanat.scoping import unscoped
from conftest import PASSWORD, Committees, World

TODAY = dt.date(2026, 11, 24)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: pytest.MonkeyPatch) -> None:
    real = timezone.localdate
    monkeypatch.setattr(
        timezone, "localdate", lambda value=None, tz=None: TODAY if value is None else real(value, tz)
    )


# --- helpers ---------------------------------------------------------------------------------


def _count(model: Any, **filters: Any) -> int:
    with unscoped():
        manager: Any = model.all_entries if model is AuditEntry else model.objects
        return int(manager.filter(**filters).count())


def _reload(model: Any, pk: int) -> Any:
    with unscoped():
        return model.objects.get(pk=pk)


def _audit(entity: Any) -> list[Any]:
    """The entity's audit entries, oldest first (typed loosely: their JSON before/after are read as dicts)."""
    return list(
        AuditEntry.all_entries.filter(entity_type=entity._meta.label, entity_id=str(entity.pk)).order_by(
            "seq"
        )
    )


def _assert_chain_clean() -> None:
    assert list(audit_chain_verify()) == []


def _fields(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return set(exc.value.message_dict)


def _text(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(exc.value.messages)


def _b(band: RiskBand | None) -> RiskBand:
    assert band is not None
    return band


def _band(code: str) -> RiskBand:
    return RiskBand.objects.get(matrix__is_default=True, code=code)


def _state(risk: Risk) -> tuple[Any, ...]:
    fresh = _reload(Risk, risk.pk)
    return (
        fresh.title,
        fresh.likelihood,
        fresh.impact,
        fresh.score,
        fresh.band_id,
        fresh.treatment,
        fresh.status,
        fresh.acceptance_approved_by_id,
    )


def _update(actor: Any, risk: Risk, **changes: Any) -> Risk:
    """risk_update with the risk's current values, except the given changes."""
    values: dict[str, Any] = {
        "kind": risk.kind,
        "phase": risk.phase,
        "category": risk.category,
        "title": risk.title,
        "description": risk.description,
        "location": risk.location,
        "likelihood": risk.likelihood,
        "impact": risk.impact,
        "treatment": risk.treatment,
        "owner": risk.owner,
        "status": risk.status,
        "residual_likelihood": risk.residual_likelihood,
        "residual_impact": risk.residual_impact,
    }
    values.update(changes)
    return services.risk_update(actor=actor, risk=risk, **values)


@pytest.fixture
def province_b_chair(admin: User, world: World) -> User:
    """The chair of province B: an APPROVE holder at province level, outside county A1's province."""
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


@pytest.fixture
def submitted(atlas_a1: Atlas, make_risk: Callable[..., Risk], county_user: User) -> AtlasVersion:
    """County A1's atlas with two assessed risks, submitted as version 1."""
    make_risk(atlas_a1, title="قطع خط فیبر نوری شعب روستایی")
    make_risk(atlas_a1, title="نبود برق اضطراری", likelihood=2, impact=3, phase="before")
    return services.atlas_submit(actor=county_user, atlas=atlas_a1, note="نسخه نخست")


# --- matrices --------------------------------------------------------------------------------

THREE_BANDS = [
    BandSpec(code="green", name="سبز", name_en="Green", colour="#00aa00", weight=0),
    BandSpec(code="amber", name="کهربایی", name_en="Amber", colour="#ffbf00", weight=3),
    BandSpec(code="red", name="قرمز", name_en="Red", colour="#dd0000", weight=8),
]


def _three_grid() -> dict[tuple[int, int], tuple[int, str]]:
    """A lookup grid that is not a product (it scores L + I), to show the matrix is configuration."""
    grid = {}
    for likelihood in range(1, 4):
        for impact in range(1, 4):
            score = likelihood + impact
            grid[(likelihood, impact)] = (score, "green" if score <= 3 else "amber" if score <= 4 else "red")
    return grid


def _make_three(actor: Any, **overrides: Any) -> RiskMatrix:
    values: dict[str, Any] = {
        "name": "۳×۳",
        "likelihood_levels": 3,
        "impact_levels": 3,
        "bands": THREE_BANDS,
        "grid": _three_grid(),
        "make_default": True,
    }
    values.update(overrides)
    return services.risk_matrix_create(actor=actor, **values)


def test_configured_3x3_matrix_works_end_to_end(
    national: User,
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
    county_user: User,
    event: ElectionEvent,
    world: World,
) -> None:
    seeded = RiskMatrix.objects.get(is_default=True)
    earlier = make_risk(atlas_a1, title="پیش از ماتریس تازه")
    matrix = _make_three(national)

    assert list(RiskMatrix.objects.filter(is_default=True)) == [matrix]
    assert not _reload(RiskMatrix, seeded.pk).is_default
    assert [(b.code, b.colour, b.rank, b.weight) for b in matrix.bands.order_by("rank")] == [
        ("green", "#00aa00", 1, 0),
        ("amber", "#ffbf00", 2, 3),
        ("red", "#dd0000", 3, 8),
    ]
    assert RiskMatrixCell.objects.filter(matrix=matrix).count() == 9

    top = make_risk(atlas_a1, likelihood=3, impact=3, title="بالاترین")
    corner = make_risk(atlas_a1, likelihood=1, impact=2, title="پایین")

    assert (top.matrix_id, top.score, _b(top.band).code, _b(top.band).colour) == (
        matrix.pk,
        6,
        "red",
        "#dd0000",
    )
    assert (corner.score, _b(corner.band).code) == (3, "green")
    with pytest.raises(ValidationError) as exc:
        make_risk(atlas_a1, likelihood=4, impact=1)
    assert _fields(exc) == {"likelihood"}
    assert "3" in exc.value.message_dict["likelihood"][0]

    # The 3x3 bands weigh in the classification: one red risk, 8 points, beside the earlier 5x5 high (5).
    services.county_classify(event=event, county_ids=[world.county_a1.pk])
    row = _classification(event, world)
    assert row.score == 13
    assert [(f["code"], f["points"]) for f in row.factors] == [
        (f"band:{top.band_id}", 8),
        (f"band:{earlier.band_id}", 5),
    ]
    # A risk keeps the matrix it was assessed on: the 3x3's range for the new one, 5x5 for the earlier.
    with pytest.raises(ValidationError) as exc:
        services.risk_assess(actor=county_user, risk=top, likelihood=5, impact=1)
    assert _fields(exc) == {"likelihood"}
    reassessed = services.risk_assess(actor=county_user, risk=earlier, likelihood=5, impact=5)
    assert (reassessed.matrix_id, reassessed.score, _b(reassessed.band).code) == (seeded.pk, 25, "extreme")


def _classification(event: ElectionEvent, world: World, county: Any = None) -> CountyClassification:
    with unscoped():
        return CountyClassification.objects.get(event=event, county=county or world.county_a1)


def test_seeded_matrix_scores_new_risks(atlas_a1: Atlas, make_risk: Callable[..., Risk]) -> None:
    cases = {(1, 4): (4, "low"), (1, 5): (5, "medium"), (2, 5): (10, "high"), (4, 5): (20, "extreme")}
    for (likelihood, impact), (score, band) in cases.items():
        risk = make_risk(atlas_a1, likelihood=likelihood, impact=impact, title=f"{likelihood}x{impact}")
        assert (risk.score, _b(risk.band).code, risk.matrix.name) == (score, band, "۵×۵")


@pytest.mark.parametrize(
    ("likelihood", "impact", "field"),
    [
        (0, 3, "likelihood"),
        (6, 3, "likelihood"),
        (3, 6, "impact"),
        (3, 0, "impact"),
        (-1, 3, "likelihood"),
        ("x", 3, "likelihood"),
        (3, "x", "impact"),
        (True, 3, "likelihood"),
        (3, True, "impact"),
        (3, None, "impact"),
        (None, 3, "likelihood"),
        ("", 3, "likelihood"),
        ([3], 3, "likelihood"),
    ],
)
def test_out_of_range_assessment_is_refused_with_the_field_named(
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
    county_user: User,
    likelihood: Any,
    impact: Any,
    field: str,
) -> None:
    with pytest.raises(ValidationError) as exc:
        make_risk(atlas_a1, likelihood=likelihood, impact=impact)
    assert _fields(exc) == {field}
    assert _count(Risk, atlas=atlas_a1) == 0

    risk = make_risk(atlas_a1)
    before = _state(risk)
    with pytest.raises(ValidationError) as exc:
        services.risk_assess(actor=county_user, risk=risk, likelihood=likelihood, impact=impact)
    assert _fields(exc) == {field}
    assert _state(risk) == before


def test_fractional_assessment_is_refused_not_truncated(
    atlas_a1: Atlas, make_risk: Callable[..., Risk]
) -> None:
    """The message promises a whole number from 1 to 5: 2.7 must not become 2."""
    with pytest.raises(ValidationError) as exc:
        make_risk(atlas_a1, likelihood=2.7, impact=3)
    assert _fields(exc) == {"likelihood"}
    assert _count(Risk, atlas=atlas_a1) == 0


def test_numeric_strings_are_accepted(atlas_a1: Atlas, make_risk: Callable[..., Risk]) -> None:
    """Form and API values arrive as text: "3" and "4" are an assessment."""
    risk = make_risk(atlas_a1, likelihood="3", impact="4")

    assert (risk.likelihood, risk.impact, risk.score) == (3, 4, 12)


def test_out_of_range_on_3x3_is_refused(
    national: User, atlas_a1: Atlas, make_risk: Callable[..., Risk]
) -> None:
    _make_three(national)

    for likelihood, impact, field in ((4, 1, "likelihood"), (1, 4, "impact"), (0, 1, "likelihood")):
        with pytest.raises(ValidationError) as exc:
            make_risk(atlas_a1, likelihood=likelihood, impact=impact)
        assert _fields(exc) == {field}


def test_incomplete_grid_is_refused(national: User) -> None:
    missing = _three_grid()
    del missing[(2, 3)]
    extra = {**_three_grid(), (4, 1): (5, "red")}

    for grid in (missing, extra, {}):
        with pytest.raises(ValidationError) as exc:
            _make_three(national, grid=grid)
        assert _fields(exc) == {"grid"}
    assert RiskMatrix.objects.count() == 1


def test_grid_naming_a_band_the_matrix_lacks_is_refused(national: User) -> None:
    grid = {**_three_grid(), (3, 3): (6, "purple")}

    with pytest.raises(ValidationError) as exc:
        _make_three(national, grid=grid)
    assert _fields(exc) == {"grid"}
    assert RiskMatrix.objects.count() == 1
    assert RiskMatrix.objects.get().is_default


def test_negative_cell_score_is_refused(national: User) -> None:
    with pytest.raises(ValidationError) as exc:
        _make_three(national, grid={**_three_grid(), (1, 1): (-1, "green")})
    assert _fields(exc) == {"grid"}


@pytest.mark.parametrize(
    "bands",
    [
        pytest.param([], id="no-bands"),
        pytest.param([*THREE_BANDS, BandSpec("red", "دوباره", "#111111", 1)], id="duplicate-code"),
        pytest.param([BandSpec("green", " ", "#00aa00", 0), *THREE_BANDS[1:]], id="blank-name"),
        pytest.param([BandSpec("green", "سبز", "00aa00", 0), *THREE_BANDS[1:]], id="colour-without-hash"),
        pytest.param([BandSpec("green", "سبز", "#gg00zz", 0), *THREE_BANDS[1:]], id="colour-not-hex"),
        pytest.param([BandSpec("green", "سبز", "#00aa00", -1), *THREE_BANDS[1:]], id="negative-weight"),
    ],
)
def test_bad_bands_are_refused_with_the_field_named(national: User, bands: list[BandSpec]) -> None:
    """Refused by the service with a message, never left to a database constraint (a 500)."""
    with pytest.raises(ValidationError) as exc:
        _make_three(national, bands=bands)
    assert _fields(exc) == {"bands"}
    assert RiskMatrix.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "size"), [("likelihood_levels", 1), ("likelihood_levels", 11), ("impact_levels", 0)]
)
def test_matrix_side_out_of_range_is_refused(national: User, field: str, size: int) -> None:
    with pytest.raises(ValidationError) as exc:
        _make_three(national, **{field: size})
    assert field in _fields(exc)
    assert RiskMatrix.objects.count() == 1


def test_matrix_name_must_be_unique(national: User) -> None:
    with pytest.raises(ValidationError) as exc:
        _make_three(national, name="۵×۵")
    assert _fields(exc) == {"name"}


def test_matrix_not_made_default_leaves_the_default(national: User) -> None:
    matrix = _make_three(national, make_default=False)

    assert not matrix.is_default
    assert RiskMatrix.objects.get(is_default=True).name == "۵×۵"
    assert [e.action for e in _audit(matrix)] == [AuditAction.CREATE]
    _assert_chain_clean()


@pytest.mark.parametrize(
    "persona", ["province_admin", "county_admin", "province_user", "county_user", "auditor"]
)
def test_only_national_administrators_configure_matrices(
    db: Any, persona: str, request: pytest.FixtureRequest
) -> None:
    actor = request.getfixturevalue(persona)

    with pytest.raises(PermissionDenied):
        _make_three(actor)
    assert RiskMatrix.objects.count() == 1


def test_superuser_configures_matrices(admin: User) -> None:
    assert _make_three(admin).is_default


# --- the register ----------------------------------------------------------------------------


def test_risk_create_scores_and_audits_in_its_transaction(
    atlas_a1: Atlas, make_risk: Callable[..., Risk], world: World
) -> None:
    risk = make_risk(atlas_a1, owner=world.org_a1, location="شعب روستایی بخش مرکزی")

    assert (risk.likelihood, risk.impact, risk.score, _b(risk.band).code) == (3, 4, 12, "high")
    assert (risk.province_id, risk.county_id) == (world.province_a.pk, world.county_a1.pk)
    entries = _audit(risk)
    assert [e.action for e in entries] == [AuditAction.CREATE]
    assert entries[0].after["score"] == 12
    assert entries[0].actor.username == "county_a1"
    assert (entries[0].province_id, entries[0].county_id) == (world.province_a.pk, world.county_a1.pk)
    _assert_chain_clean()


def test_risk_create_rolls_back_when_the_audit_fails(
    atlas_a1: Atlas, make_risk: Callable[..., Risk], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit entry is written in the same transaction: if it fails, the risk is not recorded."""

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("audit unavailable")

    monkeypatch.setattr(services, "audit_record", broken)
    with pytest.raises(RuntimeError):
        make_risk(atlas_a1)
    assert _count(Risk, atlas=atlas_a1) == 0


def test_risk_update_rolls_back_when_the_audit_fails(
    atlas_a1: Atlas, make_risk: Callable[..., Risk], county_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    risk = make_risk(atlas_a1)
    before = _state(risk)

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("audit unavailable")

    monkeypatch.setattr(services, "audit_record", broken)
    with pytest.raises(RuntimeError):
        services.risk_assess(actor=county_user, risk=_reload(Risk, risk.pk), likelihood=5, impact=5)
    assert _state(risk) == before


def test_risk_update_audits_before_and_after(
    atlas_a1: Atlas, make_risk: Callable[..., Risk], county_user: User
) -> None:
    risk = make_risk(atlas_a1)

    services.risk_assess(
        actor=county_user, risk=risk, likelihood=5, impact=5, residual_likelihood=2, residual_impact=2
    )

    fresh = _reload(Risk, risk.pk)
    assert (fresh.score, fresh.band.code, fresh.residual_score, fresh.residual_band.code) == (
        25,
        "extreme",
        4,
        "low",
    )
    update = _audit(risk)[-1]
    assert update.action == AuditAction.UPDATE
    assert (update.before["score"], update.after["score"]) == (12, 25)
    assert (update.before["residual_score"], update.after["residual_score"]) == (None, 4)
    _assert_chain_clean()


def test_unassessed_risk_may_be_recorded(atlas_a1: Atlas, make_risk: Callable[..., Risk]) -> None:
    risk = make_risk(atlas_a1, likelihood=None, impact=None, treatment="")

    assert (risk.likelihood, risk.impact, risk.score, risk.band) == (None, None, None, None)
    assert not risk.is_assessed


def test_assessment_is_both_or_neither(
    atlas_a1: Atlas, make_risk: Callable[..., Risk], county_user: User
) -> None:
    risk = make_risk(atlas_a1)

    with pytest.raises(ValidationError) as exc:
        _update(county_user, risk, likelihood=None)
    assert _fields(exc) == {"likelihood"}
    with pytest.raises(ValidationError) as exc:
        _update(county_user, risk, impact=None)
    assert _fields(exc) == {"impact"}

    cleared = _update(county_user, risk, likelihood=None, impact=None)
    assert (cleared.score, cleared.band) == (None, None)


def test_residual_needs_the_inherent_assessment(
    atlas_a1: Atlas, make_risk: Callable[..., Risk], county_user: User
) -> None:
    risk = make_risk(atlas_a1, likelihood=None, impact=None)

    with pytest.raises(ValidationError) as exc:
        _update(county_user, risk, residual_likelihood=1, residual_impact=1)
    assert _fields(exc) == {"residual_likelihood"}
    assert _reload(Risk, risk.pk).residual_score is None


@pytest.mark.parametrize(
    ("residual_likelihood", "residual_impact", "field"),
    [
        (2, None, "residual_impact"),
        (None, 2, "residual_likelihood"),
        (6, 1, "residual_likelihood"),
        (1, 0, "residual_impact"),
    ],
)
def test_residual_is_checked_like_the_assessment(
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
    county_user: User,
    residual_likelihood: Any,
    residual_impact: Any,
    field: str,
) -> None:
    risk = make_risk(atlas_a1)

    with pytest.raises(ValidationError) as exc:
        services.risk_assess(
            actor=county_user,
            risk=risk,
            likelihood=3,
            impact=4,
            residual_likelihood=residual_likelihood,
            residual_impact=residual_impact,
        )
    assert _fields(exc) == {field}


@pytest.mark.parametrize(
    ("field", "value"),
    [("kind", "person"), ("phase", "never"), ("treatment", "ignore"), ("title", "   ")],
)
def test_bad_choices_are_refused_with_the_field_named(
    atlas_a1: Atlas, make_risk: Callable[..., Risk], county_user: User, field: str, value: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        make_risk(atlas_a1, **{field: value})
    assert _fields(exc) == {field}

    risk = make_risk(atlas_a1)
    with pytest.raises(ValidationError) as exc:
        _update(county_user, risk, **{field: value})
    assert _fields(exc) == {field}


def test_bad_status_is_refused(atlas_a1: Atlas, make_risk: Callable[..., Risk], county_user: User) -> None:
    risk = make_risk(atlas_a1)

    with pytest.raises(ValidationError) as exc:
        _update(county_user, risk, status="lost")
    assert _fields(exc) == {"status"}


def test_inactive_category_is_refused_for_new_risks_but_kept_by_old_ones(
    national: User, atlas_a1: Atlas, make_risk: Callable[..., Risk], county_user: User, category: RiskCategory
) -> None:
    risk = make_risk(atlas_a1)
    services.risk_category_update(actor=national, category=category, name=category.name, is_active=False)
    category = RiskCategory.objects.get(pk=category.pk)

    with pytest.raises(ValidationError) as exc:
        make_risk(atlas_a1, category=category)
    assert _fields(exc) == {"category"}
    assert _count(Risk, atlas=atlas_a1) == 1

    kept = _update(county_user, risk, category=category, title="عنوان تازه")
    assert (kept.category_id, kept.title) == (category.pk, "عنوان تازه")

    other = RiskCategory.objects.get(code="power-utilities")
    moved = _update(county_user, kept, category=other)
    with pytest.raises(ValidationError) as exc:
        _update(county_user, moved, category=category)
    assert _fields(exc) == {"category"}


def test_owner_must_serve_the_county(
    atlas_a1: Atlas, make_risk: Callable[..., Risk], county_user: User, world: World
) -> None:
    with pytest.raises(ValidationError) as exc:
        make_risk(atlas_a1, owner=world.org_b1)
    assert _fields(exc) == {"owner"}
    assert _count(Risk, atlas=atlas_a1) == 0

    for owner in (world.org_a1, world.org_a, world.org_national):
        assert make_risk(atlas_a1, owner=owner).owner == owner

    risk = make_risk(atlas_a1)
    with pytest.raises(ValidationError) as exc:
        _update(county_user, risk, owner=world.org_b1)
    assert _fields(exc) == {"owner"}
    assert _reload(Risk, risk.pk).owner_id is None


@pytest.mark.parametrize("persona", ["county_viewer", "outsider", "auditor"])
def test_viewer_and_outsider_cannot_write_the_register(
    persona: str,
    request: pytest.FixtureRequest,
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
    event: ElectionEvent,
    world: World,
    committees: Committees,
) -> None:
    actor = request.getfixturevalue(persona)
    risk = make_risk(atlas_a1)
    before = _state(risk)

    with pytest.raises(PermissionDenied):
        services.atlas_open(actor=actor, event=event, county=world.county_a1)
    with pytest.raises(PermissionDenied):
        make_risk(atlas_a1, actor=actor)
    with pytest.raises(PermissionDenied):
        _update(actor, risk, title="تغییر")
    with pytest.raises(PermissionDenied):
        services.risk_assess(actor=actor, risk=risk, likelihood=1, impact=1)
    with pytest.raises(PermissionDenied):
        services.risk_withdraw(actor=actor, risk=risk, reason="دلیل")
    with pytest.raises(PermissionDenied):
        services.mitigation_add(
            actor=actor,
            risk=risk,
            title="اقدام",
            responsible=world.org_a1,
            due_on=TODAY + dt.timedelta(days=5),
        )
    with pytest.raises(PermissionDenied):
        services.atlas_submit(actor=actor, atlas=atlas_a1)
    assert _state(risk) == before
    assert _count(Risk, atlas=atlas_a1) == 1
    assert _count(AtlasVersion, atlas=atlas_a1) == 0
    assert _count(RiskMitigation) == 0


def test_province_chair_may_edit_a_county_register(
    atlas_a1: Atlas, make_risk: Callable[..., Risk], province_user: User
) -> None:
    """EDIT at the province covers its counties."""
    risk = make_risk(atlas_a1, actor=province_user)

    assert risk.created_by == province_user


def test_atlas_open_is_idempotent_and_audited_once(
    county_user: User, event: ElectionEvent, world: World
) -> None:
    first = services.atlas_open(actor=county_user, event=event, county=world.county_a1)
    again = services.atlas_open(actor=county_user, event=event, county=world.county_a1)

    assert first.pk == again.pk
    assert (first.status, first.province_id) == (AtlasStatus.DRAFT, world.province_a.pk)
    assert [e.action for e in _audit(first)] == [AuditAction.CREATE]


def test_withdraw_needs_a_reason(atlas_a1: Atlas, make_risk: Callable[..., Risk], county_user: User) -> None:
    risk = make_risk(atlas_a1)

    with pytest.raises(ValidationError) as exc:
        services.risk_withdraw(actor=county_user, risk=risk, reason="  ")
    assert _fields(exc) == {"reason"}
    assert _reload(Risk, risk.pk).status == RiskStatus.OPEN

    services.risk_withdraw(actor=county_user, risk=risk, reason="تکراری بود")
    assert _reload(Risk, risk.pk).status == RiskStatus.WITHDRAWN
    assert _audit(risk)[-1].after == {"status": "withdrawn", "reason": "تکراری بود"}


# --- acceptance ------------------------------------------------------------------------------


@pytest.fixture
def accepted(atlas_a1: Atlas, make_risk: Callable[..., Risk]) -> Risk:
    return make_risk(atlas_a1, treatment="accept", title="ریسک پذیرفته", likelihood=1, impact=2)


def test_acceptance_needs_approve(accepted: Risk, county_user: User, county_viewer: User) -> None:
    for actor in (county_user, county_viewer):
        with pytest.raises(PermissionDenied):
            services.risk_acceptance_approve(actor=actor, risk=accepted)
    assert _reload(Risk, accepted.pk).acceptance_approved_by_id is None


def test_county_administrator_approves_acceptance(accepted: Risk, county_admin: User) -> None:
    services.risk_acceptance_approve(actor=county_admin, risk=accepted)

    fresh = _reload(Risk, accepted.pk)
    assert fresh.acceptance_approved_by == county_admin
    assert fresh.acceptance_approved_at is not None
    assert not fresh.awaits_acceptance
    assert _audit(accepted)[-1].after == {"acceptance_approved_by": county_admin.pk}
    _assert_chain_clean()


def test_province_chair_approves_acceptance_but_not_another_province(
    accepted: Risk, province_user: User, province_b_chair: User
) -> None:
    with pytest.raises(PermissionDenied):
        services.risk_acceptance_approve(actor=province_b_chair, risk=accepted)

    services.risk_acceptance_approve(actor=province_user, risk=accepted)
    assert _reload(Risk, accepted.pk).acceptance_approved_by == province_user


def test_proposer_cannot_approve_their_own_acceptance(
    atlas_a1: Atlas, make_risk: Callable[..., Risk], county_admin: User
) -> None:
    """services.py: "an accepted risk needs an approver (APPROVE) ... other than its proposer"."""
    risk = make_risk(atlas_a1, actor=county_admin, treatment="accept")

    with pytest.raises((PermissionDenied, ValidationError)):
        services.risk_acceptance_approve(actor=county_admin, risk=risk)
    assert _reload(Risk, risk.pk).acceptance_approved_by_id is None

    # The proposer is whoever chose to accept it, not whoever first recorded the risk.
    recorded = make_risk(atlas_a1, title="ثبت‌شده با کاهش")
    proposed = _update(county_admin, recorded, treatment="accept")
    with pytest.raises((PermissionDenied, ValidationError)):
        services.risk_acceptance_approve(actor=county_admin, risk=proposed)
    assert _reload(Risk, proposed.pk).acceptance_approved_by_id is None


def test_another_approver_approves_what_an_approver_proposed(
    atlas_a1: Atlas, make_risk: Callable[..., Risk], county_admin: User, province_user: User
) -> None:
    risk = make_risk(atlas_a1, actor=county_admin, treatment="accept")

    services.risk_acceptance_approve(actor=province_user, risk=risk)

    assert _reload(Risk, risk.pk).acceptance_approved_by == province_user


def test_acceptance_approval_only_for_assessed_accepted_risks(
    atlas_a1: Atlas, make_risk: Callable[..., Risk], county_admin: User
) -> None:
    mitigated = make_risk(atlas_a1)
    with pytest.raises(ValidationError) as exc:
        services.risk_acceptance_approve(actor=county_admin, risk=mitigated)
    assert _fields(exc) == {"treatment"}

    unassessed = make_risk(atlas_a1, treatment="accept", likelihood=None, impact=None)
    with pytest.raises(ValidationError) as exc:
        services.risk_acceptance_approve(actor=county_admin, risk=unassessed)
    assert _fields(exc) == {"likelihood"}


def test_changing_treatment_or_reassessing_clears_the_approval(
    accepted: Risk, county_admin: User, county_user: User
) -> None:
    services.risk_acceptance_approve(actor=county_admin, risk=accepted)

    # An edit that changes neither assessment nor treatment keeps it.
    kept = _update(county_user, _reload(Risk, accepted.pk), title="عنوان روشن‌تر")
    assert kept.acceptance_approved_by == county_admin

    reassessed = services.risk_assess(actor=county_user, risk=kept, likelihood=2, impact=2)
    assert (reassessed.acceptance_approved_by, reassessed.acceptance_approved_at) == (None, None)
    assert _reload(Risk, accepted.pk).awaits_acceptance

    services.risk_acceptance_approve(actor=county_admin, risk=_reload(Risk, accepted.pk))
    same = services.risk_assess(actor=county_user, risk=_reload(Risk, accepted.pk), likelihood=2, impact=2)
    assert same.acceptance_approved_by == county_admin

    switched = _update(county_user, same, treatment="mitigate")
    assert switched.acceptance_approved_by is None
    back = _update(county_user, switched, treatment="accept")
    assert back.awaits_acceptance


def test_submission_refused_while_an_acceptance_awaits(
    accepted: Risk, atlas_a1: Atlas, county_user: User, county_admin: User
) -> None:
    with pytest.raises(ValidationError) as exc:
        services.atlas_submit(actor=county_user, atlas=atlas_a1)
    assert "ریسک پذیرفته" in _text(exc)
    assert _count(AtlasVersion, atlas=atlas_a1) == 0
    assert _reload(Atlas, atlas_a1.pk).status == AtlasStatus.DRAFT

    services.risk_acceptance_approve(actor=county_admin, risk=accepted)
    version = services.atlas_submit(actor=county_user, atlas=atlas_a1)
    assert version.content["risks"][0]["acceptance_approved_by"] == "admin_a1"


# --- submission ------------------------------------------------------------------------------


def test_submission_refused_with_no_risks(
    atlas_a1: Atlas, county_user: User, make_risk: Callable[..., Risk]
) -> None:
    with pytest.raises(ValidationError) as exc:
        services.atlas_submit(actor=county_user, atlas=atlas_a1)
    assert _fields(exc) == {"risks"}

    withdrawn = make_risk(atlas_a1)
    services.risk_withdraw(actor=county_user, risk=withdrawn, reason="اشتباه")
    with pytest.raises(ValidationError) as exc:
        services.atlas_submit(actor=county_user, atlas=atlas_a1)
    assert _fields(exc) == {"risks"}
    assert _count(AtlasVersion) == 0


def test_submission_refused_with_unassessed_risks_naming_them(
    atlas_a1: Atlas, county_user: User, make_risk: Callable[..., Risk]
) -> None:
    make_risk(atlas_a1, title="ارزیابی‌شده")
    make_risk(atlas_a1, title="بدون ارزیابی", likelihood=None, impact=None)
    make_risk(atlas_a1, title="بدون راهبرد", treatment="")

    with pytest.raises(ValidationError) as exc:
        services.atlas_submit(actor=county_user, atlas=atlas_a1)
    assert _fields(exc) == {"risks"}
    text = _text(exc)
    assert "بدون ارزیابی" in text
    assert "بدون راهبرد" in text
    assert "ارزیابی‌شده" not in text
    assert _count(AtlasVersion) == 0
    assert _reload(Atlas, atlas_a1.pk).status == AtlasStatus.DRAFT


def test_submission_creates_numbered_versions_with_the_snapshot(
    submitted: AtlasVersion, atlas_a1: Atlas, county_user: User, province_user: User, world: World
) -> None:
    assert (submitted.number, submitted.status, submitted.note) == (1, VersionStatus.SUBMITTED, "نسخه نخست")
    assert (submitted.province_id, submitted.county_id) == (world.province_a.pk, world.county_a1.pk)
    assert submitted.content == atlas_snapshot(atlas_a1)
    assert [r["title"] for r in submitted.content["risks"]] == [
        "قطع خط فیبر نوری شعب روستایی",
        "نبود برق اضطراری",
    ]
    assert submitted.content["county_code"] == "A1"
    assert _reload(Atlas, atlas_a1.pk).status == AtlasStatus.SUBMITTED
    assert [e.action for e in _audit(submitted)] == [AuditAction.CREATE]

    with pytest.raises(ValidationError):
        services.atlas_submit(actor=county_user, atlas=_reload(Atlas, atlas_a1.pk))
    assert _count(AtlasVersion, atlas=atlas_a1) == 1

    services.atlas_review(actor=province_user, version=submitted, approve=False, note="دقیق‌تر")
    second = services.atlas_submit(actor=county_user, atlas=_reload(Atlas, atlas_a1.pk))
    assert second.number == 2
    _assert_chain_clean()


def test_submission_rolls_back_when_the_audit_fails(
    atlas_a1: Atlas, make_risk: Callable[..., Risk], county_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_risk(atlas_a1)

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("audit unavailable")

    monkeypatch.setattr(services, "audit_record", broken)
    with pytest.raises(RuntimeError):
        services.atlas_submit(actor=county_user, atlas=atlas_a1)
    assert _count(AtlasVersion) == 0
    assert _reload(Atlas, atlas_a1.pk).status == AtlasStatus.DRAFT


def test_submission_notifies_the_province_reviewers_on_commit(
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
    county_user: User,
    province_user: User,
    province_admin: User,
    province_b_chair: User,
    county_admin: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_risk(atlas_a1)

    with django_capture_on_commit_callbacks(execute=True):
        version = services.atlas_submit(actor=county_user, atlas=atlas_a1)

    url = reverse("risks:version", args=[version.pk])
    assert set(Notification.objects.filter(url=url).values_list("user__username", flat=True)) == {
        "province_a",
        "admin_a",
    }


def test_a_submitted_atlas_cannot_be_edited(
    submitted: AtlasVersion,
    atlas_a1: Atlas,
    county_user: User,
    county_admin: User,
    make_risk: Callable[..., Risk],
    world: World,
    committees: Committees,
) -> None:
    with unscoped():
        risk = Risk.objects.filter(atlas=atlas_a1).order_by("pk").first()
    before, content = _state(risk), copy.deepcopy(submitted.content)

    attempts: list[Callable[[], Any]] = [
        lambda: _update(county_user, risk, title="تغییر در نسخه ارسالی"),
        lambda: services.risk_assess(actor=county_user, risk=risk, likelihood=5, impact=5),
        lambda: services.risk_withdraw(actor=county_user, risk=risk, reason="دلیل"),
        lambda: make_risk(atlas_a1, title="ریسک تازه"),
        lambda: services.mitigation_add(
            actor=county_user,
            risk=risk,
            title="اقدام",
            responsible=world.org_a1,
            due_on=TODAY + dt.timedelta(days=3),
        ),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError):
            attempt()

    assert _state(risk) == before
    assert _count(Risk, atlas=atlas_a1) == 2
    assert _count(RiskMitigation) == 0
    assert _reload(AtlasVersion, submitted.pk).content == content


def test_version_content_is_frozen_in_the_database(submitted: AtlasVersion, province_user: User) -> None:
    """Even a stray query cannot rewrite a version's content or number; the review is still written."""
    content = copy.deepcopy(submitted.content)

    attempts: list[dict[str, Any]] = [{"content": {"risks": []}}, {"number": 7}, {"note": "بازنویسی"}]
    for changes in attempts:
        with pytest.raises(DatabaseError), transaction.atomic(), unscoped():
            AtlasVersion.objects.filter(pk=submitted.pk).update(**changes)

    services.atlas_review(actor=province_user, version=submitted, approve=True)
    fresh = _reload(AtlasVersion, submitted.pk)
    assert (fresh.content, fresh.number, fresh.note, fresh.status) == (
        content,
        1,
        "نسخه نخست",
        VersionStatus.APPROVED,
    )


def test_version_content_never_changes_after_return_or_approval(
    submitted: AtlasVersion,
    atlas_a1: Atlas,
    county_user: User,
    province_user: User,
    make_risk: Callable[..., Risk],
) -> None:
    v1 = copy.deepcopy(_reload(AtlasVersion, submitted.pk).content)
    with unscoped():
        first, second = Risk.objects.filter(atlas=atlas_a1).order_by("pk")

    services.atlas_review(
        actor=province_user, version=submitted, approve=False, comments={first.pk: "احتمال را بازبینی کنید"}
    )
    returned = _reload(Atlas, atlas_a1.pk)
    assert returned.status == AtlasStatus.RETURNED

    services.risk_assess(actor=county_user, risk=first, likelihood=5, impact=5)
    services.risk_withdraw(actor=county_user, risk=_reload(Risk, second.pk), reason="رفع شد")
    make_risk(atlas_a1, title="ریسک سوم", phase="after")
    assert _reload(AtlasVersion, submitted.pk).content == v1

    v2 = services.atlas_submit(actor=county_user, atlas=_reload(Atlas, atlas_a1.pk))
    services.atlas_review(actor=province_user, version=v2, approve=True)
    v2_content = copy.deepcopy(_reload(AtlasVersion, v2.pk).content)

    # After approval, the next change starts the next draft from the approved register.
    services.risk_assess(actor=county_user, risk=_reload(Risk, first.pk), likelihood=1, impact=1)
    reopened = _reload(Atlas, atlas_a1.pk)
    assert reopened.status == AtlasStatus.DRAFT
    assert _audit(reopened)[-1].after == {"status": AtlasStatus.DRAFT}

    assert _reload(AtlasVersion, submitted.pk).content == v1
    assert _reload(AtlasVersion, v2.pk).content == v2_content
    assert v2_content["risks"][0]["score"] == 25

    v3 = services.atlas_submit(actor=county_user, atlas=reopened)
    assert v3.number == 3
    assert [r["title"] for r in v3.content["risks"]] == [r["title"] for r in v2_content["risks"]]

    changes = {c.risk_id: c for c in snapshot_diff(v1, v2_content)}
    assert changes[first.pk].change == "changed"
    assert changes[first.pk].fields == ("likelihood", "impact", "score", "band")
    assert ((changes[first.pk].old or {})["score"], (changes[first.pk].new or {})["score"]) == (12, 25)
    assert changes[second.pk].change == "removed"
    added = [c for c in changes.values() if c.change == "added"]
    assert [c.title for c in added] == ["ریسک سوم"]


def test_approved_atlas_is_not_resubmitted_unchanged(
    submitted: AtlasVersion,
    atlas_a1: Atlas,
    county_user: User,
    province_user: User,
    make_risk: Callable[..., Risk],
) -> None:
    services.atlas_review(actor=province_user, version=submitted, approve=True)

    with pytest.raises(ValidationError):
        services.atlas_submit(actor=county_user, atlas=_reload(Atlas, atlas_a1.pk))
    assert _count(AtlasVersion, atlas=atlas_a1) == 1

    make_risk(_reload(Atlas, atlas_a1.pk), title="ریسک پس از تأیید")
    assert _reload(Atlas, atlas_a1.pk).status == AtlasStatus.DRAFT
    assert services.atlas_submit(actor=county_user, atlas=_reload(Atlas, atlas_a1.pk)).number == 2


def test_snapshot_keeps_mitigations_and_names_not_ids(
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
    county_user: User,
    world: World,
    committees: Committees,
) -> None:
    risk = make_risk(atlas_a1, owner=world.org_a1)
    services.mitigation_add(
        actor=county_user,
        risk=risk,
        title="خط پشتیبان",
        responsible=world.org_a1,
        due_on=dt.date(2027, 1, 15),
    )

    version = services.atlas_submit(actor=county_user, atlas=atlas_a1)

    row = version.content["risks"][0]
    assert (row["id"], row["owner"], row["band"], row["band_code"], row["category_code"]) == (
        risk.pk,
        "فرمانداری الف۱",
        "زیاد",
        "high",
        "communication-lines",
    )
    assert row["mitigations"] == [
        {"title": "خط پشتیبان", "responsible": "فرمانداری الف۱", "due_on": "2027-01-15", "status": "open"}
    ]


# --- concurrency (PostgreSQL: row locks across real connections) ----------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent connections (CI runs PostgreSQL)"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_create_one_version(
    reference_data: None,
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
    county_user: User,
    county_admin: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_risk(atlas_a1)
    real_snapshot = services.atlas_snapshot

    def slow_snapshot(atlas: Atlas) -> dict[str, Any]:
        time.sleep(0.3)  # widen the window: the other submission arrives while this one holds the lock
        return real_snapshot(atlas)

    monkeypatch.setattr(services, "atlas_snapshot", slow_snapshot)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(actor: User) -> None:
        try:
            own_copy = _reload(Atlas, atlas_a1.pk)  # each thread its own instance and connection
            barrier.wait(timeout=10)
            services.atlas_submit(actor=actor, atlas=own_copy)
            outcomes.append("created")
        except ValidationError:
            outcomes.append("refused")
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            outcomes.append(f"error: {exc!r}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(actor,)) for actor in (county_user, county_admin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["created", "refused"]
    assert _count(AtlasVersion, atlas=atlas_a1) == 1
    assert _reload(Atlas, atlas_a1.pk).status == AtlasStatus.SUBMITTED
    _assert_chain_clean()


# --- review ----------------------------------------------------------------------------------


def test_province_chair_approves_and_the_county_is_classified(
    submitted: AtlasVersion,
    atlas_a1: Atlas,
    province_user: User,
    county_user: User,
    county_admin: User,
    event: ElectionEvent,
    world: World,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert _count(CountyClassification, event=event, county=world.county_a1) == 0

    with django_capture_on_commit_callbacks(execute=True):
        services.atlas_review(actor=province_user, version=submitted, approve=True, note="خوب است")

    version = _reload(AtlasVersion, submitted.pk)
    assert (version.status, version.reviewed_by, version.review_note) == (
        VersionStatus.APPROVED,
        province_user,
        "خوب است",
    )
    assert version.reviewed_at is not None
    assert _reload(Atlas, atlas_a1.pk).status == AtlasStatus.APPROVED
    row = _classification(event, world)
    assert (row.score, row.recommended_level, row.level) == (
        7,
        "normal",
        "",
    )  # a high (5) and a medium (2) risk
    url = reverse("risks:atlas", args=[atlas_a1.pk])
    assert set(Notification.objects.filter(url=url).values_list("user__username", flat=True)) == {
        "county_a1",
        "admin_a1",
    }
    assert _audit(submitted)[-1].after["status"] == VersionStatus.APPROVED
    _assert_chain_clean()


def test_province_administrator_may_review(submitted: AtlasVersion, province_admin: User) -> None:
    services.atlas_review(actor=province_admin, version=submitted, approve=True)

    assert _reload(AtlasVersion, submitted.pk).status == VersionStatus.APPROVED


@pytest.mark.parametrize(
    "persona",
    [
        "county_user",
        "county_admin",
        "county_viewer",
        "outsider",
        "province_b_chair",
        "national",
        "admin",
        "auditor",
    ],
)
def test_only_the_province_reviews(
    persona: str, request: pytest.FixtureRequest, submitted: AtlasVersion, atlas_a1: Atlas
) -> None:
    actor = request.getfixturevalue(persona)

    for approve in (True, False):
        with pytest.raises(PermissionDenied):
            services.atlas_review(actor=actor, version=submitted, approve=approve, note="یادداشت")
    assert _reload(AtlasVersion, submitted.pk).status == VersionStatus.SUBMITTED
    assert _reload(Atlas, atlas_a1.pk).status == AtlasStatus.SUBMITTED
    assert _count(ReviewComment) == 0


def test_return_needs_a_comment_or_a_note(submitted: AtlasVersion, province_user: User) -> None:
    for comments in (None, {}, {submitted.content["risks"][0]["id"]: "   "}):
        with pytest.raises(ValidationError) as exc:
            services.atlas_review(
                actor=province_user, version=submitted, approve=False, note="  ", comments=comments
            )
        assert _fields(exc) == {"note"}
    assert _reload(AtlasVersion, submitted.pk).status == VersionStatus.SUBMITTED


def test_return_with_a_note_only(submitted: AtlasVersion, province_user: User, atlas_a1: Atlas) -> None:
    services.atlas_review(actor=province_user, version=submitted, approve=False, note="کامل کنید")

    assert _reload(AtlasVersion, submitted.pk).status == VersionStatus.RETURNED
    assert _reload(Atlas, atlas_a1.pk).status == AtlasStatus.RETURNED


def test_return_with_comments_per_risk_notifies_the_county(
    submitted: AtlasVersion,
    province_user: User,
    atlas_a1: Atlas,
    county_user: User,
    county_viewer: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    first, second = (row["id"] for row in submitted.content["risks"])

    with django_capture_on_commit_callbacks(execute=True):
        services.atlas_review(
            actor=province_user,
            version=submitted,
            approve=False,
            comments={first: " احتمال بیشتر است ", second: ""},
        )

    with unscoped():
        comments = list(
            ReviewComment.objects.filter(version=submitted).values_list("risk_id", "text", "author")
        )
    assert comments == [(first, "احتمال بیشتر است", province_user.pk)]
    url = reverse("risks:atlas", args=[atlas_a1.pk])
    assert list(Notification.objects.filter(url=url).values_list("user__username", flat=True)) == [
        "county_a1"
    ]


def test_comments_on_risks_outside_the_version_are_refused(
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
    county_user: User,
    province_user: User,
    atlas_b1: Atlas,
    outsider: User,
) -> None:
    kept = make_risk(atlas_a1, title="در نسخه")
    gone = make_risk(atlas_a1, title="پس‌گرفته")
    services.risk_withdraw(actor=county_user, risk=gone, reason="تکراری")
    version = services.atlas_submit(actor=county_user, atlas=atlas_a1)
    elsewhere = make_risk(atlas_b1, actor=outsider, title="ریسک ب۱")

    for risk_id in (gone.pk, elsewhere.pk, 10**9):
        with pytest.raises(ValidationError) as exc:
            services.atlas_review(
                actor=province_user, version=version, approve=False, comments={kept.pk: "خوب", risk_id: "نظر"}
            )
        assert _fields(exc) == {"comments"}
        assert str(risk_id) in exc.value.message_dict["comments"][0]
    assert _reload(AtlasVersion, version.pk).status == VersionStatus.SUBMITTED
    assert _count(ReviewComment) == 0


def test_a_version_is_reviewed_once(
    submitted: AtlasVersion, province_user: User, province_admin: User
) -> None:
    services.atlas_review(actor=province_user, version=submitted, approve=False, note="اصلاح شود")

    for approve in (True, False):
        with pytest.raises(ValidationError):
            services.atlas_review(
                actor=province_admin,
                version=_reload(AtlasVersion, submitted.pk),
                approve=approve,
                note="دوباره",
            )
    # Even with the stale instance the caller fetched before the first review.
    with pytest.raises(ValidationError):
        services.atlas_review(actor=province_admin, version=submitted, approve=True)
    version = _reload(AtlasVersion, submitted.pk)
    assert (version.status, version.reviewed_by, version.review_note) == (
        VersionStatus.RETURNED,
        province_user,
        "اصلاح شود",
    )


# --- past elections --------------------------------------------------------------------------


def test_past_elections_are_recorded_by_the_province(
    province_user: User, county_admin: User, county_user: User, province_b_chair: User, world: World
) -> None:
    for actor in (county_admin, county_user, province_b_chair):
        with pytest.raises(PermissionDenied):
            services.past_election_record(
                actor=actor, county=world.county_a1, held_on=dt.date(2024, 3, 1), title="مجلس ۱۴۰۲"
            )

    record = services.past_election_record(
        actor=province_user,
        county=world.county_a1,
        held_on=dt.date(2024, 3, 1),
        title=" مجلس ۱۴۰۲ ",
        was_annulled=True,
    )
    assert (record.title, record.province_id, record.was_annulled) == ("مجلس ۱۴۰۲", world.province_a.pk, True)

    cases: list[tuple[dict[str, Any], str]] = [
        ({"held_on": dt.date(2024, 3, 1), "title": "مجلس ۱۴۰۲"}, "title"),
        ({"held_on": TODAY + dt.timedelta(days=1), "title": "آینده"}, "held_on"),
        ({"held_on": dt.date(2020, 1, 1), "title": " "}, "title"),
        ({"held_on": dt.date(2020, 1, 1), "title": "منفی", "serious_incidents": -1}, "serious_incidents"),
    ]
    for values, field in cases:
        with pytest.raises(ValidationError) as exc:
            services.past_election_record(actor=province_user, county=world.county_a1, **values)
        assert field in _fields(exc)
    assert _count(PastElection) == 1


# --- classification --------------------------------------------------------------------------


@pytest.fixture
def scored(
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
    county_user: User,
    province_user: User,
    national: User,
    outsider: User,
    event: ElectionEvent,
    world: World,
) -> dict[str, Any]:
    """Counties with known records, under a policy that counts a point per station:

    A1: an extreme (10), a high (5), a medium (2) and a low (0) risk; an extreme risk whose residual is
        low (0); a withdrawn extreme and an unassessed risk (neither counts); an annulled election; 12
        serious incidents (24 points, capped at 20); 2 stations (2). Total 54: sensitive.
    A2: two extreme risks (20) and 1 station (1). Total 21: important.
    B1: 2 stations (2). Normal.
    """
    services.classification_policy_update(actor=national, stations_per_point=1)
    make_risk(atlas_a1, likelihood=5, impact=5, title="بحرانی")
    make_risk(atlas_a1, likelihood=3, impact=4, title="زیاد")
    make_risk(atlas_a1, likelihood=2, impact=3, title="متوسط")
    make_risk(atlas_a1, likelihood=1, impact=1, title="کم")
    treated = make_risk(atlas_a1, likelihood=5, impact=4, title="کاهش‌یافته")
    services.risk_assess(
        actor=county_user, risk=treated, likelihood=5, impact=4, residual_likelihood=2, residual_impact=2
    )
    services.risk_withdraw(
        actor=county_user,
        risk=make_risk(atlas_a1, likelihood=5, impact=5, title="پس‌گرفته"),
        reason="برطرف شد",
    )
    make_risk(atlas_a1, likelihood=None, impact=None, title="ارزیابی‌نشده")
    services.past_election_record(
        actor=province_user,
        county=world.county_a1,
        held_on=dt.date(2024, 3, 1),
        title="مجلس ۱۴۰۲",
        was_annulled=True,
        serious_incidents=7,
    )
    services.past_election_record(
        actor=province_user,
        county=world.county_a1,
        held_on=dt.date(2021, 6, 18),
        title="ریاست جمهوری ۱۴۰۰",
        serious_incidents=5,
    )
    atlas_a2 = services.atlas_open(actor=province_user, event=event, county=world.county_a2)
    make_risk(atlas_a2, actor=province_user, likelihood=5, impact=5, title="بحرانی الف۲")
    make_risk(atlas_a2, actor=province_user, likelihood=4, impact=5, title="بحرانی دوم الف۲")
    return {"atlas_a2": atlas_a2}


def test_classification_scores_levels_and_factors_exactly(
    scored: dict[str, Any], national: User, event: ElectionEvent, world: World
) -> None:
    extreme, high, medium = (_band(code).pk for code in ("extreme", "high", "medium"))

    assert services.county_classify(event=event, actor=national) == 3

    a1 = _classification(event, world)
    assert (a1.score, a1.recommended_level, a1.level) == (54, "sensitive", "")
    assert a1.factors == [
        {"code": "incidents", "points": 20, "params": {"count": 12, "capped": True}},
        {"code": "annulled", "points": 15, "params": {"count": 1}},
        {
            "code": f"band:{extreme}",
            "points": 10,
            "params": {"count": 1, "band": "بحرانی", "band_en": "Extreme", "weight": 10},
        },
        {
            "code": f"band:{high}",
            "points": 5,
            "params": {"count": 1, "band": "زیاد", "band_en": "High", "weight": 5},
        },
        {
            "code": f"band:{medium}",
            "points": 2,
            "params": {"count": 1, "band": "متوسط", "band_en": "Medium", "weight": 2},
        },
        {"code": "stations", "points": 2, "params": {"stations": 2, "per": 1}},
    ]
    a2 = _classification(event, world, world.county_a2)
    assert (a2.score, a2.recommended_level) == (21, "important")
    assert [(f["code"], f["points"]) for f in a2.factors] == [(f"band:{extreme}", 20), ("stations", 1)]
    b1 = _classification(event, world, world.county_b1)
    assert (b1.score, b1.recommended_level, b1.factors) == (
        2,
        "normal",
        [{"code": "stations", "points": 2, "params": {"stations": 2, "per": 1}}],
    )
    assert b1.province_id == world.province_b.pk
    entry: Any = (
        AuditEntry.all_entries.filter(entity_type="risks.CountyClassification").order_by("-seq").first()
    )
    assert entry is not None and entry.actor == national and entry.after["counties"] == 3
    _assert_chain_clean()


def test_thresholds_follow_the_policy(
    scored: dict[str, Any], national: User, event: ElectionEvent, world: World
) -> None:
    services.classification_policy_update(actor=national, important_from=2, sensitive_from=21)
    services.county_classify(event=event, actor=national)

    with unscoped():
        levels = dict(
            CountyClassification.objects.filter(event=event).values_list("county__code", "recommended_level")
        )
    assert levels == {"A1": "sensitive", "A2": "sensitive", "B1": "important"}

    services.classification_policy_update(
        actor=national,
        annulled_points=0,
        incident_points=0,
        stations_per_point=0,
        important_from=20,
        sensitive_from=100,
    )
    services.county_classify(event=event, actor=national)
    a1 = _classification(event, world)
    assert (a1.score, a1.recommended_level) == (17, "normal")
    assert [f["code"].split(":")[0] for f in a1.factors] == ["band", "band", "band"]


def test_policy_update_is_checked(national: User, province_admin: User) -> None:
    with pytest.raises(PermissionDenied):
        services.classification_policy_update(actor=province_admin, important_from=10)
    for values, field in (
        ({"important_from": 50}, "sensitive_from"),
        ({"important_from": 0}, "important_from"),
        ({"annulled_points": -1}, "annulled_points"),
        ({"annulled_points": True}, "annulled_points"),
        ({"colour": 1}, "colour"),
    ):
        with pytest.raises(ValidationError) as exc:
            services.classification_policy_update(actor=national, **values)
        assert field in _fields(exc)
    assert services.classification_policy().important_from == 20


def test_recording_a_past_election_reclassifies_the_county(
    province_user: User, event: ElectionEvent, world: World
) -> None:
    services.county_classify(event=event, actor=province_user)
    assert _classification(event, world).score == 0

    services.past_election_record(
        actor=province_user,
        county=world.county_a1,
        held_on=dt.date(2024, 3, 1),
        title="مجلس ۱۴۰۲",
        was_annulled=True,
    )

    row = _classification(event, world)
    assert (row.score, row.recommended_level) == (15, "normal")


def test_a_decided_level_survives_reclassification(
    scored: dict[str, Any],
    province_user: User,
    national: User,
    event: ElectionEvent,
    world: World,
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
) -> None:
    services.security_level_decide(
        actor=province_user, event=event, county=world.county_a2, level="important"
    )
    decided_at = _classification(event, world, world.county_a2).decided_at

    with unscoped():
        risks = list(Risk.objects.filter(county=world.county_a2))
    for risk in risks:
        services.risk_withdraw(actor=province_user, risk=risk, reason="برطرف شد")
    services.county_classify(event=event, actor=national)

    a2 = _classification(event, world, world.county_a2)
    assert (a2.score, a2.recommended_level) == (1, "normal")
    assert (a2.level, a2.decided_at) == ("important", decided_at)
    assert _count(SecurityLevelDecision) == 1


def test_province_classifies_only_its_own_counties(
    province_user: User, event: ElectionEvent, world: World
) -> None:
    assert services.county_classify(event=event, actor=province_user) == 2
    with unscoped():
        counties = set(
            CountyClassification.objects.filter(event=event).values_list("county__code", flat=True)
        )
    assert counties == {"A1", "A2"}

    assert services.county_classify(event=event, actor=province_user, county_ids=[world.county_b1.pk]) == 0
    assert _count(CountyClassification, county=world.county_b1) == 0
    entry = AuditEntry.all_entries.filter(entity_type="risks.CountyClassification").order_by("-seq").first()
    assert entry is not None and entry.province_id == world.province_a.pk


@pytest.mark.parametrize("persona", ["county_admin", "county_user", "county_viewer", "auditor"])
def test_county_users_cannot_classify(
    persona: str, request: pytest.FixtureRequest, event: ElectionEvent
) -> None:
    actor = request.getfixturevalue(persona)

    with pytest.raises(PermissionDenied):
        services.county_classify(event=event, actor=actor)
    assert _count(CountyClassification) == 0


def test_classification_queries_do_not_grow_with_counties(
    scored: dict[str, Any],
    admin: User,
    national: User,
    outsider: User,
    make_risk: Callable[..., Risk],
    event: ElectionEvent,
    world: World,
    django_assert_max_num_queries: Any,
) -> None:
    services.past_election_record(
        actor=national,
        county=world.county_b1,
        held_on=dt.date(2024, 3, 1),
        title="مجلس ۱۴۰۲",
        serious_incidents=3,
    )
    atlas_b1 = services.atlas_open(actor=outsider, event=event, county=world.county_b1)
    make_risk(atlas_b1, actor=outsider, title="ریسک ب۱")
    other = election_event_create(actor=admin, name="میان‌دوره‌ای", voting_day=dt.date(2027, 6, 1))
    make_risk(services.atlas_open(actor=national, event=other, county=world.county_a1), title="ریسک دیگر")
    services.classification_policy()
    one_county = [world.county_a1.pk]
    three_counties = [world.county_a1.pk, world.county_a2.pk, world.county_b1.pk]

    # First runs (rows created): one county of one event, then three counties of the other.
    with CaptureQueriesContext(connection) as one:
        services.county_classify(event=other, county_ids=one_county, actor=national)
    with django_assert_max_num_queries(len(one.captured_queries)):
        services.county_classify(event=event, county_ids=three_counties, actor=national)
    assert _count(CountyClassification, event=event) == 3

    # Re-runs (rows updated): the same, again.
    with CaptureQueriesContext(connection) as again:
        services.county_classify(event=other, county_ids=one_county, actor=national)
    with django_assert_max_num_queries(len(again.captured_queries)):
        services.county_classify(event=event, county_ids=three_counties, actor=national)
    assert _classification(event, world, world.county_b1).score == 13  # high 5 + 3 incidents 6 + 2 stations


# --- security level decisions ----------------------------------------------------------------


def test_override_needs_a_reason(
    scored: dict[str, Any], province_user: User, event: ElectionEvent, world: World
) -> None:
    with pytest.raises(ValidationError) as exc:
        services.security_level_decide(
            actor=province_user, event=event, county=world.county_a1, level="normal", reason="   "
        )
    assert _fields(exc) == {"reason"}
    assert _count(SecurityLevelDecision) == 0
    # Nothing was written: not even the classification the refused decision computed.
    assert _count(CountyClassification) == 0

    decision = services.security_level_decide(
        actor=province_user,
        event=event,
        county=world.county_a1,
        level="important",
        reason=" ابطال قدیمی است ",
    )
    assert (decision.level, decision.recommended_level, decision.score) == ("important", "sensitive", 54)
    assert (decision.reason, decision.is_override, decision.decided_by) == (
        "ابطال قدیمی است",
        True,
        province_user,
    )


def test_refused_override_writes_nothing(
    scored: dict[str, Any], province_user: User, event: ElectionEvent, world: World
) -> None:
    """The issue: "an override without a reason ... refused with a clear message and nothing changed"."""
    services.county_classify(event=event, actor=province_user)
    before = _classification(event, world)
    entries = _count(AuditEntry)

    with pytest.raises(ValidationError):
        services.security_level_decide(
            actor=province_user, event=event, county=world.county_a1, level="normal"
        )

    after = _classification(event, world)
    assert (after.computed_at, after.level) == (before.computed_at, before.level)
    assert _count(AuditEntry) == entries


def test_decisions_are_kept_newest_first_and_set_the_level(
    scored: dict[str, Any], province_user: User, national: User, event: ElectionEvent, world: World
) -> None:
    from amanat.risks.selectors import level_history_for

    first = services.security_level_decide(
        actor=province_user, event=event, county=world.county_a1, level="sensitive"
    )
    assert (first.reason, first.is_override) == ("", False)
    assert _classification(event, world).level == "sensitive"

    second = services.security_level_decide(
        actor=national,
        event=event,
        county=world.county_a1,
        level="important",
        reason="اقدامات جبرانی انجام شده",
    )

    row = _classification(event, world)
    assert (row.level, row.decided_at) == ("important", second.decided_at)
    assert [d.pk for d in level_history_for(user=national, event=event, county=world.county_a1)] == [
        second.pk,
        first.pk,
    ]
    assert _count(SecurityLevelDecision, county=world.county_a1) == 2
    entry = _audit(second)[-1]
    assert (entry.before, entry.after["level"], entry.after["reason"]) == (
        {"level": "sensitive"},
        "important",
        "اقدامات جبرانی انجام شده",
    )
    _assert_chain_clean()


def test_deciding_classifies_a_county_not_yet_classified(
    province_user: User, event: ElectionEvent, world: World
) -> None:
    decision = services.security_level_decide(
        actor=province_user, event=event, county=world.county_a2, level="normal"
    )

    assert (decision.score, decision.recommended_level) == (0, "normal")
    assert _classification(event, world, world.county_a2).level == "normal"


def test_unknown_level_is_refused(province_user: User, event: ElectionEvent, world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        services.security_level_decide(
            actor=province_user, event=event, county=world.county_a1, level="critical", reason="x"
        )
    assert _fields(exc) == {"level"}
    assert _count(SecurityLevelDecision) == 0


@pytest.mark.parametrize(
    "persona", ["county_user", "county_admin", "county_viewer", "outsider", "province_b_chair", "auditor"]
)
def test_level_decided_only_by_the_province_or_nation(
    persona: str, request: pytest.FixtureRequest, event: ElectionEvent, world: World
) -> None:
    actor = request.getfixturevalue(persona)

    with pytest.raises(PermissionDenied):
        services.security_level_decide(
            actor=actor, event=event, county=world.county_a1, level="normal", reason="دلیل"
        )
    assert _count(SecurityLevelDecision) == 0


def test_decision_notifies_the_county_team_on_commit(
    province_user: User,
    county_user: User,
    county_admin: User,
    county_viewer: User,
    outsider: User,
    event: ElectionEvent,
    world: World,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.security_level_decide(
            actor=province_user, event=event, county=world.county_a1, level="normal"
        )
    assert Notification.objects.count() == 0  # nothing until the transaction commits
    assert callbacks

    with django_capture_on_commit_callbacks(execute=True):
        services.security_level_decide(
            actor=province_user,
            event=event,
            county=world.county_a1,
            level="important",
            reason="آمادگی شعب کافی نیست",
        )

    url = reverse("risks:county", args=[event.pk, world.county_a1.pk])
    rows = list(Notification.objects.filter(url=url).values_list("user__username", "message"))
    assert sorted(username for username, _message in rows) == ["admin_a1", "county_a1"]
    assert all(world.county_a1.name in message for _username, message in rows)


# --- duties ----------------------------------------------------------------------------------


def _duty(level: str) -> DutyTemplate:
    duty = DutyTemplate.objects.filter(level=level, is_active=True).order_by("position").first()
    assert duty is not None
    return duty


def test_duty_completion_needs_a_decided_level(
    county_user: User, event: ElectionEvent, world: World, province_user: User
) -> None:
    services.county_classify(event=event, actor=province_user)  # recommended, but not decided

    with pytest.raises(ValidationError) as exc:
        services.county_duty_complete(
            actor=county_user,
            event=event,
            county=world.county_a1,
            template=_duty("normal"),
            evidence="صورتجلسه",
        )
    assert _fields(exc) == {"template"}
    assert _count(CountyDuty) == 0


def test_duties_of_the_decided_level_only_with_evidence(
    county_user: User, province_user: User, national: User, event: ElectionEvent, world: World
) -> None:
    services.security_level_decide(
        actor=province_user, event=event, county=world.county_a1, level="sensitive", reason="حوزه حساس"
    )
    template = _duty("sensitive")

    with pytest.raises(ValidationError) as exc:
        services.county_duty_complete(
            actor=county_user,
            event=event,
            county=world.county_a1,
            template=_duty("normal"),
            evidence="صورتجلسه",
        )
    assert _fields(exc) == {"template"}
    with pytest.raises(ValidationError) as exc:
        services.county_duty_complete(
            actor=county_user, event=event, county=world.county_a1, template=template, evidence="  "
        )
    assert _fields(exc) == {"evidence"}
    assert _count(CountyDuty) == 0

    duty = services.county_duty_complete(
        actor=county_user,
        event=event,
        county=world.county_a1,
        template=template,
        evidence=" صورتجلسه‌های روزانه ۱۴۰۵/۱۲/۰۱ به بعد ",
    )
    assert (duty.is_done, duty.evidence, duty.done_by, duty.done_on) == (
        True,
        "صورتجلسه‌های روزانه ۱۴۰۵/۱۲/۰۱ به بعد",
        county_user,
        TODAY,
    )
    assert (duty.province_id, duty.county_id) == (world.province_a.pk, world.county_a1.pk)
    assert _audit(duty)[-1].after["is_done"] is True

    second = DutyTemplate.objects.filter(level="sensitive").order_by("position")[1]
    retired = services.duty_template_update(actor=national, duty=second, text=second.text, is_active=False)
    with pytest.raises(ValidationError) as exc:
        services.county_duty_complete(
            actor=county_user, event=event, county=world.county_a1, template=retired, evidence="انجام شد"
        )
    assert _fields(exc) == {"template"}


def test_reopening_a_duty_needs_a_reason(
    county_user: User, province_user: User, event: ElectionEvent, world: World
) -> None:
    services.security_level_decide(actor=province_user, event=event, county=world.county_a1, level="normal")
    duty = services.county_duty_complete(
        actor=county_user,
        event=event,
        county=world.county_a1,
        template=_duty("normal"),
        evidence="گزارش بازدید",
    )

    with pytest.raises(ValidationError) as exc:
        services.county_duty_reopen(actor=county_user, duty=duty, reason=" ")
    assert _fields(exc) == {"reason"}
    assert _reload(CountyDuty, duty.pk).is_done

    services.county_duty_reopen(actor=county_user, duty=duty, reason="بازدید ناقص بود")
    fresh = _reload(CountyDuty, duty.pk)
    assert (fresh.is_done, fresh.done_by, fresh.done_on) == (False, None, None)
    assert _audit(duty)[-1].after == {"is_done": False, "reason": "بازدید ناقص بود"}


@pytest.mark.parametrize("persona", ["county_viewer", "outsider"])
def test_viewer_and_outsider_cannot_tick_duties(
    persona: str, request: pytest.FixtureRequest, province_user: User, event: ElectionEvent, world: World
) -> None:
    actor = request.getfixturevalue(persona)
    services.security_level_decide(actor=province_user, event=event, county=world.county_a1, level="normal")

    with pytest.raises(PermissionDenied):
        services.county_duty_complete(
            actor=actor, event=event, county=world.county_a1, template=_duty("normal"), evidence="شواهد"
        )
    assert _count(CountyDuty) == 0


# --- mitigations -----------------------------------------------------------------------------


def test_mitigation_is_an_action_item_of_the_county_committee(
    atlas_a1: Atlas, make_risk: Callable[..., Risk], county_user: User, world: World, committees: Committees
) -> None:
    risk = make_risk(atlas_a1)

    mitigation = services.mitigation_add(
        actor=county_user, risk=risk, title=" کابل پشتیبان ", responsible=world.org_a1, due_on=TODAY
    )

    item = _reload(ActionItem, mitigation.action_item_id)
    assert mitigation.risk == risk
    assert (item.committee_id, item.province_id, item.county_id) == (
        committees.county_a1.pk,
        world.province_a.pk,
        world.county_a1.pk,
    )
    assert (item.title, item.responsible, item.raised_on, item.due_on, item.status) == (
        "کابل پشتیبان",
        world.org_a1,
        TODAY,
        TODAY,
        ActionStatus.OPEN,
    )
    assert item.visible_from_depth == committees.county_a1.depth
    assert [e.action for e in _audit(item)] == [AuditAction.CREATE]
    assert [e.action for e in _audit(mitigation)] == [AuditAction.CREATE]
    _assert_chain_clean()


def test_mitigation_needs_the_county_committee(
    atlas_a1: Atlas, make_risk: Callable[..., Risk], county_user: User, world: World
) -> None:
    risk = make_risk(atlas_a1)

    with pytest.raises(ValidationError) as exc:
        services.mitigation_add(
            actor=county_user,
            risk=risk,
            title="اقدام",
            responsible=world.org_a1,
            due_on=TODAY + dt.timedelta(days=7),
        )
    assert _fields(exc) == {"responsible"}
    assert _count(ActionItem) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"due_on": TODAY - dt.timedelta(days=1)}, "due_on"),
        ({"title": "  "}, "title"),
        ({"responsible": "org_b1"}, "responsible"),
    ],
)
def test_bad_mitigations_are_refused(
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
    county_user: User,
    world: World,
    committees: Committees,
    changes: dict[str, Any],
    field: str,
) -> None:
    risk = make_risk(atlas_a1)
    values: dict[str, Any] = {
        "title": "اقدام",
        "responsible": world.org_a1,
        "due_on": TODAY + dt.timedelta(days=7),
    }
    values.update(changes)
    if values["responsible"] == "org_b1":
        values["responsible"] = world.org_b1

    with pytest.raises(ValidationError) as exc:
        services.mitigation_add(actor=county_user, risk=risk, **values)
    assert _fields(exc) == {field}
    assert _count(RiskMitigation) == 0
    assert _count(ActionItem, committee=committees.county_a1) == 0


def test_no_mitigation_for_a_withdrawn_risk(
    atlas_a1: Atlas, make_risk: Callable[..., Risk], county_user: User, world: World, committees: Committees
) -> None:
    risk = make_risk(atlas_a1)
    services.risk_withdraw(actor=county_user, risk=risk, reason="برطرف شد")

    with pytest.raises(ValidationError):
        services.mitigation_add(
            actor=county_user,
            risk=_reload(Risk, risk.pk),
            title="اقدام",
            responsible=world.org_a1,
            due_on=TODAY + dt.timedelta(days=7),
        )
    assert _count(RiskMitigation) == 0


def test_mitigation_after_approval_reopens_the_atlas(
    submitted: AtlasVersion,
    atlas_a1: Atlas,
    county_user: User,
    province_user: User,
    world: World,
    committees: Committees,
) -> None:
    services.atlas_review(actor=province_user, version=submitted, approve=True)
    with unscoped():
        risk = Risk.objects.filter(atlas=atlas_a1).order_by("pk").first()

    services.mitigation_add(
        actor=county_user,
        risk=risk,
        title="اقدام تکمیلی",
        responsible=world.org_a1,
        due_on=TODAY + dt.timedelta(days=7),
    )

    assert _reload(Atlas, atlas_a1.pk).status == AtlasStatus.DRAFT
    assert _reload(AtlasVersion, submitted.pk).content["risks"][0]["mitigations"] == []
