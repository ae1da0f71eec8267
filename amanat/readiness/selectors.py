"""Reads of readiness and live status, scoped to the caller's jurisdiction; roll-ups read tallies only."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from amanat.elections.models import ElectionEvent
from amanat.geography.models import County, PollingStation, Province
from amanat.readiness.models import (
    ItemStatus,
    LiveEvent,
    LiveStatus,
    LiveTally,
    ReadinessCounty,
    ReadinessItem,
    ReadinessTally,
    StationLive,
    StationReadiness,
)
from amanat.scoping import jurisdiction_of, scoped_to


def _get_or_404(queryset: QuerySet[Any], pk: Any) -> Any:
    try:
        return queryset.get(pk=int(pk))
    except (queryset.model.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise Http404 from exc


def readiness_item_list_for(
    *, user: Any, event: ElectionEvent, active_only: bool = True
) -> QuerySet[ReadinessItem]:
    """The event's readiness checklist, in order (national reference data: everyone reads it)."""
    jurisdiction_of(user)
    items = ReadinessItem.objects.filter(event=event)
    return items.filter(is_active=True) if active_only else items


def readiness_item_get_for(*, user: Any, item_id: Any) -> ReadinessItem:
    """One checklist item."""
    jurisdiction_of(user)
    return _get_or_404(ReadinessItem.objects.select_related("event"), item_id)


# --- roll-ups --------------------------------------------------------------------------------


@dataclass
class Progress:
    """Stations of an area on one item (or on all items together, as station-item pairs)."""

    stations: int = 0
    in_progress: int = 0
    done: int = 0
    failed: int = 0

    @property
    def not_started(self) -> int:
        return max(self.stations - self.in_progress - self.done - self.failed, 0)

    @property
    def percent_done(self) -> float:
        return round(100 * self.done / self.stations, 1) if self.stations else 0.0

    def add(self, other: "Progress") -> None:
        self.stations += other.stations
        self.in_progress += other.in_progress
        self.done += other.done
        self.failed += other.failed


@dataclass
class AreaReadiness:
    """A province or county: its progress per item, overall, and how many stations are at risk."""

    area: Province | County
    stations: int = 0
    items: dict[int, Progress] = field(default_factory=dict)
    at_risk: int = 0  # station-items due within the at-risk window (or overdue) and not done

    @property
    def overall(self) -> Progress:
        total = Progress()
        for progress in self.items.values():
            total.add(progress)
        return total


@dataclass
class Rollup:
    items: list[ReadinessItem]
    areas: list[AreaReadiness]
    total: AreaReadiness | None
    at_risk_items: list[ReadinessItem]


def readiness_rollup_for(
    *, user: Any, event: ElectionEvent, province: Province | None = None, today: dt.date | None = None
) -> Rollup:
    """Readiness by province (national view) or by county (a province's view), lagging areas first.

    Reads the kept tallies and station counts only: a few hundred rows whatever the number of stations.
    """
    today = today or timezone.localdate()
    items = list(ReadinessItem.objects.filter(event=event, is_active=True))
    soon = today + dt.timedelta(days=settings.READINESS_AT_RISK_DAYS)
    at_risk_items = [item for item in items if item.due_on <= soon]
    if not items:  # no checklist yet: nothing to roll up
        jurisdiction_of(user)
        return Rollup(items=[], areas=[], total=None, at_risk_items=[])
    with scoped_to(user) as jurisdiction:
        by_county = jurisdiction.level != "national" or province is not None
        if province is not None:
            areas_qs: QuerySet[Any] = County.objects.filter(province=province).order_by("name")
        elif jurisdiction.level == "national":
            areas_qs = Province.objects.order_by("name")
        else:
            areas_qs = County.objects.order_by("name")
        areas = {area.pk: AreaReadiness(area=area) for area in areas_qs}
        key = "county_id" if by_county else "province_id"
        counties = ReadinessCounty.objects.filter(event=event)
        tallies = ReadinessTally.objects.filter(item__in=items)
        if province is not None:
            counties, tallies = counties.filter(province=province), tallies.filter(province=province)
        stations = counties.values(key).annotate(n=Sum("stations")).order_by().values_list(key, "n")
        tally_rows = (
            tallies.values(key, "item_id")
            .annotate(in_progress=Sum("in_progress"), done=Sum("done"), failed=Sum("failed"))
            .order_by()
        )
        station_counts = dict(stations)
        tally_list = list(tally_rows)
    for area_id, area in areas.items():
        area.stations = station_counts.get(area_id, 0) or 0
        area.items = {item.pk: Progress(stations=area.stations) for item in items}
    for row in tally_list:
        found = areas.get(row[key])
        if found is None:
            continue
        progress = found.items[row["item_id"]]
        progress.in_progress, progress.done, progress.failed = row["in_progress"], row["done"], row["failed"]
    for area in areas.values():
        area.at_risk = sum(area.stations - area.items[item.pk].done for item in at_risk_items)
    ordered = sorted(areas.values(), key=lambda a: (a.overall.percent_done, a.area.name))
    total: AreaReadiness | None = None
    if ordered:
        whole = AreaReadiness(area=ordered[0].area, stations=sum(a.stations for a in ordered))
        whole.items = {item.pk: Progress() for item in items}
        for each in ordered:
            for item_id, item_progress in each.items.items():
                whole.items[item_id].add(item_progress)
        whole.at_risk = sum(a.at_risk for a in ordered)
        total = whole
    return Rollup(items=items, areas=ordered, total=total, at_risk_items=at_risk_items)


def station_readiness_list_for(
    *, user: Any, event: ElectionEvent, county: County, item: ReadinessItem, status: str = ""
) -> QuerySet[PollingStation]:
    """A county's stations with their state on one item (`item_status`), filterable by that state."""
    with scoped_to(user):
        row = StationReadiness.objects.filter(item=item, station=OuterRef("pk"))
        # No row means not started: the state is the row's, or "not started".
        stations = PollingStation.objects.filter(county=county).annotate(
            item_status=Coalesce(Subquery(row.values("status")[:1]), Value(ItemStatus.NOT_STARTED))
        )
        if status in ItemStatus.values:
            stations = stations.filter(item_status=status)
        return stations.order_by("code")


def station_readiness_rows_for(
    *, user: Any, item: ReadinessItem, station_ids: list[int]
) -> dict[int, StationReadiness]:
    """The recorded rows of a page of stations on one item, by station (evidence, who verified), one query."""
    with scoped_to(user):
        rows = StationReadiness.objects.filter(item=item, station_id__in=station_ids).select_related(
            "verified_by"
        )
        return {row.station_id: row for row in rows}


def station_readiness_for(
    *, user: Any, event: ElectionEvent, station: PollingStation
) -> list[tuple[ReadinessItem, Any]]:
    """One station's checklist: each active item with its row (or None: not started)."""
    items = list(ReadinessItem.objects.filter(event=event, is_active=True))
    with scoped_to(user):
        rows = {
            row.item_id: row
            for row in StationReadiness.objects.filter(station=station, item__in=items).select_related(
                "verified_by"
            )
        }
    return [(item, rows.get(item.pk)) for item in items]


# --- voting day ------------------------------------------------------------------------------


@dataclass
class LiveCounts:
    stations: int = 0
    opened: int = 0
    operating: int = 0
    paused: int = 0
    closed: int = 0
    unreachable: int = 0

    @property
    def not_opened(self) -> int:
        return max(self.stations - self.opened - self.operating - self.paused - self.closed, 0)


def live_counts_for(*, user: Any, event: ElectionEvent, county: County | None = None) -> LiveCounts:
    """Stations by live status within the caller's jurisdiction (or one county of it), from the tallies."""
    with scoped_to(user):
        tallies = LiveTally.objects.filter(event=event)
        counties = ReadinessCounty.objects.filter(event=event)
        if county is not None:
            tallies, counties = tallies.filter(county=county), counties.filter(county=county)
        sums = tallies.aggregate(
            opened=Sum("opened"),
            operating=Sum("operating"),
            paused=Sum("paused"),
            closed=Sum("closed"),
            unreachable=Sum("unreachable"),
        )
        stations = counties.aggregate(n=Sum("stations"))["n"] or 0
    return LiveCounts(stations=stations, **{name: value or 0 for name, value in sums.items()})


def live_unreachable_for(*, user: Any, event: ElectionEvent) -> QuerySet[StationLive]:
    """Stations marked unreachable now, the longest silent first."""
    with scoped_to(user):
        return (
            StationLive.objects.filter(event=event, unreachable_since__isnull=False)
            .select_related("station", "county")
            .order_by("last_seen_at", "pk")
        )


def live_timeline_for(
    *, user: Any, event: ElectionEvent, since: dt.datetime | None = None
) -> QuerySet[LiveEvent]:
    """The day's timeline within the caller's jurisdiction, newest first."""
    with scoped_to(user):
        events = LiveEvent.objects.filter(event=event).select_related("station", "county")
        if since is not None:
            events = events.filter(at__gt=since)
        return events.order_by("-at", "-pk")


def live_by_area_for(*, user: Any, event: ElectionEvent) -> list[dict[str, Any]]:
    """Live counts per province (national) or per county (province, county), most unreachable first."""
    with scoped_to(user) as jurisdiction:
        key = "province_id" if jurisdiction.level == "national" else "county_id"
        names = dict((Province.objects if key == "province_id" else County.objects).values_list("pk", "name"))
        rows = {
            row[key]: row
            for row in LiveTally.objects.filter(event=event)
            .values(key)
            .annotate(
                opened=Sum("opened"),
                operating=Sum("operating"),
                paused=Sum("paused"),
                closed=Sum("closed"),
                unreachable=Sum("unreachable"),
            )
            .order_by()
        }
        stations = dict(
            ReadinessCounty.objects.filter(event=event)
            .values(key)
            .annotate(n=Sum("stations"))
            .order_by()
            .values_list(key, "n")
        )
    areas = []
    for area_id, name in names.items():
        row = rows.get(area_id, {})
        counts = LiveCounts(
            stations=stations.get(area_id, 0) or 0,
            **{s: row.get(s) or 0 for s in ("opened", "operating", "paused", "closed", "unreachable")},
        )
        areas.append({"id": area_id, "name": name, "counts": counts})
    return sorted(areas, key=lambda a: (-a["counts"].unreachable, a["name"]))


LIVE_STATUS_ORDER = [status for status, _label in LiveStatus.choices]
