"""The register, its risks and mitigations, submission and the province's review; reference data."""

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path


def _todo(request: HttpRequest, **kwargs: int) -> HttpResponse:  # replaced by the real pages
    raise Http404


urlpatterns = [
    path("", _todo, name="list"),
    path("versions/<int:version_id>/", _todo, name="version"),
    path("<int:atlas_id>/", _todo, name="atlas"),
]
