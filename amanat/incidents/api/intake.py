"""Intake: one report (idempotent) and batches of reports."""

from typing import Any

import pydantic
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import ValidationError as NinjaValidationError

from amanat.committees.api import ErrorsOut
from amanat.incidents import services
from amanat.incidents.api.parsing import (
    _by_field,
    _conflict,
    _ip,
    _json_body,
    _schema_errors,
)
from amanat.incidents.api.routing import router
from amanat.incidents.api.schemas import (
    BATCH_BODY,
    IDEMPOTENCY_HEADER,
    ISO,
    MAX_BATCH,
    REPORT_BODY,
    BatchOut,
    ReportedOut,
    ReportIn,
)
from amanat.incidents.models import (
    Channel,
)

# --- intake ----------------------------------------------------------------------------------


@router.post(
    "/",
    response={200: ReportedOut, 201: ReportedOut, 400: ErrorsOut, 409: ErrorsOut, 422: ErrorsOut},
    summary="Report one incident (officials and field devices)",
    description=(
        "`category` is a category's code; the place is a polling station (`station_code`) or a county "
        "(`county_code`) with an `address`, within your jurisdiction; `occurred_at` may not be in the "
        f"future. {ISO} Send a client-generated `idempotency_key` (in the body or the "
        f"`{IDEMPOTENCY_HEADER}` header; both, and they must be equal): the first report answers 201 "
        "with the new case, the same report sent again answers 200 with that same case, and the key "
        "sent with a different report answers 409. Bad fields answer 400 naming them; a body that is "
        "not JSON, or a field of the wrong type, 422."
    ),
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": REPORT_BODY}}}
    },
)
def incident_report(request: HttpRequest) -> Any:
    try:
        report = ReportIn.model_validate(_json_body(request))
    except pydantic.ValidationError as exc:
        raise NinjaValidationError(_schema_errors(exc, "body")) from exc
    key = report.idempotency_key
    header = request.headers.get(IDEMPOTENCY_HEADER)
    if header is not None:
        header = header.strip()
        if key and key.strip() != header:
            raise ValidationError(
                {
                    "idempotency_key": _("The body and the %(header)s header give different keys.")
                    % {"header": IDEMPOTENCY_HEADER}
                }
            )
        if len(header) > 100:
            raise ValidationError(
                {"idempotency_key": _("The idempotency key is too long (at most 100 characters).")}
            )
        key = header
    try:
        result = services.incident_report(
            actor=request.user,
            report=report.as_input(key=(key or "").strip()),
            channel=Channel.API,
            ip_address=_ip(request),
        )
    except ValidationError as exc:
        if _conflict(exc):
            return 409, {
                "detail": [
                    {"loc": ["body", "idempotency_key"], "msg": message, "type": "conflict"}
                    for message in exc.messages
                ]
            }
        raise
    return (201 if result.created else 200), result.incident


@router.post(
    "/batch",
    response={200: BatchOut, 400: ErrorsOut, 422: ErrorsOut},
    summary=f"Report many incidents at once (up to {MAX_BATCH}): the valid ones are kept",
    description=(
        "`reports` holds reports shaped as for `POST /`. Each is checked on its own: every valid one "
        "is taken in (`accepted`, with its case and whether it is new: a report whose idempotency key "
        "was seen before answers its first case), and each refused one is named by its position with "
        "its messages by field (`errors`), a malformed entry included. A body that is not JSON, "
        f"without a `reports` list or with more than {MAX_BATCH} answers 422. {ISO}"
    ),
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": BATCH_BODY}}}
    },
)
def incident_report_batch(request: HttpRequest) -> Any:
    body = _json_body(request)
    raw = body.get("reports") if isinstance(body, dict) else None
    if not isinstance(raw, list):
        raise NinjaValidationError(
            [{"loc": ["body", "reports"], "msg": _("Send the reports as a list."), "type": "list_type"}]
        )
    if len(raw) > MAX_BATCH:
        message = _("At most %(n)d reports per request.") % {"n": MAX_BATCH}
        raise NinjaValidationError([{"loc": ["body", "reports"], "msg": message, "type": "too_long"}])
    errors: dict[int, dict[str, list[str]]] = {}
    reports: list[services.ReportInput] = []
    positions: list[int] = []  # the batch position of each report passed on
    for position, entry in enumerate(raw):
        if not isinstance(entry, dict):
            errors[position] = {"__all__": [_("Each report must be an object.")]}
            continue
        try:
            report = ReportIn.model_validate(entry)
        except pydantic.ValidationError as exc:
            errors[position] = _by_field(exc)
            continue
        positions.append(position)
        reports.append(report.as_input())
    result = services.incidents_report_batch(actor=request.user, reports=reports, ip_address=_ip(request))
    for index, fields in result.errors.items():
        errors[positions[index]] = fields
    accepted = [
        {"position": positions[index], "id": intake.incident.pk, "created": intake.created}
        for index, intake in sorted(result.accepted.items())
    ]
    return 200, {
        "accepted": accepted,
        "errors": [{"position": position, "errors": errors[position]} for position in sorted(errors)],
    }
