from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amanat.elections import selectors, services
from amanat.elections.forms import ContestForm, ElectionEventForm
from amanat.geography.selectors import county_get_for
from amanat.ui.forms import add_service_errors
from amanat.ui.pagination import paginate


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, selectors.election_event_list_for(user=request.user))
    return render(request, "elections/event_list.html", {"page": page})


@login_required
def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    event = selectors.election_event_get_for(user=request.user, event_id=event_id)
    contests = selectors.contest_list_for(user=request.user, event=event)
    contest_form = (
        ContestForm(user=request.user) if getattr(request.user, "can_manage_elections", False) else None
    )
    return render(
        request,
        "elections/event_detail.html",
        {"event": event, "contests": contests, "contest_form": contest_form},
    )


@login_required
def contest_detail(request: HttpRequest, event_id: int, contest_id: int) -> HttpResponse:
    event = selectors.election_event_get_for(user=request.user, event_id=event_id)
    contest = selectors.contest_get_for(user=request.user, event=event, contest_id=contest_id)
    page = paginate(request, selectors.contest_county_list_for(user=request.user, contest=contest))
    return render(
        request, "elections/contest_detail.html", {"event": event, "contest": contest, "page": page}
    )


@login_required
def county_contests(request: HttpRequest, county_id: int) -> HttpResponse:
    """The current event's contests for one county: a fragment the county page loads."""
    county = county_get_for(user=request.user, county_id=county_id)
    event = selectors.election_event_current()
    contests = selectors.county_contests_for(user=request.user, county=county, event=event)
    return render(request, "elections/partials/county_contests.html", {"event": event, "contests": contests})


@login_required
def event_create(request: HttpRequest) -> HttpResponse:
    if not getattr(request.user, "can_manage_elections", False):
        raise Http404
    form = ElectionEventForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {key: value for key, value in form.cleaned_data.items() if value not in (None, "")}
        try:
            event = services.election_event_create(actor=request.user, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The election event was created. Now add its contests."))
            return redirect("elections:event", event_id=event.pk)
    return render(request, "elections/event_form.html", {"form": form})


@login_required
@require_POST
def contest_create(request: HttpRequest, event_id: int) -> HttpResponse:
    event = selectors.election_event_get_for(user=request.user, event_id=event_id)
    form = ContestForm(request.POST, user=request.user)
    if form.is_valid():
        provinces = form.cleaned_data["provinces"] or None
        try:
            services.contest_add(
                actor=request.user,
                event=event,
                kind=form.cleaned_data["kind"],
                title=form.cleaned_data["title"],
                provinces=provinces,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The contest was added."))
            return redirect("elections:event", event_id=event.pk)
    contests = selectors.contest_list_for(user=request.user, event=event)
    return render(
        request,
        "elections/event_detail.html",
        {"event": event, "contests": contests, "contest_form": form},
        status=400,
    )
