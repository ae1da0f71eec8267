"""Shared state for the atlas tests: an atlas for county A1, and a factory of assessed risks."""

from collections.abc import Callable
from typing import Any

import pytest

from amanat.risks import services
from amanat.risks.models import Atlas, Risk, RiskCategory


@pytest.fixture
def category(db: Any) -> RiskCategory:
    """A category of the seeded taxonomy (the migration loads it)."""
    return RiskCategory.objects.get(code="communication-lines")


@pytest.fixture
def atlas_a1(county_user: Any, world: Any, event: Any) -> Atlas:
    return services.atlas_open(actor=county_user, event=event, county=world.county_a1)


@pytest.fixture
def atlas_b1(outsider: Any, world: Any, event: Any) -> Atlas:
    return services.atlas_open(actor=outsider, event=event, county=world.county_b1)


@pytest.fixture
def make_risk(county_user: Any, category: RiskCategory) -> Callable[..., Risk]:
    """Record a risk through the service, assessed and treated unless told otherwise."""

    def make(atlas: Atlas, actor: Any = None, **fields: Any) -> Risk:
        values: dict[str, Any] = {
            "kind": "vulnerability",
            "phase": "during",
            "category": category,
            "title": "قطع خط فیبر نوری شعب روستایی",
            "likelihood": 3,
            "impact": 4,
            "treatment": "mitigate",
        }
        values.update(fields)
        return services.risk_create(actor=actor or county_user, atlas=atlas, **values)

    return make
