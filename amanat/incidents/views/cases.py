"""The officials' incident pages: the filtered list and its bulk actions, the report form, a case and
its actions, evidence, comments and timeline, the personal queue and the moderation queue.

Pages parse the input, call one service per POST (or the selectors), and render. A case outside the
caller's jurisdiction answers 404 from the selectors; a role refusal answers 403 (Django's handler),
after the case was found. Only the actions `incident_actions_for` lists are offered on a case.
The figures, the exports and the taxonomy pages live in `reports.py` and `taxonomy.py`; their routes
are joined to this module's, which `amanat.incidents.urls` includes.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from axes.helpers import get_client_ip_address
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from amanat.accounts.roles import Capability
from amanat.incidents import selectors, services
from amanat.incidents.forms.cases import (
    ACTION_FORMS,
    BULK_LIMIT,
    FILTER,
    PAGE,
    AbsorbForm,
    BulkForm,
    CommentForm,
    EvidenceForm,
    ReportForm,
    action_form,
    category_label,
    service_errors,
)
from amanat.incidents.models import OPEN_STATES, Channel, Incident, IncidentState
from amanat.incidents.views import reports, taxonomy
from amanat.incidents.views.common import filter_context, incident_filters, is_overdue, rows_of
from amanat.incidents.workflow import Action, transition_for
from amanat.ui.formatting import localize_digits
from amanat.ui.pagination import paginate

ACTION_LABELS: dict[str, Any] = {
    Action.MODERATE: gettext_lazy("Accept into handling"),
    Action.TRIAGE: gettext_lazy("Triage"),
    Action.ASSIGN: gettext_lazy("Assign"),
    Action.START: gettext_lazy("Start work"),
    Action.REFER: gettext_lazy("Refer to the judiciary"),
    Action.RESOLVE: gettext_lazy("Resolve"),
    Action.CLOSE: gettext_lazy("Close"),
    Action.REOPEN: gettext_lazy("Reopen"),
    Action.REJECT: gettext_lazy("Reject"),
    Action.MERGE: gettext_lazy("Merge into another case"),
}
DONE_MESSAGES: dict[str, Any] = {
    Action.MODERATE: gettext_lazy("The report was accepted into handling."),
    Action.TRIAGE: gettext_lazy("The case was triaged."),
    Action.ASSIGN: gettext_lazy("The case was assigned."),
    Action.START: gettext_lazy("Work on the case has started."),
    Action.REFER: gettext_lazy("The referral to the judiciary was recorded."),
    Action.RESOLVE: gettext_lazy("The case was resolved."),
    Action.CLOSE: gettext_lazy("The case was closed."),
    Action.REOPEN: gettext_lazy("The case was reopened."),
    Action.REJECT: gettext_lazy("The report was rejected."),
    Action.MERGE: gettext_lazy("The case was merged into the other one."),
}
# The states in which evidence may still be added (the service refuses the others).
EVIDENCE_CLOSED_STATES = {IncidentState.CLOSED, IncidentState.MERGED, IncidentState.REJECTED}


# --- who may do what -------------------------------------------------------------------------


def _require_edit(user: Any) -> None:
    """Refuse a caller whose role does not record incidents: the page is not there for them (404)."""
    if not user.can(Capability.EDIT):
        raise Http404


def _htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request"))


def _next_url(request: HttpRequest) -> str:
    """Where a form asks to go back to, if it is a page of this site."""
    url = str(request.POST.get("next") or "")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


# --- the list and its bulk actions ------------------------------------------------------------

# A situation room's list may hold a million cases: count them only this far (the rest: "more than").
LIST_COUNT_LIMIT = 1000


def _list_context(request: HttpRequest) -> dict[str, Any]:
    user: Any = request.user
    filters = incident_filters(request.GET)
    now = timezone.now()
    page = paginate(
        request,
        selectors.incident_list_for(user=user, filters=filters, now=now),
        count_limit=LIST_COUNT_LIMIT,
    )
    return {
        "filters": filters,
        "page": page,
        "rows": rows_of(page, now),
        "selectable": bool(user.can(Capability.EDIT)),
        "query": request.GET.urlencode(),
    }


@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    context = _list_context(request)
    if _htmx(request):
        return render(request, "incidents/partials/incident_table.html", context)
    context.update(filter_context(request, context["filters"]))
    if context["selectable"]:
        context["bulk_form"] = BulkForm(
            user=user, initial={"filter": context["query"], "next": request.get_full_path()}
        )
    return render(request, "incidents/incident_list.html", context)


def _bulk_ids(request: HttpRequest, form: BulkForm) -> list[int]:
    """The cases a bulk action is for: the checked ones, the page's, or the filter's (at most BULK_LIMIT)."""
    data = form.cleaned_data
    if data["selection"] == PAGE:
        return list(data["page_ids"])
    if data["selection"] == FILTER:
        filters = incident_filters(QueryDict(data["filter"]))
        ids = list(
            selectors.incident_list_for(user=request.user, filters=filters).values_list("pk", flat=True)[
                : BULK_LIMIT + 1
            ]
        )
        if len(ids) > BULK_LIMIT:
            form.add_error(
                "selection",
                _("More than %(n)s cases match the filter: narrow it first.")
                % {"n": localize_digits(BULK_LIMIT)},
            )
        return ids
    return list(data["ids"])


@login_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Apply one action to many cases (each through its own service call and audit entry)."""
    user: Any = request.user
    _require_edit(user)
    form = BulkForm(request.POST, user=user)
    result = None
    if form.is_valid():
        data = form.cleaned_data
        ids = _bulk_ids(request, form)
        into = None
        if data["action"] == Action.MERGE and data.get("into"):
            try:
                into = selectors.incident_get_for(user=user, incident_id=data["into"])
            except Http404:
                form.add_error("into", _("Unknown case, or one outside your jurisdiction."))
        if not form.errors:
            try:
                result = services.incidents_bulk_apply(
                    actor=user,
                    incident_ids=ids,
                    action=data["action"],
                    organisation=data.get("organisation"),
                    severity=data.get("severity") or None,
                    into=into,
                    reason=data.get("reason") or "",
                )
            except ValidationError as exc:
                service_errors(form, exc, {"incidents": "ids"})
    context = {
        "form": form,
        "result": result,
        "action_label": ACTION_LABELS.get(str(form.data.get("action", "")), ""),
        "next": _next_url(request) or reverse("incidents:list"),
    }
    if _htmx(request):
        # htmx swaps 2xx answers only, so refusals come back as 200 too; the list reloads on a change.
        response = render(request, "incidents/partials/bulk_result.html", context)
        if result is not None and result.done:
            response["HX-Trigger"] = "incidents-changed"
        return response
    return render(request, "incidents/bulk_result.html", context, status=200 if result is not None else 400)


# --- a report filed by an official -------------------------------------------------------------


def _report_page(request: HttpRequest, form: ReportForm, status: int = 200) -> HttpResponse:
    return render(request, "incidents/report_form.html", {"form": form}, status=status)


@login_required
def report_create(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    _require_edit(user)
    if request.method != "POST":
        return _report_page(request, ReportForm(user=user))
    form = ReportForm(request.POST, request.FILES, user=user)
    if form.is_valid():
        data = form.cleaned_data
        report = services.ReportInput(
            category_code=data["category"].code,
            occurred_at=data["occurred_at"],
            description=data["description"],
            county_code=data["county"].code if data["county"] is not None else "",
            station_code=data["station_code"].strip(),
            address=data["address"].strip(),
            severity=data["severity"],
            idempotency_key=data["idempotency_key"],
        )
        uploads = [
            services.EvidenceUpload(name=upload.name or "", file=upload) for upload in data["evidence"]
        ]
        try:
            result = services.incident_report(
                actor=user,
                report=report,
                evidence=uploads,
                channel=Channel.WEB,
                ip_address=get_client_ip_address(request),
            )
        except ValidationError as exc:
            if "idempotency_key" in getattr(exc, "error_dict", {}):
                # The form was already sent once with other content: a new key lets it go as a new report.
                form.data = request.POST.copy()
                form.data["idempotency_key"] = ReportForm(user=user).initial["idempotency_key"]
            service_errors(form, exc, {**ReportForm.ALIASES, "idempotency_key": "__all__"})
        else:
            incident = result.incident
            if result.created:
                messages.success(
                    request, _("The report was filed as case %(id)s.") % {"id": localize_digits(incident.pk)}
                )
            else:
                messages.info(
                    request,
                    _("This report had already been received, as case %(id)s.")
                    % {"id": localize_digits(incident.pk)},
                )
            return redirect("incidents:detail", incident_id=incident.pk)
    return _report_page(request, form, status=400)


# --- a case ------------------------------------------------------------------------------------


@dataclass
class ActionBlock:
    action: str
    label: Any
    form: forms.Form


@dataclass
class TimelineRow:
    entry: selectors.TimelineEntry
    from_label: str
    to_label: str


@dataclass
class DuplicateRow:
    suggestion: selectors.DuplicateSuggestion
    mergeable: bool

    @property
    def category(self) -> str:
        return category_label(self.suggestion.incident.category)


def _state_label(state: str) -> str:
    try:
        return str(IncidentState(state).label)
    except ValueError:
        return state


def _timeline(user: Any, incident: Incident) -> list[TimelineRow]:
    return [
        TimelineRow(
            entry,
            _state_label(entry.from_state) if entry.from_state else "",
            _state_label(entry.to_state) if entry.to_state else "",
        )
        for entry in selectors.incident_timeline_for(user=user, incident=incident)
    ]


def _can_add_evidence(user: Any, incident: Incident) -> bool:
    return bool(user.can(Capability.EDIT)) and incident.state not in EVIDENCE_CLOSED_STATES


def _timeline_context(
    request: HttpRequest, incident: Incident, comment_form: CommentForm | None = None
) -> dict[str, Any]:
    user: Any = request.user
    can_edit = bool(user.can(Capability.EDIT))
    return {
        "incident": incident,
        "timeline": _timeline(user, incident),
        "comment_form": (comment_form or CommentForm(auto_id="id_comment_%s")) if can_edit else None,
    }


def _case_page(
    request: HttpRequest,
    incident: Incident,
    *,
    status: int = 200,
    submitted: Mapping[str, forms.Form] | None = None,
    comment_form: CommentForm | None = None,
    evidence_form: EvidenceForm | None = None,
    absorb_errors: Iterable[str] = (),
    action_errors: Iterable[str] = (),
) -> HttpResponse:
    user: Any = request.user
    submitted = submitted or {}
    now = timezone.now()
    actions = [str(a) for a in selectors.incident_actions_for(user=user, incident=incident)]
    # A form just sent shows with its errors even when its action is no longer offered.
    shown = actions + [a for a in submitted if a not in actions]
    blocks = [
        ActionBlock(
            action,
            ACTION_LABELS[action],
            submitted.get(action) or action_form(action, user=user, incident=incident),
        )
        for action in shown
    ]
    can_edit = bool(user.can(Capability.EDIT))
    may_absorb = (
        can_edit and incident.state in OPEN_STATES and incident.state != IncidentState.AWAITING_MODERATION
    )
    duplicates = []
    if incident.state in OPEN_STATES:
        duplicates = [
            DuplicateRow(s, may_absorb and transition_for(Action.MERGE, s.incident.state) is not None)
            for s in selectors.incident_duplicates_for(user=user, incident=incident)
        ]
    evidence = list(selectors.incident_evidence_for(user=user, incident=incident))
    context: dict[str, Any] = {
        "incident": incident,
        "category": category_label(incident.category),
        "overdue": is_overdue(incident, now),
        "open": incident.state in OPEN_STATES,
        "blocks": blocks,
        "duplicates": duplicates,
        "absorb_reason": _("Duplicate of case %(id)s") % {"id": localize_digits(incident.pk)},
        "absorb_errors": list(absorb_errors),
        "action_errors": list(action_errors),
        "merged_reports": list(selectors.incident_merged_reports_for(user=user, incident=incident)),
        "evidence": evidence,
        "evidence_form": evidence_form
        or (EvidenceForm(auto_id="id_evidence_%s") if _can_add_evidence(user, incident) else None),
        "can_edit": can_edit,
        **_timeline_context(request, incident, comment_form),
    }
    return render(request, "incidents/incident_detail.html", context, status=status)


@login_required
def incident_detail(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = selectors.incident_get_for(user=request.user, incident_id=incident_id)
    return _case_page(request, incident)


def _apply(action: str, user: Any, incident: Incident, data: dict[str, Any]) -> Incident:
    """Call the one service that makes `action` (Http404 when a merge target is out of reach)."""
    if action == Action.MODERATE:
        return services.incident_moderate(actor=user, incident=incident)
    if action == Action.TRIAGE:
        return services.incident_triage(
            actor=user,
            incident=incident,
            severity=data["severity"],
            category=data["category"],
            note=data["note"],
        )
    if action == Action.ASSIGN:
        return services.incident_assign(
            actor=user,
            incident=incident,
            organisation=data["organisation"],
            assignee=data.get("assignee"),
            note=data["note"],
        )
    if action == Action.START:
        return services.incident_start(actor=user, incident=incident)
    if action == Action.REFER:
        return services.incident_refer(
            actor=user, incident=incident, authority=data["authority"], case_number=data["case_number"]
        )
    if action == Action.RESOLVE:
        return services.incident_resolve(actor=user, incident=incident, resolution=data["resolution"])
    if action == Action.CLOSE:
        return services.incident_close(actor=user, incident=incident, note=data["note"])
    if action == Action.REOPEN:
        return services.incident_reopen(actor=user, incident=incident, reason=data["reason"])
    if action == Action.REJECT:
        return services.incident_reject(actor=user, incident=incident, reason=data["reason"])
    into = selectors.incident_get_for(user=user, incident_id=data["into"])
    return services.incident_merge(actor=user, incident=incident, into=into, reason=data["reason"])


@login_required
@require_POST
def incident_act(request: HttpRequest, incident_id: int) -> HttpResponse:
    """One move of the case (the action is named in the form), through its service."""
    user: Any = request.user
    incident = selectors.incident_get_for(user=user, incident_id=incident_id)
    _require_edit(user)
    action = str(request.POST.get("action") or "")
    if action not in ACTION_FORMS:
        return _case_page(request, incident, status=400, action_errors=[_("Choose an action.")])
    form = action_form(action, user=user, incident=incident, data=request.POST)
    if form.is_valid():
        try:
            _apply(action, user, incident, form.cleaned_data)
        except Http404:
            form.add_error("into", _("Unknown case, or one outside your jurisdiction."))
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, DONE_MESSAGES[action])
            return redirect(_next_url(request) or reverse("incidents:detail", args=[incident.pk]))
    return _case_page(request, incident, status=400, submitted={action: form})


@login_required
@require_POST
def incident_absorb(request: HttpRequest, incident_id: int) -> HttpResponse:
    """Merge a suggested duplicate into this case, keeping its text and evidence."""
    user: Any = request.user
    incident = selectors.incident_get_for(user=user, incident_id=incident_id)
    _require_edit(user)
    form = AbsorbForm(request.POST)
    errors: list[str] = []
    if form.is_valid():
        try:
            duplicate = selectors.incident_get_for(user=user, incident_id=form.cleaned_data["duplicate"])
            services.incident_merge(
                actor=user, incident=duplicate, into=incident, reason=form.cleaned_data["reason"]
            )
        except Http404:
            errors.append(_("Unknown case, or one outside your jurisdiction."))
        except ValidationError as exc:
            errors += [str(m) for m in exc.messages]
        else:
            messages.success(
                request,
                _("Case %(id)s was merged into this one.") % {"id": localize_digits(duplicate.pk)},
            )
            return redirect(reverse("incidents:detail", args=[incident.pk]) + "#merged")
    else:
        errors += [str(m) for messages_ in form.errors.values() for m in messages_]
    return _case_page(request, incident, status=400, absorb_errors=errors)


@login_required
@require_POST
def comment_add(request: HttpRequest, incident_id: int) -> HttpResponse:
    user: Any = request.user
    incident = selectors.incident_get_for(user=user, incident_id=incident_id)
    _require_edit(user)
    form = CommentForm(request.POST, auto_id="id_comment_%s")
    if form.is_valid():
        try:
            services.incident_comment_add(actor=user, incident=incident, body=form.cleaned_data["body"])
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            if _htmx(request):
                return render(
                    request, "incidents/partials/timeline.html", _timeline_context(request, incident)
                )
            messages.success(request, _("The comment was added."))
            return redirect(reverse("incidents:detail", args=[incident.pk]) + "#timeline")
    if _htmx(request):
        # htmx swaps 2xx answers only: the fragment with the form's errors comes back as 200.
        return render(request, "incidents/partials/timeline.html", _timeline_context(request, incident, form))
    return _case_page(request, incident, status=400, comment_form=form)


@login_required
@require_POST
def evidence_add(request: HttpRequest, incident_id: int) -> HttpResponse:
    user: Any = request.user
    incident = selectors.incident_get_for(user=user, incident_id=incident_id)
    _require_edit(user)
    form = EvidenceForm(request.POST, request.FILES, auto_id="id_evidence_%s")
    if form.is_valid():
        uploads = [services.EvidenceUpload(name=f.name or "", file=f) for f in form.cleaned_data["evidence"]]
        try:
            stored = services.incident_evidence_add(actor=user, incident=incident, uploads=uploads)
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(n)s evidence file(s) added.") % {"n": localize_digits(len(stored))},
            )
            return redirect(reverse("incidents:detail", args=[incident.pk]) + "#evidence")
    return _case_page(request, incident, status=400, evidence_form=form)


@login_required
def evidence_download(request: HttpRequest, evidence_id: int) -> FileResponse:
    """An evidence file, as an attachment of the type its content was found to be (never rendered inline)."""
    evidence = selectors.incident_evidence_get_for(user=request.user, evidence_id=evidence_id)
    try:
        handle = evidence.file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=evidence.original_name or f"evidence-{evidence.pk}",
        content_type=evidence.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- queues ----------------------------------------------------------------------------------

QUEUE_TABS: list[tuple[str, Any]] = [
    ("mine", gettext_lazy("Assigned to me")),
    ("organisation", gettext_lazy("Me and my organisation")),
    ("escalated", gettext_lazy("Escalated")),
]


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """A handler's queue: what is assigned to them or their organisation, due first; and escalated cases."""
    user: Any = request.user
    tab = request.GET.get("tab", "")
    if tab not in dict(QUEUE_TABS):
        tab = "mine"
    if tab == "escalated":
        incidents = selectors.incident_escalated_for(user=user)
    else:
        incidents = selectors.incident_queue_for(user=user, mine_only=tab == "mine")
    now = timezone.now()
    page = paginate(request, incidents)
    context = {"tab": tab, "tabs": QUEUE_TABS, "page": page, "rows": rows_of(page, now), "selectable": False}
    if _htmx(request):
        return render(request, "incidents/partials/incident_table.html", context)
    return render(request, "incidents/queue.html", context)


@login_required
def moderation(request: HttpRequest) -> HttpResponse:
    """Public reports awaiting moderation, the oldest first: accept or reject each, or many at once."""
    user: Any = request.user
    page = paginate(request, selectors.incident_moderation_queue_for(user=user))
    now = timezone.now()
    can_edit = bool(user.can(Capability.EDIT))
    context: dict[str, Any] = {
        "page": page,
        "rows": rows_of(page, now),
        "can_edit": can_edit,
        "moderate": Action.MODERATE,
        "reject": Action.REJECT,
    }
    if can_edit:
        context["bulk_form"] = BulkForm(
            user=user,
            actions={Action.MODERATE, Action.REJECT},
            initial={"next": request.get_full_path(), "filter": "state=awaiting_moderation"},
        )
    return render(request, "incidents/moderation.html", context)


# --- routes ----------------------------------------------------------------------------------

urlpatterns = [
    path("", incident_list, name="list"),
    path("new/", report_create, name="new"),
    path("bulk/", bulk, name="bulk"),
    path("queue/", queue, name="queue"),
    path("moderation/", moderation, name="moderation"),
    path("<int:incident_id>/", incident_detail, name="detail"),
    path("<int:incident_id>/act/", incident_act, name="act"),
    path("<int:incident_id>/absorb/", incident_absorb, name="absorb"),
    path("<int:incident_id>/comments/", comment_add, name="comment"),
    path("<int:incident_id>/evidence/", evidence_add, name="evidence-add"),
    path("evidence/<int:evidence_id>/", evidence_download, name="evidence"),
    *reports.urlpatterns,
    *taxonomy.urlpatterns,
]
