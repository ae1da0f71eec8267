import csv
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _

from amanat.geography import selectors
from amanat.geography.forms import StationForm, StationImportForm
from amanat.geography.services import (
    ImportRejectedError,
    RowError,
    parse_station_csv,
    station_import,
    station_update,
    stations_csv_rows,
)
from amanat.ui.formatting import format_number
from amanat.ui.forms import add_service_errors
from amanat.ui.pagination import paginate


@login_required
def country(request: HttpRequest) -> HttpResponse:
    station_counts = selectors.station_counts_by_province_for(user=request.user)
    rows = [(p, station_counts.get(p.pk, 0)) for p in selectors.province_list_for(user=request.user)]
    return render(request, "geography/country.html", {"rows": rows})


@login_required
def province_detail(request: HttpRequest, province_id: int) -> HttpResponse:
    province = selectors.province_get_for(user=request.user, province_id=province_id)
    q = request.GET.get("q", "").strip()
    page = paginate(request, selectors.county_list_for(user=request.user, province_id=province.pk, q=q))
    counts = selectors.station_counts_by_county_for(user=request.user, county_ids=[c.pk for c in page])
    rows = [(county, counts.get(county.pk, 0)) for county in page]
    context = {"province": province, "page": page, "rows": rows, "q": q}
    if request.headers.get("HX-Request"):
        return render(request, "geography/partials/county_table.html", context)
    return render(request, "geography/province.html", context)


def _station_page_context(request: HttpRequest, **filters: Any) -> dict[str, Any]:
    q = request.GET.get("q", "").strip()
    district_id: str | None = request.GET.get("district", "").strip()
    if not (district_id and district_id.isascii() and district_id.isdigit()):
        district_id = None  # an empty or malformed filter shows every district
    stations = selectors.station_list_for(user=request.user, district_id=district_id, q=q, **filters)
    return {"page": paginate(request, stations), "q": q, "district_id": district_id}


@login_required
def county_detail(request: HttpRequest, county_id: int) -> HttpResponse:
    county = selectors.county_get_for(user=request.user, county_id=county_id)
    context = _station_page_context(request, county_id=county.pk)
    if request.headers.get("HX-Request"):
        return render(request, "geography/partials/station_table.html", context)
    context.update(
        county=county, districts=selectors.district_list_for(user=request.user, county_id=county.pk)
    )
    return render(request, "geography/county.html", context)


@login_required
def station_search(request: HttpRequest) -> HttpResponse:
    context = _station_page_context(request)
    if request.headers.get("HX-Request"):
        return render(request, "geography/partials/station_table.html", context)
    return render(request, "geography/stations.html", context)


@login_required
def station_detail(request: HttpRequest, station_id: int) -> HttpResponse:
    station = selectors.station_get_for(user=request.user, station_id=station_id)
    return render(request, "geography/station.html", {"station": station})


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def county_stations_csv(request: HttpRequest, county_id: int) -> StreamingHttpResponse:
    county = selectors.county_get_for(user=request.user, county_id=county_id)
    stations = selectors.station_list_for(user=request.user, county_id=county.pk).iterator(chunk_size=2000)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in stations_csv_rows(stations)), content_type="text/csv; charset=utf-8"
    )
    filename = slugify(county.name_en or county.code) or county.code
    response["Content-Disposition"] = f'attachment; filename="stations-{filename}.csv"'
    return response


@login_required
def station_import_view(request: HttpRequest) -> HttpResponse:
    if not request.user.can_administer:  # type: ignore[union-attr]
        raise Http404
    form = StationImportForm(request.POST or None, request.FILES or None)
    errors: list[RowError] = []
    if request.method == "POST" and form.is_valid():
        try:
            rows = parse_station_csv(form.cleaned_data["file"])
            result = station_import(
                actor=request.user,
                rows=rows,
                source=str(getattr(request.FILES.get("file"), "name", "upload")),
            )
        except ImportRejectedError as exc:
            errors = exc.errors
        else:
            messages.success(
                request,
                _("Stations imported: %(created)s new, %(updated)s changed, %(unchanged)s unchanged.")
                % {
                    "created": format_number(result.total("created")),
                    "updated": format_number(result.total("updated")),
                    "unchanged": format_number(result.total("unchanged")),
                },
            )
            return redirect("geography:stations")
    status = 400 if errors or form.errors else 200
    return render(request, "geography/station_import.html", {"form": form, "errors": errors}, status=status)


@login_required
def station_edit(request: HttpRequest, station_id: int) -> HttpResponse:
    station = selectors.station_get_for(user=request.user, station_id=station_id)
    if not request.user.can_administer:  # type: ignore[union-attr]
        raise Http404
    form = StationForm(request.POST or None, instance=station, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            station_update(actor=request.user, station=station, data=form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The station was saved."))
            return redirect("geography:station", station_id=station.pk)
        station.refresh_from_db()
    return render(request, "geography/station_form.html", {"form": form, "station": station})
