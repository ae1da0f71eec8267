"""The JSON API at /api/v1/: one NinjaAPI, one router per app, errors that name the field."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import SessionAuth

from amanat.accounts.api import TokenAuth
from amanat.accounts.api import router as accounts_router
from amanat.audit.api import router as audit_router
from amanat.committees.api import router as committees_router
from amanat.elections.api import router as elections_router
from amanat.geography.api import router as geography_router
from amanat.incidents.api import router as incidents_router
from amanat.readiness.api import router as readiness_router
from amanat.risks.api import router as risks_router

api = NinjaAPI(
    title="Amanat API",
    version="1",
    description=(
        "Election-operations data scoped to the caller's jurisdiction. Authenticate with "
        "`Authorization: Bearer <token>` (tokens are issued on the account page) or a browser session. "
        'Errors are JSON: `{"detail": [{"loc": [...], "msg": ...}]}` naming the offending field; '
        "objects outside your jurisdiction answer 404 as if they did not exist."
    ),
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
)
api.add_router("/", accounts_router)
api.add_router("/geography/", geography_router)
api.add_router("/elections/", elections_router)
api.add_router("/audit/", audit_router)
api.add_router("/atlas/", risks_router)
api.add_router("/readiness/", readiness_router)
api.add_router("/incidents/", incidents_router)
api.add_router("/committees/", committees_router)


def _field_errors(exc: DjangoValidationError) -> list[dict[str, Any]]:
    if hasattr(exc, "error_dict"):
        return [
            {"loc": ["body", field], "msg": message, "type": "value_error"}
            for field, errors in exc.message_dict.items()
            for message in errors
        ]
    return [{"loc": ["body"], "msg": message, "type": "value_error"} for message in exc.messages]


@api.exception_handler(DjangoValidationError)
def _validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    return api.create_response(request, {"detail": _field_errors(exc)}, status=400)


@api.exception_handler(NinjaValidationError)
def _schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    details = [
        {"loc": list(error.get("loc", [])), "msg": error.get("msg", ""), "type": error.get("type", "")}
        for error in exc.errors
    ]
    return api.create_response(request, {"detail": details}, status=422)


@api.exception_handler(OverflowError)
def _out_of_range(request: HttpRequest, exc: OverflowError) -> HttpResponse:
    # A number too large for the database (an id in a query string, say) is bad input, not a crash.
    detail = [{"loc": ["query"], "msg": "A number is out of range.", "type": "value_error"}]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Permission denied."}, status=403)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": "Authentication required."}, status=401)
