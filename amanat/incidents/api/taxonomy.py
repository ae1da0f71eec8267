"""The incident taxonomy and response deadlines: read by everyone, changed by national administrators."""

from typing import Any

from django.http import Http404, HttpRequest
from ninja import Query

from amanat.committees.api import ErrorsOut
from amanat.incidents import selectors, services
from amanat.incidents.api.parsing import (
    _category,
)
from amanat.incidents.api.routing import router
from amanat.incidents.api.schemas import (
    CategoryFilter,
    CategoryIn,
    CategoryOut,
    CategoryPatchIn,
    DeadlineIn,
    DeadlineOut,
)

# --- reading ---------------------------------------------------------------------------------


@router.get(
    "/categories",
    response=list[CategoryOut],
    summary="The incident taxonomy, in order",
)
def category_list(request: HttpRequest, filters: Query[CategoryFilter]) -> Any:
    return selectors.incident_category_list_for(user=request.user, active_only=not filters.include_retired)


@router.post(
    "/categories",
    response={201: CategoryOut, 400: ErrorsOut},
    summary="Add a category to the taxonomy (national administrators)",
)
def category_create(request: HttpRequest, payload: CategoryIn) -> Any:
    return 201, services.incident_category_create(actor=request.user, **payload.dict())


@router.patch(
    "/categories/{code}",
    response={200: CategoryOut, 400: ErrorsOut},
    summary="Rename, re-grade, retire or restore a category (national administrators)",
    description="Only the fields sent change; the code stays.",
)
def category_update(request: HttpRequest, code: str, payload: CategoryPatchIn) -> Any:
    category = (
        selectors.incident_category_list_for(user=request.user, active_only=False).filter(code=code).first()
    )
    if category is None:
        raise Http404
    changes = {name: value for name, value in payload.dict(exclude_unset=True).items() if value is not None}
    return 200, services.incident_category_update(actor=request.user, category=category, **changes)


@router.get(
    "/deadlines",
    response=list[DeadlineOut],
    summary="The response deadlines: the default of each severity, then each category's own",
)
def deadline_list(request: HttpRequest) -> Any:
    return selectors.response_deadline_list_for(user=request.user)


@router.put(
    "/deadlines",
    response={200: DeadlineOut, 400: ErrorsOut},
    summary="Set the hours a case of a severity (and category, if named) has (national administrators)",
    description="Cases received afterwards get the new deadline; a category's rule wins over the default.",
)
def deadline_set(request: HttpRequest, payload: DeadlineIn) -> Any:
    category = None if payload.category is None else _category(request, payload.category, "category")
    row = services.response_deadline_set(
        actor=request.user, severity=payload.severity, hours=payload.hours, category=category
    )
    return 200, row
