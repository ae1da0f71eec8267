"""The register, its risks and mitigations, submission and the province's review; reference data."""

from django.urls import path

urlpatterns = [
    path("versions/<int:version_id>/", lambda request, version_id: None, name="version"),
    path("<int:atlas_id>/", lambda request, atlas_id: None, name="atlas"),
]
