"""The register, its risks and mitigations, submission and the province's review; reference data.

Pages parse the input, call one service or the selectors, and render. Forms a role may not use
are not shown, and their endpoints answer 404 to callers without the capability; objects outside
the caller's jurisdiction answer 404 from the selectors. A submitted version is shown from its
frozen content, never from the live register.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import TextChoices
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from amanat.accounts.roles import Capability
from amanat.committees.models import ActionStatus
from amanat.elections.models import ElectionEvent
from amanat.elections.selectors import election_event_get_for, election_event_list_for
from amanat.geography.selectors import county_get_for
from amanat.reports.context_processors import request_current_event
from amanat.risks import selectors, services
from amanat.risks.exports import ink_for
from amanat.risks.forms.atlas import (
    DRAFT,
    CategoryEditForm,
    CategoryForm,
    CompareForm,
    MatrixForm,
    MitigationForm,
    ReviewForm,
    RiskForm,
    RiskUpdateForm,
    SubmitForm,
    WithdrawForm,
    category_label,
)
from amanat.risks.models import (
    ACTIVE_RISK_STATUSES,
    Atlas,
    AtlasStatus,
    AtlasVersion,
    CategoryGroup,
    Risk,
    RiskBand,
    RiskKind,
    RiskMatrix,
    RiskPhase,
    RiskStatus,
    Treatment,
    VersionStatus,
)
from amanat.risks.snapshots import COMPARED_FIELDS, snapshot_diff
from amanat.ui.formatting import format_date, is_persian, localize_digits
from amanat.ui.forms import add_service_errors
from amanat.ui.pagination import paginate

REVIEW_BLOCK_SIZE = 10  # versions shown in the list page's "awaiting your review" block

FIELD_LABELS: dict[str, Any] = {
    "title": gettext_lazy("Title"),
    "kind": gettext_lazy("Kind"),
    "phase": gettext_lazy("Phase"),
    "category": gettext_lazy("Category"),
    "description": gettext_lazy("Description"),
    "location": gettext_lazy("Place or system"),
    "likelihood": gettext_lazy("Likelihood"),
    "impact": gettext_lazy("Impact"),
    "score": gettext_lazy("Score"),
    "band": gettext_lazy("Band"),
    "treatment": gettext_lazy("Treatment"),
    "owner": gettext_lazy("Owner organisation"),
    "status": gettext_lazy("Status"),
    "residual_score": gettext_lazy("Residual score"),
    "residual_band": gettext_lazy("Residual band"),
    "mitigations": gettext_lazy("Mitigations"),
}
CODED_FIELDS: dict[str, type[TextChoices]] = {
    "kind": RiskKind,
    "phase": RiskPhase,
    "treatment": Treatment,
    "status": RiskStatus,
}


# --- who may do what -------------------------------------------------------------------------


def _require(user: Any, capability: Capability) -> None:
    """Refuse, as if the endpoint did not exist, a caller whose role lacks the capability."""
    if not user.can(capability):
        raise Http404


def _is_national_administrator(user: Any) -> bool:
    return bool(user.can(Capability.ADMINISTER) and user.jurisdiction.level == "national")


def _require_national_administrator(user: Any) -> None:
    if not _is_national_administrator(user):
        raise Http404


def _is_reviewer(user: Any, province_id: int | None = None) -> bool:
    """A province user who may approve: reviews the atlases of the province's counties."""
    jurisdiction = user.jurisdiction
    if not (user.can(Capability.APPROVE) and jurisdiction.level == "province"):
        return False
    return province_id is None or jurisdiction.province_id == province_id


# --- display helpers -------------------------------------------------------------------------


def _label(choices: type[TextChoices], value: Any) -> str:
    """The label of a stored code (a frozen version may hold a code no longer offered: shown as is)."""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "")


@dataclass(frozen=True)
class Chip:
    """A band as shown: its name always in text, its colour, and a text colour that reads on it."""

    name: str
    colour: str
    ink: str


def _chip(name: str, colour: str) -> Chip | None:
    if not name:
        return None
    colour = colour or "#e7ebf0"
    return Chip(name=name, colour=colour, ink=ink_for(colour))


def _band_chip(band: RiskBand | None) -> Chip | None:
    if band is None:
        return None
    name = band.name_en if not is_persian() and band.name_en else band.name
    return _chip(name, band.colour)


def _event_from(request: HttpRequest) -> ElectionEvent | None:
    """The event chosen with ?event=, else the current one, else the latest (None if there is none)."""
    event_id = request.GET.get("event", "").strip()
    if event_id:
        return election_event_get_for(user=request.user, event_id=event_id)  # type: ignore[no-any-return]
    current = request_current_event(request)
    if current is not None:
        return current
    return election_event_list_for(user=request.user).first()  # type: ignore[no-any-return]


# --- the list --------------------------------------------------------------------------------


def _list_context(request: HttpRequest) -> dict[str, Any]:
    user: Any = request.user
    event = _event_from(request)
    status = request.GET.get("status", "")
    if status not in AtlasStatus.values:
        status = ""
    province_id = request.GET.get("province", "").strip()
    if not (province_id.isascii() and province_id.isdigit() and len(province_id) < 10):
        province_id = ""
    atlases = selectors.atlas_list_for(
        user=user, event_id=event.pk if event else None, status=status, province_id=province_id
    )
    return {
        "event": event,
        "province_filter": province_id,
        "status_filter": status,
        "status_choices": AtlasStatus.choices,
        "page": paginate(request, atlases),
    }


@login_required
def atlas_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    context = _list_context(request)
    if request.headers.get("HX-Request"):
        return render(request, "risks/partials/atlas_table.html", context)
    event = context["event"]
    jurisdiction = user.jurisdiction
    if jurisdiction.level == "county" and event is not None:
        county = county_get_for(user=user, county_id=jurisdiction.county_id)
        context["own_county"] = county
        context["own_atlas"] = selectors.atlas_find_for(user=user, event=event, county=county)
        context["can_open"] = context["own_atlas"] is None and user.can(Capability.EDIT)
    if jurisdiction.level != "county" and event is not None:
        context["province_tally"] = selectors.atlas_tally_for(user=user, event=event)
    if _is_reviewer(user) and event is not None:
        queue = selectors.review_queue_for(user=user, event_id=event.pk)
        context["review_queue"] = list(queue[: REVIEW_BLOCK_SIZE + 1])
    context["events"] = election_event_list_for(user=user)
    context["is_national_administrator"] = _is_national_administrator(user)
    context["review_block_size"] = REVIEW_BLOCK_SIZE
    return render(request, "risks/atlas_list.html", context)


@login_required
@require_POST
def atlas_open(request: HttpRequest, event_id: int, county_id: int) -> HttpResponse:
    event = election_event_get_for(user=request.user, event_id=event_id)
    county = county_get_for(user=request.user, county_id=county_id)
    _require(request.user, Capability.EDIT)
    atlas = services.atlas_open(actor=request.user, event=event, county=county)
    messages.success(request, _("The atlas is open: record the county's risks."))
    return redirect("risks:atlas", atlas_id=atlas.pk)


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    event_id = request.GET.get("event", "").strip()
    if not (event_id.isascii() and event_id.isdigit()):
        event_id = ""
    page = paginate(request, selectors.review_queue_for(user=user, event_id=event_id))
    context = {
        "page": page,
        "event_id": event_id,
        "events": election_event_list_for(user=user),
        "is_reviewer": _is_reviewer(user),
    }
    return render(request, "risks/review_queue.html", context)


# --- the register ----------------------------------------------------------------------------


@dataclass
class RiskRow:
    risk: Risk
    band: Chip | None
    residual: Chip | None
    comment: str = ""

    @property
    def category(self) -> str:
        return category_label(self.risk.category)


@dataclass
class KindGroup:
    kind: str
    label: str
    rows: list[RiskRow]


@dataclass
class PhaseGroup:
    phase: str
    label: str
    kinds: list[KindGroup]

    @property
    def count(self) -> int:
        return sum(len(group.rows) for group in self.kinds)


def _by_phase_and_kind(rows: Sequence[RiskRow]) -> list[PhaseGroup]:
    phases = []
    for phase, phase_label in RiskPhase.choices:
        kinds = [
            KindGroup(
                kind, str(kind_label), [r for r in rows if r.risk.phase == phase and r.risk.kind == kind]
            )
            for kind, kind_label in RiskKind.choices
        ]
        phases.append(PhaseGroup(phase, str(phase_label), [group for group in kinds if group.rows]))
    return phases


def _atlas_page(
    request: HttpRequest, atlas: Atlas, status: int = 200, submit_form: SubmitForm | None = None
) -> HttpResponse:
    user: Any = request.user
    risks = list(selectors.risk_list_for(user=user, atlas=atlas, include_withdrawn=True))
    versions = list(selectors.atlas_version_list_for(user=user, atlas=atlas))
    latest = versions[0] if versions else None
    # Returned: the province's comments of the latest version show on the risks they concern.
    returned = (
        latest
        if atlas.status == AtlasStatus.RETURNED
        and latest is not None
        and latest.status == VersionStatus.RETURNED
        else None
    )
    comments = selectors.version_comments_for(version=returned) if returned is not None else {}
    rows = [
        RiskRow(risk, _band_chip(risk.band), _band_chip(risk.residual_band), comments.get(risk.pk, ""))
        for risk in risks
    ]
    active = [row for row in rows if row.risk.status in ACTIVE_RISK_STATUSES]
    can_edit = bool(user.can(Capability.EDIT))
    context: dict[str, Any] = {
        "atlas": atlas,
        "phases": _by_phase_and_kind(active),
        "active_count": len(active),
        "unassessed": sum(1 for row in active if not row.risk.is_assessed),
        "awaiting_acceptance": sum(1 for row in active if row.risk.awaits_acceptance),
        "inactive": [row for row in rows if row.risk.status not in ACTIVE_RISK_STATUSES],
        "versions": versions,
        "latest": latest,
        "returned": returned,
        "can_edit": can_edit,
        "locked": atlas.status == AtlasStatus.SUBMITTED,
        "may_review": latest is not None
        and latest.status == VersionStatus.SUBMITTED
        and _is_reviewer(user, atlas.province_id),
    }
    if can_edit and atlas.status in (AtlasStatus.DRAFT, AtlasStatus.RETURNED):
        context["submit_form"] = submit_form or SubmitForm()
    elif submit_form is not None:  # refused just now: show why, whatever the state
        context["submit_form"] = submit_form
    if versions:
        context["compare_form"] = CompareForm(
            versions=versions, initial={"a": versions[0].pk, "b": DRAFT}, auto_id="id_compare_%s"
        )
    return render(request, "risks/atlas_detail.html", context, status=status)


@login_required
def atlas_detail(request: HttpRequest, atlas_id: int) -> HttpResponse:
    atlas = selectors.atlas_get_for(user=request.user, atlas_id=atlas_id)
    return _atlas_page(request, atlas)


@login_required
@require_POST
def atlas_submit(request: HttpRequest, atlas_id: int) -> HttpResponse:
    atlas = selectors.atlas_get_for(user=request.user, atlas_id=atlas_id)
    _require(request.user, Capability.EDIT)
    form = SubmitForm(request.POST)
    if form.is_valid():
        try:
            version = services.atlas_submit(actor=request.user, atlas=atlas, note=form.cleaned_data["note"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Version %(number)s was submitted to the province for review.")
                % {"number": localize_digits(version.number)},
            )
            return redirect("risks:atlas", atlas_id=atlas.pk)
    return _atlas_page(request, atlas, status=400, submit_form=form)


# --- a risk ----------------------------------------------------------------------------------


def _risk_form_page(
    request: HttpRequest, atlas: Atlas, form: RiskForm, risk: Risk | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "atlas": atlas,
        "risk": risk,
        "form": form,
        "matrix": form.matrix,
        "locked": atlas.status == AtlasStatus.SUBMITTED,
    }
    return render(request, "risks/risk_form.html", context, status=status)


@login_required
def risk_create(request: HttpRequest, atlas_id: int) -> HttpResponse:
    user: Any = request.user
    atlas = selectors.atlas_get_for(user=user, atlas_id=atlas_id)
    _require(user, Capability.EDIT)
    matrix = selectors.risk_matrix_default()
    if request.method != "POST":
        return _risk_form_page(request, atlas, RiskForm(user=user, atlas=atlas, matrix=matrix))
    form = RiskForm(request.POST, user=user, atlas=atlas, matrix=matrix)
    if form.is_valid():
        try:
            risk = services.risk_create(actor=user, atlas=atlas, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The risk was recorded in the atlas."))
            return redirect("risks:risk", risk_id=risk.pk)
    return _risk_form_page(request, atlas, form, status=400)


@login_required
def risk_update(request: HttpRequest, risk_id: int) -> HttpResponse:
    user: Any = request.user
    risk = selectors.risk_get_for(user=user, risk_id=risk_id)
    _require(user, Capability.EDIT)
    atlas = risk.atlas
    if request.method != "POST":
        form = RiskUpdateForm(
            user=user, atlas=atlas, matrix=risk.matrix, risk=risk, initial=RiskUpdateForm.initial_for(risk)
        )
        return _risk_form_page(request, atlas, form, risk)
    form = RiskUpdateForm(request.POST, user=user, atlas=atlas, matrix=risk.matrix, risk=risk)
    if form.is_valid():
        try:
            services.risk_update(actor=user, risk=risk, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The risk was saved."))
            return redirect("risks:risk", risk_id=risk.pk)
    return _risk_form_page(request, atlas, form, risk, status=400)


def _risk_page(
    request: HttpRequest,
    risk: Risk,
    status: int = 200,
    *,
    mitigation_form: MitigationForm | None = None,
    withdraw_form: WithdrawForm | None = None,
    action_errors: Sequence[str] = (),
) -> HttpResponse:
    user: Any = request.user
    atlas = risk.atlas
    can_edit = bool(user.can(Capability.EDIT))
    open_for_changes = atlas.status != AtlasStatus.SUBMITTED
    context: dict[str, Any] = {
        "risk": risk,
        "atlas": atlas,
        "band": _band_chip(risk.band),
        "residual": _band_chip(risk.residual_band),
        "category_label": category_label(risk.category),
        "mitigations": list(selectors.risk_mitigations_for(user=user, risk=risk)),
        "comments": list(selectors.risk_review_comments_for(user=user, risk=risk)),
        "can_edit": can_edit,
        "locked": not open_for_changes,
        "action_errors": action_errors,
        "done": ActionStatus.DONE,
        # An approver other than whoever proposed accepting it (the services' rule).
        "may_approve_acceptance": bool(user.can(Capability.APPROVE))
        and risk.awaits_acceptance
        and open_for_changes
        and risk.treatment_set_by_id != user.pk,
    }
    if can_edit and open_for_changes and risk.status != RiskStatus.WITHDRAWN:
        context["mitigation_form"] = MitigationForm(user=user, atlas=atlas)
        context["withdraw_form"] = WithdrawForm()
    # A form just submitted shows, with its errors, whatever the risk's state now.
    if mitigation_form is not None:
        context["mitigation_form"] = mitigation_form
    if withdraw_form is not None:
        context["withdraw_form"] = withdraw_form
    return render(request, "risks/risk_detail.html", context, status=status)


@login_required
def risk_detail(request: HttpRequest, risk_id: int) -> HttpResponse:
    risk = selectors.risk_get_for(user=request.user, risk_id=risk_id)
    return _risk_page(request, risk)


@login_required
@require_POST
def risk_accept_approve(request: HttpRequest, risk_id: int) -> HttpResponse:
    risk = selectors.risk_get_for(user=request.user, risk_id=risk_id)
    _require(request.user, Capability.APPROVE)
    try:
        services.risk_acceptance_approve(actor=request.user, risk=risk)
    except ValidationError as exc:
        return _risk_page(request, risk, status=400, action_errors=exc.messages)
    messages.success(request, _("Accepting the risk was approved."))
    return redirect("risks:risk", risk_id=risk.pk)


@login_required
@require_POST
def risk_withdraw(request: HttpRequest, risk_id: int) -> HttpResponse:
    risk = selectors.risk_get_for(user=request.user, risk_id=risk_id)
    _require(request.user, Capability.EDIT)
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            services.risk_withdraw(actor=request.user, risk=risk, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The risk was withdrawn from the register."))
            return redirect("risks:atlas", atlas_id=risk.atlas_id)
    return _risk_page(request, risk, status=400, withdraw_form=form)


@login_required
@require_POST
def mitigation_add(request: HttpRequest, risk_id: int) -> HttpResponse:
    user: Any = request.user
    risk = selectors.risk_get_for(user=user, risk_id=risk_id)
    _require(user, Capability.EDIT)
    form = MitigationForm(request.POST, user=user, atlas=risk.atlas)
    if form.is_valid():
        try:
            services.mitigation_add(actor=user, risk=risk, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The mitigation was added to the county committee's actions."))
            return redirect(reverse("risks:risk", args=[risk.pk]) + "#mitigations")
    return _risk_page(request, risk, status=400, mitigation_form=form)


# --- versions --------------------------------------------------------------------------------


@dataclass
class VersionRisk:
    """One risk of a frozen version, as its content holds it, with labels for its codes."""

    data: dict[str, Any]
    band: Chip | None
    labels: dict[str, str]
    comment: str = ""
    mitigations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> int:
        return int(self.data["id"])


def _mitigation_lines(items: Any) -> list[dict[str, Any]]:
    lines = []
    for item in items or []:
        lines.append(
            {
                **item,
                "status_label": _label(ActionStatus, item.get("status")),
                "due_label": _due_label(item.get("due_on", "")),
            }
        )
    return lines


def _due_label(text: str) -> str:
    try:
        return format_date(dt.date.fromisoformat(text))
    except (TypeError, ValueError):
        return str(text or "")


def _version_risks(content: Mapping[str, Any], comments: Mapping[int, str]) -> list[VersionRisk]:
    rows = []
    for data in content.get("risks", []):
        labels = {name: _label(choices, data.get(name)) for name, choices in CODED_FIELDS.items()}
        rows.append(
            VersionRisk(
                data=data,
                band=_chip(str(data.get("band") or ""), str(data.get("band_colour") or "")),
                labels=labels,
                comment=comments.get(int(data["id"]), ""),
                mitigations=_mitigation_lines(data.get("mitigations")),
            )
        )
    return rows


@dataclass
class VersionPhase:
    phase: str
    label: str
    risks: list[VersionRisk]


def _version_page(
    request: HttpRequest, version: AtlasVersion, status: int = 200, review_form: ReviewForm | None = None
) -> HttpResponse:
    user: Any = request.user
    content = version.content or {}
    comments = selectors.version_comments_for(version=version)
    risks = _version_risks(content, comments)
    # As on the register: each phase's risks highest score first.
    risks.sort(key=lambda r: (-(r.data.get("score") or 0), r.id))
    phases = [
        VersionPhase(phase, str(label), [r for r in risks if r.data.get("phase") == phase])
        for phase, label in RiskPhase.choices
    ]
    others = [r for r in risks if r.data.get("phase") not in RiskPhase.values]
    if others:
        phases.append(VersionPhase("", _("Other"), others))
    versions = list(selectors.atlas_version_list_for(user=user, atlas=version.atlas))
    previous = next((v for v in versions if v.number == version.number - 1), None)
    context: dict[str, Any] = {
        "version": version,
        "atlas": version.atlas,
        "content": content,
        "phases": [p for p in phases if p.risks],
        "risk_count": len(risks),
        "previous": previous,
        "versions": versions,
    }
    if version.status == VersionStatus.SUBMITTED and _is_reviewer(user, version.province_id):
        form = review_form or ReviewForm(risk_rows=content.get("risks", []))
        context["review_form"] = form
        context["review_rows"] = [(row, form.comment_field(row.id)) for p in phases for row in p.risks]
    elif review_form is not None:
        context["review_form"] = review_form
        context["review_rows"] = []
    return render(request, "risks/version_detail.html", context, status=status)


@login_required
def version_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    version = selectors.atlas_version_get_for(user=request.user, version_id=version_id)
    return _version_page(request, version)


@login_required
@require_POST
def version_review(request: HttpRequest, version_id: int) -> HttpResponse:
    user: Any = request.user
    version = selectors.atlas_version_get_for(user=user, version_id=version_id)
    if not _is_reviewer(user, version.province_id):
        raise Http404
    form = ReviewForm(request.POST, risk_rows=(version.content or {}).get("risks", []))
    if form.is_valid():
        approve = form.cleaned_data["decision"] == ReviewForm.APPROVE
        try:
            services.atlas_review(
                actor=user,
                version=version,
                approve=approve,
                note=form.cleaned_data["note"],
                comments=form.comments(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if approve:
                messages.success(request, _("The atlas was approved and sent to the national level."))
            else:
                messages.success(request, _("The atlas was returned to the county with your comments."))
            return redirect("risks:version", version_id=version.pk)
    return _version_page(request, version, status=400, review_form=form)


# --- comparison ------------------------------------------------------------------------------


@dataclass
class FieldLine:
    name: str
    label: str
    old: str
    new: str
    changed: bool


@dataclass
class ChangeBlock:
    change: str
    title: str
    lines: list[FieldLine]


def _shown(name: str, row: Mapping[str, Any] | None) -> str:
    if row is None:
        return ""
    value = row.get(name)
    if name in CODED_FIELDS:
        return _label(CODED_FIELDS[name], value) if value else "—"
    if name == "mitigations":
        items = _mitigation_lines(value)
        return (
            "\n".join(f"{m.get('title', '')} · {m['status_label']} · {m['due_label']}" for m in items) or "—"
        )
    if value in (None, ""):
        return "—"
    if isinstance(value, int):
        return localize_digits(value)
    return str(value)


def _change_blocks(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[ChangeBlock]:
    blocks = []
    for change in snapshot_diff(dict(old), dict(new)):
        lines = [
            FieldLine(
                name,
                str(FIELD_LABELS.get(name, name)),
                _shown(name, change.old),
                _shown(name, change.new),
                name in change.fields,
            )
            for name in COMPARED_FIELDS
        ]
        blocks.append(ChangeBlock(change.change, change.title, lines))
    return blocks


@login_required
def compare(request: HttpRequest, atlas_id: int) -> HttpResponse:
    user: Any = request.user
    atlas = selectors.atlas_get_for(user=user, atlas_id=atlas_id)
    versions = list(selectors.atlas_version_list_for(user=user, atlas=atlas))
    context: dict[str, Any] = {"atlas": atlas, "versions": versions}
    if "a" not in request.GET and "b" not in request.GET:
        # By default: the last two versions, or the only one with the current draft.
        initial: dict[str, Any] = {"a": versions[0].pk if versions else None, "b": DRAFT}
        if len(versions) > 1:
            initial = {"a": versions[1].pk, "b": versions[0].pk}
        context["form"] = CompareForm(versions=versions, initial=initial)
        return render(request, "risks/version_compare.html", context)
    form = CompareForm(request.GET, versions=versions)
    context["form"] = form
    if not form.is_valid():
        return render(request, "risks/version_compare.html", context, status=400)
    old_version = selectors.atlas_version_get_for(user=user, version_id=form.cleaned_data["a"])
    b = form.cleaned_data["b"]
    if b == DRAFT:
        new_version, new_content = None, selectors.atlas_draft_content_for(user=request.user, atlas=atlas)
    else:
        new_version = selectors.atlas_version_get_for(user=user, version_id=b)
        new_content = new_version.content
    blocks = _change_blocks(old_version.content or {}, new_content or {})
    context.update(
        old=old_version,
        new=new_version,
        changed=[block for block in blocks if block.change != "same"],
        same=[block for block in blocks if block.change == "same"],
    )
    return render(request, "risks/version_compare.html", context)


# --- reference data: the taxonomy and the matrices -------------------------------------------


def _categories_page(request: HttpRequest, form: CategoryForm, status: int = 200) -> HttpResponse:
    categories = list(selectors.risk_category_list_for(user=request.user))
    groups = [
        (value, label, [(c, category_label(c)) for c in categories if c.group == value])
        for value, label in CategoryGroup.choices
    ]
    return render(request, "risks/settings_categories.html", {"groups": groups, "form": form}, status=status)


@login_required
def categories(request: HttpRequest) -> HttpResponse:
    _require_national_administrator(request.user)
    if request.method != "POST":
        return _categories_page(request, CategoryForm())
    form = CategoryForm(request.POST)
    if form.is_valid():
        try:
            services.risk_category_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The category was added to the taxonomy."))
            return redirect("risks:categories")
    return _categories_page(request, form, status=400)


@login_required
def category_edit(request: HttpRequest, category_id: int) -> HttpResponse:
    _require_national_administrator(request.user)
    category = selectors.risk_category_get_for(user=request.user, category_id=category_id)
    context: dict[str, Any] = {"category": category}
    if request.method != "POST":
        context["form"] = CategoryEditForm(
            initial={
                "name": category.name,
                "name_en": category.name_en,
                "description": category.description,
                "is_active": category.is_active,
            }
        )
        return render(request, "risks/settings_categories_edit.html", context)
    if "toggle" in request.POST:  # the retire / restore button: everything else stays
        form = CategoryEditForm(
            {
                "name": category.name,
                "name_en": category.name_en,
                "description": category.description,
                "is_active": "" if category.is_active else "on",
            }
        )
    else:
        form = CategoryEditForm(request.POST)
    if form.is_valid():
        try:
            services.risk_category_update(actor=request.user, category=category, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if category.is_active:
                messages.success(request, _("The category was saved."))
            else:
                messages.success(
                    request, _("The category was retired: it is no longer offered for new risks.")
                )
            return redirect("risks:categories")
    context["form"] = form
    return render(request, "risks/settings_categories_edit.html", context, status=400)


@dataclass
class MatrixView:
    """A matrix drawn as its grid: highest likelihood on top, impact left to right (in reading order)."""

    matrix: RiskMatrix
    bands: list[tuple[RiskBand, Chip | None]]
    rows: list[tuple[int, list[dict[str, Any]]]]
    impacts: list[int]


def _matrix_view(matrix: RiskMatrix) -> MatrixView:
    cells = {(cell.likelihood, cell.impact): cell for cell in matrix.cells.all()}
    impacts = list(range(1, matrix.impact_levels + 1))
    rows = []
    for likelihood in range(matrix.likelihood_levels, 0, -1):
        line = []
        for impact in impacts:
            cell = cells.get((likelihood, impact))
            line.append({"cell": cell, "chip": _band_chip(cell.band) if cell else None})
        rows.append((likelihood, line))
    return MatrixView(matrix, [(band, _band_chip(band)) for band in matrix.bands.all()], rows, impacts)


@login_required
def matrices(request: HttpRequest) -> HttpResponse:
    _require_national_administrator(request.user)
    status = 200
    form = MatrixForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.risk_matrix_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The matrix was added."))
                return redirect("risks:matrices")
        status = 400
    views = [_matrix_view(matrix) for matrix in selectors.risk_matrix_list_for(user=request.user)]
    return render(request, "risks/settings_matrices.html", {"matrices": views, "form": form}, status=status)


urlpatterns = [
    path("", atlas_list, name="list"),
    path("reviews/", review_queue, name="review-queue"),
    path("events/<int:event_id>/counties/<int:county_id>/open/", atlas_open, name="atlas-open"),
    path("<int:atlas_id>/", atlas_detail, name="atlas"),
    path("<int:atlas_id>/submit/", atlas_submit, name="atlas-submit"),
    path("<int:atlas_id>/compare/", compare, name="compare"),
    path("<int:atlas_id>/risks/new/", risk_create, name="risk-create"),
    path("risks/<int:risk_id>/", risk_detail, name="risk"),
    path("risks/<int:risk_id>/edit/", risk_update, name="risk-update"),
    path("risks/<int:risk_id>/accept/", risk_accept_approve, name="risk-accept-approve"),
    path("risks/<int:risk_id>/withdraw/", risk_withdraw, name="risk-withdraw"),
    path("risks/<int:risk_id>/mitigations/", mitigation_add, name="mitigation-add"),
    path("versions/<int:version_id>/", version_detail, name="version"),
    path("versions/<int:version_id>/review/", version_review, name="version-review"),
    path("settings/categories/", categories, name="categories"),
    path("settings/categories/<int:category_id>/", category_edit, name="category-edit"),
    path("settings/matrices/", matrices, name="matrices"),
]
