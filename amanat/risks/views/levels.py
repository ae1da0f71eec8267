"""The county identity card (page and PDF), classification, the level maps and table, and duties.

Pages parse the input, call one service or the selectors, and render. Forms a role may not use
are not shown, and their endpoints answer 404 to callers without the capability; objects outside
the caller's jurisdiction answer 404 from the selectors.
"""

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from amanat.accounts.roles import Capability
from amanat.elections.models import ElectionEvent
from amanat.elections.selectors import election_event_get_for, election_event_list_for
from amanat.geography.models import County, Province
from amanat.geography.selectors import county_get_for, province_get_for, province_list_for
from amanat.geography.tiles import tile_layout
from amanat.reports.context_processors import request_current_event
from amanat.risks import exports, selectors, services
from amanat.risks.forms.levels import (
    POLICY_FIELDS,
    ClassifyForm,
    DutyCompleteForm,
    DutyReopenForm,
    DutyTemplateEditForm,
    DutyTemplateForm,
    LevelDecideForm,
    PastElectionForm,
    PolicyForm,
)
from amanat.risks.models import LEVEL_ORDER, ClassificationPolicy, RiskPhase, SecurityLevel
from amanat.ui.formatting import format_number
from amanat.ui.forms import add_service_errors
from amanat.ui.pagination import paginate

UNDECIDED = "undecided"
LEVEL_FILTERS = [*SecurityLevel.values, UNDECIDED]
DEFAULT_SORT = "-score"
# The table's sortable columns, with the direction a first click sorts in.
SORT_COLUMNS = [
    ("county", gettext_lazy("County"), "county"),
    ("province", gettext_lazy("Province"), "province"),
    ("score", gettext_lazy("Score"), "-score"),
    ("recommended", gettext_lazy("Recommended"), "-recommended"),
    ("level", gettext_lazy("Security level"), "-level"),
]


# --- who may do what -------------------------------------------------------------------------


def _require(user: Any, capability: Capability) -> None:
    """Refuse, as if the endpoint did not exist, a caller whose role lacks the capability."""
    if not user.can(capability):
        raise Http404


def _is_decider(user: Any) -> bool:
    """A province or national user who may approve: decides levels, classifies, keeps the record."""
    return bool(user.can(Capability.APPROVE)) and user.jurisdiction.level != "county"


def _require_decider(user: Any) -> None:
    if not _is_decider(user):
        raise Http404


def _require_national_administrator(user: Any) -> None:
    if not (user.can(Capability.ADMINISTER) and user.jurisdiction.level == "national"):
        raise Http404


# --- the level map and table -----------------------------------------------------------------


def _level_counts(counts: dict[str, int], undecided: int) -> list[dict[str, Any]]:
    """Counts per level, most severe first, then the undecided: what tiles and legends print."""
    levels = sorted(SecurityLevel, key=lambda level: -LEVEL_ORDER[level])
    return [
        *(
            {"level": level.value, "label": level.label, "count": counts.get(level.value, 0)}
            for level in levels
        ),
        {"level": UNDECIDED, "label": _("Undecided"), "count": undecided},
    ]


def _event_from(request: HttpRequest) -> ElectionEvent | None:
    """The event chosen with ?event=, else the current one (None when there is none at all)."""
    event_id = request.GET.get("event", "").strip()
    if event_id:
        return election_event_get_for(user=request.user, event_id=event_id)  # type: ignore[no-any-return]
    return request_current_event(request)


def _sort_columns(sort: str) -> list[dict[str, Any]]:
    columns = []
    for key, label, first in SORT_COLUMNS:
        if sort == key:
            state, following = "ascending", f"-{key}"
        elif sort == f"-{key}":
            state, following = "descending", key
        else:
            state, following = "none", first
        columns.append({"key": key, "label": label, "state": state, "sort": following})
    return columns


def _table_context(request: HttpRequest, event: ElectionEvent, province: Province | None) -> dict[str, Any]:
    """The sortable, filtered, paginated table of classifications (one province's, or the caller's)."""
    sort = request.GET.get("sort", DEFAULT_SORT)
    if sort not in selectors.SORTS:
        sort = DEFAULT_SORT
    level = request.GET.get("level", "")
    if level not in LEVEL_FILTERS:
        level = ""
    province_filter = ""
    if province is None:
        province_filter = request.GET.get("province", "").strip()
        if not (province_filter.isascii() and province_filter.isdigit()):
            province_filter = ""
    rows = selectors.classification_list_for(
        user=request.user,
        event=event,
        sort=sort,
        level=level,
        province_id=province.pk if province is not None else province_filter,
    )
    return {
        "page": paginate(request, rows),
        "sort": sort,
        "level_filter": level,
        "province_filter": province_filter,
        "columns": _sort_columns(sort),
        "level_choices": [*SecurityLevel.choices, (UNDECIDED, _("Undecided"))],
    }


def _levels_page(
    request: HttpRequest,
    event: ElectionEvent | None,
    province: Province | None = None,
    status: int = 200,
    classify_form: Form | None = None,
) -> HttpResponse:
    """The national map (national users) or a province's map (everyone else, or a chosen province)."""
    user = request.user
    if province is None and user.jurisdiction.level != "national":  # type: ignore[union-attr]
        # Province and county users land on their province's view.
        province = province_get_for(user=user, province_id=user.jurisdiction.province_id)  # type: ignore[union-attr]
    context: dict[str, Any] = {"event": event, "province": province}
    template = "risks/levels_province.html" if province is not None else "risks/levels_national.html"
    if event is not None:
        table = _table_context(request, event, province)
        if request.headers.get("HX-Request"):
            return render(request, "risks/partials/levels_table.html", {**context, **table})
        context.update(table)
        if province is not None:
            counties = selectors.county_level_map_for(user=user, event=event, province=province)
            decided = Counter(county["level"] for county in counties if county["level"])
            context["counties"] = counties
            context["counts"] = _level_counts(decided, sum(1 for c in counties if not c["level"]))
        else:
            tallies = selectors.level_tally_for(user=user, event=event)
            tiles, rows, columns = tile_layout(tallies)
            totals: Counter[str] = Counter()
            for tally in tallies:
                totals.update(tally.counts)
            context.update(
                tiles=tiles,
                tile_rows=rows,
                tile_columns=columns,
                counts=_level_counts(totals, sum(tally.undecided for tally in tallies)),
                provinces=province_list_for(user=user),
            )
        if _is_decider(user):  # always a fresh button: a refused one shows its errors above it
            context["classify_form"] = ClassifyForm(user=user, initial={"event": event.pk})
    context["events"] = election_event_list_for(user=user)
    context["classify_errors"] = classify_form.errors if classify_form is not None else None
    return render(request, template, context, status=status)


@login_required
def levels(request: HttpRequest) -> HttpResponse:
    return _levels_page(request, _event_from(request))


@login_required
def levels_province(request: HttpRequest, province_id: int) -> HttpResponse:
    province = province_get_for(user=request.user, province_id=province_id)
    return _levels_page(request, _event_from(request), province=province)


@login_required
@require_POST
def classify(request: HttpRequest) -> HttpResponse:
    _require_decider(request.user)
    form = ClassifyForm(request.POST, user=request.user)
    if form.is_valid():
        event = form.cleaned_data["event"]
        try:
            classified = services.county_classify(actor=request.user, event=event)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(count)s counties were classified again; decided levels stay as they are.")
                % {"count": format_number(classified)},
            )
            return redirect(reverse("risks:levels") + f"?event={event.pk}")
    return _levels_page(request, request_current_event(request), status=400, classify_form=form)


# --- the identity card -----------------------------------------------------------------------


@dataclass
class DutyRow:
    line: selectors.DutyLine
    complete_form: DutyCompleteForm | None
    reopen_form: DutyReopenForm | None


def _atlas_open_url(event: ElectionEvent, county: County) -> str | None:
    try:
        return reverse("risks:atlas-open", args=[event.pk, county.pk])
    except NoReverseMatch:  # the register's pages are not wired in yet
        return None


def _county_page(
    request: HttpRequest,
    event: ElectionEvent,
    county: County,
    status: int = 200,
    *,
    decide_form: LevelDecideForm | None = None,
    past_form: PastElectionForm | None = None,
    complete_forms: dict[int, DutyCompleteForm] | None = None,
    reopen_forms: dict[int, DutyReopenForm] | None = None,
) -> HttpResponse:
    """The identity card page; a form just submitted with errors replaces its blank one."""
    user = request.user
    card = selectors.identity_card_for(user=user, event=event, county=county)
    county = card.county  # with its province
    classification = card.classification
    level = classification.level if classification is not None else ""
    can_edit = user.can(Capability.EDIT)  # type: ignore[union-attr]
    complete_forms, reopen_forms = complete_forms or {}, reopen_forms or {}
    duties = []
    for line in selectors.county_duties_for(user=user, event=event, county=county, level=level):
        complete_form = reopen_form = None
        if can_edit and line.is_done:
            assert line.duty is not None
            reopen_form = reopen_forms.get(line.duty.pk) or DutyReopenForm(auto_id=f"id_%s_{line.duty.pk}")
        elif can_edit:
            complete_form = complete_forms.get(line.template.pk) or DutyCompleteForm(
                auto_id=f"id_%s_{line.template.pk}"
            )
        duties.append(DutyRow(line, complete_form, reopen_form))
    # A duty sent that is not (or no longer) on the checklist: its refusal shows above the list.
    shown = {row.line.template.pk for row in duties}
    duty_errors = [
        str(message)
        for template_id, form in complete_forms.items()
        if template_id not in shown
        for errors in form.errors.values()
        for message in errors
    ]
    context: dict[str, Any] = {
        "event": event,
        "county": county,
        "card": card,
        "classification": classification,
        "heat": exports.heat_table(card),
        "bands": exports.heat_bands(card),
        "phases": [(label, card.top_risks.get(value, [])) for value, label in RiskPhase.choices],
        "progress": exports.mitigation_progress(card),
        "factors": exports.factor_lines(card),
        "past_incidents": exports.past_incidents(card),
        "annulled": sum(1 for record in card.past_elections if record.was_annulled),
        "duties": duties,
        "duties_done": sum(1 for row in duties if row.line.is_done),
        "duty_errors": duty_errors,
        "can_edit": can_edit,
        "atlas_open_url": _atlas_open_url(event, county) if card.atlas is None and can_edit else None,
    }
    if _is_decider(user):
        recommended = classification.recommended_level if classification is not None else ""
        context["decide_form"] = decide_form or LevelDecideForm(initial={"level": recommended})
        context["past_form"] = past_form or PastElectionForm(initial={"serious_incidents": 0})
    return render(request, "risks/county_card.html", context, status=status)


def _event_and_county(request: HttpRequest, event_id: int, county_id: int) -> tuple[ElectionEvent, County]:
    event = election_event_get_for(user=request.user, event_id=event_id)
    county = county_get_for(user=request.user, county_id=county_id)
    return event, county


@login_required
def county(request: HttpRequest, event_id: int, county_id: int) -> HttpResponse:
    event, place = _event_and_county(request, event_id, county_id)
    return _county_page(request, event, place)


@login_required
def card_pdf(request: HttpRequest, event_id: int, county_id: int) -> HttpResponse:
    event, place = _event_and_county(request, event_id, county_id)
    card = selectors.identity_card_for(user=request.user, event=event, county=place)
    response = HttpResponse(exports.identity_card_pdf(card=card), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="identity-card-{event.pk}-{place.pk}.pdf"'
    return response


@login_required
@require_POST
def level_decide(request: HttpRequest, event_id: int, county_id: int) -> HttpResponse:
    event, place = _event_and_county(request, event_id, county_id)
    _require_decider(request.user)
    form = LevelDecideForm(request.POST)
    if form.is_valid():
        try:
            decision = services.security_level_decide(
                actor=request.user,
                event=event,
                county=place,
                level=form.cleaned_data["level"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(county)s is now classified %(level)s.")
                % {"county": place.name, "level": SecurityLevel(decision.level).label},
            )
            return redirect("risks:county", event_id=event.pk, county_id=place.pk)
    return _county_page(request, event, place, status=400, decide_form=form)


@login_required
@require_POST
def duty_complete(request: HttpRequest, event_id: int, county_id: int, template_id: int) -> HttpResponse:
    event, place = _event_and_county(request, event_id, county_id)
    template = selectors.duty_template_get_for(user=request.user, duty_id=template_id)
    _require(request.user, Capability.EDIT)
    form = DutyCompleteForm(request.POST, auto_id=f"id_%s_{template.pk}")
    if form.is_valid():
        try:
            services.county_duty_complete(
                actor=request.user,
                event=event,
                county=place,
                template=template,
                evidence=form.cleaned_data["evidence"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The duty was ticked off with its evidence."))
            return redirect(reverse("risks:county", args=[event.pk, place.pk]) + "#duties")
    return _county_page(request, event, place, status=400, complete_forms={template.pk: form})


@login_required
@require_POST
def duty_reopen(request: HttpRequest, duty_id: int) -> HttpResponse:
    duty = selectors.county_duty_get_for(user=request.user, duty_id=duty_id)
    _require(request.user, Capability.EDIT)
    form = DutyReopenForm(request.POST, auto_id=f"id_%s_{duty.pk}")
    if form.is_valid():
        try:
            services.county_duty_reopen(actor=request.user, duty=duty, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The duty was reopened."))
            return redirect(reverse("risks:county", args=[duty.event_id, duty.county_id]) + "#duties")
    return _county_page(request, duty.event, duty.county, status=400, reopen_forms={duty.pk: form})


@login_required
@require_POST
def past_election_add(request: HttpRequest, county_id: int) -> HttpResponse:
    place = county_get_for(user=request.user, county_id=county_id)
    _require_decider(request.user)
    event = _event_from(request)  # the card the form was on (?event=), to return to
    form = PastElectionForm(request.POST)
    if form.is_valid():
        try:
            services.past_election_record(actor=request.user, county=place, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The past election was added to the county's record."))
            if event is None:
                return redirect("risks:levels")
            return redirect(reverse("risks:county", args=[event.pk, place.pk]) + "#record")
    if event is None:  # no event to show the card of: the form on its own
        context = {"county": place, "past_form": form}
        return render(request, "risks/county_past_election.html", context, status=400)
    return _county_page(request, event, place, status=400, past_form=form)


# --- national settings: the classification policy and the duty checklists --------------------


def _policy_page(request: HttpRequest, form: PolicyForm, status: int = 200) -> HttpResponse:
    matrices = list(selectors.risk_matrix_list_for(user=request.user))
    default = next((matrix for matrix in matrices if matrix.is_default), matrices[0] if matrices else None)
    bands = list(default.bands.all()) if default is not None else []
    context = {
        "form": form,
        "matrix": default,
        "bands": [{"band": band, "ink": exports.ink_for(band.colour)} for band in bands],
    }
    return render(request, "risks/policy_form.html", context, status=status)


@login_required
def policy(request: HttpRequest) -> HttpResponse:
    _require_national_administrator(request.user)
    if request.method != "POST":
        current = selectors.classification_policy_for(user=request.user) or ClassificationPolicy()
        return _policy_page(
            request, PolicyForm(initial={name: getattr(current, name) for name in POLICY_FIELDS})
        )
    form = PolicyForm(request.POST)
    if form.is_valid():
        try:
            services.classification_policy_update(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("The classification policy was saved; the next classification uses it.")
            )
            return redirect("risks:policy")
    return _policy_page(request, form, status=400)


def _duty_templates_page(request: HttpRequest, form: DutyTemplateForm, status: int = 200) -> HttpResponse:
    templates = list(selectors.duty_template_list_for(user=request.user))
    by_level = [
        (level, label, [duty for duty in templates if duty.level == level])
        for level, label in SecurityLevel.choices
    ]
    return render(request, "risks/duty_templates.html", {"by_level": by_level, "form": form}, status=status)


@login_required
def duty_templates(request: HttpRequest) -> HttpResponse:
    _require_national_administrator(request.user)
    if request.method != "POST":
        return _duty_templates_page(request, DutyTemplateForm())
    form = DutyTemplateForm(request.POST)
    if form.is_valid():
        try:
            services.duty_template_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The duty was added to the level's checklist."))
            return redirect("risks:duty-templates")
    return _duty_templates_page(request, form, status=400)


@login_required
def duty_template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    _require_national_administrator(request.user)
    duty = selectors.duty_template_get_for(user=request.user, duty_id=template_id)
    if request.method != "POST":
        form = DutyTemplateEditForm(
            initial={"text": duty.text, "text_en": duty.text_en, "is_active": duty.is_active}
        )
        return render(request, "risks/duty_template_edit.html", {"duty": duty, "form": form})
    form = DutyTemplateEditForm(request.POST)
    if form.is_valid():
        try:
            services.duty_template_update(actor=request.user, duty=duty, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The duty was saved."))
            return redirect("risks:duty-templates")
    return render(request, "risks/duty_template_edit.html", {"duty": duty, "form": form}, status=400)


urlpatterns = [
    path("levels/", levels, name="levels"),
    path("levels/provinces/<int:province_id>/", levels_province, name="levels-province"),
    path("levels/classify/", classify, name="classify"),
    path("events/<int:event_id>/counties/<int:county_id>/", county, name="county"),
    path("events/<int:event_id>/counties/<int:county_id>/card.pdf", card_pdf, name="card-pdf"),
    path("events/<int:event_id>/counties/<int:county_id>/level/", level_decide, name="level-decide"),
    path(
        "events/<int:event_id>/counties/<int:county_id>/duties/<int:template_id>/",
        duty_complete,
        name="duty-complete",
    ),
    path("duties/<int:duty_id>/reopen/", duty_reopen, name="duty-reopen"),
    path("counties/<int:county_id>/past-elections/", past_election_add, name="past-election-add"),
    path("settings/policy/", policy, name="policy"),
    path("settings/duties/", duty_templates, name="duty-templates"),
    path("settings/duties/<int:template_id>/", duty_template_edit, name="duty-template-edit"),
]
