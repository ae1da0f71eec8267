"""Reading request bodies and resolving the ids they name within the caller's reach."""

import json
from typing import Any

import pydantic
from axes.helpers import get_client_ip_address
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import ValidationError as NinjaValidationError

from amanat.accounts import selectors as accounts_selectors
from amanat.accounts.models import Organisation, User
from amanat.incidents import selectors
from amanat.incidents.models import (
    Incident,
    IncidentCategory,
)

# --- parsing and resolving -------------------------------------------------------------------


def _json_body(request: HttpRequest) -> Any:
    """The request's JSON body; not JSON at all is a schema error (422) on the body."""
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NinjaValidationError(
            [{"loc": ["body"], "msg": _("The body must be JSON."), "type": "json_invalid"}]
        ) from exc


def _message(error: Any) -> str:
    """A schema error's message in the caller's language (pydantic's own are English only)."""
    kind, context = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind in {"string_type", "string_unicode"}:
        return _("Give text.")
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return _("Give a whole number.")
    if kind.startswith(("datetime_", "timezone_")):
        return _("Give a date and time in ISO 8601 with its time zone, e.g. 2026-11-24T09:30:00+03:30.")
    if kind == "string_too_long" and "max_length" in context:
        return _("At most %(n)d characters.") % {"n": context["max_length"]}
    if kind in {"literal_error", "enum"} and "expected" in context:
        return _("Give one of: %(expected)s.") % {"expected": context["expected"]}
    if kind == "extra_forbidden":
        return _("Unknown field.")
    if kind in {"list_type", "too_long"}:
        return _("Send a list (at most the number of items allowed).")
    return str(error["msg"])


def _schema_errors(exc: pydantic.ValidationError, *prefix: str | int) -> list[dict[str, Any]]:
    return [
        {"loc": [*prefix, *error["loc"]], "msg": _message(error), "type": error["type"]}
        for error in exc.errors(include_url=False)
    ]


def _by_field(exc: pydantic.ValidationError) -> dict[str, list[str]]:
    """A batch entry's schema errors as the service names its errors: messages by top-level field."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        name = str(error["loc"][0]) if error["loc"] else "__all__"
        errors.setdefault(name, []).append(_message(error))
    return errors


def _renamed(exc: ValidationError, names: dict[str, str]) -> ValidationError:
    """A service's error with its field names as the API's payload calls them."""
    if not hasattr(exc, "error_dict"):
        return ValidationError(exc.error_list)
    return ValidationError({names.get(field, field): errors for field, errors in exc.error_dict.items()})


def _referenced(field: str, message: str, get: Any, **kwargs: Any) -> Any:
    """A selector's object named in the request body; out of reach, a 400 on the body's field."""
    try:
        return get(**kwargs)
    except Http404 as exc:
        raise ValidationError({field: message}) from exc


def _organisation(request: HttpRequest, organisation_id: int) -> Organisation:
    organisation = (
        accounts_selectors.organisation_list_for(user=request.user).filter(pk=organisation_id).first()
    )
    if organisation is None:
        raise ValidationError(
            {"organisation_id": _("Unknown organisation, or one outside your jurisdiction.")}
        )
    return organisation


def _assignee(request: HttpRequest, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    return _referenced(  # type: ignore[no-any-return]
        "assignee_id",
        _("Unknown user, or one outside your jurisdiction."),
        accounts_selectors.user_get_for,
        user=request.user,
        user_id=user_id,
    )


def _case_in_body(request: HttpRequest, incident_id: int, field: str) -> Incident:
    return _referenced(  # type: ignore[no-any-return]
        field,
        _("Unknown case, or one outside your jurisdiction."),
        selectors.incident_get_for,
        user=request.user,
        incident_id=incident_id,
    )


def _category(request: HttpRequest, code: str, field: str) -> IncidentCategory:
    category = (
        selectors.incident_category_list_for(user=request.user, active_only=False)
        .filter(code=code.strip())
        .first()
    )
    if category is None:
        raise ValidationError({field: _("Unknown category.")})
    return category


def _case(request: HttpRequest, incident_id: int) -> Incident:
    return selectors.incident_get_for(user=request.user, incident_id=incident_id)


def _ip(request: HttpRequest) -> str | None:
    return get_client_ip_address(request)  # type: ignore[no-any-return]


def _conflict(exc: ValidationError) -> bool:
    """The service's refusal of a key already used for another report (the only key error left here:
    the schema bounds the key's length). Django drops a dict error's `code`, so the field decides."""
    return hasattr(exc, "error_dict") and set(exc.error_dict) == {"idempotency_key"}


def _figures(group: selectors.GroupFigures) -> dict[str, Any]:
    return {
        "key": group.key,
        "label": group.label,
        "total": group.total,
        "open": group.open,
        "overdue": group.overdue,
        "done": group.done,
        "within_deadline": group.within_deadline,
        "median_hours": group.median_hours,
        "share_within_deadline": group.share_within_deadline,
    }
