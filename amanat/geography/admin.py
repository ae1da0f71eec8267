from django.contrib import admin

from amanat.audit.admin import AuditedModelAdmin
from amanat.geography.models import County, District, PollingStation, Province
from amanat.geography.selectors import station_places_forget


class PlacesChangingAdmin(AuditedModelAdmin):
    """A county or station edited here may move: reports must see where it is now."""

    def after_change(self) -> None:
        station_places_forget()


@admin.register(Province)
class ProvinceAdmin(AuditedModelAdmin):
    list_display = ["code", "name", "name_en"]
    search_fields = ["code", "name", "name_en"]


@admin.register(County)
class CountyAdmin(PlacesChangingAdmin):
    list_display = ["code", "name", "name_en", "province"]
    list_filter = ["province"]
    search_fields = ["code", "name", "name_en"]
    list_select_related = ["province"]


@admin.register(District)
class DistrictAdmin(AuditedModelAdmin):
    list_display = ["code", "name", "county"]
    search_fields = ["code", "name"]
    raw_id_fields = ["county"]
    list_select_related = ["county"]


@admin.register(PollingStation)
class PollingStationAdmin(PlacesChangingAdmin):
    list_display = ["code", "name", "county", "district", "is_synthetic"]
    list_filter = ["is_synthetic", "is_mobile"]
    search_fields = ["code", "name", "address"]
    raw_id_fields = ["county", "district"]
    list_select_related = ["county", "district"]
    show_full_result_count = False
