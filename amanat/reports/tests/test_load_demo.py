"""`make demo`'s data set: loads on an empty database, twice without duplicating anything."""

from io import StringIO

import pytest
from django.core.management import call_command

from amanat.audit.services import audit_chain_verify
from amanat.elections.models import ElectionEvent
from amanat.readiness.models import ReadinessItem, ReadinessTally, StationReadiness
from amanat.readiness.services import readiness_tallies_recount
from amanat.risks.models import Atlas, AtlasVersion, CountyClassification, Risk, SecurityLevelDecision
from amanat.scoping import unscoped


@pytest.mark.django_db
def test_demo_loads_and_is_idempotent() -> None:
    out = StringIO()
    call_command("load_demo", stations=200, stdout=out)
    assert "demo data ready" in out.getvalue()
    with unscoped():
        counts = (
            Atlas.objects.count(),
            Risk.objects.count(),
            AtlasVersion.objects.count(),
            SecurityLevelDecision.objects.count(),
        )
        assert counts[0] == 1 and counts[1] == 7 and counts[2] == 2 and counts[3] >= 1
        # Every county of the event is classified; the demo county's level was decided with a reason.
        assert CountyClassification.objects.count() == 448
        assert CountyClassification.objects.exclude(level="").count() == counts[3]
    with unscoped():
        # The checklist and the demo province's progress, with tallies equal to a recount.
        assert ReadinessItem.objects.count() == 8
        assert StationReadiness.objects.count() > 0
        kept = sorted(
            ReadinessTally.objects.values_list("item_id", "county_id", "in_progress", "done", "failed")
        )
    readiness_tallies_recount(event=ElectionEvent.objects.get())
    with unscoped():
        assert kept == sorted(
            ReadinessTally.objects.values_list("item_id", "county_id", "in_progress", "done", "failed")
        )
        readiness_rows = StationReadiness.objects.count()
    call_command("load_demo", stations=200, stdout=StringIO())
    with unscoped():
        assert StationReadiness.objects.count() == readiness_rows
        assert (
            Atlas.objects.count(),
            Risk.objects.count(),
            AtlasVersion.objects.count(),
            SecurityLevelDecision.objects.count(),
        ) == counts
    assert list(audit_chain_verify()) == []
    assert ElectionEvent.objects.get().is_demo  # demonstration data says so
