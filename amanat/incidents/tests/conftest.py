"""Shared state for the incident tests: reports filed through the services, cases brought to any state,
evidence files, and evidence stored under a temporary directory.

Every case is built as a user would build it: the A1 county member (`county_user`, organisation org_a1)
reports, triages and works the case; the province A chair (`province_user`) closes and reopens.
"""

import base64
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from amanat.incidents import services
from amanat.incidents.models import Incident, IncidentCategory, IncidentState
from amanat.scoping import unscoped

# A real 1x1 PNG (made with Pillow): an allowed evidence file.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGM4IScHAAK2AQU0pnWqAAAAAElFTkSuQmCC"
)
DESCRIPTION = "توزیع پول میان رأی‌دهندگان در صف شعبه"


@pytest.fixture
def english() -> Iterator[None]:
    """Error messages are translated (Persian by default); assert on their English wording."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def evidence_root(settings: Any, tmp_path: Path) -> Path:
    """Evidence files of every incident test go to a temporary directory, never to var/evidence."""
    root = tmp_path / "evidence"
    settings.EVIDENCE_ROOT = root
    return root


def evidence_upload(name: str = "photo.png", content: bytes = PNG) -> services.EvidenceUpload:
    """An evidence file as a form or the API hands it to the services."""
    return services.EvidenceUpload(name=name, file=SimpleUploadedFile(name, content))


@pytest.fixture
def file_report(county_user: Any) -> Callable[..., Incident]:
    """File a report through the service as `actor` (the A1 county member unless told); returns the case.

    Defaults: vote buying at station A1-001, an hour ago, with a Persian description.
    """

    def file(*, actor: Any = None, **fields: Any) -> Incident:
        now = fields.pop("now", None) or timezone.now()
        evidence = fields.pop("evidence", ())
        channel = fields.pop("channel", "web")
        values: dict[str, Any] = {
            "category_code": "vote-buying",
            "occurred_at": now - dt.timedelta(hours=1),
            "description": DESCRIPTION,
            "station_code": "A1-001",
        }
        values.update(fields)
        result = services.incident_report(
            actor=actor or county_user,
            report=services.ReportInput(**values),
            evidence=evidence,
            channel=channel,
            now=now,
        )
        return result.incident

    return file


@pytest.fixture
def file_public(world: Any) -> Callable[..., Incident]:
    """A citizen's report from the public page (county A1, station A1-002 unless told): to moderate."""

    def file(**fields: Any) -> Incident:
        now = fields.pop("now", None) or timezone.now()
        category = fields.pop("category", "intimidation")
        values: dict[str, Any] = {
            "county": world.county_a1,
            "station_code": "A1-002",
            "occurred_at": now - dt.timedelta(hours=2),
            "description": "تهدید رأی‌دهندگان کنار در ورودی",
            "reporter_name": "شهروند",
            "reporter_contact": "0912 000 0000",
        }
        values.update(fields)
        return services.incident_report_public(
            category=IncidentCategory.objects.get(code=category), now=now, **values
        )

    return file


def reload(incident: Incident) -> Incident:
    with unscoped():
        return Incident.objects.get(pk=incident.pk)


@pytest.fixture
def case_in(
    file_report: Callable[..., Incident],
    file_public: Callable[..., Incident],
    county_user: Any,
    province_user: Any,
    world: Any,
) -> Callable[..., Incident]:
    """A case brought to `state` through the services, the way a county and its province would."""

    def bring(state: str, **fields: Any) -> Incident:
        if state == IncidentState.AWAITING_MODERATION:
            return file_public(**fields)
        incident = file_report(**fields)
        member, chair = county_user, province_user
        if state == IncidentState.NEW:
            return incident
        if state == IncidentState.REJECTED:
            return services.incident_reject(actor=member, incident=incident, reason="گزارش بی‌پایه")
        if state == IncidentState.MERGED:
            target = file_report(description="گزارش دیگری از همان شعبه")
            return services.incident_merge(actor=member, incident=incident, into=target, reason="تکراری")
        incident = services.incident_triage(actor=member, incident=incident)
        if state == IncidentState.TRIAGED:
            return incident
        incident = services.incident_assign(actor=member, incident=incident, organisation=world.org_a1)
        if state == IncidentState.ASSIGNED:
            return incident
        incident = services.incident_start(actor=member, incident=incident)
        if state == IncidentState.IN_PROGRESS:
            return incident
        if state == IncidentState.REFERRED:
            return services.incident_refer(
                actor=member, incident=incident, authority="دادسرای الف۱", case_number="۱۴۰۵-۱۲۳"
            )
        incident = services.incident_resolve(actor=member, incident=incident, resolution="رسیدگی شد")
        if state == IncidentState.RESOLVED:
            return incident
        assert state == IncidentState.CLOSED, state
        return services.incident_close(actor=chair, incident=incident)

    return bring
