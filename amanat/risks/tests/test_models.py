"""Database-level rules of the atlas: constraints and the frozen content of submitted versions."""

from typing import Any

import pytest
from django.db import DatabaseError, transaction

from amanat.risks import services
from amanat.risks.models import AtlasVersion
from amanat.scoping import unscoped


def test_a_submitted_version_cannot_be_changed_even_by_a_stray_query(
    atlas_a1: Any, make_risk: Any, county_user: Any, province_user: Any
) -> None:
    """A trigger (PostgreSQL and SQLite) refuses changes to a version's content; the review may be written."""
    make_risk(atlas_a1)
    v = services.atlas_submit(actor=county_user, atlas=atlas_a1)
    services.atlas_review(actor=province_user, version=v, approve=False, note="x")
    with unscoped():
        changes: list[dict[str, Any]] = [{"content": {"risks": []}}, {"number": 9}, {"note": "changed"}]
        for change in changes:
            with pytest.raises(DatabaseError), transaction.atomic():
                AtlasVersion.objects.filter(pk=v.pk).update(**change)
        AtlasVersion.objects.filter(pk=v.pk).update(review_note="ok")
        assert AtlasVersion.objects.get(pk=v.pk).content == v.content


def test_single_row_rules_are_database_constraints(
    atlas_a1: Any, make_risk: Any, admin: Any, world: Any, event: Any
) -> None:
    from django.db import IntegrityError
    from django.utils import timezone

    from amanat.risks.models import RiskMatrix, SecurityLevelDecision

    risk = make_risk(atlas_a1)
    with unscoped():
        # Half an assessment: likelihood without impact.
        with pytest.raises(IntegrityError), transaction.atomic():
            type(risk).objects.filter(pk=risk.pk).update(impact=None)
        # An approval of acceptance on a risk whose treatment is not acceptance.
        with pytest.raises(IntegrityError), transaction.atomic():
            type(risk).objects.filter(pk=risk.pk).update(acceptance_approved_by=admin)
        # An override without a reason.
        with pytest.raises(IntegrityError), transaction.atomic():
            SecurityLevelDecision.objects.create(
                event=event,
                province=world.province_a,
                county=world.county_a1,
                level="sensitive",
                recommended_level="normal",
                score=3,
                decided_by=admin,
                decided_at=timezone.now(),
            )
    # Two default matrices.
    with pytest.raises(IntegrityError), transaction.atomic():
        RiskMatrix.objects.create(name="دوم", likelihood_levels=3, impact_levels=3, is_default=True)
