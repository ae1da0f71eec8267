from django.urls import path

from amanat.geography import views

app_name = "geography"
urlpatterns = [
    path("", views.country, name="country"),
    path("provinces/<int:province_id>/", views.province_detail, name="province"),
    path("counties/<int:county_id>/", views.county_detail, name="county"),
    path("counties/<int:county_id>/stations.csv", views.county_stations_csv, name="county-stations-csv"),
    path("stations/", views.station_search, name="stations"),
    path("stations/import/", views.station_import_view, name="station-import"),
    path("stations/<int:station_id>/", views.station_detail, name="station"),
    path("stations/<int:station_id>/edit/", views.station_edit, name="station-edit"),
]
