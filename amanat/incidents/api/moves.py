"""Moving a case through its states; comments and evidence."""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import File, UploadedFile

from amanat.committees.api import ErrorsOut
from amanat.incidents import services
from amanat.incidents.api.parsing import (
    _assignee,
    _case,
    _case_in_body,
    _category,
    _organisation,
    _renamed,
)
from amanat.incidents.api.routing import router
from amanat.incidents.api.schemas import (
    AssignIn,
    CommentIn,
    CommentOut,
    EvidenceOut,
    IncidentDetailOut,
    MergeIn,
    NoteIn,
    ReasonIn,
    ReferIn,
    ResolveIn,
    TriageIn,
)
from amanat.incidents.models import (
    Incident,
)

# --- moves -----------------------------------------------------------------------------------

MOVE = {200: IncidentDetailOut, 400: ErrorsOut}


def _moved(request: HttpRequest, incident: Incident) -> tuple[int, Incident]:
    return 200, _case(request, incident.pk)


@router.post(
    "/{int:incident_id}/moderate", response=MOVE, summary="Accept a public report into the handling queue"
)
def incident_moderate(request: HttpRequest, incident_id: int) -> Any:
    incident = services.incident_moderate(actor=request.user, incident=_case(request, incident_id))
    return _moved(request, incident)


@router.post(
    "/{int:incident_id}/triage",
    response=MOVE,
    summary="Triage a new case: confirm or correct its severity and category (the deadline follows)",
)
def incident_triage(request: HttpRequest, incident_id: int, payload: TriageIn) -> Any:
    incident = _case(request, incident_id)
    category = None if payload.category is None else _category(request, payload.category, "category")
    moved = services.incident_triage(
        actor=request.user, incident=incident, severity=payload.severity, category=category, note=payload.note
    )
    return _moved(request, moved)


@router.post(
    "/{int:incident_id}/assign",
    response=MOVE,
    summary="Assign (or reassign) the case to an organisation, and optionally one of its people",
)
def incident_assign(request: HttpRequest, incident_id: int, payload: AssignIn) -> Any:
    incident = _case(request, incident_id)
    organisation = _organisation(request, payload.organisation_id)
    assignee = _assignee(request, payload.assignee_id)
    try:
        moved = services.incident_assign(
            actor=request.user,
            incident=incident,
            organisation=organisation,
            assignee=assignee,
            note=payload.note,
        )
    except ValidationError as exc:
        raise _renamed(exc, {"organisation": "organisation_id", "assignee": "assignee_id"}) from exc
    return _moved(request, moved)


@router.post(
    "/{int:incident_id}/start", response=MOVE, summary="Start work on an assigned case (its organisation)"
)
def incident_start(request: HttpRequest, incident_id: int) -> Any:
    return _moved(request, services.incident_start(actor=request.user, incident=_case(request, incident_id)))


@router.post(
    "/{int:incident_id}/refer",
    response=MOVE,
    summary="Record the referral to the judiciary, with the case number they gave",
)
def incident_refer(request: HttpRequest, incident_id: int, payload: ReferIn) -> Any:
    moved = services.incident_refer(
        actor=request.user,
        incident=_case(request, incident_id),
        authority=payload.authority,
        case_number=payload.case_number,
    )
    return _moved(request, moved)


@router.post("/{int:incident_id}/resolve", response=MOVE, summary="Record how the case was dealt with")
def incident_resolve(request: HttpRequest, incident_id: int, payload: ResolveIn) -> Any:
    moved = services.incident_resolve(
        actor=request.user, incident=_case(request, incident_id), resolution=payload.resolution
    )
    return _moved(request, moved)


@router.post("/{int:incident_id}/close", response=MOVE, summary="Close a resolved case (an approver)")
def incident_close(request: HttpRequest, incident_id: int, payload: NoteIn | None = None) -> Any:
    note = payload.note if payload is not None else ""
    return _moved(
        request, services.incident_close(actor=request.user, incident=_case(request, incident_id), note=note)
    )


@router.post(
    "/{int:incident_id}/reopen",
    response=MOVE,
    summary="Send a resolved case back to work, saying why (an approver)",
)
def incident_reopen(request: HttpRequest, incident_id: int, payload: ReasonIn) -> Any:
    moved = services.incident_reopen(
        actor=request.user, incident=_case(request, incident_id), reason=payload.reason
    )
    return _moved(request, moved)


@router.post("/{int:incident_id}/reject", response=MOVE, summary="Reject a report, with the reason")
def incident_reject(request: HttpRequest, incident_id: int, payload: ReasonIn) -> Any:
    moved = services.incident_reject(
        actor=request.user, incident=_case(request, incident_id), reason=payload.reason
    )
    return _moved(request, moved)


@router.post(
    "/{int:incident_id}/merge",
    response=MOVE,
    summary="Merge a duplicate into another open case of its county (both reports' text and files stay)",
)
def incident_merge(request: HttpRequest, incident_id: int, payload: MergeIn) -> Any:
    incident = _case(request, incident_id)
    into = _case_in_body(request, payload.into_id, "into_id")
    try:
        moved = services.incident_merge(
            actor=request.user, incident=incident, into=into, reason=payload.reason
        )
    except ValidationError as exc:
        raise _renamed(exc, {"into": "into_id"}) from exc
    return _moved(request, moved)


# --- comments and evidence -------------------------------------------------------------------


@router.post(
    "/{int:incident_id}/comments",
    response={201: CommentOut, 400: ErrorsOut},
    summary="Add a comment to the case (searchable with it)",
)
def incident_comment(request: HttpRequest, incident_id: int, payload: CommentIn) -> Any:
    comment = services.incident_comment_add(
        actor=request.user, incident=_case(request, incident_id), body=payload.body
    )
    return 201, comment


@router.post(
    "/{int:incident_id}/evidence",
    response={201: list[EvidenceOut], 400: ErrorsOut},
    summary="Attach evidence files to the case (multipart, field `file`, one or more)",
    description=(
        "Photos (JPEG, PNG, WebP, HEIC), PDF, video (MP4, MOV) or audio (MP3, M4A, OGG), checked by "
        "their content, not their name; a file named as another type than it is, or too large, is "
        "refused (400 naming `file`) and nothing of the request is kept."
    ),
)
def incident_evidence(request: HttpRequest, incident_id: int, file: File[list[UploadedFile]]) -> Any:
    incident = _case(request, incident_id)
    uploads = [services.EvidenceUpload(name=upload.name or "", file=upload) for upload in file]
    try:
        stored = services.incident_evidence_add(actor=request.user, incident=incident, uploads=uploads)
    except ValidationError as exc:
        raise _renamed(exc, {"evidence": "file"}) from exc
    return 201, stored
