"""The county identity card (page and PDF), classification, the level maps and table, and duties."""

from django.urls import path

urlpatterns = [
    path(
        "events/<int:event_id>/counties/<int:county_id>/",
        lambda request, event_id, county_id: None,
        name="county",
    ),
]
