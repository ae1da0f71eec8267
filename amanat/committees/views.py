"""Committee pages: parse the input, call one service or the selectors, render.

Forms a role does not allow are not shown, and their endpoints answer 404 to callers without the
capability (the endpoint is not advertised to them). Objects outside the caller's jurisdiction
answer 404 from the selectors; a service's PermissionDenied is left for Django to answer 403.
"""

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amanat.accounts.roles import Capability
from amanat.committees import exports, selectors, services
from amanat.committees.forms import (
    ActionUpdateForm,
    AttendanceForm,
    CadenceForm,
    CommitteesBulkCreateForm,
    DecisionForm,
    InstructionForm,
    MeetingCancelForm,
    MeetingCreateForm,
    MeetingUpdateForm,
    MemberAddForm,
    MinutesForm,
    TermsForm,
)
from amanat.committees.models import (
    DEPTH,
    ActionItem,
    Committee,
    Meeting,
    MeetingStatus,
    MinutesStatus,
)
from amanat.elections.selectors import election_event_list_for
from amanat.ui.formatting import format_number, is_persian, localize_digits, to_jalali
from amanat.ui.forms import add_service_errors
from amanat.ui.pagination import paginate

UPCOMING_MEETINGS = 10
CALENDAR_PAGE = 250  # more than a season of daily meetings: one page holds a committee's calendar


def _require(user: Any, capability: Capability) -> None:
    """Refuse, as if the endpoint did not exist, a caller whose role lacks the capability."""
    if not user.can(capability):
        raise Http404


def _require_national_administrator(user: Any) -> None:
    if not getattr(user, "can_manage_elections", False):
        raise Http404


def _roles(user: Any) -> dict[str, bool]:
    return {
        "can_run": user.can(Capability.RUN_MEETINGS),
        "can_approve": user.can(Capability.APPROVE),
    }


# --- committees ------------------------------------------------------------------------------


def _committee_list_context(request: HttpRequest, bulk_form: Form | None = None) -> dict[str, Any]:
    user = request.user
    event_id = request.GET.get("event", "").strip()
    if not (event_id.isascii() and event_id.isdigit()):
        event_id = ""
    q = request.GET.get("q", "").strip()
    page = paginate(request, selectors.committee_list_for(user=user, event_id=event_id, q=q))
    context: dict[str, Any] = {"page": page, "q": q, "event_id": event_id}
    if getattr(user, "can_manage_elections", False):
        context["bulk_form"] = bulk_form or CommitteesBulkCreateForm(user=user)
    return context


@login_required
def committee_list(request: HttpRequest) -> HttpResponse:
    context = _committee_list_context(request)
    if request.headers.get("HX-Request"):
        return render(request, "committees/partials/committee_table.html", context)
    context["events"] = election_event_list_for(user=request.user)
    return render(request, "committees/committee_list.html", context)


@login_required
@require_POST
def committees_bulk_create(request: HttpRequest) -> HttpResponse:
    _require_national_administrator(request.user)
    form = CommitteesBulkCreateForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            created = services.committees_create_for_event(
                actor=request.user,
                event=form.cleaned_data["event"],
                instruction=form.cleaned_data["instruction"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(committees)s committees created, with %(meetings)s meetings planned.")
                % {
                    "committees": format_number(created.committees),
                    "meetings": format_number(created.meetings),
                },
            )
            return redirect("committees:list")
    context = _committee_list_context(request, bulk_form=form)
    context["events"] = election_event_list_for(user=request.user)
    return render(request, "committees/committee_list.html", context, status=400)


@login_required
def instruction_create(request: HttpRequest) -> HttpResponse:
    _require_national_administrator(request.user)
    form = InstructionForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.instruction_create(
                actor=request.user,
                event=data["event"],
                title=data["title"],
                duties=data["duties"],
                **form.cadence(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("The instruction was issued. Now create the committees of the event from it.")
            )
            return redirect("committees:list")
    status = 400 if form.errors else 200
    return render(request, "committees/instruction_form.html", {"form": form}, status=status)


def _committee_page(
    request: HttpRequest, committee: Committee, status: int = 200, **forms: Form
) -> HttpResponse:
    """The committee page; a form that was just submitted with errors replaces the blank one."""
    user = request.user
    roles = _roles(user)
    today = timezone.localdate()
    context: dict[str, Any] = {
        "committee": committee,
        "members": selectors.committee_members_for(user=user, committee=committee),
        "terms_diff": selectors.committee_terms_diff(committee=committee),
        "upcoming": selectors.meeting_list_for(user=user, committee=committee, since=today)[
            :UPCOMING_MEETINGS
        ],
        "items": paginate(
            request, selectors.action_item_list_for(user=user, committee=committee, open_only=True)
        ),
        "today": today,
        **roles,
    }
    if roles["can_approve"]:
        context["member_form"] = forms.get("member_form") or MemberAddForm(user=user, committee=committee)
        context["terms_form"] = forms.get("terms_form") or TermsForm(initial={"terms": committee.terms})
        context["cadence_form"] = forms.get("cadence_form") or CadenceForm(
            initial={**committee.cadence(), "first_meeting_on": committee.first_meeting_on}
        )
    return render(request, "committees/committee_detail.html", context, status=status)


@login_required
def committee_detail(request: HttpRequest, committee_id: int) -> HttpResponse:
    committee = selectors.committee_get_for(user=request.user, committee_id=committee_id)
    return _committee_page(request, committee)


@login_required
@require_POST
def member_add(request: HttpRequest, committee_id: int) -> HttpResponse:
    committee = selectors.committee_get_for(user=request.user, committee_id=committee_id)
    _require(request.user, Capability.APPROVE)
    form = MemberAddForm(request.POST, user=request.user, committee=committee)
    if form.is_valid():
        try:
            services.committee_member_add(actor=request.user, committee=committee, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The organisation was seated on the committee."))
            return redirect("committees:detail", committee_id=committee.pk)
    return _committee_page(request, committee, status=400, member_form=form)


@login_required
@require_POST
def member_remove(request: HttpRequest, member_id: int) -> HttpResponse:
    member = selectors.committee_member_get_for(user=request.user, member_id=member_id)
    _require(request.user, Capability.APPROVE)
    committee_id = member.committee_id
    try:
        services.committee_member_remove(actor=request.user, member=member)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The seat was removed."))
    return redirect("committees:detail", committee_id=committee_id)


@login_required
@require_POST
def terms(request: HttpRequest, committee_id: int) -> HttpResponse:
    committee = selectors.committee_get_for(user=request.user, committee_id=committee_id)
    _require(request.user, Capability.APPROVE)
    form = TermsForm(request.POST)
    if form.is_valid():
        try:
            services.committee_terms_update(
                actor=request.user, committee=committee, terms=form.cleaned_data["terms"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The terms of reference were saved."))
            return redirect("committees:detail", committee_id=committee.pk)
    return _committee_page(request, committee, status=400, terms_form=form)


@login_required
@require_POST
def cadence(request: HttpRequest, committee_id: int) -> HttpResponse:
    committee = selectors.committee_get_for(user=request.user, committee_id=committee_id)
    _require(request.user, Capability.APPROVE)
    form = CadenceForm(request.POST)
    if form.is_valid():
        try:
            services.cadence_update(actor=request.user, committee=committee, **form.params())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The cadence was saved; future planned meetings were planned again."))
            return redirect("committees:calendar", committee_id=committee.pk)
    return _committee_page(request, committee, status=400, cadence_form=form)


# --- the calendar ----------------------------------------------------------------------------


@dataclass
class CalendarMonth:
    label: str
    meetings: list[Meeting]


def _month_label(day: dt.date) -> str:
    jalali = to_jalali(day)
    names = jalali.j_months_fa if is_persian() else jalali.j_months_en
    return f"{names[jalali.month - 1]} {localize_digits(jalali.year)}"


def _by_jalali_month(meetings: Iterable[Meeting]) -> list[CalendarMonth]:
    months: list[CalendarMonth] = []
    key: tuple[int, int] | None = None
    for meeting in meetings:
        jalali = to_jalali(meeting.scheduled_on)
        if (jalali.year, jalali.month) != key:
            key = (jalali.year, jalali.month)
            months.append(CalendarMonth(_month_label(meeting.scheduled_on), []))
        months[-1].meetings.append(meeting)
    return months


def _calendar_page(
    request: HttpRequest, committee: Committee, form: Form | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    page = paginate(request, selectors.meeting_list_for(user=user, committee=committee), CALENDAR_PAGE)
    context: dict[str, Any] = {
        "committee": committee,
        "page": page,
        "months": _by_jalali_month(page),
        "today": timezone.localdate(),
        **_roles(user),
    }
    if context["can_run"]:
        context["meeting_form"] = form or MeetingCreateForm()
    return render(request, "committees/calendar.html", context, status=status)


@login_required
def calendar(request: HttpRequest, committee_id: int) -> HttpResponse:
    committee = selectors.committee_get_for(user=request.user, committee_id=committee_id)
    return _calendar_page(request, committee)


@login_required
def calendar_ics(request: HttpRequest, committee_id: int) -> HttpResponse:
    committee = selectors.committee_get_for(user=request.user, committee_id=committee_id)
    meetings = list(selectors.meeting_list_for(user=request.user, committee=committee))
    body = exports.committee_calendar_ics(committee=committee, meetings=meetings)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="committee-{committee.pk}.ics"'
    return response


@login_required
def meeting_create(request: HttpRequest, committee_id: int) -> HttpResponse:
    committee = selectors.committee_get_for(user=request.user, committee_id=committee_id)
    _require(request.user, Capability.RUN_MEETINGS)
    form = MeetingCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.meeting_create(actor=request.user, committee=committee, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The meeting was added to the calendar."))
            return redirect("committees:meeting", meeting_id=meeting.pk)
    if request.method == "POST":
        return _calendar_page(request, committee, form=form, status=400)
    return render(request, "committees/meeting_form.html", {"committee": committee, "form": form})


# --- a meeting -------------------------------------------------------------------------------


def _meeting_page(request: HttpRequest, meeting: Meeting, status: int = 200, **forms: Any) -> HttpResponse:
    """The meeting page; a form that was just submitted with errors replaces the blank one."""
    user = request.user
    roles = _roles(user)
    today = timezone.localdate()
    members = list(selectors.committee_members_for(user=user, committee=meeting.committee))
    attendance = list(selectors.meeting_attendance_for(meeting=meeting))
    minutes = selectors.minutes_current_for(meeting=meeting)
    approved = minutes is not None and minutes.status == MinutesStatus.APPROVED
    held = meeting.status == MeetingStatus.HELD
    context: dict[str, Any] = {
        "meeting": meeting,
        "committee": meeting.committee,
        "members": members,
        "attendance": attendance,
        "carried_over": selectors.meeting_carried_over_for(user=user, meeting=meeting),
        "minutes": minutes,
        "minutes_approved": approved,
        "decisions": selectors.meeting_decisions_for(meeting=meeting),
        "today": today,
        "is_future": meeting.scheduled_on > today,
        **roles,
    }
    if roles["can_run"]:
        context["update_form"] = forms.get("update_form") or MeetingUpdateForm(
            initial={"agenda": meeting.agenda, "location": meeting.location}
        )
        if meeting.status != MeetingStatus.CANCELLED and meeting.scheduled_on <= today:
            context["attendance_form"] = forms.get("attendance_form") or AttendanceForm(
                members=members, recorded=attendance
            )
        if meeting.status == MeetingStatus.PLANNED:
            context["cancel_form"] = forms.get("cancel_form") or MeetingCancelForm()
        if held and not approved:
            context["minutes_form"] = forms.get("minutes_form") or MinutesForm(
                initial={"text": minutes.text if minutes else ""}
            )
            context["decision_form"] = forms.get("decision_form") or DecisionForm(user=user)
    context.update(forms)  # a form just submitted shows, with its errors, whatever the meeting's state
    return render(request, "committees/meeting_detail.html", context, status=status)


@login_required
def meeting_detail(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting = selectors.meeting_get_for(user=request.user, meeting_id=meeting_id)
    if request.method != "POST":
        return _meeting_page(request, meeting)
    _require(request.user, Capability.RUN_MEETINGS)
    form = MeetingUpdateForm(request.POST)
    if form.is_valid():
        try:
            services.meeting_update(actor=request.user, meeting=meeting, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The agenda was saved."))
            return redirect("committees:meeting", meeting_id=meeting.pk)
    return _meeting_page(request, meeting, status=400, update_form=form)


def _meeting_form_post(
    request: HttpRequest,
    meeting_id: int,
    *,
    form_key: str,
    make_form: Callable[[Meeting], Any],
    call: Callable[[Meeting, Any], Any],
    done: str,
) -> HttpResponse:
    """A form on the meeting page: parse it, call one service, then redirect or show the errors in place."""
    meeting = selectors.meeting_get_for(user=request.user, meeting_id=meeting_id)
    _require(request.user, Capability.RUN_MEETINGS)
    form = make_form(meeting)
    if form.is_valid():
        try:
            call(meeting, form)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("committees:meeting", meeting_id=meeting.pk)
    return _meeting_page(request, meeting, status=400, **{form_key: form})


@login_required
@require_POST
def attendance(request: HttpRequest, meeting_id: int) -> HttpResponse:
    return _meeting_form_post(
        request,
        meeting_id,
        form_key="attendance_form",
        make_form=lambda meeting: AttendanceForm(
            request.POST,
            members=list(selectors.committee_members_for(user=request.user, committee=meeting.committee)),
        ),
        call=lambda meeting, form: services.attendance_record(
            actor=request.user, meeting=meeting, entries=form.entries()
        ),
        done=_("The attendance was recorded; the meeting is marked as held."),
    )


@login_required
@require_POST
def minutes_save(request: HttpRequest, meeting_id: int) -> HttpResponse:
    return _meeting_form_post(
        request,
        meeting_id,
        form_key="minutes_form",
        make_form=lambda meeting: MinutesForm(request.POST),
        call=lambda meeting, form: services.minutes_save(
            actor=request.user, meeting=meeting, text=form.cleaned_data["text"]
        ),
        done=_("The minutes were saved as a draft."),
    )


def _minutes_action(
    request: HttpRequest, meeting_id: int, capability: Capability, action: Any, done: str
) -> HttpResponse:
    """Approve or correct the minutes: buttons without fields, so a refusal shows above the minutes."""
    meeting = selectors.meeting_get_for(user=request.user, meeting_id=meeting_id)
    _require(request.user, capability)
    try:
        action(actor=request.user, meeting=meeting)
    except ValidationError as exc:
        return _meeting_page(request, meeting, status=400, action_errors=exc.messages)
    messages.success(request, done)
    return redirect("committees:meeting", meeting_id=meeting.pk)


@login_required
@require_POST
def minutes_approve(request: HttpRequest, meeting_id: int) -> HttpResponse:
    return _minutes_action(
        request,
        meeting_id,
        Capability.APPROVE,
        services.minutes_approve,
        _("The minutes were approved; they are now read-only."),
    )


@login_required
@require_POST
def minutes_correct(request: HttpRequest, meeting_id: int) -> HttpResponse:
    return _minutes_action(
        request,
        meeting_id,
        Capability.RUN_MEETINGS,
        services.minutes_correct,
        _("A new draft version was started from the approved minutes."),
    )


@login_required
def minutes_pdf(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting = selectors.meeting_get_for(user=request.user, meeting_id=meeting_id)
    body = exports.minutes_pdf(meeting=meeting)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="minutes-{meeting.committee_id}-{meeting.scheduled_on.isoformat()}.pdf"'
    )
    return response


@login_required
@require_POST
def decision_create(request: HttpRequest, meeting_id: int) -> HttpResponse:
    return _meeting_form_post(
        request,
        meeting_id,
        form_key="decision_form",
        make_form=lambda meeting: DecisionForm(request.POST, user=request.user),
        call=lambda meeting, form: services.decision_record(
            actor=request.user, meeting=meeting, **form.cleaned_data
        ),
        done=_("The decision was recorded and its action item opened."),
    )


@login_required
@require_POST
def meeting_cancel(request: HttpRequest, meeting_id: int) -> HttpResponse:
    return _meeting_form_post(
        request,
        meeting_id,
        form_key="cancel_form",
        make_form=lambda meeting: MeetingCancelForm(request.POST),
        call=lambda meeting, form: services.meeting_cancel(
            actor=request.user, meeting=meeting, reason=form.cleaned_data["reason"]
        ),
        done=_("The meeting was cancelled."),
    )


# --- action items ----------------------------------------------------------------------------


@dataclass
class ActionRow:
    item: ActionItem
    overdue_days: int
    escalated: bool
    form: ActionUpdateForm | None


def _may_update(user: Any, item: ActionItem) -> bool:
    """Whether to offer the update form (the service decides, and refuses the others with 403)."""
    if item.responsible_id == user.organisation_id and user.can(Capability.EDIT):
        return True
    return bool(user.can(Capability.RUN_MEETINGS))


def _action_row(
    user: Any,
    item: ActionItem,
    today: dt.date,
    form: ActionUpdateForm | None = None,
    offer_form: bool = True,
) -> ActionRow:
    overdue = (today - item.due_on).days if item.is_overdue(today) else 0
    if form is None and offer_form and _may_update(user, item):
        form = ActionUpdateForm(current=item.status, auto_id=f"id_%s_{item.pk}")
    return ActionRow(
        item=item,
        overdue_days=overdue,
        escalated=item.visible_from_depth < DEPTH[item.jurisdiction.level],
        form=form,
    )


@login_required
def my_actions(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    page = paginate(request, selectors.action_item_mine_for(user=request.user))
    rows = [_action_row(request.user, item, today) for item in page]
    return render(request, "committees/my_actions.html", {"page": page, "rows": rows, "today": today})


@login_required
def overdue(request: HttpRequest) -> HttpResponse:
    user = request.user
    today = timezone.localdate()
    offer_toggle = user.jurisdiction.level != "county"  # type: ignore[union-attr]
    include_unescalated = offer_toggle and request.GET.get("all") == "1"
    items = selectors.action_item_overdue_for(user=user, today=today, include_unescalated=include_unescalated)
    page = paginate(request, items)
    # The overdue list links to each action; it is updated on its own page.
    rows = [_action_row(user, item, today, offer_form=False) for item in page]
    context = {
        "page": page,
        "rows": rows,
        "today": today,
        "offer_toggle": offer_toggle,
        "include_unescalated": include_unescalated,
    }
    return render(request, "committees/overdue.html", context)


@login_required
def action_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    user = request.user
    item = selectors.action_item_get_for(user=user, item_id=item_id)
    today = timezone.localdate()
    htmx = bool(request.headers.get("HX-Request"))
    form = None
    status = 200
    if request.method == "POST":
        form = ActionUpdateForm(request.POST, current=item.status, auto_id=f"id_%s_{item.pk}")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.action_item_update(
                    actor=user,
                    item=item,
                    note=data["note"],
                    status=data["status"] or None,
                    cancel_reason=data["cancel_reason"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if not htmx:
                    messages.success(request, _("The action was updated."))
                    return redirect("committees:action", item_id=item.pk)
                item = selectors.action_item_get_for(user=user, item_id=item.pk)
                row = _action_row(user, item, today)
                return render(request, "committees/partials/action_card.html", {"row": row, "saved": True})
        # htmx swaps 2xx answers only, so a fragment with errors is sent as 200.
        status = 200 if htmx else 400
        if htmx:
            row = _action_row(user, item, today, form=form)
            return render(request, "committees/partials/action_card.html", {"row": row}, status=status)
    row = _action_row(user, item, today, form=form)
    context = {"row": row, "item": item, "notes": selectors.action_item_notes_for(item=item), "today": today}
    return render(request, "committees/action_detail.html", context, status=status)
