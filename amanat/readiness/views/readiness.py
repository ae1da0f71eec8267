"""Readiness pages: the roll-ups (national, province, county), a county's stations on one item, a
station's checklist, the CSV upload, and the national checklist settings.

Pages parse the input, call one service or the selectors, and render. The roll-ups read the kept
tallies only (never the stations). Forms a role may not use are not shown, and their endpoints
answer 404 to callers without the capability; objects outside the caller's jurisdiction answer 404
from the selectors.
"""

import csv
import io
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amanat.accounts.roles import Capability
from amanat.elections.models import ElectionEvent
from amanat.elections.selectors import election_event_get_for, election_event_list_for
from amanat.geography.models import County, PollingStation, Province
from amanat.geography.selectors import county_get_for, province_get_for, station_get_for
from amanat.geography.tiles import tile_layout
from amanat.readiness import selectors, services
from amanat.readiness.forms import (
    BACK_COUNTY,
    BACK_STATION,
    ReadinessItemCreateForm,
    ReadinessItemEditForm,
    ReadinessItemsDefaultForm,
    ReadinessUploadForm,
    RecountForm,
    StationReadinessForm,
)
from amanat.readiness.models import ItemStatus, ReadinessItem, StationReadiness
from amanat.reports.context_processors import request_current_event
from amanat.ui.formatting import format_number
from amanat.ui.forms import add_service_errors
from amanat.ui.pagination import paginate

# Bands of percent done that colour the map and the bars, each with its own pattern and its range in
# text (colour is never the only cue): (lowest percent, css band).
BANDS = [(100.0, "complete"), (75.0, "b75"), (50.0, "b50"), (25.0, "b25"), (0.0, "b0")]
CSV_COLUMNS = ["station_code", "item_code", "status", "evidence"]


# --- who may do what -------------------------------------------------------------------------


def _require(user: Any, capability: Capability) -> None:
    """Refuse, as if the endpoint did not exist, a caller whose role lacks the capability."""
    if not user.can(capability):
        raise Http404


def _require_national_administrator(user: Any) -> None:
    if not user.can_manage_elections:
        raise Http404


def _event_from(request: HttpRequest) -> ElectionEvent | None:
    """The event chosen with ?event=, else the current one, else the latest (None when there is none)."""
    event_id = request.GET.get("event", "").strip()
    if event_id:
        return election_event_get_for(user=request.user, event_id=event_id)  # type: ignore[no-any-return]
    current = request_current_event(request)
    if current is not None:
        return current
    return election_event_list_for(user=request.user).first()  # type: ignore[no-any-return]


def _events(request: HttpRequest) -> list[ElectionEvent]:
    return list(election_event_list_for(user=request.user))


# --- roll-up rows: what the tables, bars and tiles print ---------------------------------------


@dataclass
class Bar:
    """A progress bar: stations done, in progress and failed, with the percent done in text."""

    progress: selectors.Progress
    percent: str
    band: str
    done_width: str
    in_progress_width: str
    failed_width: str
    item: ReadinessItem | None = None


@dataclass
class AreaRow:
    """A province or county of a roll-up: a bar per item and overall, and its stations at risk."""

    area: Province | County
    stations: int
    at_risk: int
    bars: list[Bar]
    overall: Bar


def _width(part: int, whole: int) -> str:
    """A CSS width in percent, with a dot whatever the language (never localised)."""
    return f"{100 * part / whole:.1f}" if whole else "0"


def _bar(progress: selectors.Progress, item: ReadinessItem | None = None) -> Bar:
    percent = progress.percent_done
    band = next(name for floor, name in BANDS if percent >= floor)
    if band == "complete" and progress.done < progress.stations:
        band = "b75"  # 99.96% rounds to 100.0: not complete
    if not progress.stations:
        band = "none"
    return Bar(
        progress=progress,
        percent=_("%(percent)s%%") % {"percent": format_number(percent)},
        band=band,
        done_width=_width(progress.done, progress.stations),
        in_progress_width=_width(progress.in_progress, progress.stations),
        failed_width=_width(progress.failed, progress.stations),
        item=item,
    )


def _area_row(area: selectors.AreaReadiness, items: list[ReadinessItem]) -> AreaRow:
    return AreaRow(
        area=area.area,
        stations=area.stations,
        at_risk=area.at_risk,
        bars=[_bar(area.items[item.pk], item) for item in items],
        overall=_bar(area.overall),
    )


def _legend() -> list[dict[str, str]]:
    return [
        # xgettext:no-python-format
        {"band": "b0", "label": _("Under 25% done")},
        {"band": "b25", "label": _("25% to 50% done")},
        {"band": "b50", "label": _("50% to 75% done")},
        # xgettext:no-python-format
        {"band": "b75", "label": _("75% done or more")},
        {"band": "complete", "label": _("Complete")},
        {"band": "none", "label": _("No stations counted")},
    ]


def _rollup_context(
    request: HttpRequest, event: ElectionEvent, province: Province | None = None
) -> dict[str, Any]:
    rollup = selectors.readiness_rollup_for(user=request.user, event=event, province=province)
    rows = [_area_row(area, rollup.items) for area in rollup.areas]
    at_risk_ids = {item.pk for item in rollup.at_risk_items}
    return {
        "items": rollup.items,
        "at_risk_ids": at_risk_ids,
        "rows": rows,
        "total": _area_row(rollup.total, rollup.items) if rollup.total is not None else None,
        "legend": _legend(),
        "at_risk_days": settings.READINESS_AT_RISK_DAYS,
    }


# --- the roll-up pages -----------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """National: provinces on a map and in a table; province: its counties; county: its own items."""
    user = request.user
    event = _event_from(request)
    level = user.jurisdiction.level  # type: ignore[union-attr]
    context: dict[str, Any] = {
        "event": event,
        "events": _events(request),
        "level": level,
        "can_edit": user.can(Capability.EDIT),  # type: ignore[union-attr]
    }
    if event is not None:
        context.update(_rollup_context(request, event))
        if level == "national":
            tiles, tile_rows, tile_columns = tile_layout(context["rows"], province_of=lambda row: row.area)
            context.update(tiles=tiles, tile_rows=tile_rows, tile_columns=tile_columns)
        elif level == "county":
            context["county_row"] = context["rows"][0] if context["rows"] else None
    return render(request, "readiness/readiness_home.html", context)


@login_required
def province(request: HttpRequest, province_id: int) -> HttpResponse:
    place = province_get_for(user=request.user, province_id=province_id)
    event = _event_from(request)
    context: dict[str, Any] = {"event": event, "events": _events(request), "province": place}
    if event is not None:
        context.update(_rollup_context(request, event, province=place))
    return render(request, "readiness/readiness_province.html", context)


# --- a county's stations on one item, and a station's checklist --------------------------------


@dataclass
class StationLine:
    station: PollingStation
    row: StationReadiness | None
    form: StationReadinessForm | None
    status: str
    status_label: str


@dataclass
class ItemLine:
    item: ReadinessItem
    row: StationReadiness | None
    form: StationReadinessForm | None


def _status_filter(request: HttpRequest) -> str:
    status = request.GET.get("status", "")
    return status if status in ItemStatus.values else ""


def _item_from(request: HttpRequest) -> ReadinessItem | None:
    item_id = request.GET.get("item", "").strip()
    if not item_id:
        return None
    return selectors.readiness_item_get_for(user=request.user, item_id=item_id)  # type: ignore[no-any-return]


def _county_page(
    request: HttpRequest,
    county: County,
    event: ElectionEvent | None,
    item: ReadinessItem | None,
    *,
    forms: dict[int, StationReadinessForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The county's stations on one item (the first of the checklist unless ?item= names one)."""
    user = request.user
    forms = forms or {}
    items = list(selectors.readiness_item_list_for(user=user, event=event)) if event is not None else []
    if item is None and items:
        item = items[0]
    status_filter = _status_filter(request)
    can_edit = bool(user.can(Capability.EDIT)) and item is not None and item.is_active  # type: ignore[union-attr]
    context: dict[str, Any] = {
        "county": county,
        "event": event,
        "events": _events(request),
        "items": items,
        "item": item,
        "status_filter": status_filter,
        "status_choices": ItemStatus.choices,
        "can_edit": can_edit,
        "form_errors": [],
    }
    if event is not None and item is not None:
        page = paginate(
            request,
            selectors.station_readiness_list_for(
                user=user, event=event, county=county, item=item, status=status_filter
            ),
        )
        stations = list(page)
        rows = selectors.station_readiness_rows_for(
            user=user, item=item, station_ids=[station.pk for station in stations]
        )
        labels = {value: str(label) for value, label in ItemStatus.choices}
        lines = []
        for station in stations:
            form = None
            if can_edit:
                row = rows.get(station.pk)
                form = forms.get(station.pk) or StationReadinessForm(
                    initial={
                        "status": station.item_status,
                        "evidence": row.evidence if row is not None else "",
                        "back": BACK_COUNTY,
                    },
                    auto_id=f"id_%s_{station.pk}",
                )
            lines.append(
                StationLine(
                    station, rows.get(station.pk), form, station.item_status, labels[station.item_status]
                )
            )
        shown = {station.pk for station in stations} if can_edit else set()
        # A form sent for a station not on this page (another filter or page), or for an item that
        # can no longer be set: its errors show above the list.
        context["form_errors"] = [
            str(message)
            for station_id, form in forms.items()
            if station_id not in shown
            for errors in form.errors.values()
            for message in errors
        ]
        context.update(page=page, lines=lines)
        if item.is_active:
            rollup = selectors.readiness_rollup_for(user=user, event=event, province=county.province)
            area = next((a for a in rollup.areas if a.area.pk == county.pk), None)
            if area is not None and item.pk in area.items:
                context["item_bar"] = _bar(area.items[item.pk])
                context["at_risk"] = item in rollup.at_risk_items
        if request.headers.get("HX-Request") and not forms:
            return render(request, "readiness/partials/readiness_stations.html", context)
    return render(request, "readiness/readiness_county.html", context, status=status)


@login_required
def county(request: HttpRequest, county_id: int) -> HttpResponse:
    place = county_get_for(user=request.user, county_id=county_id)
    item = _item_from(request)
    event = item.event if item is not None else _event_from(request)
    return _county_page(request, place, event, item)


def _station_page(
    request: HttpRequest,
    station: PollingStation,
    event: ElectionEvent | None,
    *,
    forms: dict[int, StationReadinessForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    forms = forms or {}
    can_edit = bool(user.can(Capability.EDIT))  # type: ignore[union-attr]
    checklist = (
        selectors.station_readiness_for(user=user, event=event, station=station) if event is not None else []
    )
    lines = []
    for item, row in checklist:
        form = None
        if can_edit:
            form = forms.get(item.pk) or StationReadinessForm(
                initial={
                    "status": row.status if row is not None else ItemStatus.NOT_STARTED,
                    "evidence": row.evidence if row is not None else "",
                    "back": BACK_STATION,
                },
                auto_id=f"id_%s_{item.pk}",
            )
        lines.append(ItemLine(item, row, form))
    shown = {item.pk for item, _row in checklist}
    form_errors = [
        str(message)
        for item_id, form in forms.items()
        if item_id not in shown
        for errors in form.errors.values()
        for message in errors
    ]
    context = {
        "station": station,
        "event": event,
        "events": _events(request),
        "lines": lines,
        "done": sum(1 for _item, row in checklist if row is not None and row.status == ItemStatus.DONE),
        "can_edit": can_edit,
        "form_errors": form_errors,
        "not_started_label": ItemStatus.NOT_STARTED.label,
    }
    return render(request, "readiness/readiness_station.html", context, status=status)


@login_required
def station(request: HttpRequest, station_id: int) -> HttpResponse:
    place = station_get_for(user=request.user, station_id=station_id)
    return _station_page(request, place, _event_from(request))


def _county_return_url(request: HttpRequest, county_id: int, item: ReadinessItem) -> str:
    """The county page the form was on: its item, status filter and page (sent in the action's query)."""
    query = QueryDict(mutable=True)
    query["item"] = str(item.pk)
    for name in ("status", "page"):
        value = request.GET.get(name, "")
        if value:
            query[name] = value
    return reverse("readiness:county", args=[county_id]) + "?" + query.urlencode()


@login_required
@require_POST
def station_set(request: HttpRequest, station_id: int, readiness_item_id: int) -> HttpResponse:
    place = station_get_for(user=request.user, station_id=station_id)
    item = selectors.readiness_item_get_for(user=request.user, item_id=readiness_item_id)
    _require(request.user, Capability.EDIT)
    back = BACK_STATION if request.POST.get("back") == BACK_STATION else BACK_COUNTY
    auto_id = f"id_%s_{item.pk}" if back == BACK_STATION else f"id_%s_{place.pk}"
    form = StationReadinessForm(request.POST, auto_id=auto_id)
    if form.is_valid():
        try:
            row = services.station_readiness_set(
                actor=request.user,
                item=item,
                station=place,
                status=form.cleaned_data["status"],
                evidence=form.cleaned_data["evidence"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(station)s: %(item)s is now %(status)s.")
                % {"station": place.code, "item": item.title, "status": row.get_status_display()},
            )
            if back == BACK_STATION:
                return redirect(reverse("readiness:station", args=[place.pk]) + f"?event={item.event_id}")
            return redirect(_county_return_url(request, place.county_id, item))
    if back == BACK_STATION:
        return _station_page(request, place, item.event, forms={item.pk: form}, status=400)
    return _county_page(request, place.county, item.event, item, forms={place.pk: form}, status=400)


# --- the CSV upload --------------------------------------------------------------------------


def _upload_page(
    request: HttpRequest,
    form: ReadinessUploadForm,
    event: ElectionEvent | None,
    *,
    errors: list[services.RowError] | None = None,
    status: int = 200,
) -> HttpResponse:
    items = list(selectors.readiness_item_list_for(user=request.user, event=event)) if event else []
    context = {
        "form": form,
        "event": event,
        "items": items,
        "errors": errors or [],
        "status_choices": ItemStatus.choices,
    }
    return render(request, "readiness/readiness_upload.html", context, status=status)


@login_required
def upload(request: HttpRequest) -> HttpResponse:
    """A responsible organisation's CSV of station states (e.g. the operator's lines): all or nothing."""
    _require(request.user, Capability.EDIT)
    if request.method != "POST":
        event = _event_from(request)
        initial = {"event": event.pk} if event is not None else {}
        return _upload_page(request, ReadinessUploadForm(user=request.user, initial=initial), event)
    form = ReadinessUploadForm(request.POST, request.FILES, user=request.user)
    errors: list[services.RowError] = []
    event = None
    if form.is_valid():
        event = form.cleaned_data["event"]
        source = str(getattr(request.FILES.get("file"), "name", "upload"))[:200]
        try:
            rows = services.parse_readiness_csv(form.cleaned_data["file"])
            result = services.readiness_upload(actor=request.user, event=event, rows=rows, source=source)
        except services.ReadinessUploadRejectedError as exc:
            errors = exc.rows
        except ValidationError as exc:
            add_service_errors(form, exc)
        except csv.Error as exc:  # e.g. a field longer than the csv module's limit
            form.add_error("file", _("The file is not a readable CSV file: %(error)s") % {"error": exc})
        else:
            by_status = dict(ItemStatus.choices)
            messages.success(
                request,
                _("%(source)s: %(rows)s rows read, %(changed)s stations' items changed (%(statuses)s).")
                % {
                    "source": source,
                    "rows": format_number(result.rows),
                    "changed": format_number(result.changed),
                    "statuses": " · ".join(
                        f"{by_status.get(key, key)}: {format_number(count)}"
                        for key, count in sorted(result.by_status.items())
                    )
                    or "—",
                },
            )
            return redirect(reverse("readiness:upload") + f"?event={event.pk}")
    return _upload_page(request, form, event or _event_from(request), errors=errors, status=400)


@login_required
def upload_template(request: HttpRequest) -> HttpResponse:
    """A CSV to fill in: the header, and one line per checklist item naming its code."""
    _require(request.user, Capability.EDIT)
    event = _event_from(request)
    if event is None:
        raise Http404
    items = selectors.readiness_item_list_for(user=request.user, event=event)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for item in items:
        writer.writerow(["", item.code, "", ""])
    # With a BOM, spreadsheet programs open the Persian evidence column correctly.
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="readiness-{event.pk}.csv"'
    return response


# --- the checklist (national administrators) ---------------------------------------------------


def _items_page(
    request: HttpRequest,
    event: ElectionEvent | None,
    *,
    create_form: ReadinessItemCreateForm | None = None,
    defaults_form: ReadinessItemsDefaultForm | None = None,
    recount_form: RecountForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    initial = {"event": event.pk} if event is not None else {}
    due = {"due_on": event.voting_day} if event is not None else {}
    context = {
        "event": event,
        "events": _events(request),
        "items": (
            list(selectors.readiness_item_list_for(user=user, event=event, active_only=False))
            if event is not None
            else []
        ),
        "create_form": create_form or ReadinessItemCreateForm(user=user, initial=initial),
        "defaults_form": defaults_form or ReadinessItemsDefaultForm(user=user, initial={**initial, **due}),
        "recount_form": recount_form or RecountForm(user=user, initial=initial),
    }
    return render(request, "readiness/readiness_items.html", context, status=status)


def _items_url(event: ElectionEvent) -> str:
    return reverse("readiness:items") + f"?event={event.pk}"


@login_required
def items(request: HttpRequest) -> HttpResponse:
    _require_national_administrator(request.user)
    if request.method != "POST":
        return _items_page(request, _event_from(request))
    form = ReadinessItemCreateForm(request.POST, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            item = services.readiness_item_create(
                actor=request.user,
                event=data["event"],
                code=data["code"],
                title=data["title"],
                title_en=data["title_en"],
                due_on=data["due_on"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("%(item)s was added to the checklist.") % {"item": item.title})
            return redirect(_items_url(item.event))
    event = form.cleaned_data.get("event") if hasattr(form, "cleaned_data") else None
    return _items_page(request, event or _event_from(request), create_form=form, status=400)


@login_required
@require_POST
def items_defaults(request: HttpRequest) -> HttpResponse:
    _require_national_administrator(request.user)
    form = ReadinessItemsDefaultForm(request.POST, user=request.user)
    if form.is_valid():
        event = form.cleaned_data["event"]
        try:
            added = services.readiness_items_create_defaults(
                actor=request.user, event=event, due_on=form.cleaned_data["due_on"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(count)s items of the usual checklist were added.")
                % {"count": format_number(len(added))},
            )
            return redirect(_items_url(event))
    event = form.cleaned_data.get("event") if hasattr(form, "cleaned_data") else None
    return _items_page(request, event or _event_from(request), defaults_form=form, status=400)


@login_required
def item_edit(request: HttpRequest, readiness_item_id: int) -> HttpResponse:
    _require_national_administrator(request.user)
    item = selectors.readiness_item_get_for(user=request.user, item_id=readiness_item_id)
    if request.method != "POST":
        form = ReadinessItemEditForm(
            initial={
                "title": item.title,
                "title_en": item.title_en,
                "due_on": item.due_on,
                "is_active": item.is_active,
            }
        )
        return render(request, "readiness/readiness_item_edit.html", {"item": item, "form": form})
    form = ReadinessItemEditForm(request.POST)
    if form.is_valid():
        try:
            services.readiness_item_update(actor=request.user, item=item, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("%(item)s was saved.") % {"item": item.title})
            return redirect(_items_url(item.event))
    return render(request, "readiness/readiness_item_edit.html", {"item": item, "form": form}, status=400)


@login_required
@require_POST
def recount(request: HttpRequest) -> HttpResponse:
    _require_national_administrator(request.user)
    form = RecountForm(request.POST, user=request.user)
    if form.is_valid():
        event = form.cleaned_data["event"]
        try:
            stations = services.readiness_stations_recount(event=event, actor=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Stations counted again: %(count)s stations in all.") % {"count": format_number(stations)},
            )
            return redirect(_items_url(event))
    return _items_page(request, _event_from(request), recount_form=form, status=400)


urlpatterns = [
    path("", home, name="home"),
    path("provinces/<int:province_id>/", province, name="province"),
    path("counties/<int:county_id>/", county, name="county"),
    path("stations/<int:station_id>/", station, name="station"),
    path("stations/<int:station_id>/items/<int:readiness_item_id>/", station_set, name="station-set"),
    path("upload/", upload, name="upload"),
    path("upload/template.csv", upload_template, name="upload-template"),
    path("items/", items, name="items"),
    path("items/defaults/", items_defaults, name="items-defaults"),
    path("items/<int:readiness_item_id>/", item_edit, name="item-edit"),
    path("recount/", recount, name="recount"),
]
