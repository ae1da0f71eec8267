from django.urls import path

from amanat.reports import views

urlpatterns = [path("", views.home, name="home")]
