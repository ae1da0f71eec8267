from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from amanat.reports.context_processors import request_current_event
from amanat.reports.selectors import dashboard_for


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reports/home.html",
        {"dashboard": dashboard_for(user=request.user, event=request_current_event(request))},
    )
