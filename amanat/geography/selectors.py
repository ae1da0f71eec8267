"""Reads of the geography, scoped to the caller's jurisdiction; missing and forbidden both raise Http404."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from amanat.geography.models import County, District, PollingStation, Province
from amanat.persian import tidy
from amanat.reference_cache import ReferenceCache
from amanat.scoping import scoped_to, unscoped


def _get_or_404(queryset: QuerySet[Any], pk: Any) -> Any:
    try:
        return queryset.get(pk=int(pk))
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def province_list_for(*, user: Any) -> QuerySet[Province]:
    """Provinces the caller can see, with how many counties each has."""
    with scoped_to(user):
        # Counted through the scoped County manager, so a county user is not told of sibling counties.
        counties = (
            County.objects.filter(province=OuterRef("pk"))
            .order_by()
            .values("province")
            .annotate(total=Count("pk"))
            .values("total")
        )
        return Province.objects.annotate(county_count=Coalesce(Subquery(counties), 0)).order_by("name")


def province_get_for(*, user: Any, province_id: Any) -> Province:
    """One province, if the caller's jurisdiction reaches it."""
    with scoped_to(user):
        return _get_or_404(Province.objects.all(), province_id)


def county_list_for(*, user: Any, province_id: Any = None, q: str = "") -> QuerySet[County]:
    """Counties the caller can see, optionally within one province or matching a name or code."""
    with scoped_to(user):
        counties = County.objects.select_related("province").annotate(
            district_count=Count("districts", distinct=True)
        )
        if province_id not in (None, ""):
            counties = counties.filter(province_id=province_id)
        if q:
            q = tidy(q)
            counties = counties.filter(Q(name__icontains=q) | Q(code=q) | Q(name_en__icontains=q))
        return counties.order_by("name")


def county_get_for(*, user: Any, county_id: Any) -> County:
    """One county, if the caller's jurisdiction reaches it."""
    with scoped_to(user):
        return _get_or_404(County.objects.select_related("province"), county_id)


def district_list_for(*, user: Any, county_id: Any = None) -> QuerySet[District]:
    """Districts the caller can see, optionally of one county."""
    with scoped_to(user):
        districts = District.objects.select_related("county")
        if county_id not in (None, ""):
            districts = districts.filter(county_id=county_id)
        return districts.order_by("name")


def district_get_for(*, user: Any, district_id: Any) -> District:
    """One district, if the caller's jurisdiction reaches it."""
    with scoped_to(user):
        return _get_or_404(District.objects.select_related("county__province"), district_id)


def station_list_for(
    *, user: Any, county_id: Any = None, district_id: Any = None, province_id: Any = None, q: str = ""
) -> QuerySet[PollingStation]:
    """Polling stations the caller can see, filtered by place or by name, code or address."""
    with scoped_to(user):
        stations = PollingStation.objects.select_related("county", "district")
        if province_id not in (None, ""):
            stations = stations.filter(county__province_id=province_id)
        if county_id not in (None, ""):
            stations = stations.filter(county_id=county_id)
        if district_id not in (None, ""):
            stations = stations.filter(district_id=district_id)
        if q:
            q = tidy(q)
            stations = stations.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(address__icontains=q))
        return stations.order_by("code")


def station_get_for(*, user: Any, station_id: Any) -> PollingStation:
    """One polling station, if the caller's jurisdiction reaches it."""
    with scoped_to(user):
        return _get_or_404(PollingStation.objects.select_related("county__province", "district"), station_id)


@dataclass(frozen=True)
class StationPlace:
    """Where a station is, by id: what a report needs to check the reporter's jurisdiction and file it."""

    station_id: int
    county_id: int
    province_id: int


# Reports and status updates name stations by code, many times a second on voting day.
station_places: ReferenceCache[dict[str, StationPlace]] = ReferenceCache(
    "station-place", timeout=settings.REFERENCE_CACHE_SECONDS
)


def station_place_by_code(*, code: str) -> StationPlace | None:
    """The station with this code, anywhere (callers check the jurisdiction), or None.

    Not a page's read: services use it to check what a reporter names against their jurisdiction.
    Every station's place is held in the process's memory (a few MB for 60,000 stations), so a
    report costs no query for it; a station added since is looked up on its own.
    """
    known: dict[str, StationPlace] = station_places.held("all", _station_places_read)
    return known.get(code) or _station_places_read(code=code).get(code)


def _station_places_read(code: str | None = None) -> dict[str, StationPlace]:
    with unscoped():
        stations = PollingStation.objects.all() if code is None else PollingStation.objects.filter(code=code)
        rows = stations.values_list("code", "pk", "county_id", "county__province_id")
        return {row[0]: StationPlace(*row[1:]) for row in rows.iterator(chunk_size=5000)}


def station_places_forget() -> None:
    """Drop the cached station places: for changes made outside the services (the admin)."""
    station_places.invalidate()


@dataclass(frozen=True)
class GeographyCounts:
    provinces: int
    counties: int
    districts: int
    stations: int


def geography_counts_for(*, user: Any) -> GeographyCounts:
    """How many provinces, counties, districts and stations lie within the caller's jurisdiction."""
    with scoped_to(user):
        return GeographyCounts(
            provinces=Province.objects.count(),
            counties=County.objects.count(),
            districts=District.objects.count(),
            stations=PollingStation.objects.count(),
        )


def station_counts_by_county_for(*, user: Any, county_ids: list[int]) -> dict[int, int]:
    """Station counts for a page of counties, in one query."""
    with scoped_to(user):
        rows = (
            PollingStation.objects.filter(county_id__in=county_ids)
            .values("county_id")
            .annotate(total=Count("id"))
            .values_list("county_id", "total")
        )
        return dict(rows)


def station_counts_by_province_for(*, user: Any) -> dict[int, int]:
    """Station counts per province within the caller's jurisdiction, in one query."""
    with scoped_to(user):
        rows = (
            PollingStation.objects.values("county__province_id")
            .annotate(total=Count("id"))
            .values_list("county__province_id", "total")
        )
        return dict(rows)
