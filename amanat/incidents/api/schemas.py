"""The incidents API's request and response schemas."""

import datetime as dt
from typing import Annotated, Any, Literal

import pydantic
from django.urls import reverse
from django.utils import timezone
from ninja import Field, Schema

from amanat.committees.api import MAX_ID
from amanat.incidents import selectors, services
from amanat.incidents.models import (
    OPEN_STATES,
    Channel,
    Incident,
    IncidentComment,
    IncidentEvidence,
    IncidentState,
    ResponseDeadline,
)

ISO = "Times are ISO 8601 with their offset (`2027-03-05T08:00:00+03:30`)."
MAX_BATCH = 500
MAX_BULK = 1000
IDEMPOTENCY_HEADER = "Idempotency-Key"

SeverityName = Literal["low", "medium", "high", "critical"]
SLUG = r"^[-a-z0-9]+$"


# --- output ----------------------------------------------------------------------------------


def _person(user: Any) -> str | None:
    return None if user is None else str(user.get_full_name() or user.username)


class ReportedOut(Schema):
    """What a device needs back from an intake: small, read from the case the service returned."""

    id: int
    public_ref: str = Field(description="The case's receipt")
    state: IncidentState
    category_id: int
    severity: SeverityName
    province_id: int
    county_id: int
    station_id: int | None
    occurred_at: dt.datetime
    received_at: dt.datetime
    deadline_at: dt.datetime = Field(description="When the case must be dealt with, from its severity")

    @staticmethod
    def resolve_occurred_at(obj: Incident) -> dt.datetime:
        # In UTC, as read back from the database: a replay answers exactly what the first report did.
        return obj.occurred_at.astimezone(dt.UTC)


class IncidentOut(Schema):
    id: int
    public_ref: str
    state: IncidentState
    severity: SeverityName
    category: str = Field(description="The category's code")
    category_name: str
    channel: Channel
    province_id: int
    county_id: int
    county: str
    station_id: int | None
    station_code: str | None
    address: str
    occurred_at: dt.datetime
    received_at: dt.datetime
    deadline_at: dt.datetime
    overdue: bool = Field(description="Still open and past its deadline")
    escalation_level: int = Field(description="0 at the county; 1 escalated to the province; 2 national")
    assigned_organisation_id: int | None
    assigned_organisation: str | None
    assignee_id: int | None
    assignee: str | None
    description: str

    @staticmethod
    def resolve_category(obj: Incident) -> str:
        return str(obj.category.code)

    @staticmethod
    def resolve_category_name(obj: Incident) -> str:
        return str(obj.category.name)

    @staticmethod
    def resolve_county(obj: Incident) -> str:
        return str(obj.county.name)

    @staticmethod
    def resolve_station_code(obj: Incident) -> str | None:
        return None if obj.station is None else str(obj.station.code)

    @staticmethod
    def resolve_overdue(obj: Incident) -> bool:
        return obj.state in OPEN_STATES and obj.deadline_at < timezone.now()

    @staticmethod
    def resolve_assigned_organisation(obj: Incident) -> str | None:
        organisation = obj.assigned_organisation if obj.assigned_organisation_id else None
        return None if organisation is None else str(organisation.name)

    @staticmethod
    def resolve_assignee(obj: Incident) -> str | None:
        return _person(obj.assignee) if obj.assignee_id else None


class EvidenceOut(Schema):
    id: int
    incident_id: int = Field(description="The case (or the report merged into it) the file came with")
    original_name: str
    content_type: str = Field(description="Detected from the file's content")
    size: int
    sha256: str
    uploaded_by: str | None
    uploaded_at: dt.datetime
    download: str = Field(description="The path that serves the file (as an attachment)")

    @staticmethod
    def resolve_uploaded_by(obj: IncidentEvidence) -> str | None:
        return _person(obj.uploaded_by) if obj.uploaded_by_id else None

    @staticmethod
    def resolve_download(obj: IncidentEvidence) -> str:
        return reverse("api:incident_evidence_download", kwargs={"evidence_id": obj.pk})


class MergedReportOut(Schema):
    id: int
    category: str
    station_code: str | None
    occurred_at: dt.datetime
    description: str
    reason: str

    @staticmethod
    def resolve_category(obj: Incident) -> str:
        return str(obj.category.code)

    @staticmethod
    def resolve_station_code(obj: Incident) -> str | None:
        return None if obj.station is None else str(obj.station.code)


class IncidentDetailOut(IncidentOut):
    event_id: int | None
    reported_by: str | None = Field(description="The official who reported it; null for a public report")
    reporter_name: str = Field(description="A public reporter's name, if given")
    reporter_contact: str = Field(description="A public reporter's contact, if given")
    referral_authority: str
    referral_case_number: str
    referred_at: dt.datetime | None
    resolution: str
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    reason: str = Field(description="Why it was rejected or merged")
    merged_into_id: int | None
    escalated_at: dt.datetime | None
    updated_at: dt.datetime
    actions: list[str] = Field(description="The moves you may make on the case now")
    evidence: list[EvidenceOut] = Field(description="Its files and those of the reports merged into it")
    merged_reports: list[MergedReportOut] = Field(description="Duplicates merged into it, with their text")

    @staticmethod
    def resolve_reported_by(obj: Incident) -> str | None:
        return _person(obj.reported_by) if obj.reported_by_id else None

    @staticmethod
    def resolve_actions(obj: Incident, context: dict[str, Any]) -> list[str]:
        return [str(a) for a in selectors.incident_actions_for(user=context["request"].user, incident=obj)]

    @staticmethod
    def resolve_evidence(obj: Incident, context: dict[str, Any]) -> Any:
        return selectors.incident_evidence_for(user=context["request"].user, incident=obj)

    @staticmethod
    def resolve_merged_reports(obj: Incident, context: dict[str, Any]) -> Any:
        return selectors.incident_merged_reports_for(user=context["request"].user, incident=obj)


class TimelineOut(Schema):
    at: dt.datetime
    actor: str | None
    kind: str = Field(description="reported, triaged, assigned, …, commented")
    label: str
    note: str = Field(description="The reason, resolution, referral or the comment's text")
    from_state: str
    to_state: str
    is_comment: bool

    @staticmethod
    def resolve_actor(obj: selectors.TimelineEntry) -> str | None:
        return _person(obj.actor)


class DuplicateOut(Schema):
    id: int
    state: IncidentState
    severity: SeverityName
    category: str
    station_code: str | None
    county: str
    occurred_at: dt.datetime
    description: str
    similarity: float = Field(description="The share of words the two descriptions have in common, 0 to 1")
    same_station: bool

    @staticmethod
    def resolve_id(obj: selectors.DuplicateSuggestion) -> int:
        return int(obj.incident.pk)

    @staticmethod
    def resolve_state(obj: selectors.DuplicateSuggestion) -> str:
        return str(obj.incident.state)

    @staticmethod
    def resolve_severity(obj: selectors.DuplicateSuggestion) -> str:
        return str(obj.incident.severity)

    @staticmethod
    def resolve_category(obj: selectors.DuplicateSuggestion) -> str:
        return str(obj.incident.category.code)

    @staticmethod
    def resolve_station_code(obj: selectors.DuplicateSuggestion) -> str | None:
        station = obj.incident.station
        return None if station is None else str(station.code)

    @staticmethod
    def resolve_county(obj: selectors.DuplicateSuggestion) -> str:
        return str(obj.incident.county.name)

    @staticmethod
    def resolve_occurred_at(obj: selectors.DuplicateSuggestion) -> dt.datetime:
        return obj.incident.occurred_at

    @staticmethod
    def resolve_description(obj: selectors.DuplicateSuggestion) -> str:
        return str(obj.incident.description)


class GroupOut(Schema):
    key: int | str | None = Field(description="The category's or county's id, or the state; null overall")
    label: str
    total: int
    open: int
    overdue: int = Field(description="Open and past the deadline")
    done: int = Field(description="Resolved, closed, rejected or merged")
    within_deadline: int = Field(description="Done by the deadline")
    median_hours: float | None = Field(description="Median hours from receipt to resolution of the done")
    share_within_deadline: float | None = Field(description="Percent of the done that were on time")


class FiguresOut(Schema):
    overall: GroupOut
    by_category: list[GroupOut]
    by_county: list[GroupOut]
    by_state: list[GroupOut]


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    default_severity: SeverityName
    is_violation: bool = Field(description="A possible offence under election law")
    position: int
    is_active: bool


class DeadlineOut(Schema):
    id: int
    category: str | None = Field(description="The category's code; null for the default of the severity")
    severity: SeverityName
    hours: int

    @staticmethod
    def resolve_category(obj: ResponseDeadline) -> str | None:
        return None if obj.category is None else str(obj.category.code)


class CommentOut(Schema):
    id: int
    incident_id: int
    author: str
    body: str
    created_at: dt.datetime

    @staticmethod
    def resolve_author(obj: IncidentComment) -> str:
        return str(_person(obj.author))


class AcceptedOut(Schema):
    position: int = Field(description="The report's position in `reports`, from 0")
    id: int = Field(description="The case")
    created: bool = Field(description="false: the idempotency key was seen before; this is the first case")


class RefusedOut(Schema):
    position: int = Field(description="The report's position in `reports`, from 0")
    errors: dict[str, list[str]] = Field(description="Messages by field (`__all__` for the whole entry)")


class BatchOut(Schema):
    accepted: list[AcceptedOut]
    errors: list[RefusedOut]


class BulkErrorOut(Schema):
    id: int
    msg: str


class BulkOut(Schema):
    done: list[int] = Field(description="The cases changed")
    errors: list[BulkErrorOut] = Field(description="The cases left as they were, and why")


# --- input -----------------------------------------------------------------------------------


class ReportIn(Schema):
    """One report (in a batch, each is checked on its own: a bad one does not fail the others)."""

    category: str = Field(max_length=40, description="A category's code (see `GET categories`)")
    station_code: str | None = Field(None, max_length=30, description="The polling station, if at one")
    county_code: str | None = Field(None, max_length=30, description="The county (needed without a station)")
    address: str | None = Field(None, description="Where, when not at a polling station")
    occurred_at: pydantic.AwareDatetime = Field(description="When, ISO 8601 with its offset")
    description: str = Field(description="What happened, in Persian or English (up to 10,000 characters)")
    severity: SeverityName | None = Field(None, description="The category's default if left out")
    idempotency_key: str | None = Field(
        None,
        max_length=100,
        description=f"Client-generated, unique per report (or the `{IDEMPOTENCY_HEADER}` header)",
    )

    def as_input(self, key: str | None = None) -> services.ReportInput:
        return services.ReportInput(
            category_code=self.category.strip(),
            occurred_at=self.occurred_at,
            description=self.description,
            county_code=(self.county_code or "").strip(),
            station_code=(self.station_code or "").strip(),
            address=self.address or "",
            severity=self.severity or "",
            idempotency_key=(self.idempotency_key if key is None else key) or "",
        )


class ListFilter(Schema):
    """The list page's filters (values that do not parse are ignored, as on the page)."""

    q: str | None = Field(None, description="Words in the description, comments or merged reports")
    state: str | None = Field(None, description="A state, or `open` for every open one")
    category: str | None = Field(None, description="A category's code")
    severity: str | None = Field(None, description="low, medium, high or critical")
    county: str | None = Field(None, description="A county's id")
    province: str | None = Field(None, description="A province's id")
    event: str | None = Field(None, description="An election event's id")
    overdue: str | None = Field(None, description="`true`: only the open cases past their deadline")
    channel: str | None = Field(None, description="web, api, public or system")
    received_from: str | None = Field(None, alias="from", description="Received on or after (YYYY-MM-DD)")
    received_to: str | None = Field(None, alias="to", description="Received on or before (YYYY-MM-DD)")


class QueueFilter(Schema):
    mine: bool = Field(False, description="Only the cases assigned to you (else your organisation's too)")


class CategoryFilter(Schema):
    include_retired: bool = Field(False, description="Also the categories no longer in use")


class TriageIn(Schema):
    severity: SeverityName | None = Field(None, description="The case's severity (its own if left out)")
    category: str | None = Field(None, max_length=40, description="A category's code to correct it")
    note: str = ""


class AssignIn(Schema):
    organisation_id: int = Field(ge=1, le=MAX_ID, description="An organisation of the case's county line")
    assignee_id: int | None = Field(None, ge=1, le=MAX_ID, description="One of the organisation's people")
    note: str = ""


class ReferIn(Schema):
    authority: str = Field(description="The prosecutor's office or court")
    case_number: str = Field(description="The case number the judiciary assigned")


class ResolveIn(Schema):
    resolution: str


class NoteIn(Schema):
    note: str = ""


class ReasonIn(Schema):
    reason: str


class MergeIn(Schema):
    into_id: int = Field(ge=1, le=MAX_ID, description="The open case of the same county it duplicates")
    reason: str


class CommentIn(Schema):
    body: str


class BulkIn(Schema):
    action: str = Field(description="moderate, triage, assign, merge, close or reject")
    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        max_length=MAX_BULK, description=f"The cases, up to {MAX_BULK}"
    )
    organisation_id: int | None = Field(None, ge=1, le=MAX_ID, description="For assign")
    assignee_id: int | None = Field(None, ge=1, le=MAX_ID, description="For assign (optional)")
    severity: SeverityName | None = Field(None, description="For triage (optional)")
    into_id: int | None = Field(None, ge=1, le=MAX_ID, description="For merge")
    reason: str = Field("", description="For merge and reject; a note for close")


class CategoryIn(Schema):
    code: str = Field(max_length=40, pattern=SLUG, description="Lowercase letters, digits and hyphens")
    name: str = Field(min_length=1, max_length=200)
    name_en: str = Field("", max_length=200)
    default_severity: SeverityName = "medium"
    is_violation: bool = False


class CategoryPatchIn(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    name_en: str | None = Field(None, max_length=200)
    default_severity: SeverityName | None = None
    is_violation: bool | None = None
    is_active: bool | None = Field(None, description="false retires the category; its cases keep it")


class DeadlineIn(Schema):
    severity: SeverityName
    hours: int = Field(description="Hours to deal with a case, 1 to 8760")
    category: str | None = Field(None, max_length=40, description="A category's code; null: the default")


def _inline_schema(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    assert "$defs" not in schema, "inline request schemas must not refer to definitions"
    return schema


REPORT_BODY = _inline_schema(ReportIn)
BATCH_BODY = {
    "type": "object",
    "required": ["reports"],
    "properties": {"reports": {"type": "array", "maxItems": MAX_BATCH, "items": REPORT_BODY}},
}
