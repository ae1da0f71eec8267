from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from amanat.audit import selectors
from amanat.audit.models import AuditAction
from amanat.ui.forms import JalaliDateField
from amanat.ui.pagination import paginate


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", _("All")), *AuditAction.choices]
    )
    entity_type = forms.CharField(label=_("Entity type"), required=False)
    actor = forms.CharField(label=_("Actor"), required=False)
    since = JalaliDateField(label=_("From"), required=False)
    until = JalaliDateField(label=_("To"), required=False)


@login_required
def entry_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = selectors.audit_entry_list_for(user=request.user, **{k: v for k, v in filters.items() if v})
    context = {"form": form, "page": paginate(request, entries)}
    if request.headers.get("HX-Request"):
        return render(request, "audit/partials/entry_table.html", context)
    return render(request, "audit/entry_list.html", context)


@login_required
def entry_detail(request: HttpRequest, seq: int) -> HttpResponse:
    entry = selectors.audit_entry_get_for(user=request.user, seq=seq)
    return render(request, "audit/entry_detail.html", {"entry": entry})
