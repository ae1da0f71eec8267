"""The incident taxonomy and the response deadlines: national administrators' reference data.

Categories are added, renamed, re-graded, retired and restored here; the deadlines table holds the
hours allowed per severity, with per-category overrides. Anyone else gets 403.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amanat.accounts.roles import Capability
from amanat.incidents import selectors, services
from amanat.incidents.forms.cases import (
    CategoryCreateForm,
    CategoryEditForm,
    DeadlineForm,
    category_label,
    service_errors,
)
from amanat.incidents.models import IncidentCategory, Severity


def _require_national_administrator(user: Any) -> None:
    if not (user.can(Capability.ADMINISTER) and user.jurisdiction.level == "national"):
        raise Http404


def _category(user: Any, category_id: int) -> IncidentCategory:
    categories = selectors.incident_category_list_for(user=user, active_only=False)
    try:
        return categories.get(pk=category_id)
    except IncidentCategory.DoesNotExist as exc:
        raise Http404 from exc


@dataclass
class DeadlineRow:
    """One line of the deadlines table: the default (category None) or a category, hours per severity."""

    category: IncidentCategory | None
    label: str
    hours: list[int | None]


def _deadline_rows(user: Any, categories: list[IncidentCategory]) -> list[DeadlineRow]:
    severities = [s for s, _label in Severity.choices]
    table: dict[int | None, dict[str, int]] = {}
    for row in selectors.response_deadline_list_for(user=user):
        table.setdefault(row.category_id, {})[row.severity] = row.hours
    rows = [DeadlineRow(None, _("Default"), [table.get(None, {}).get(s) for s in severities])]
    for category in categories:
        own = table.get(category.pk)
        if own:
            rows.append(DeadlineRow(category, category_label(category), [own.get(s) for s in severities]))
    return rows


def _categories_page(
    request: HttpRequest,
    *,
    form: CategoryCreateForm | None = None,
    deadline_form: DeadlineForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user: Any = request.user
    categories = list(selectors.incident_category_list_for(user=user, active_only=False))
    context = {
        "categories": [(category, category_label(category)) for category in categories],
        "form": form or CategoryCreateForm(auto_id="id_category_%s"),
        "deadline_form": deadline_form or DeadlineForm(user=user, auto_id="id_deadline_%s"),
        "severities": Severity.choices,
        "deadline_rows": _deadline_rows(user, categories),
    }
    return render(request, "incidents/categories.html", context, status=status)


@login_required
def categories(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    _require_national_administrator(user)
    if request.method != "POST":
        return _categories_page(request)
    form = CategoryCreateForm(request.POST, auto_id="id_category_%s")
    if form.is_valid():
        try:
            category = services.incident_category_create(actor=user, **form.cleaned_data)
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("The category “%(name)s” was added.") % {"name": category.name})
            return redirect("incidents:categories")
    return _categories_page(request, form=form, status=400)


@login_required
def category_edit(request: HttpRequest, incident_category_id: int) -> HttpResponse:
    user: Any = request.user
    category = _category(user, incident_category_id)
    _require_national_administrator(user)
    if request.method != "POST":
        form = CategoryEditForm(
            initial={
                "name": category.name,
                "name_en": category.name_en,
                "default_severity": category.default_severity,
                "is_violation": category.is_violation,
                "is_active": category.is_active,
            }
        )
        return render(request, "incidents/category_edit.html", {"category": category, "form": form})
    form = CategoryEditForm(request.POST)
    if form.is_valid():
        try:
            services.incident_category_update(actor=user, category=category, **form.cleaned_data)
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("The category was saved."))
            return redirect("incidents:categories")
    return render(request, "incidents/category_edit.html", {"category": category, "form": form}, status=400)


@login_required
@require_POST
def category_toggle(request: HttpRequest, incident_category_id: int) -> HttpResponse:
    """Retire a category in use, or restore a retired one."""
    user: Any = request.user
    category = _category(user, incident_category_id)
    _require_national_administrator(user)
    services.incident_category_update(actor=user, category=category, is_active=not category.is_active)
    if category.is_active:
        messages.success(request, _("The category was retired: it is no longer offered for new reports."))
    else:
        messages.success(request, _("The category was restored."))
    return redirect("incidents:categories")


@login_required
@require_POST
def deadline_set(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    _require_national_administrator(user)
    form = DeadlineForm(request.POST, user=user, auto_id="id_deadline_%s")
    if form.is_valid():
        try:
            services.response_deadline_set(actor=user, **form.cleaned_data)
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("The response deadline was set."))
            return redirect("incidents:categories")
    return _categories_page(request, deadline_form=form, status=400)


urlpatterns = [
    path("categories/", categories, name="categories"),
    path("categories/<int:incident_category_id>/", category_edit, name="category-edit"),
    path("categories/<int:incident_category_id>/active/", category_toggle, name="category-toggle"),
    path("deadlines/", deadline_set, name="deadline-set"),
]
