"""Taking reports in: the web form, the API (one or a batch, with idempotency keys) and the public page."""

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amanat.accounts.permissions import Capability, require
from amanat.audit.models import AuditAction
from amanat.audit.services import audit_record, snapshot
from amanat.elections.models import ElectionEvent
from amanat.elections.selectors import election_event_covering
from amanat.geography.models import County
from amanat.geography.selectors import station_place_by_code
from amanat.incidents.evidence import evidence_check
from amanat.incidents.models import (
    ActivityKind,
    Channel,
    Incident,
    IncidentActivity,
    IncidentCategory,
    IncidentEvidence,
    IncidentState,
    Severity,
)
from amanat.incidents.services.taxonomy import deadline_hours, intake_taxonomy
from amanat.persian import normalize
from amanat.scoping import Jurisdiction, unscoped
from amanat.sql import IdBlocks, insert_parts, marks

MAX_DESCRIPTION = 10_000
MAX_EVIDENCE_FILES = 5
# The category a silent (unreachable) station's automatic case is filed under.
OUTAGE_CATEGORY = "outage"


def _fail(field_name: str, message: str) -> ValidationError:
    return ValidationError({field_name: [message]})


@dataclass(frozen=True)
class EvidenceUpload:
    """A file offered as evidence: its name as the client gave it, and its content."""

    name: str
    file: File


@dataclass(frozen=True)
class ReportInput:
    """One report as parsed from a form or an API body, before any check against the database."""

    category_code: str
    occurred_at: dt.datetime
    description: str
    county_code: str = ""
    station_code: str = ""
    address: str = ""
    severity: str = ""
    idempotency_key: str = ""


@dataclass(frozen=True)
class IntakeResult:
    incident: Incident
    created: bool


def _fingerprint(report: ReportInput) -> str:
    payload = {
        "category": report.category_code,
        "occurred_at": report.occurred_at.astimezone(dt.UTC).isoformat(),
        "description": report.description,
        "county": report.county_code,
        "station": report.station_code,
        "address": report.address,
        "severity": report.severity,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _event_for(when: dt.datetime) -> ElectionEvent | None:
    return election_event_covering(day=timezone.localdate(when))


@dataclass(frozen=True)
class _Place:
    province_id: int
    county_id: int
    station_id: int | None


def _check_report(
    report: ReportInput, *, jurisdiction: Jurisdiction | None, now: dt.datetime
) -> tuple[IncidentCategory, _Place, str]:
    """Check one report against the taxonomy, the geography and the reporter's jurisdiction."""
    errors: dict[str, list[str]] = {}
    category = intake_taxonomy().active_by_code.get(report.category_code)
    if category is None:
        errors["category"] = [_("Unknown category.")]
    severity = report.severity or (category.default_severity if category else Severity.MEDIUM)
    if severity not in Severity.values:
        errors["severity"] = [_("Unknown severity.")]
    description = report.description.strip()
    if not description:
        errors["description"] = [_("Describe what happened.")]
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = [_("The description is too long (at most 10,000 characters).")]
    if timezone.is_naive(report.occurred_at):
        errors["occurred_at"] = [_("Give the time with its time zone.")]
    elif report.occurred_at > now + dt.timedelta(seconds=settings.INCIDENT_CLOCK_SKEW_SECONDS):
        errors["occurred_at"] = [_("The time is in the future.")]
    elif report.occurred_at < now - dt.timedelta(days=366 * 2):
        errors["occurred_at"] = [_("The time is more than two years ago.")]
    if len(report.address) > 300:
        errors["address"] = [_("The address is too long (at most 300 characters).")]
    # Ids only: the case needs nothing else of its place, and model instances cost more to build.
    station = None
    if report.station_code.strip():
        station = station_place_by_code(code=report.station_code.strip())
        if station is None or (
            jurisdiction is not None
            and not jurisdiction.covers(
                Jurisdiction(province_id=station.province_id, county_id=station.county_id)
            )
        ):
            errors["station_code"] = [_("Unknown station, or one outside your jurisdiction.")]
            station = None
    place = _Place(station.province_id, station.county_id, station.station_id) if station else None
    if report.county_code.strip():
        with unscoped():
            named = (
                County.objects.filter(code=report.county_code.strip())
                .values_list("pk", "province_id")
                .first()
            )
        if named is None or (
            jurisdiction is not None
            and not jurisdiction.covers(Jurisdiction(province_id=named[1], county_id=named[0]))
        ):
            errors["county_code"] = [_("Unknown county, or one outside your jurisdiction.")]
        elif place is not None and named[0] != place.county_id:
            errors["county_code"] = [_("The station is not in this county.")]
        elif place is None:
            place = _Place(province_id=named[1], county_id=named[0], station_id=None)
    if place is None and not errors.get("station_code") and not errors.get("county_code"):
        errors["county_code"] = [_("Give the polling station or the county where it happened.")]
    if place is not None and station is None and not report.address.strip() and "county_code" not in errors:
        errors["address"] = [_("Give the address when the report is not about a polling station.")]
    if errors:
        raise ValidationError(errors)
    assert category is not None and place is not None
    return category, place, severity


def _evidence_store(
    *, incident: Incident, uploads: Sequence[EvidenceUpload], actor: Any, now: dt.datetime, written: list[Any]
) -> list[IncidentEvidence]:
    """Write the files and their rows; `written` collects the files so a failed block can remove them."""
    stored = []
    for upload in uploads:
        checked = evidence_check(upload.file, name=upload.name)
        evidence = IncidentEvidence(
            incident=incident,
            original_name=upload.name[:200],
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
            uploaded_at=now,
        )
        evidence.file.save(f"{checked.sha256[:16]}.{checked.extension}", upload.file, save=False)
        written.append(evidence.file)
        evidence.save()
        stored.append(evidence)
    return stored


@contextmanager
def _files_removed_on_failure() -> Iterator[list[Any]]:
    """Files written inside the block are deleted again if the block fails (the rows roll back with it)."""
    written: list[Any] = []
    try:
        yield written
    except BaseException:
        for stored in written:
            with suppress(OSError):
                stored.storage.delete(stored.name)
        raise


def _check_evidence_list(uploads: Sequence[EvidenceUpload]) -> None:
    if len(uploads) > MAX_EVIDENCE_FILES:
        raise _fail("evidence", _("At most %(n)d files per report.") % {"n": MAX_EVIDENCE_FILES})
    for upload in uploads:
        evidence_check(upload.file, name=upload.name)


def _new_case(
    *,
    actor: Any,
    report: ReportInput,
    category: IncidentCategory,
    place: _Place,
    severity: str,
    channel: str,
    state: str,
    now: dt.datetime,
    reporter_name: str = "",
    reporter_contact: str = "",
    fingerprint: str = "",
    idempotency_key: str = "",
) -> tuple[Incident, IncidentActivity]:
    """The case and the first line of its timeline, not yet written."""
    incident = Incident(
        province_id=place.province_id,
        county_id=place.county_id,
        event=_event_for(report.occurred_at),
        category=category,
        severity=severity,
        state=state,
        station_id=place.station_id,
        address=report.address.strip(),
        occurred_at=report.occurred_at,
        description=report.description.strip(),
        channel=channel,
        reported_by=actor if getattr(actor, "is_authenticated", False) else None,
        reporter_name=reporter_name.strip()[:100],
        reporter_contact=reporter_contact.strip()[:100],
        idempotency_key=idempotency_key,
        intake_fingerprint=fingerprint,
        received_at=now,
        deadline_at=now + dt.timedelta(hours=deadline_hours(category, severity)),
        search_text=normalize(report.description),
        updated_at=now,
    )
    reported = IncidentActivity(
        actor=incident.reported_by,
        kind=ActivityKind.REPORTED,
        to_state=state,
        note=str(Channel(channel).label),
        at=now,
    )
    return incident, reported


# Reports' ids, taken ahead a block at a time (PostgreSQL), so that a report is written in one
# statement. Within a process they follow the order of intake; across processes only roughly.
_case_ids = IdBlocks(Incident)


def _case_inserts(incident: Incident, reported: IncidentActivity) -> tuple[str, list[Any]]:
    """PostgreSQL: the case and its first timeline line as two expressions of one `WITH` statement.

    The case's id is taken here (see _case_ids), so the line, and an audit entry, can name it.
    """
    incident.pk = reported.incident_id = _case_ids.take()
    case_table, case_columns, case_values = insert_parts(incident, with_id=True)
    line_table, line_columns, line_values = insert_parts(reported)
    return (
        f"new_case AS (INSERT INTO {case_table} ({case_columns}) VALUES ({marks(case_values)})), "
        f"first_line AS (INSERT INTO {line_table} ({line_columns}) VALUES ({marks(line_values)}))",
        [*case_values, *line_values],
    )


def _create(**case: Any) -> Incident:
    """Write the case and its first timeline line (the case's id is needed before what follows)."""
    incident, reported = _new_case(**case)
    if connection.vendor == "postgresql":
        inserts, params = _case_inserts(incident, reported)
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {inserts} SELECT 1", params)
        incident._state.adding, incident._state.db = False, connection.alias
    else:
        incident.save()
        reported.incident = incident
        reported.save()
    return incident


def _create_audited_in_one_statement(*, actor: Any, ip_address: str | None, **case: Any) -> Incident:
    """PostgreSQL, no evidence: the case, its first timeline line and its audit entry in one statement.

    Outside a transaction that statement is the whole transaction: no BEGIN and COMMIT round trips,
    and the audit chain's head is locked only while it runs and commits.
    """
    incident, reported = _new_case(actor=actor, **case)
    along = _case_inserts(incident, reported)
    # Inside a caller's transaction, a savepoint keeps it usable if the statement is refused.
    try:
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                entity=incident,
                after=_audited(incident),
                ip_address=ip_address,
                along=along,
            )
    except IntegrityError as exc:
        if (
            getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "")
            == f"{Incident._meta.db_table}_pkey"
        ):
            _case_ids.forget()  # rows restored under the ids this process held: take a fresh block
        raise
    incident._state.adding, incident._state.db = False, connection.alias
    return incident


def _write_report(
    *, actor: Any, case: dict[str, Any], evidence: Sequence[EvidenceUpload], ip_address: str | None
) -> Incident:
    """The case, its first timeline line, its evidence and its audit entry, all or nothing."""
    if connection.vendor == "postgresql" and not evidence:
        return _create_audited_in_one_statement(actor=actor, ip_address=ip_address, **case)
    with _files_removed_on_failure() as written, transaction.atomic():
        incident = _create(actor=actor, **case)
        if evidence:
            _evidence_store(
                incident=incident, uploads=evidence, actor=actor, now=case["now"], written=written
            )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            entity=incident,
            after=_audited(incident),
            ip_address=ip_address,
        )
    return incident


def incident_report(
    *,
    actor: Any,
    report: ReportInput,
    evidence: Sequence[EvidenceUpload] = (),
    channel: str = Channel.WEB,
    ip_address: str | None = None,
    now: dt.datetime | None = None,
) -> IntakeResult:
    """Take in one report from an official (form or API); a repeated idempotency key returns the first case.

    A key sent again with a different report is refused: it would otherwise silently drop the new one.
    """
    jurisdiction = require(actor, Capability.EDIT)
    now = now or timezone.now()
    key = report.idempotency_key.strip()
    if len(key) > 100:
        raise _fail("idempotency_key", _("The idempotency key is too long (at most 100 characters)."))
    fingerprint = _fingerprint(report) if key else ""
    # A retry is rare, so the key is looked up only when the report cannot be taken in as new: it
    # fails a check (the taxonomy may have changed since the first try), or the key's unique
    # constraint refuses it (a retry, or two requests with one key racing).
    try:
        category, place, severity = _check_report(report, jurisdiction=jurisdiction, now=now)
        _check_evidence_list(evidence)
        case = {
            "report": report,
            "category": category,
            "place": place,
            "severity": severity,
            "channel": channel,
            "state": IncidentState.NEW,
            "now": now,
            "fingerprint": fingerprint,
            "idempotency_key": key,
        }
        incident = _write_report(actor=actor, case=case, evidence=evidence, ip_address=ip_address)
    except (ValidationError, IntegrityError):
        replay = _replay(actor, key, fingerprint) if key else None
        if replay is None:
            raise
        return replay
    return IntakeResult(incident, True)


def _replay(actor: Any, key: str, fingerprint: str) -> IntakeResult | None:
    with unscoped():
        first = Incident.objects.filter(reported_by=actor, idempotency_key=key).first()
    if first is None:
        return None
    if first.intake_fingerprint != fingerprint:
        message = _("This idempotency key was already used for a different report.")
        raise ValidationError({"idempotency_key": ValidationError(message, code="conflict")})
    return IntakeResult(first, False)


def _audited(incident: Incident) -> dict[str, Any]:
    # Reporters' details are personal data: the audit log records that they were given, not what they are.
    data = snapshot(incident, fields=None)
    for name in ("reporter_name", "reporter_contact", "search_text", "description"):
        data.pop(name, None)
    data["has_reporter_details"] = bool(incident.reporter_name or incident.reporter_contact)
    return data


@dataclass
class BatchResult:
    """Per position: the case taken in (and whether it is new), or the errors by field."""

    accepted: dict[int, IntakeResult] = field(default_factory=dict)
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)


def incidents_report_batch(
    *,
    actor: Any,
    reports: Sequence[ReportInput],
    ip_address: str | None = None,
    now: dt.datetime | None = None,
) -> BatchResult:
    """Take in many reports at once: each valid one is kept, each invalid one is named by its position."""
    require(actor, Capability.EDIT)
    if len(reports) > 500:
        raise _fail("reports", _("At most 500 reports per request."))
    now = now or timezone.now()
    result = BatchResult()
    seen: set[str] = set()
    for position, report in enumerate(reports):
        key = report.idempotency_key.strip()
        if key and key in seen:
            result.errors[position] = {"idempotency_key": [_("The same key appears twice in this batch.")]}
            continue
        seen.add(key)
        try:
            result.accepted[position] = incident_report(
                actor=actor, report=report, channel=Channel.API, ip_address=ip_address, now=now
            )
        except ValidationError as error:
            result.errors[position] = _error_dict(error)
    return result


def _error_dict(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {
            name: [str(m) for e in errors for m in e.messages] for name, errors in error.error_dict.items()
        }
    return {"__all__": [str(m) for m in error.messages]}


def incident_report_public(
    *,
    county: County,
    station_code: str,
    category: IncidentCategory,
    occurred_at: dt.datetime,
    description: str,
    reporter_name: str = "",
    reporter_contact: str = "",
    address: str = "",
    evidence: Sequence[EvidenceUpload] = (),
    ip_address: str | None = None,
    now: dt.datetime | None = None,
) -> Incident:
    """Take in a citizen's report from the public page: it waits for moderation before anyone handles it.

    A report not about a polling station may leave the address out (the description usually says where).
    """
    now = now or timezone.now()
    station_code = station_code.strip()
    report = ReportInput(
        category_code=category.code,
        occurred_at=occurred_at,
        description=description,
        county_code=county.code,
        station_code=station_code,
        address=address.strip() or ("" if station_code else _("(given by the public reporter)")),
    )
    errors: dict[str, list[str]] = {}
    for name, value in (("reporter_name", reporter_name), ("reporter_contact", reporter_contact)):
        if len(value.strip()) > 100:
            errors[name] = [_("At most 100 characters.")]
    try:
        checked_category, place, severity = _check_report(report, jurisdiction=None, now=now)
    except ValidationError as error:
        errors = {**_error_dict(error), **errors}
    if errors:
        raise ValidationError(errors)
    _check_evidence_list(evidence)
    with _files_removed_on_failure() as written, transaction.atomic():
        incident = _create(
            actor=None,
            report=report,
            category=checked_category,
            place=place,
            severity=severity,
            channel=Channel.PUBLIC,
            state=IncidentState.AWAITING_MODERATION,
            now=now,
            reporter_name=reporter_name,
            reporter_contact=reporter_contact,
        )
        if evidence:
            _evidence_store(incident=incident, uploads=evidence, actor=None, now=now, written=written)
        audit_record(
            actor=None,
            actor_label="public",
            action=AuditAction.CREATE,
            entity=incident,
            after=_audited(incident),
            ip_address=ip_address,
        )
    return incident
