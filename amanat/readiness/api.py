"""The readiness and election-day API: checklist, station readiness, roll-ups, live status reports.

Every read goes through the readiness selectors, so a station or province outside the caller's
jurisdiction answers 404 (in the path or the query); an id in a request body that does not resolve
is refused with 400 naming the field. Every write is one service call: a role that may not make it
answers 403. Dates are ISO 8601 Gregorian (`YYYY-MM-DD`), times ISO 8601 with their offset
(`2027-03-05T08:00:00+03:30`), whatever calendar the pages show.

Devices report voting day through one batch endpoint, `POST live/reports`: each report is checked
on its own, the good ones are kept, and each bad one is named by its position in the batch.
"""

import datetime as dt
import json
from typing import Any, Literal

import pydantic
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import LimitOffsetPagination, paginate

from amanat.committees.api import MAX_ID, ErrorsOut
from amanat.elections import selectors as elections_selectors
from amanat.elections.models import ElectionEvent
from amanat.geography import selectors as geography_selectors
from amanat.geography.models import Province
from amanat.readiness import selectors, services
from amanat.readiness.models import ItemStatus, LiveEvent, LiveStatus, ReadinessItem, StationLive

router = Router(tags=["readiness"])

ISO = "Dates are ISO 8601 Gregorian (`YYYY-MM-DD`), times ISO 8601 with their offset."
MAX_REPORTS = 1000


# --- output ----------------------------------------------------------------------------------


class ItemOut(Schema):
    id: int
    event_id: int
    code: str
    title: str
    title_en: str
    due_on: dt.date
    position: int
    is_active: bool = Field(description="false: retired from the checklist (what stations recorded stays)")


class ProgressOut(Schema):
    stations: int = Field(description="Stations counted (station-item pairs for `overall`)")
    in_progress: int
    done: int
    failed: int
    not_started: int
    percent: float = Field(description="Percent done, one decimal")


class AreaItemOut(ProgressOut):
    item_id: int


class AreaOut(Schema):
    id: int | None = Field(description="The province or county; null for the total")
    name: str
    kind: Literal["province", "county", "total"]
    stations: int
    at_risk: int = Field(description="Station-items due within the at-risk window (or overdue) and not done")
    overall: ProgressOut
    items: list[AreaItemOut]


class RollupItemOut(Schema):
    id: int
    code: str
    title: str
    title_en: str
    due_on: dt.date
    at_risk: bool = Field(description="Due within the at-risk window, or overdue")


class RollupOut(Schema):
    event_id: int
    province_id: int | None
    items: list[RollupItemOut]
    areas: list[AreaOut] = Field(description="Provinces (national view) or counties, the least ready first")
    total: AreaOut | None


class StationReadinessOut(Schema):
    station_id: int
    item_id: int
    code: str
    title: str
    title_en: str
    due_on: dt.date
    status: ItemStatus
    evidence: str
    verified_by: str | None
    verified_at: dt.datetime | None
    updated_at: dt.datetime | None


class UploadOut(Schema):
    rows: int = Field(description="Rows read from the file")
    changed: int = Field(description="Station-items whose status or evidence changed")
    by_status: dict[str, int]


class ReportErrorOut(Schema):
    index: int = Field(description="The report's position in `reports`, from 0")
    loc: list[str | int]
    msg: str


class ReportsOut(Schema):
    accepted: int = Field(description="Reports applied")
    errors: list[ReportErrorOut] = Field(description="Each refused report, by its position")


class LiveCountsOut(Schema):
    event_id: int
    county_id: int | None
    stations: int
    not_opened: int
    opened: int
    operating: int
    paused: int
    closed: int
    unreachable: int = Field(description="Stations silent too long now, whatever their last status")


class UnreachableOut(Schema):
    station_id: int
    station_code: str
    station_name: str
    province_id: int
    county_id: int
    county: str
    status: LiveStatus = Field(description="The last status the station reported")
    last_seen_at: dt.datetime
    unreachable_since: dt.datetime
    silent_seconds: int = Field(description="How long since the station was last heard")

    @staticmethod
    def resolve_station_code(obj: StationLive) -> str:
        return str(obj.station.code)

    @staticmethod
    def resolve_station_name(obj: StationLive) -> str:
        return str(obj.station.name)

    @staticmethod
    def resolve_county(obj: StationLive) -> str:
        return str(obj.county.name)

    @staticmethod
    def resolve_silent_seconds(obj: StationLive) -> int:
        return max(int((timezone.now() - obj.last_seen_at).total_seconds()), 0)


class TimelineOut(Schema):
    id: int
    station_id: int
    station_code: str
    county_id: int
    county: str
    kind: LiveEvent.Kind
    status: str = Field(description="The status reported (or held, when silent or back); may be empty")
    reason: str
    at: dt.datetime

    @staticmethod
    def resolve_station_code(obj: LiveEvent) -> str:
        return str(obj.station.code)

    @staticmethod
    def resolve_county(obj: LiveEvent) -> str:
        return str(obj.county.name)


# --- input -----------------------------------------------------------------------------------


def _id(description: str = "") -> Any:
    return Field(ge=1, le=MAX_ID, description=description)


def _optional_id(description: str = "") -> Any:
    return Field(None, ge=1, le=MAX_ID, description=description)


class EventFilter(Schema):
    event_id: int | None = _optional_id("The current election event if left out")


class ItemFilter(EventFilter):
    include_retired: bool = Field(False, description="Also the items retired from the checklist")


class RollupFilter(EventFilter):
    province_id: int | None = _optional_id("By county within this province (else by province or county)")


class CountsFilter(EventFilter):
    county_id: int | None = _optional_id("One county of your jurisdiction (else all of it)")


class TimelineFilter(EventFilter):
    since: pydantic.AwareDatetime | None = Field(
        None, description="Only entries after this time (ISO 8601 with its offset; encode `+` as `%2B`)"
    )


class UploadFilter(EventFilter):
    source: str = Field("API upload", max_length=200, description="Where the file came from (audit log)")


class ItemIn(Schema):
    event_id: int = _id()
    code: str = Field(description="Letters, digits and hyphens, up to 40; unique in the checklist")
    title: str
    title_en: str = ""
    due_on: dt.date = Field(description="On or before voting day (YYYY-MM-DD)")


class ItemUpdateIn(Schema):
    title: str
    title_en: str = ""
    due_on: dt.date = Field(description="On or before voting day (YYYY-MM-DD)")
    is_active: bool = Field(True, description="false retires the item; what stations recorded stays")


class StationReadinessIn(Schema):
    status: ItemStatus
    evidence: str = Field("", description="What shows it, up to 500 characters (e.g. a test report's number)")


class UploadIn(Schema):
    csv: str = Field(description="The file: a header `station_code,item_code,status,evidence`, then rows")


class ReportIn(pydantic.BaseModel):
    """One station's report (checked on its own: a bad one does not fail the batch).

    A plain pydantic model rather than a ninja `Schema`: a batch checks up to 1,000 of them, and
    `Schema`'s own validator (for reading Django objects) costs several times more per report.
    """

    station_code: str = Field(min_length=1, max_length=30)
    status: Literal["opened", "operating", "paused", "closed"] | None = Field(
        None, description="Left out (or the status it has): a heartbeat"
    )
    reason: str = Field("", max_length=300, description="Required when pausing")
    at: pydantic.AwareDatetime = Field(description="When, ISO 8601 with its offset")


class ReportsIn(Schema):
    event_id: int = _id()
    reports: list[Any] = Field(max_length=MAX_REPORTS, description=f"Up to {MAX_REPORTS} reports")


def _inline_schema(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    assert "$defs" not in schema, "inline request schemas must not refer to definitions"
    return schema


REPORTS_BODY = {
    "type": "object",
    "required": ["event_id", "reports"],
    "properties": {
        "event_id": {"type": "integer", "minimum": 1},
        "reports": {"type": "array", "maxItems": MAX_REPORTS, "items": _inline_schema(ReportIn)},
    },
}
UPLOAD_BODY = _inline_schema(UploadIn)


# --- resolving ids and bodies ----------------------------------------------------------------


def _event_in_query(request: HttpRequest, event_id: int | None) -> ElectionEvent:
    """The event a query names (404 if unknown), or the current one when it names none."""
    if event_id is not None:
        return elections_selectors.election_event_get_for(user=request.user, event_id=event_id)
    event = elections_selectors.election_event_current()
    if event is None:
        raise Http404
    return event


def _event_in_body(request: HttpRequest, event_id: int) -> ElectionEvent:
    try:
        return elections_selectors.election_event_get_for(user=request.user, event_id=event_id)
    except Http404 as exc:
        raise ValidationError({"event_id": _("Unknown election event.")}) from exc


def _schema_errors(exc: pydantic.ValidationError, *prefix: str | int) -> list[dict[str, Any]]:
    return [
        {"loc": [*prefix, *error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]


def _json_body(request: HttpRequest) -> Any:
    """The request's JSON body; not JSON at all is a schema error (422), like a wrong field."""
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NinjaValidationError(
            [{"loc": ["body"], "msg": _("The body must be JSON."), "type": "json_invalid"}]
        ) from exc


def _validated(model: type[Schema], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise NinjaValidationError(_schema_errors(exc, "body")) from exc


def _item_out(item: ReadinessItem, station_id: int, row: Any) -> dict[str, Any]:
    verifier = row.verified_by if row is not None and row.verified_by_id else None
    return {
        "station_id": station_id,
        "item_id": item.pk,
        "code": item.code,
        "title": item.title,
        "title_en": item.title_en,
        "due_on": item.due_on,
        "status": row.status if row is not None else ItemStatus.NOT_STARTED,
        "evidence": row.evidence if row is not None else "",
        "verified_by": None if verifier is None else str(verifier.get_full_name() or verifier.username),
        "verified_at": row.verified_at if row is not None else None,
        "updated_at": row.updated_at if row is not None else None,
    }


def _progress(progress: selectors.Progress) -> dict[str, Any]:
    return {
        "stations": progress.stations,
        "in_progress": progress.in_progress,
        "done": progress.done,
        "failed": progress.failed,
        "not_started": progress.not_started,
        "percent": progress.percent_done,
    }


def _area(area: selectors.AreaReadiness, kind: str) -> dict[str, Any]:
    return {
        "id": area.area.pk if kind != "total" else None,
        "name": area.area.name if kind != "total" else _("Total"),
        "kind": kind,
        "stations": area.stations,
        "at_risk": area.at_risk,
        "overall": _progress(area.overall),
        "items": [{"item_id": item_id, **_progress(p)} for item_id, p in area.items.items()],
    }


# --- the checklist ---------------------------------------------------------------------------


@router.get(
    "/items",
    response=list[ItemOut],
    summary="The event's readiness checklist, in order",
    description=f"Everyone reads it (national reference data). {ISO}",
)
def item_list(request: HttpRequest, filters: Query[ItemFilter]) -> Any:
    event = _event_in_query(request, filters.event_id)
    return selectors.readiness_item_list_for(
        user=request.user, event=event, active_only=not filters.include_retired
    )


@router.post(
    "/items",
    response={201: ItemOut, 400: ErrorsOut},
    summary="Add an item to an event's readiness checklist (national administrator)",
    description=f"The code is unique in the checklist; the item is due by voting day. {ISO}",
)
def item_create(request: HttpRequest, payload: ItemIn) -> Any:
    event = _event_in_body(request, payload.event_id)
    item = services.readiness_item_create(
        actor=request.user,
        event=event,
        code=payload.code,
        title=payload.title,
        title_en=payload.title_en,
        due_on=payload.due_on,
    )
    return 201, item


@router.put(
    "/items/{readiness_item_id}",
    response={200: ItemOut, 400: ErrorsOut},
    summary="Reword a checklist item, move its due date, or retire it (national administrator)",
    description=f"The code stays; fields left out take their defaults (no English title, in use). {ISO}",
)
def item_update(request: HttpRequest, readiness_item_id: int, payload: ItemUpdateIn) -> Any:
    item = selectors.readiness_item_get_for(user=request.user, item_id=readiness_item_id)
    return 200, services.readiness_item_update(actor=request.user, item=item, **payload.dict())


# --- roll-ups and stations -------------------------------------------------------------------


@router.get(
    "/rollup",
    response=RollupOut,
    summary="Readiness by province (national) or by county, per item and overall, the least ready first",
    description=(
        "Read from kept tallies, whatever the number of stations. `at_risk` counts the station-items "
        f"due within the at-risk window (or overdue) and not done. {ISO}"
    ),
)
def rollup(request: HttpRequest, filters: Query[RollupFilter]) -> Any:
    event = _event_in_query(request, filters.event_id)
    province = None
    if filters.province_id is not None:
        province = geography_selectors.province_get_for(user=request.user, province_id=filters.province_id)
    result = selectors.readiness_rollup_for(user=request.user, event=event, province=province)
    at_risk = {item.pk for item in result.at_risk_items}
    return {
        "event_id": event.pk,
        "province_id": None if province is None else province.pk,
        "items": [
            {
                "id": item.pk,
                "code": item.code,
                "title": item.title,
                "title_en": item.title_en,
                "due_on": item.due_on,
                "at_risk": item.pk in at_risk,
            }
            for item in result.items
        ],
        "areas": [
            _area(area, "province" if isinstance(area.area, Province) else "county") for area in result.areas
        ],
        "total": None if result.total is None else _area(result.total, "total"),
    }


@router.get(
    "/stations/{station_id}/readiness",
    response=list[StationReadinessOut],
    summary="A station's checklist: each item's status, who verified it and when",
    description=f"An item the station has not started is `not_started`. {ISO}",
)
def station_readiness(request: HttpRequest, station_id: int, filters: Query[EventFilter]) -> Any:
    station = geography_selectors.station_get_for(user=request.user, station_id=station_id)
    event = _event_in_query(request, filters.event_id)
    lines = selectors.station_readiness_for(user=request.user, event=event, station=station)
    return [_item_out(item, station.pk, row) for item, row in lines]


@router.put(
    "/stations/{station_id}/readiness/{readiness_item_id}",
    response={200: StationReadinessOut, 400: ErrorsOut},
    summary="Record a station's status on one checklist item (done: verified by you, now)",
    description=f"Needs the edit capability within the station's county. {ISO}",
)
def station_readiness_set(
    request: HttpRequest, station_id: int, readiness_item_id: int, payload: StationReadinessIn
) -> Any:
    station = geography_selectors.station_get_for(user=request.user, station_id=station_id)
    item = selectors.readiness_item_get_for(user=request.user, item_id=readiness_item_id)
    row = services.station_readiness_set(
        actor=request.user, item=item, station=station, status=payload.status, evidence=payload.evidence
    )
    return 200, _item_out(item, station.pk, row)


@router.post(
    "/readiness/upload",
    response={200: UploadOut, 400: ErrorsOut},
    summary="Apply a readiness file (e.g. an operator's line status for a province): all or nothing",
    description=(
        'Send the CSV as the body (`Content-Type: text/csv`, UTF-8) or as JSON `{"csv": "..."}`. '
        "Columns `station_code,item_code,status[,evidence]` with a header; `status` is one of "
        "not_started, in_progress, done, failed. Every row is checked first: one bad row rejects "
        'the file with 400, each bad line named (`loc: ["body", "csv", <line>]`), and nothing is applied.'
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": UPLOAD_BODY},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
def readiness_upload(request: HttpRequest, filters: Query[UploadFilter]) -> Any:
    event = _event_in_query(request, filters.event_id)
    if request.content_type == "text/csv":
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError({"csv": _("The file must be UTF-8 text.")}) from exc
    else:
        text = _validated(UploadIn, _json_body(request)).csv
    try:
        rows = services.parse_readiness_csv(text)
        result = services.readiness_upload(actor=request.user, event=event, rows=rows, source=filters.source)
    except services.ReadinessUploadRejectedError as exc:
        return 400, {
            "detail": [
                {
                    "loc": ["body", "csv", row.line],
                    "msg": services.line_error(row),
                    "type": "value_error",
                }
                for row in exc.rows
            ]
        }
    return 200, {"rows": result.rows, "changed": result.changed, "by_status": result.by_status}


# --- voting day ------------------------------------------------------------------------------


@router.post(
    "/live/reports",
    response={200: ReportsOut, 400: ReportsOut, 422: ErrorsOut},
    summary="Stations' status reports and heartbeats, many at once (devices)",
    description=(
        f"Up to {MAX_REPORTS} reports: `station_code`, `status` (opened, operating, paused, closed; "
        "left out for a heartbeat), `reason` (required when pausing) and `at` (ISO 8601 with its "
        "offset). Each report is checked on its own: the good ones are applied and each refused one "
        'is named by its position (`index`, `loc: ["body", "reports", <index>, <field>]`): an unknown '
        "station or one outside your jurisdiction, an impossible move (closed -> opened), a time "
        "ahead of the server's clock, a pause without reason, a malformed entry. Answers 200 when at "
        "least one report was applied, 400 (same body) when none was. A station heard from after it "
        "was marked unreachable is back in contact. A body that is not JSON, without a `reports` "
        f"list or with more than {MAX_REPORTS} answers 422; an unknown `event_id` 400 with `detail`."
    ),
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": REPORTS_BODY}}}
    },
)
def live_reports(request: HttpRequest) -> Any:
    batch = _validated(ReportsIn, _json_body(request))
    event = _event_in_body(request, batch.event_id)
    errors: list[dict[str, Any]] = []
    entries: list[services.LiveEntry] = []
    positions: list[int] = []  # the batch position of each entry passed on
    for index, raw in enumerate(batch.reports):
        if not isinstance(raw, dict):
            message = _("Each report must be an object.")
            errors.append({"index": index, "loc": ["body", "reports", index], "msg": message})
            continue
        try:
            report = ReportIn.model_validate(raw)
        except pydantic.ValidationError as exc:
            errors += [
                {"index": index, "loc": error["loc"], "msg": error["msg"]}
                for error in _schema_errors(exc, "body", "reports", index)
            ]
            continue
        positions.append(index)
        entries.append(
            services.LiveEntry(
                station_code=report.station_code.strip(),
                at=report.at,
                status=report.status,
                reason=report.reason,
            )
        )
    result = services.live_updates_apply(actor=request.user, event=event, entries=entries)
    for position, fields in result.errors.items():
        index = positions[position]
        errors += [
            {"index": index, "loc": ["body", "reports", index, name], "msg": str(message)}
            for name, message in fields.items()
        ]
    errors.sort(key=lambda error: error["index"])
    body = {"accepted": result.accepted, "errors": errors}
    return (400 if errors and not result.accepted else 200), body


@router.get(
    "/live/counts",
    response=LiveCountsOut,
    summary="Stations by live status within your jurisdiction (or one county of it)",
    description="From kept tallies. `not_opened` counts the stations that have not reported opening.",
)
def live_counts(request: HttpRequest, filters: Query[CountsFilter]) -> Any:
    event = _event_in_query(request, filters.event_id)
    county = None
    if filters.county_id is not None:
        county = geography_selectors.county_get_for(user=request.user, county_id=filters.county_id)
    counts = selectors.live_counts_for(user=request.user, event=event, county=county)
    return {
        "event_id": event.pk,
        "county_id": None if county is None else county.pk,
        "stations": counts.stations,
        "not_opened": counts.not_opened,
        "opened": counts.opened,
        "operating": counts.operating,
        "paused": counts.paused,
        "closed": counts.closed,
        "unreachable": counts.unreachable,
    }


@router.get(
    "/live/unreachable",
    response=list[UnreachableOut],
    summary="Stations unreachable now, the longest silent first",
    description=f"A station is unreachable once silent longer than the configured interval. {ISO}",
)
@paginate(LimitOffsetPagination)
def live_unreachable(request: HttpRequest, filters: Query[EventFilter]) -> Any:
    event = _event_in_query(request, filters.event_id)
    return selectors.live_unreachable_for(user=request.user, event=event)


@router.get(
    "/live/timeline",
    response=list[TimelineOut],
    summary="The day's timeline within your jurisdiction, the newest first",
    description=(
        "Status changes, stations going silent (`unreachable`) and coming back (`returned`). Poll with "
        f"`since` set to the newest `at` you hold. {ISO}"
    ),
)
@paginate(LimitOffsetPagination)
def live_timeline(request: HttpRequest, filters: Query[TimelineFilter]) -> Any:
    event = _event_in_query(request, filters.event_id)
    return selectors.live_timeline_for(user=request.user, event=event, since=filters.since)
