"""Pages of live (replaced by the real ones)."""

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path


def _todo(request: HttpRequest, **kwargs: int) -> HttpResponse:
    raise Http404


urlpatterns = [path("live/", _todo, name="live")]
