from django.urls import path

from amanat.elections import views

app_name = "elections"
urlpatterns = [
    path("", views.event_list, name="events"),
    path("new/", views.event_create, name="event-create"),
    path("<int:event_id>/contests/new/", views.contest_create, name="contest-create"),
    path("<int:event_id>/", views.event_detail, name="event"),
    path("<int:event_id>/contests/<int:contest_id>/", views.contest_detail, name="contest"),
    path("counties/<int:county_id>/contests/", views.county_contests, name="county-contests"),
]
