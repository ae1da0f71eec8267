"""The county identity card (page and PDF), classification, the level maps and table, and duties."""

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path


def _todo(request: HttpRequest, **kwargs: int) -> HttpResponse:  # replaced by the real pages
    raise Http404


urlpatterns = [
    path("levels/", _todo, name="levels"),
    path("events/<int:event_id>/counties/<int:county_id>/", _todo, name="county"),
]
