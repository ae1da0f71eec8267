"""Writes to the security atlas: each atomic, permission-checked and audited in its own transaction.

Who may do what:
- the county (EDIT) drafts its register, adds mitigations, submits, and ticks off duties;
- an accepted risk needs an approver (APPROVE) of the county or above, other than its proposer;
- the parent province (APPROVE, province level) reviews: approves, or returns with comments per risk;
- a province or national user with APPROVE decides the security level; overriding the
  recommendation needs a written reason;
- the national administrator edits the taxonomy, matrices, policy and duty templates.
"""

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, PositiveSmallIntegerField, Q, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from amanat.accounts.models import Organisation, User
from amanat.accounts.permissions import Capability, require
from amanat.accounts.roles import Role
from amanat.accounts.services import notification_send_many
from amanat.audit.models import AuditAction
from amanat.audit.services import audit_record, snapshot
from amanat.committees.models import ActionItem, Committee
from amanat.elections.models import ContestCounty, ElectionEvent
from amanat.geography.models import County, PollingStation
from amanat.risks import scoring
from amanat.risks.models import (
    ACTIVE_RISK_STATUSES,
    MAX_LEVELS,
    Atlas,
    AtlasStatus,
    AtlasVersion,
    CategoryGroup,
    ClassificationPolicy,
    CountyClassification,
    CountyDuty,
    DutyTemplate,
    PastElection,
    ReviewComment,
    Risk,
    RiskBand,
    RiskCategory,
    RiskKind,
    RiskMatrix,
    RiskMatrixCell,
    RiskMitigation,
    RiskPhase,
    RiskStatus,
    SecurityLevel,
    SecurityLevelDecision,
    Treatment,
    VersionStatus,
)
from amanat.risks.snapshots import atlas_snapshot
from amanat.scoping import Jurisdiction, unscoped

COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
SLUG = re.compile(r"[-a-zA-Z0-9_]+")
SMALL_MAX = 32767  # PositiveSmallIntegerField's upper bound on every database
INT_MAX = 2_147_483_647  # PositiveIntegerField's

RISK_FIELDS = [
    "kind",
    "phase",
    "category",
    "title",
    "description",
    "location",
    "likelihood",
    "impact",
    "score",
    "band",
    "treatment",
    "acceptance_approved_by",
    "owner",
    "status",
    "residual_likelihood",
    "residual_impact",
    "residual_score",
    "residual_band",
]


def _require_national_administrator(actor: Any) -> None:
    jurisdiction = require(actor, Capability.ADMINISTER)
    if jurisdiction.level != "national":
        raise PermissionDenied(_("Only a national administrator may change the atlas's reference data."))


def _choice(value: Any, choices: Any, field: str, errors: dict[str, str]) -> str:
    if value not in choices.values:
        errors[field] = _("Choose one of: %(values)s.") % {"values": ", ".join(str(c.label) for c in choices)}
        return ""
    return str(value)


# --- reference data --------------------------------------------------------------------------


def risk_category_create(
    *, actor: Any, code: str, group: str, name: str, name_en: str = "", description: str = ""
) -> RiskCategory:
    """Add a factor to the national taxonomy of electoral risks."""
    _require_national_administrator(actor)
    errors: dict[str, str] = {}
    _choice(group, CategoryGroup, "group", errors)
    if not name.strip() or len(name.strip()) > 150 or len(name_en.strip()) > 150:
        errors["name"] = _("Give the category a name of up to 150 characters.")
    code = code.strip().lower()
    if not code or len(code) > 50 or not SLUG.fullmatch(code):
        errors["code"] = _("Give the category a code of up to 50 letters, digits and hyphens.")
    elif RiskCategory.objects.filter(code=code).exists():
        errors["code"] = _("Another category already has this code.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        position = RiskCategory.objects.filter(group=group).count()
        category = RiskCategory.objects.create(
            code=code,
            group=group,
            name=name.strip(),
            name_en=name_en.strip(),
            description=description.strip(),
            position=position,
        )
        audit_record(actor=actor, action=AuditAction.CREATE, entity=category, after=snapshot(category))
    return category


def risk_category_update(
    *,
    actor: Any,
    category: RiskCategory,
    name: str,
    name_en: str = "",
    description: str = "",
    is_active: bool = True,
) -> RiskCategory:
    """Rename, describe, retire or restore a category; risks already filed keep it."""
    _require_national_administrator(actor)
    if not name.strip() or len(name.strip()) > 150 or len(name_en.strip()) > 150:
        raise ValidationError({"name": _("Give the category a name of up to 150 characters.")})
    with transaction.atomic():
        before = snapshot(category)
        category.name, category.name_en = name.strip(), name_en.strip()
        category.description, category.is_active = description.strip(), is_active
        category.save()
        audit_record(
            actor=actor, action=AuditAction.UPDATE, entity=category, before=before, after=snapshot(category)
        )
    return category


@dataclass(frozen=True)
class BandSpec:
    code: str
    name: str
    colour: str
    weight: int
    name_en: str = ""


def risk_matrix_create(
    *,
    actor: Any,
    name: str,
    likelihood_levels: int,
    impact_levels: int,
    bands: Sequence[BandSpec],
    grid: Mapping[tuple[int, int], tuple[int, str]],
    make_default: bool = False,
) -> RiskMatrix:
    """Configure a matrix: its bands (least severe first) and, for every cell, a score and a band code."""
    _require_national_administrator(actor)
    errors: dict[str, str] = {}
    if not name.strip() or len(name.strip()) > 100:
        errors["name"] = _("Give the matrix a name of up to 100 characters.")
    elif RiskMatrix.objects.filter(name=name.strip()).exists():
        errors["name"] = _("Another matrix already has this name.")
    for field, size in (("likelihood_levels", likelihood_levels), ("impact_levels", impact_levels)):
        if not 2 <= size <= MAX_LEVELS:
            errors[field] = _("A matrix side has 2 to %(max)d levels.") % {"max": MAX_LEVELS}
    codes = [band.code for band in bands]
    if not bands:
        errors["bands"] = _("Give the matrix at least one band.")
    elif len(set(codes)) != len(codes):
        errors["bands"] = _("Each band needs its own code.")
    elif any(not band.name.strip() or not COLOUR.fullmatch(band.colour) for band in bands):
        errors["bands"] = _("Each band needs a name and a colour such as #c62828.")
    elif any(len(band.code) > 30 or not SLUG.fullmatch(band.code) or len(band.name) > 60 for band in bands):
        errors["bands"] = _("Band codes are up to 30 letters, digits and hyphens; names up to 60 characters.")
    elif any(not 0 <= band.weight <= SMALL_MAX for band in bands):
        errors["bands"] = _("A band's weight is from 0 to %(max)d.") % {"max": SMALL_MAX}
    if not errors:
        expected = {(lk, im) for lk in range(1, likelihood_levels + 1) for im in range(1, impact_levels + 1)}
        if set(grid) != expected:
            errors["grid"] = _("Fill every cell of the %(rows)d x %(cols)d grid, and only those.") % {
                "rows": likelihood_levels,
                "cols": impact_levels,
            }
        elif any(band_code not in codes for _score, band_code in grid.values()):
            errors["grid"] = _("A cell names a band the matrix does not have.")
        elif any(not 0 <= score <= SMALL_MAX for score, _band in grid.values()):
            errors["grid"] = _("Scores are from 0 to %(max)d.") % {"max": SMALL_MAX}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if make_default:
            RiskMatrix.objects.filter(is_default=True).update(is_default=False)
        matrix = RiskMatrix.objects.create(
            name=name.strip(),
            likelihood_levels=likelihood_levels,
            impact_levels=impact_levels,
            is_default=make_default,
        )
        made = {
            band.code: RiskBand.objects.create(
                matrix=matrix,
                code=band.code,
                name=band.name.strip(),
                name_en=band.name_en.strip(),
                colour=band.colour,
                rank=rank,
                weight=band.weight,
            )
            for rank, band in enumerate(bands, start=1)
        }
        RiskMatrixCell.objects.bulk_create(
            RiskMatrixCell(matrix=matrix, likelihood=lk, impact=im, score=score, band=made[band_code])
            for (lk, im), (score, band_code) in sorted(grid.items())
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            entity=matrix,
            after={**snapshot(matrix), "bands": codes, "cells": len(grid)},
        )
    return matrix


def classification_policy_update(*, actor: Any, **values: int) -> ClassificationPolicy:
    """Change the classification's weights and thresholds (the next classification uses them)."""
    _require_national_administrator(actor)
    fields = set(scoring.Policy.__dataclass_fields__)
    unknown = set(values) - fields
    if unknown:
        raise ValidationError({name: _("Unknown setting.") for name in sorted(unknown)})
    errors: dict[str, str] = {}
    for name, value in values.items():
        small = isinstance(ClassificationPolicy._meta.get_field(name), PositiveSmallIntegerField)
        limit = SMALL_MAX if small else INT_MAX
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
            errors[name] = _("Give a whole number from 0 to %(max)d.") % {"max": limit}
    policy = classification_policy()
    merged = {**{name: getattr(policy, name) for name in fields}, **values}
    if not errors and merged["important_from"] < 1:
        errors["important_from"] = _("The threshold for important must be at least 1.")
    if not errors and merged["sensitive_from"] <= merged["important_from"]:
        errors["sensitive_from"] = _("The threshold for sensitive must be above the one for important.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        before = snapshot(policy)
        for name, value in values.items():
            setattr(policy, name, value)
        policy.save()
        audit_record(
            actor=actor, action=AuditAction.UPDATE, entity=policy, before=before, after=snapshot(policy)
        )
    return policy


def classification_policy() -> ClassificationPolicy:
    """The one policy row (created with the defaults if missing)."""
    policy = ClassificationPolicy.objects.order_by("pk").first()
    return policy or ClassificationPolicy.objects.create()


def duty_template_create(*, actor: Any, level: str, text: str, text_en: str = "") -> DutyTemplate:
    """Add a duty to the checklist of a security level."""
    _require_national_administrator(actor)
    errors: dict[str, str] = {}
    _choice(level, SecurityLevel, "level", errors)
    if not text.strip():
        errors["text"] = _("Write the duty.")
    elif DutyTemplate.objects.filter(level=level, text=text.strip()).exists():
        errors["text"] = _("This level already has this duty.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        duty = DutyTemplate.objects.create(
            level=level,
            text=text.strip(),
            text_en=text_en.strip(),
            position=DutyTemplate.objects.filter(level=level).count(),
        )
        audit_record(actor=actor, action=AuditAction.CREATE, entity=duty, after=snapshot(duty))
    return duty


def duty_template_update(
    *, actor: Any, duty: DutyTemplate, text: str, text_en: str = "", is_active: bool = True
) -> DutyTemplate:
    """Reword, retire or restore a duty; what counties ticked off stays recorded."""
    _require_national_administrator(actor)
    if not text.strip():
        raise ValidationError({"text": _("Write the duty.")})
    if DutyTemplate.objects.filter(level=duty.level, text=text.strip()).exclude(pk=duty.pk).exists():
        raise ValidationError({"text": _("This level already has this duty.")})
    with transaction.atomic():
        before = snapshot(duty)
        duty.text, duty.text_en, duty.is_active = text.strip(), text_en.strip(), is_active
        duty.save()
        audit_record(actor=actor, action=AuditAction.UPDATE, entity=duty, before=before, after=snapshot(duty))
    return duty


def past_election_record(
    *,
    actor: Any,
    county: County,
    held_on: dt.date,
    title: str,
    was_annulled: bool = False,
    serious_incidents: int = 0,
    notes: str = "",
) -> PastElection:
    """Record a previous election of a county (annulled or not, serious incidents), from province up."""
    jurisdiction = require(actor, Capability.APPROVE, within=county.jurisdiction)
    if jurisdiction.level == "county":
        raise PermissionDenied(
            _("A county's electoral record is kept by its province or the national level.")
        )
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = _("Name the election.")
    if held_on > timezone.localdate():
        errors["held_on"] = _("A past election cannot be in the future.")
    if serious_incidents < 0:
        errors["serious_incidents"] = _("Give a whole number, zero or more.")
    with unscoped():
        if (
            not errors
            and PastElection.objects.filter(county=county, held_on=held_on, title=title.strip()).exists()
        ):
            errors["title"] = _("This election is already recorded for the county.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        record = PastElection.objects.create(
            province_id=county.province_id,
            county=county,
            held_on=held_on,
            title=title.strip(),
            was_annulled=was_annulled,
            serious_incidents=serious_incidents,
            notes=notes.strip(),
        )
        audit_record(actor=actor, action=AuditAction.CREATE, entity=record, after=snapshot(record))
    # The record weighs in the county's score: refresh its recommendations wherever it is classified.
    with unscoped():
        event_ids = list(
            CountyClassification.objects.filter(county=county).values_list("event_id", flat=True)
        )
    for event in ElectionEvent.objects.filter(pk__in=event_ids):
        county_classify(event=event, county_ids=[county.pk])
    return record


# --- the register ----------------------------------------------------------------------------


def atlas_open(*, actor: Any, event: ElectionEvent, county: County) -> Atlas:
    """The county's atlas for the event, started empty the first time anyone with EDIT opens it."""
    require(actor, Capability.EDIT, within=county.jurisdiction)
    with unscoped():
        existing = Atlas.objects.filter(event=event, county=county).first()
    if existing is not None:
        return existing
    with transaction.atomic(), unscoped():
        atlas, created = Atlas.objects.get_or_create(
            event=event, county=county, defaults={"province_id": county.province_id}
        )
        if created:
            audit_record(actor=actor, action=AuditAction.CREATE, entity=atlas, after=snapshot(atlas))
    return atlas


def _require_register_editable(actor: Any, atlas: Atlas) -> None:
    require(actor, Capability.EDIT, within=atlas.jurisdiction)
    if atlas.status == AtlasStatus.SUBMITTED:
        raise ValidationError(
            _(
                "The atlas is with the province for review; "
                "it can be changed again once it is returned or approved."
            )
        )


def _reopen_if_approved(actor: Any, atlas: Atlas) -> None:
    """The first change after an approval starts the next draft from the approved version."""
    if atlas.status == AtlasStatus.APPROVED:
        atlas.status = AtlasStatus.DRAFT
        atlas.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=atlas,
            before={"status": AtlasStatus.APPROVED},
            after={"status": AtlasStatus.DRAFT},
        )


def _lock_atlas(atlas: Atlas) -> Atlas:
    """Re-read the atlas under a row lock so a submission and an edit cannot interleave."""
    with unscoped():
        locked = Atlas.objects.select_for_update().get(pk=atlas.pk)
    atlas.status = locked.status
    return locked


def _assessment(
    matrix: RiskMatrix, likelihood: Any, impact: Any, *, prefix: str = ""
) -> tuple[int | None, int | None, RiskMatrixCell | None, dict[str, str]]:
    """Check a likelihood and impact against the matrix and look their cell up; both or neither."""
    errors: dict[str, str] = {}
    if likelihood in (None, "") and impact in (None, ""):
        return None, None, None, errors
    values: dict[str, int] = {}
    for field, value, size in (
        ("likelihood", likelihood, matrix.likelihood_levels),
        ("impact", impact, matrix.impact_levels),
    ):
        if value in (None, ""):
            errors[prefix + field] = _("Give both likelihood and impact, or neither.")
            continue
        try:
            number = int(value)
            whole = number == float(value)  # 2.7 is refused, not truncated to 2
        except (TypeError, ValueError, OverflowError):
            number, whole = 0, False
        if isinstance(value, bool) or not whole or not 1 <= number <= size:
            errors[prefix + field] = _("Choose a whole number from 1 to %(max)d.") % {"max": size}
        else:
            values[field] = number
    if errors:
        return None, None, None, errors
    cell = (
        RiskMatrixCell.objects.select_related("band")
        .filter(matrix=matrix, likelihood=values["likelihood"], impact=values["impact"])
        .first()
    )
    if cell is None:  # a matrix configured without this cell; risk_matrix_create refuses such grids
        errors[prefix + "likelihood"] = _("The matrix has no cell for this likelihood and impact.")
        return None, None, None, errors
    return values["likelihood"], values["impact"], cell, errors


def _description_errors(
    kind: str,
    phase: str,
    treatment: str,
    category: RiskCategory,
    title: str,
    owner: Organisation | None,
    county: County,
    *,
    keeps_category: int | None = None,
) -> dict[str, str]:
    """What is wrong with a risk's description, treatment and owner (the assessment is checked apart)."""
    errors: dict[str, str] = {}
    _choice(kind, RiskKind, "kind", errors)
    _choice(phase, RiskPhase, "phase", errors)
    if treatment:
        _choice(treatment, Treatment, "treatment", errors)
    if not category.is_active and category.pk != keeps_category:
        errors["category"] = _("This category is no longer in use; choose another.")
    if not title.strip():
        errors["title"] = _("Give the risk a short title.")
    if owner is not None and not owner.jurisdiction.related(county.jurisdiction):
        errors["owner"] = _("The organisation does not serve this county.")
    return errors


def risk_create(
    *,
    actor: Any,
    atlas: Atlas,
    kind: str,
    phase: str,
    category: RiskCategory,
    title: str,
    description: str = "",
    location: str = "",
    likelihood: int | None = None,
    impact: int | None = None,
    treatment: str = "",
    owner: Organisation | None = None,
) -> Risk:
    """Add a threat, vulnerability or challenge to a county's atlas, assessed now or later."""
    _require_register_editable(actor, atlas)
    matrix = RiskMatrix.objects.filter(is_default=True).first() or RiskMatrix.objects.first()
    if matrix is None:
        raise ValidationError(_("No risk matrix is configured; ask the national administrator."))
    errors = _description_errors(kind, phase, treatment, category, title, owner, atlas.county)
    likelihood, impact, cell, assessment_errors = _assessment(matrix, likelihood, impact)
    errors.update(assessment_errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        _lock_atlas(atlas)
        _require_register_editable(actor, atlas)
        _reopen_if_approved(actor, atlas)
        risk = Risk.objects.create(
            atlas=atlas,
            province_id=atlas.province_id,
            county_id=atlas.county_id,
            kind=kind,
            phase=phase,
            category=category,
            title=title.strip(),
            description=description.strip(),
            location=location.strip(),
            matrix=matrix,
            likelihood=likelihood,
            impact=impact,
            score=cell.score if cell else None,
            band=cell.band if cell else None,
            treatment=treatment,
            treatment_set_by=actor if treatment else None,
            owner=owner,
            created_by=actor,
        )
        audit_record(actor=actor, action=AuditAction.CREATE, entity=risk, after=snapshot(risk, RISK_FIELDS))
    return risk


def risk_update(
    *,
    actor: Any,
    risk: Risk,
    kind: str,
    phase: str,
    category: RiskCategory,
    title: str,
    description: str = "",
    location: str = "",
    likelihood: int | None = None,
    impact: int | None = None,
    treatment: str = "",
    owner: Organisation | None = None,
    status: str = RiskStatus.OPEN,
    residual_likelihood: int | None = None,
    residual_impact: int | None = None,
) -> Risk:
    """Change a risk: its description, assessment (risk_assess), treatment, owner, status and residual."""
    atlas = risk.atlas
    _require_register_editable(actor, atlas)
    # A retired category may stay on the risks already filed under it.
    errors = _description_errors(
        kind, phase, treatment, category, title, owner, atlas.county, keeps_category=risk.category_id
    )
    _choice(status, RiskStatus, "status", errors)
    if status == RiskStatus.WITHDRAWN and risk.status != RiskStatus.WITHDRAWN:
        errors["status"] = _("Withdraw a risk with its own action, giving the reason.")
    likelihood, impact, cell, assessment_errors = _assessment(risk.matrix, likelihood, impact)
    errors.update(assessment_errors)
    residual_l, residual_i, residual_cell, residual_errors = _assessment(
        risk.matrix, residual_likelihood, residual_impact, prefix="residual_"
    )
    errors.update(residual_errors)
    if residual_cell is not None and cell is None:
        errors["residual_likelihood"] = _("Assess the risk before its residual.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        _lock_atlas(atlas)
        _require_register_editable(actor, atlas)
        before = snapshot(risk, RISK_FIELDS)
        _reopen_if_approved(actor, atlas)
        reassessed = (likelihood, impact) != (risk.likelihood, risk.impact)
        risk.kind, risk.phase, risk.category = kind, phase, category
        risk.title, risk.description, risk.location = title.strip(), description.strip(), location.strip()
        risk.likelihood, risk.impact = likelihood, impact
        risk.score, risk.band = (cell.score, cell.band) if cell else (None, None)
        risk.residual_likelihood, risk.residual_impact = residual_l, residual_i
        risk.residual_score, risk.residual_band = (
            (residual_cell.score, residual_cell.band) if residual_cell else (None, None)
        )
        # An approval covers the assessment it was given for: a new assessment or treatment needs a new one.
        if treatment != risk.treatment or reassessed:
            risk.acceptance_approved_by, risk.acceptance_approved_at = None, None
            risk.treatment_set_by = actor if treatment else None
        risk.treatment, risk.owner, risk.status = treatment, owner, status
        risk.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=risk,
            before=before,
            after=snapshot(risk, RISK_FIELDS),
        )
    return risk


def risk_assess(
    *,
    actor: Any,
    risk: Risk,
    likelihood: int,
    impact: int,
    residual_likelihood: int | None = None,
    residual_impact: int | None = None,
) -> Risk:
    """Assess a risk on its matrix (likelihood x impact, and the residual after treatment)."""
    return risk_update(
        actor=actor,
        risk=risk,
        kind=risk.kind,
        phase=risk.phase,
        category=risk.category,
        title=risk.title,
        description=risk.description,
        location=risk.location,
        likelihood=likelihood,
        impact=impact,
        treatment=risk.treatment,
        owner=risk.owner,
        status=risk.status,
        residual_likelihood=residual_likelihood,
        residual_impact=residual_impact,
    )


def risk_acceptance_approve(*, actor: Any, risk: Risk) -> Risk:
    """Approve accepting a risk (no treatment): an APPROVE holder other than whoever proposed it."""
    require(actor, Capability.APPROVE, within=risk.jurisdiction)
    _require_register_editable(actor, risk.atlas)
    if risk.treatment != Treatment.ACCEPT:
        raise ValidationError(
            {"treatment": _("Only a risk whose treatment is to accept it needs this approval.")}
        )
    if risk.acceptance_approved_by_id is not None:
        return risk
    if risk.treatment_set_by_id == actor.pk:
        raise PermissionDenied(_("Accepting a risk is approved by someone other than whoever proposed it."))
    if risk.score is None:
        raise ValidationError({"likelihood": _("Assess the risk before approving its acceptance.")})
    with transaction.atomic():
        risk.acceptance_approved_by, risk.acceptance_approved_at = actor, timezone.now()
        risk.save(update_fields=["acceptance_approved_by", "acceptance_approved_at", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=risk,
            before={"acceptance_approved_by": None},
            after={"acceptance_approved_by": actor.pk},
        )
    return risk


def risk_withdraw(*, actor: Any, risk: Risk, reason: str) -> Risk:
    """Take a risk out of the register (it stays in earlier versions), with the reason."""
    _require_register_editable(actor, risk.atlas)
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for withdrawing the risk.")})
    with transaction.atomic():
        _lock_atlas(risk.atlas)
        _require_register_editable(actor, risk.atlas)
        _reopen_if_approved(actor, risk.atlas)
        before = snapshot(risk, ["status"])
        risk.status = RiskStatus.WITHDRAWN
        risk.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=risk,
            before=before,
            after={"status": risk.status, "reason": reason.strip()},
        )
    return risk


def mitigation_add(
    *, actor: Any, risk: Risk, title: str, responsible: Organisation, due_on: dt.date
) -> RiskMitigation:
    """Add a mitigation: an action item of the county committee, followed up with the committee's others."""
    atlas = risk.atlas
    _require_register_editable(actor, atlas)
    today = timezone.localdate()
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = _("Describe the mitigation.")
    if due_on < today:
        errors["due_on"] = _("A mitigation cannot fall due in the past.")
    if not responsible.jurisdiction.related(atlas.county.jurisdiction):
        errors["responsible"] = _("The organisation does not serve this county.")
    if risk.status == RiskStatus.WITHDRAWN:
        errors["title"] = _("The risk was withdrawn.")
    with unscoped():
        committee = Committee.objects.filter(event_id=atlas.event_id, county_id=atlas.county_id).first()
    if committee is None:
        errors["responsible"] = _("The county has no committee for this event yet to follow mitigations up.")
    if errors:
        raise ValidationError(errors)
    assert committee is not None
    with transaction.atomic():
        _lock_atlas(atlas)
        _require_register_editable(actor, atlas)
        _reopen_if_approved(actor, atlas)
        item = ActionItem.objects.create(
            committee=committee,
            province_id=committee.province_id,
            county_id=committee.county_id,
            title=title.strip()[:300],
            responsible=responsible,
            raised_on=today,
            due_on=due_on,
            visible_from_depth=committee.depth,
        )
        mitigation = RiskMitigation.objects.create(risk=risk, action_item=item)
        audit_record(actor=actor, action=AuditAction.CREATE, entity=item, after=snapshot(item))
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            entity=mitigation,
            after={"risk": risk.pk, "action_item": item.pk},
        )
    return mitigation


# --- the review workflow ---------------------------------------------------------------------


def _reviewers(province_id: int) -> list[User]:
    """Who reviews a county's atlas: the province's users who may approve."""
    with unscoped():
        return list(
            User.in_jurisdiction.filter(
                province_id=province_id,
                county__isnull=True,
                is_active=True,
                role__in=[Role.CHAIR, Role.ADMINISTRATOR],
            )
        )


def _county_team(county_id: int) -> list[User]:
    with unscoped():
        return list(
            User.in_jurisdiction.filter(
                county_id=county_id,
                is_active=True,
                role__in=[Role.MEMBER, Role.SECRETARY, Role.CHAIR, Role.ADMINISTRATOR],
            )
        )


def atlas_submit(*, actor: Any, atlas: Atlas, note: str = "") -> AtlasVersion:
    """Freeze the register as the next numbered version and send it to the province for review."""
    require(actor, Capability.EDIT, within=atlas.jurisdiction)
    with transaction.atomic():
        _lock_atlas(atlas)
        if atlas.status == AtlasStatus.SUBMITTED:
            raise ValidationError(_("This atlas is already with the province for review."))
        if atlas.status == AtlasStatus.APPROVED:
            raise ValidationError(
                _("The province has approved this atlas; change it before submitting again.")
            )
        with unscoped():
            active = list(Risk.objects.filter(atlas=atlas, status__in=ACTIVE_RISK_STATUSES).order_by("pk"))
        errors: list[str] = []  # what is wrong with the register: reported under "risks"
        if not active:
            errors.append(_("Record at least one risk before submitting the atlas."))
        unassessed = [risk.title for risk in active if not risk.is_assessed]
        if unassessed:
            errors.append(
                _("Assess every risk (likelihood, impact and treatment) before submitting: %(risks)s.")
                % {"risks": "، ".join(unassessed[:10])}
            )
        pending = [risk.title for risk in active if risk.awaits_acceptance]
        if pending:
            errors.append(
                _("Accepting these risks awaits an approver: %(risks)s.") % {"risks": "، ".join(pending[:10])}
            )
        if errors:
            raise ValidationError({"risks": errors})
        with unscoped():
            number = AtlasVersion.objects.filter(atlas=atlas).count() + 1
        version = AtlasVersion.objects.create(
            atlas=atlas,
            province_id=atlas.province_id,
            county_id=atlas.county_id,
            number=number,
            content=atlas_snapshot(atlas),
            submitted_by=actor,
            submitted_at=timezone.now(),
            note=note.strip(),
        )
        atlas.status = AtlasStatus.SUBMITTED
        atlas.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            entity=version,
            after={"number": number, "risks": len(active), "status": version.status},
        )
        url = reverse("risks:version", args=[version.pk])
        message = _("The security atlas of %(county)s (version %(number)d) awaits your review.") % {
            "county": atlas.county.name,
            "number": number,
        }
        transaction.on_commit(
            lambda: notification_send_many(messages=[(_reviewers(atlas.province_id), message, url)])
        )
    return version


def atlas_review(
    *,
    actor: Any,
    version: AtlasVersion,
    approve: bool,
    note: str = "",
    comments: Mapping[int, str] | None = None,
) -> AtlasVersion:
    """The province approves a submitted version (sending it to the national level) or returns it.

    A return needs a comment on at least one risk, or a note; comments name risks of the version.
    """
    jurisdiction = require(actor, Capability.APPROVE)
    if jurisdiction.level != "province" or jurisdiction.province_id != version.province_id:
        raise PermissionDenied(_("Only the county's own province reviews its atlas."))
    comments = {int(risk_id): text.strip() for risk_id, text in (comments or {}).items() if text.strip()}
    risk_ids = {row["id"] for row in version.content.get("risks", [])}
    errors: dict[str, str] = {}
    unknown = sorted(set(comments) - risk_ids)
    if unknown:
        errors["comments"] = _("These risks are not in the version reviewed: %(ids)s.") % {
            "ids": ", ".join(str(i) for i in unknown)
        }
    if not approve and not comments and not note.strip():
        errors["note"] = _("Say what must change: comment on a risk or write a note.")
    if errors:
        raise ValidationError(errors)
    atlas = version.atlas
    with transaction.atomic():
        with unscoped():
            locked = AtlasVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != VersionStatus.SUBMITTED:
            raise ValidationError(_("This version has already been reviewed."))
        _lock_atlas(atlas)
        version.status = VersionStatus.APPROVED if approve else VersionStatus.RETURNED
        version.reviewed_by, version.reviewed_at, version.review_note = actor, timezone.now(), note.strip()
        # Only the review fields are written: the snapshot itself is never saved again.
        version.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
        ReviewComment.objects.bulk_create(
            ReviewComment(version=version, risk_id=risk_id, text=text, author=actor)
            for risk_id, text in sorted(comments.items())
        )
        atlas.status = AtlasStatus.APPROVED if approve else AtlasStatus.RETURNED
        atlas.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=version,
            before={"status": VersionStatus.SUBMITTED},
            after={"status": version.status, "note": version.review_note, "comments": comments},
        )
        url = reverse("risks:atlas", args=[atlas.pk])
        if approve:
            message = _("The province approved the security atlas of %(county)s (version %(number)d).")
        else:
            message = _(
                "The province returned the security atlas of %(county)s (version %(number)d) for changes."
            )
        message = message % {"county": atlas.county.name, "number": version.number}
        transaction.on_commit(
            lambda: notification_send_many(messages=[(_county_team(atlas.county_id), message, url)])
        )
    if approve:
        county_classify(event=atlas.event, county_ids=[atlas.county_id])
    return version


# --- classification --------------------------------------------------------------------------


def _event_county_ids(event: ElectionEvent) -> list[int]:
    with unscoped():
        ids = list(
            ContestCounty.objects.filter(contest__event=event).values_list("county_id", flat=True).distinct()
        )
        return ids or list(County.objects.values_list("pk", flat=True))


def county_records(event: ElectionEvent, county_ids: Sequence[int]) -> dict[int, scoring.CountyRecord]:
    """What the classification reads of each county, in four grouped queries whatever their number."""
    with unscoped():
        bands = {
            band.pk: (band.name, band.name_en, band.weight)
            for band in RiskBand.objects.all().only("pk", "name", "name_en", "weight")
        }
        band_rows: dict[int, list[tuple[int, int]]] = {}
        # The residual band, once assessed, is what remains after treatment: it is what counts.
        for row in (
            Risk.objects.filter(
                atlas__event=event,
                county_id__in=county_ids,
                status__in=ACTIVE_RISK_STATUSES,
                band__isnull=False,
            )
            .annotate(effective_band=Coalesce("residual_band_id", "band_id"))
            .values("county_id", "effective_band")
            .annotate(n=Count("pk"))
            .order_by()
        ):
            band_rows.setdefault(row["county_id"], []).append((row["effective_band"], row["n"]))
        record_rows = {
            row["county_id"]: row
            for row in PastElection.objects.filter(county_id__in=county_ids)
            .values("county_id")
            .annotate(annulled=Count("pk", filter=Q(was_annulled=True)), incidents=Sum("serious_incidents"))
            .order_by()
        }
        stations = dict(
            PollingStation.objects.filter(county_id__in=county_ids)
            .values("county_id")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("county_id", "n")
        )
    records = {}
    for county_id in county_ids:
        past = record_rows.get(county_id, {})
        records[county_id] = scoring.CountyRecord(
            bands=scoring.bands_from_rows(band_rows.get(county_id, []), bands),
            annulled_elections=past.get("annulled", 0) or 0,
            past_serious_incidents=past.get("incidents", 0) or 0,
            stations=stations.get(county_id, 0),
        )
    return records


def county_classify(
    *, event: ElectionEvent, county_ids: Sequence[int] | None = None, actor: Any = None
) -> int:
    """Score the event's counties (or the given ones) and store each recommendation with its factors.

    A computation, not a decision: it never changes a decided level. Audited as one entry per run.
    """
    jurisdiction: Jurisdiction | None = None
    if actor is not None:
        jurisdiction = require(actor, Capability.APPROVE)
        if jurisdiction.level == "county":
            raise PermissionDenied(_("Classification is run by a province or the national level."))
    ids = list(county_ids) if county_ids is not None else _event_county_ids(event)
    if jurisdiction is not None and jurisdiction.level == "province":
        with unscoped():
            ids = list(
                County.objects.filter(pk__in=ids, province_id=jurisdiction.province_id).values_list(
                    "pk", flat=True
                )
            )
    policy = scoring.Policy.of(classification_policy())
    now = timezone.now()
    with unscoped():
        provinces = dict(County.objects.filter(pk__in=ids).values_list("pk", "province_id"))
        records = county_records(event, ids)
        with transaction.atomic():
            existing = {
                row.county_id: row
                for row in CountyClassification.objects.select_for_update().filter(
                    event=event, county_id__in=ids
                )
            }
            new_rows, changed = [], []
            for county_id in ids:
                if county_id not in provinces:
                    continue
                result = scoring.classify(records[county_id], policy)
                factors = [factor.as_json() for factor in result.factors]
                row = existing.get(county_id)
                if row is None:
                    new_rows.append(
                        CountyClassification(
                            event=event,
                            province_id=provinces[county_id],
                            county_id=county_id,
                            score=result.score,
                            recommended_level=result.level,
                            factors=factors,
                            computed_at=now,
                        )
                    )
                elif (row.score, row.recommended_level, row.factors) != (result.score, result.level, factors):
                    row.score, row.recommended_level, row.factors = result.score, result.level, factors
                    changed.append(row)
            CountyClassification.objects.bulk_create(new_rows, batch_size=500)
            # Most counties' scores do not move between runs: rewrite only those that did, and date all.
            CountyClassification.objects.bulk_update(
                changed, ["score", "recommended_level", "factors"], batch_size=500
            )
            CountyClassification.objects.filter(event=event, county_id__in=list(existing)).update(
                computed_at=now
            )
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                entity_type="risks.CountyClassification",
                entity_id=str(event.pk),
                entity_label=str(_("Classification of %(n)d counties") % {"n": len(ids)}),
                after={
                    "event": event.pk,
                    "counties": len(new_rows) + len(changed),
                    "policy": policy.__dict__,
                },
                province_id=jurisdiction.province_id if jurisdiction is not None else None,
            )
    return len(ids)


def counties_classify_in_season(*, today: dt.date | None = None) -> int:
    """Classify the counties of every event whose season is open (the nightly job)."""
    today = today or timezone.localdate()
    return sum(
        county_classify(event=event)
        for event in ElectionEvent.objects.filter(opens_on__lte=today, closes_on__gte=today)
    )


def security_level_decide(
    *, actor: Any, event: ElectionEvent, county: County, level: str, reason: str = ""
) -> SecurityLevelDecision:
    """Set a county's security level; a level other than the recommended one needs a written reason."""
    jurisdiction = require(actor, Capability.APPROVE, within=county.jurisdiction)
    if jurisdiction.level == "county":
        raise PermissionDenied(_("A county's level is decided by its province or the national level."))
    errors: dict[str, str] = {}
    _choice(level, SecurityLevel, "level", errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # Fresh recommendation, in the same transaction: a refused decision leaves nothing behind.
        county_classify(event=event, county_ids=[county.pk])
        with unscoped():
            row = CountyClassification.objects.select_for_update().get(event=event, county=county)
        if level != row.recommended_level and not reason.strip():
            raise ValidationError(
                {
                    "reason": _(
                        "The recommended level is %(recommended)s: give the reason for deciding otherwise."
                    )
                    % {"recommended": SecurityLevel(row.recommended_level).label}
                }
            )
        before = {"level": row.level}
        decision = SecurityLevelDecision.objects.create(
            event=event,
            province_id=county.province_id,
            county=county,
            level=level,
            recommended_level=row.recommended_level,
            score=row.score,
            reason=reason.strip(),
            decided_by=actor,
            decided_at=timezone.now(),
        )
        row.level, row.decided_at = level, decision.decided_at
        row.save(update_fields=["level", "decided_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=decision,
            before=before,
            after={
                "level": level,
                "recommended_level": row.recommended_level,
                "score": row.score,
                "reason": decision.reason,
            },
        )
        message = _("%(county)s has been classified %(level)s.") % {
            "county": county.name,
            "level": SecurityLevel(level).label,
        }
        url = reverse("risks:county", args=[event.pk, county.pk])
        transaction.on_commit(
            lambda: notification_send_many(messages=[(_county_team(county.pk), message, url)])
        )
    return decision


# --- duties of the level ---------------------------------------------------------------------


def county_duty_complete(
    *, actor: Any, event: ElectionEvent, county: County, template: DutyTemplate, evidence: str
) -> CountyDuty:
    """Tick off a duty of the county's current level, with the evidence that it is done."""
    require(actor, Capability.EDIT, within=county.jurisdiction)
    errors: dict[str, str] = {}
    with unscoped():
        current = (
            CountyClassification.objects.filter(event=event, county=county)
            .values_list("level", flat=True)
            .first()
        )
    if not current:
        errors["template"] = _("The county's security level has not been decided yet.")
    elif template.level != current or not template.is_active:
        errors["template"] = _("This duty is not on the checklist of the county's level.")
    if not evidence.strip():
        errors["evidence"] = _("Describe the evidence that the duty is done.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        with unscoped():
            duty, _created = CountyDuty.objects.select_for_update().get_or_create(
                event=event, county=county, template=template, defaults={"province_id": county.province_id}
            )
        before = snapshot(duty, ["is_done", "evidence", "done_on"])
        duty.is_done, duty.evidence = True, evidence.strip()
        duty.done_by, duty.done_on = actor, timezone.localdate()
        duty.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=duty,
            before=before,
            after=snapshot(duty, ["is_done", "evidence", "done_on"]),
        )
    return duty


def county_duty_reopen(*, actor: Any, duty: CountyDuty, reason: str) -> CountyDuty:
    """Mark a ticked duty as not done after all, with the reason."""
    require(actor, Capability.EDIT, within=duty.jurisdiction)
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for reopening the duty.")})
    if not duty.is_done:
        return duty
    with transaction.atomic():
        before = snapshot(duty, ["is_done", "evidence", "done_on"])
        duty.is_done, duty.done_by, duty.done_on = False, None, None
        duty.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=duty,
            before=before,
            after={"is_done": False, "reason": reason.strip()},
        )
    return duty
