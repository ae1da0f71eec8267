"""The figures (counts, median handling time, share within deadline) and the CSV and XLSX exports.

Both read the same filters as the list, and only the cases within the caller's jurisdiction.
"""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from amanat.incidents import selectors
from amanat.incidents.exports import csv_lines, export_rows, xlsx_bytes
from amanat.incidents.views.common import filter_context, incident_filters
from amanat.ui.formatting import is_persian


@login_required
def figures(request: HttpRequest) -> HttpResponse:
    """How many cases, how fast they were dealt with and how many on time: by category, county and state."""
    filters = incident_filters(request.GET)
    context: dict[str, Any] = {
        "figures": selectors.incident_figures_for(user=request.user, filters=filters),
        "query": request.GET.urlencode(),
        **filter_context(request, filters),
    }
    return render(request, "incidents/figures.html", context)


def _filename(extension: str) -> str:
    return f"incidents-{timezone.localtime():%Y%m%d-%H%M}.{extension}"


def _export_rows(request: HttpRequest) -> Any:
    filters = incident_filters(request.GET)
    now = timezone.now()
    incidents = selectors.incident_list_for(user=request.user, filters=filters, now=now)
    return export_rows(incidents.iterator(chunk_size=2000), now=now)


@login_required
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered list as CSV (UTF-8 with a byte-order mark), streamed row by row."""
    response = StreamingHttpResponse(csv_lines(_export_rows(request)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename("csv")}"'
    return response


@login_required
def export_xlsx(request: HttpRequest) -> HttpResponse:
    """The filtered list as an Excel workbook."""
    content = xlsx_bytes(_export_rows(request), right_to_left=is_persian())
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename("xlsx")}"'
    return response


urlpatterns = [
    path("figures/", figures, name="figures"),
    path("export.csv", export_csv, name="export-csv"),
    path("export.xlsx", export_xlsx, name="export-xlsx"),
]
