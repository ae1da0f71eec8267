from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from amanat.elections import selectors
from amanat.geography.selectors import county_get_for
from amanat.ui.pagination import paginate


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, selectors.election_event_list_for(user=request.user))
    return render(request, "elections/event_list.html", {"page": page})


@login_required
def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    event = selectors.election_event_get_for(user=request.user, event_id=event_id)
    contests = selectors.contest_list_for(user=request.user, event=event)
    return render(request, "elections/event_detail.html", {"event": event, "contests": contests})


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
