"""Reading cases, queues and figures; bulk actions; evidence download."""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest
from ninja import Query
from ninja.pagination import LimitOffsetPagination, paginate

from amanat.committees.api import ErrorsOut
from amanat.incidents import selectors, services
from amanat.incidents.api.parsing import (
    _assignee,
    _case,
    _case_in_body,
    _figures,
    _organisation,
    _renamed,
)
from amanat.incidents.api.routing import router
from amanat.incidents.api.schemas import (
    ISO,
    BulkIn,
    BulkOut,
    DuplicateOut,
    FiguresOut,
    IncidentDetailOut,
    IncidentOut,
    ListFilter,
    QueueFilter,
    TimelineOut,
)

# --- reading ---------------------------------------------------------------------------------


@router.get(
    "/",
    response=list[IncidentOut],
    summary="Cases within your jurisdiction, the newest first, filtered as on the list page",
    description=(
        "`q` searches descriptions, comments and merged reports (Persian forms, ZWNJ, digits and "
        f"diacritics folded). Filters that do not parse are ignored. {ISO}"
    ),
)
@paginate(LimitOffsetPagination)
def incident_list(request: HttpRequest, filters: Query[ListFilter]) -> Any:
    return selectors.incident_list_for(
        user=request.user, filters=selectors.IncidentFilters.from_params(request.GET)
    )


@router.get(
    "/figures",
    response=FiguresOut,
    summary="Counts, median handling time and the share done within deadline, by category, county, state",
    description="The list's filters. Handling time runs from receipt to resolution, the same for every case.",
)
def incident_figures(request: HttpRequest, filters: Query[ListFilter]) -> Any:
    figures = selectors.incident_figures_for(
        user=request.user, filters=selectors.IncidentFilters.from_params(request.GET)
    )
    return {
        "overall": _figures(figures.overall),
        "by_category": [_figures(group) for group in figures.by_category],
        "by_county": [_figures(group) for group in figures.by_county],
        "by_state": [_figures(group) for group in figures.by_state],
    }


@router.get(
    "/queue",
    response=list[IncidentOut],
    summary="Your queue: open cases assigned to you or your organisation, the earliest deadline first",
)
@paginate(LimitOffsetPagination)
def incident_queue(request: HttpRequest, filters: Query[QueueFilter]) -> Any:
    return selectors.incident_queue_for(user=request.user, mine_only=filters.mine)


@router.post(
    "/bulk",
    response={200: BulkOut, 400: ErrorsOut},
    summary="Apply one action to many cases (situation rooms): each case moved and audited on its own",
    description=(
        "`action` is moderate, triage (with `severity`, optional), assign (with `organisation_id`, and "
        "`assignee_id` optionally), merge (with `into_id` and `reason`), close or reject (with "
        "`reason`). Cases the action cannot apply to are listed in `errors` and left as they were."
    ),
)
def incident_bulk(request: HttpRequest, payload: BulkIn) -> Any:
    organisation = (
        None if payload.organisation_id is None else _organisation(request, payload.organisation_id)
    )
    assignee = _assignee(request, payload.assignee_id)
    into = None if payload.into_id is None else _case_in_body(request, payload.into_id, "into_id")
    try:
        result = services.incidents_bulk_apply(
            actor=request.user,
            incident_ids=payload.ids,
            action=payload.action,
            organisation=organisation,
            assignee=assignee,
            severity=payload.severity,
            into=into,
            reason=payload.reason,
        )
    except ValidationError as exc:
        raise _renamed(
            exc,
            {
                "organisation": "organisation_id",
                "assignee": "assignee_id",
                "into": "into_id",
                "incidents": "ids",
            },
        ) from exc
    return 200, {
        "done": result.done,
        "errors": [{"id": pk, "msg": str(message)} for pk, message in sorted(result.errors.items())],
    }


@router.get(
    "/evidence/{int:evidence_id}",
    response={200: None},
    url_name="incident_evidence_download",
    summary="Download an evidence file (as an attachment)",
    description="Only within the jurisdiction of its case; served with the type detected at upload.",
)
def evidence_download(request: HttpRequest, evidence_id: int) -> Any:
    evidence = selectors.incident_evidence_get_for(user=request.user, evidence_id=evidence_id)
    try:
        handle = evidence.file.open("rb")
    except OSError as exc:
        raise Http404 from exc
    response = FileResponse(
        handle, as_attachment=True, filename=evidence.original_name, content_type=evidence.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@router.get(
    "/{int:incident_id}",
    response=IncidentDetailOut,
    summary="One case: its details, reporter, referral, files, merged reports and the moves you may make",
)
def incident_detail(request: HttpRequest, incident_id: int) -> Any:
    return _case(request, incident_id)


@router.get(
    "/{int:incident_id}/timeline",
    response=list[TimelineOut],
    summary="The case's history and comments, in time order",
)
def incident_timeline(request: HttpRequest, incident_id: int) -> Any:
    return selectors.incident_timeline_for(user=request.user, incident=_case(request, incident_id))


@router.get(
    "/{int:incident_id}/duplicates",
    response=list[DuplicateOut],
    summary="Possible duplicates: same station or county, same category, close in time, similar text",
)
def incident_duplicates(request: HttpRequest, incident_id: int) -> Any:
    return selectors.incident_duplicates_for(user=request.user, incident=_case(request, incident_id))
