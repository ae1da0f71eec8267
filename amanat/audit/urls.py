from django.urls import path

from amanat.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.entry_list, name="entries"),
    path("<int:seq>/", views.entry_detail, name="entry"),
]
