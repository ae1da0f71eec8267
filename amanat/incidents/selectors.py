"""Reads of incidents, scoped to the caller's jurisdiction: lists, queues, a case, its timeline, figures."""

import datetime as dt
import re
import statistics
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from amanat.accounts.models import Organisation, User
from amanat.geography.models import County, PollingStation, Province
from amanat.incidents.models import (
    DONE_STATES,
    OPEN_STATES,
    Incident,
    IncidentActivity,
    IncidentCategory,
    IncidentComment,
    IncidentEvidence,
    IncidentState,
    ResponseDeadline,
    Severity,
)
from amanat.incidents.search import search_filter
from amanat.incidents.workflow import TRANSITIONS, Action, refusal
from amanat.persian import normalize
from amanat.scoping import jurisdiction_of, scoped_to, unscoped


def _get_or_404(queryset: QuerySet[Any], pk: Any) -> Any:
    try:
        return queryset.get(pk=int(pk))
    except (queryset.model.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise Http404 from exc


def incident_category_list_for(*, user: Any = None, active_only: bool = True) -> QuerySet[IncidentCategory]:
    """The incident taxonomy, in order (national reference data; the public page reads it too)."""
    categories = IncidentCategory.objects.all()
    return categories.filter(is_active=True) if active_only else categories


def response_deadline_list_for(*, user: Any) -> QuerySet[ResponseDeadline]:
    """The response deadlines: the defaults per severity, then each category's own."""
    jurisdiction_of(user)
    return ResponseDeadline.objects.select_related("category").order_by(
        F("category__position").asc(nulls_first=True), "category_id", "hours"
    )


@dataclass(frozen=True)
class IncidentFilters:
    """What a list, an export or the figures are narrowed to; every field optional."""

    q: str = ""
    state: str = ""
    category: str = ""  # category code
    severity: str = ""
    county_id: int | None = None
    province_id: int | None = None
    event_id: int | None = None
    overdue: bool = False
    open_only: bool = False
    channel: str = ""
    received_from: dt.date | None = None
    received_to: dt.date | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "IncidentFilters":
        """Read filters from query parameters, ignoring values that do not parse."""

        def number(name: str) -> int | None:
            try:
                return int(params.get(name) or "") or None
            except (TypeError, ValueError):
                return None

        def day(name: str) -> dt.date | None:
            try:
                return dt.date.fromisoformat(str(params.get(name) or ""))
            except ValueError:
                return None

        state = str(params.get("state") or "")
        severity = str(params.get("severity") or "")
        return cls(
            q=str(params.get("q") or "")[:200],
            state=state if state in IncidentState.values or state == "open" else "",
            category=str(params.get("category") or "")[:40],
            severity=severity if severity in Severity.values else "",
            county_id=number("county"),
            province_id=number("province"),
            event_id=number("event"),
            overdue=str(params.get("overdue") or "") in {"1", "true", "on", "yes"},
            channel=str(params.get("channel") or "")[:10],
            received_from=day("from"),
            received_to=day("to"),
        )


def _filtered(
    incidents: QuerySet[Incident], filters: IncidentFilters, now: dt.datetime
) -> QuerySet[Incident]:
    if filters.state == "open" or filters.open_only:
        incidents = incidents.filter(state__in=OPEN_STATES)
    elif filters.state:
        incidents = incidents.filter(state=filters.state)
    if filters.category:
        incidents = incidents.filter(category__code=filters.category)
    if filters.severity:
        incidents = incidents.filter(severity=filters.severity)
    if filters.county_id:
        incidents = incidents.filter(county_id=filters.county_id)
    if filters.province_id:
        incidents = incidents.filter(province_id=filters.province_id)
    if filters.event_id:
        incidents = incidents.filter(event_id=filters.event_id)
    if filters.channel:
        incidents = incidents.filter(channel=filters.channel)
    if filters.overdue:
        incidents = incidents.filter(state__in=OPEN_STATES, deadline_at__lt=now)
    tz = timezone.get_current_timezone()
    if filters.received_from:
        incidents = incidents.filter(
            received_at__gte=dt.datetime.combine(filters.received_from, dt.time.min, tz)
        )
    if filters.received_to:
        incidents = incidents.filter(
            received_at__lt=dt.datetime.combine(filters.received_to + dt.timedelta(days=1), dt.time.min, tz)
        )
    if filters.q:
        incidents = search_filter(incidents, filters.q)
    return incidents


def _list_related() -> list[Prefetch]:
    """The rows a list shows beside each case, fetched for the page only.

    Joining them before ORDER BY ... LIMIT let PostgreSQL, misjudging how many cases a search matches,
    join every match before cutting the page (bench_incidents: 650 ms instead of 46 ms). They are
    read unscoped because they belong to cases already scoped (a national organisation handling a
    county's case, say).
    """
    with unscoped():
        return [
            Prefetch("category", IncidentCategory.objects.all()),
            Prefetch("county", County.objects.all()),
            Prefetch("province", Province.objects.all()),
            Prefetch("station", PollingStation.objects.all()),
            Prefetch("assigned_organisation", Organisation.objects.all()),
            Prefetch("assignee", User.objects.all()),
        ]


def incident_list_for(
    *, user: Any, filters: IncidentFilters | None = None, now: dt.datetime | None = None
) -> QuerySet[Incident]:
    """Cases within the caller's jurisdiction, newest first, narrowed by the filters and full-text search."""
    with scoped_to(user):
        incidents = Incident.objects.prefetch_related(*_list_related())
        return _filtered(incidents, filters or IncidentFilters(), now or timezone.now()).order_by(
            "-received_at", "-id"
        )


def incident_get_for(*, user: Any, incident_id: Any) -> Incident:
    """One case, if the caller's jurisdiction reaches its county (404 otherwise)."""
    with scoped_to(user):
        return _get_or_404(
            Incident.objects.select_related(
                "category",
                "county",
                "province",
                "station",
                "event",
                "assigned_organisation",
                "assignee",
                "reported_by",
                "merged_into",
            ),
            incident_id,
        )


def incident_get_by_public_ref(*, public_ref: str) -> Incident | None:
    """A public reporter's receipt: used only to show that a report arrived, never its content."""
    from amanat.scoping import unscoped

    with unscoped():
        return (
            Incident.objects.filter(public_ref=public_ref.upper()[:12])
            .only("pk", "public_ref", "state")
            .first()
        )


def incident_queue_for(*, user: Any, mine_only: bool = False) -> QuerySet[Incident]:
    """A handler's queue: open cases assigned to them or their organisation, the earliest deadline first."""
    with scoped_to(user):
        mine = Q(assignee=user)
        if not mine_only and user.organisation_id:
            mine |= Q(assigned_organisation_id=user.organisation_id)
        return (
            Incident.objects.select_related(
                "category", "county", "station", "assigned_organisation", "assignee"
            )
            .filter(mine, state__in=OPEN_STATES)
            .order_by("deadline_at", "id")
        )


def incident_moderation_queue_for(*, user: Any) -> QuerySet[Incident]:
    """Public reports waiting for moderation in the caller's jurisdiction, the oldest first."""
    with scoped_to(user):
        return (
            Incident.objects.select_related("category", "county", "station")
            .filter(state=IncidentState.AWAITING_MODERATION)
            .order_by("received_at", "id")
        )


def incident_escalated_for(*, user: Any) -> QuerySet[Incident]:
    """Open cases past their deadline that have been escalated to (or past) the caller's level."""
    jurisdiction = jurisdiction_of(user)
    level = {"county": 0, "province": 1, "national": 2}[jurisdiction.level]
    with scoped_to(user):
        return (
            Incident.objects.select_related("category", "county")
            .filter(state__in=OPEN_STATES, escalation_level__gte=max(level, 1))
            .order_by("deadline_at", "id")
        )


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    actor: Any
    kind: str
    label: str
    note: str = ""
    from_state: str = ""
    to_state: str = ""
    is_comment: bool = False


def incident_timeline_for(*, user: Any, incident: Incident) -> list[TimelineEntry]:
    """The case's history and comments, in time order (the caller must already see the case)."""
    incident_get_for(user=user, incident_id=incident.pk)
    entries = [
        TimelineEntry(
            at=a.at,
            actor=a.actor,
            kind=a.kind,
            label=a.get_kind_display(),
            note=a.note,
            from_state=a.from_state,
            to_state=a.to_state,
        )
        for a in IncidentActivity.objects.filter(incident=incident)
        .exclude(kind="commented")
        .select_related("actor")
    ]
    entries += [
        TimelineEntry(
            at=c.created_at, actor=c.author, kind="commented", label="", note=c.body, is_comment=True
        )
        for c in IncidentComment.objects.filter(incident=incident).select_related("author")
    ]
    return sorted(entries, key=lambda e: e.at)


# A chain of merges (A into B, then B into C) is followed this many steps at most.
MAX_MERGE_DEPTH = 20


def _absorbed_ids(incident: Incident) -> list[int]:
    """The reports merged into this case, directly or through a report merged into it (inside a scope)."""
    ids: list[int] = []
    frontier = [incident.pk]
    for _step in range(MAX_MERGE_DEPTH):
        frontier = list(Incident.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True))
        if not frontier:
            break
        ids += frontier
    return ids


def incident_merged_reports_for(*, user: Any, incident: Incident) -> QuerySet[Incident]:
    """The reports merged into this case (also through another merged report), with their own text."""
    with scoped_to(user):
        return (
            Incident.objects.select_related("category", "station", "merged_into")
            .filter(pk__in=_absorbed_ids(incident))
            .order_by("received_at", "pk")
        )


def incident_evidence_for(*, user: Any, incident: Incident) -> QuerySet[IncidentEvidence]:
    """The case's evidence files, and those of the reports merged into it."""
    incident_get_for(user=user, incident_id=incident.pk)
    with scoped_to(user):
        absorbed = _absorbed_ids(incident)
    return (
        IncidentEvidence.objects.filter(Q(incident=incident) | Q(incident_id__in=absorbed))
        .select_related("uploaded_by")
        .order_by("uploaded_at", "pk")
    )


def incident_evidence_get_for(*, user: Any, evidence_id: Any) -> IncidentEvidence:
    """One evidence file, if the caller's jurisdiction reaches its case (404 otherwise)."""
    evidence = _get_or_404(IncidentEvidence.objects.select_related("incident"), evidence_id)
    incident_get_for(user=user, incident_id=evidence.incident_id)
    return evidence


def incident_actions_for(*, user: Any, incident: Incident) -> list[Action]:
    """The actions this user may take on this case now (the page shows only these)."""
    jurisdiction = jurisdiction_of(user)
    if not jurisdiction.covers(incident.jurisdiction):
        return []
    return [
        transition.action
        for transition in TRANSITIONS
        if transition.source == incident.state
        and refusal(user, transition, incident.assigned_organisation_id) is None
    ]


@dataclass(frozen=True)
class DuplicateSuggestion:
    incident: Incident
    similarity: float  # 0..1: the share of words the two descriptions have in common
    same_station: bool


_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> set[str]:
    return {word for word in _WORD.findall(normalize(text)) if len(word) > 1}


def incident_duplicates_for(*, user: Any, incident: Incident, limit: int = 5) -> list[DuplicateSuggestion]:
    """Possible duplicates: same station or county, same category, close in time, similar text; best first."""
    window = dt.timedelta(hours=settings.INCIDENT_DUPLICATE_WINDOW_HOURS)
    with scoped_to(user):
        candidates = (
            Incident.objects.select_related("category", "station", "county")
            .filter(
                county_id=incident.county_id,
                category_id=incident.category_id,
                occurred_at__gte=incident.occurred_at - window,
                occurred_at__lte=incident.occurred_at + window,
            )
            .exclude(pk=incident.pk)
            .exclude(state__in=[IncidentState.MERGED, IncidentState.REJECTED])
            .order_by("-occurred_at")[:200]
        )
        own = _words(incident.description)
        suggestions = []
        for candidate in candidates:
            if incident.station_id and candidate.station_id and candidate.station_id != incident.station_id:
                continue
            theirs = _words(candidate.description)
            union = own | theirs
            similarity = len(own & theirs) / len(union) if union else 0.0
            same_station = bool(incident.station_id and candidate.station_id == incident.station_id)
            if similarity >= 0.2 or same_station:
                suggestions.append(DuplicateSuggestion(candidate, round(similarity, 2), same_station))
    suggestions.sort(key=lambda s: (s.same_station, s.similarity), reverse=True)
    return suggestions[:limit]


# --- figures ---------------------------------------------------------------------------------------


@dataclass
class GroupFigures:
    """Cases of one category, county or state: how many, how fast they were dealt with, and on time."""

    key: Any
    label: str
    total: int = 0
    open: int = 0
    overdue: int = 0
    done: int = 0
    within_deadline: int = 0
    median_handling_hours: float | None = None  # unrounded; the median of the done cases' hours

    @property
    def median_hours(self) -> float | None:
        return None if self.median_handling_hours is None else round(self.median_handling_hours, 1)

    @property
    def share_within_deadline(self) -> float | None:
        return round(100 * self.within_deadline / self.done, 1) if self.done else None


@dataclass
class IncidentFigures:
    overall: GroupFigures
    by_category: list[GroupFigures]
    by_county: list[GroupFigures]
    by_state: list[GroupFigures]


# Figures are the same for every case: open means one of OPEN_STATES; overdue, open past its deadline;
# done, one of DONE_STATES with its resolution time; on time, done by its deadline; handling time, from
# receipt to resolution. Both ways of counting below follow these, and a test holds them equal.
_DIMENSIONS = ("category", "county", "state")


def incident_figures_for(
    *, user: Any, filters: IncidentFilters | None = None, now: dt.datetime | None = None
) -> IncidentFigures:
    """Counts, median handling time and the share dealt with within deadline, by category, county and state.

    Handling time runs from receipt to resolution (or rejection or merge); the same rule for every case.
    On PostgreSQL one pass over the cases counts every group; elsewhere (SQLite: a small installation)
    the cases are walked in Python.
    """
    now = now or timezone.now()
    filters = filters or IncidentFilters()
    with scoped_to(user):
        incidents = _filtered(Incident.objects.all(), filters, now)
        count = _figures_counted_by_postgresql if connection.vendor == "postgresql" else _figures_walked
        overall, groups = count(incidents, now)
        _label(groups)
    order = {state: i for i, state in enumerate(IncidentState.values)}
    return IncidentFigures(
        overall=overall,
        by_category=sorted(groups["category"].values(), key=lambda g: (-g.total, g.label)),
        by_county=sorted(groups["county"].values(), key=lambda g: (-g.total, g.label)),
        by_state=sorted(groups["state"].values(), key=lambda g: order[g.key]),
    )


_Groups = dict[str, dict[Any, GroupFigures]]


def _figures_walked(incidents: QuerySet[Incident], now: dt.datetime) -> tuple[GroupFigures, _Groups]:
    rows = incidents.values_list(
        "category_id", "county_id", "state", "received_at", "resolved_at", "deadline_at"
    ).order_by()
    overall = GroupFigures(key=None, label="")
    groups: _Groups = {name: {} for name in _DIMENSIONS}
    hours: dict[int, list[float]] = defaultdict(list)  # by id() of the GroupFigures
    for category_id, county_id, state, received, resolved, deadline in rows:
        targets = [overall] + [
            groups[name].setdefault(key, GroupFigures(key=key, label=""))
            for name, key in zip(_DIMENSIONS, (category_id, county_id, state), strict=True)
        ]
        for figures in targets:
            figures.total += 1
            if state in OPEN_STATES:
                figures.open += 1
                if deadline < now:
                    figures.overdue += 1
            elif state in DONE_STATES and resolved is not None:
                figures.done += 1
                hours[id(figures)].append((resolved - received).total_seconds() / 3600)
                if resolved <= deadline:
                    figures.within_deadline += 1
    for figures in [overall, *(g for by in groups.values() for g in by.values())]:
        taken = hours.get(id(figures))
        figures.median_handling_hours = statistics.median(taken) if taken else None
    return overall, groups


def _figures_counted_by_postgresql(
    incidents: QuerySet[Incident], now: dt.datetime
) -> tuple[GroupFigures, _Groups]:
    cases_sql, cases_params = (
        incidents.values("category_id", "county_id", "state", "received_at", "resolved_at", "deadline_at")
        .order_by()
        .query.sql_with_params()
    )
    is_open = "state = ANY(%s)"
    is_done = "state = ANY(%s) AND resolved_at IS NOT NULL"
    sql = f"""
        SELECT GROUPING(category_id, county_id, state), category_id, county_id, state,
            COUNT(*),
            COUNT(*) FILTER (WHERE {is_open}),
            COUNT(*) FILTER (WHERE {is_open} AND deadline_at < %s),
            COUNT(*) FILTER (WHERE {is_done}),
            COUNT(*) FILTER (WHERE {is_done} AND resolved_at <= deadline_at),
            percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM resolved_at - received_at) / 3600)
                FILTER (WHERE {is_done})
        FROM ({cases_sql}) AS cases
        GROUP BY GROUPING SETS ((), (category_id), (county_id), (state))
    """
    open_states, done_states = sorted(OPEN_STATES), sorted(DONE_STATES)
    params = [
        open_states,
        open_states,
        now,
        done_states,
        done_states,
        done_states,
        *cases_params,
    ]
    overall = GroupFigures(key=None, label="")
    groups: _Groups = {name: {} for name in _DIMENSIONS}
    # GROUPING's bits, category first: 0b011 is a row grouped by category alone, and so on.
    grouped_by = {0b111: None, 0b011: "category", 0b101: "county", 0b110: "state"}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for grouping, category_id, county_id, state, total, open_, overdue, done, on_time, median in cursor:
            name = grouped_by[grouping]
            key = {None: None, "category": category_id, "county": county_id, "state": state}[name]
            figures = (
                overall if name is None else groups[name].setdefault(key, GroupFigures(key=key, label=""))
            )
            figures.total, figures.open, figures.overdue = total, open_, overdue
            figures.done, figures.within_deadline = done, on_time
            figures.median_handling_hours = None if median is None else float(median)
    return overall, groups


def _label(groups: _Groups) -> None:
    """Name each group in the reader's language."""
    english = _english()
    with unscoped():  # names only, of the groups the caller's cases fall in
        categories = {c.pk: c for c in IncidentCategory.objects.filter(pk__in=groups["category"])}
        counties = dict(County.objects.filter(pk__in=groups["county"]).values_list("pk", "name"))
    for key, figures in groups["category"].items():
        category = categories[key]
        figures.label = str((category.name_en or category.name) if english else category.name)
    for key, figures in groups["county"].items():
        figures.label = str(counties[key])
    for key, figures in groups["state"].items():
        figures.label = str(IncidentState(key).label)


def _english() -> bool:
    from django.utils.translation import get_language

    return (get_language() or "fa").startswith("en")


def incident_counts_for(*, user: Any) -> dict[str, int]:
    """Headline counts for the dashboard: open, overdue, awaiting moderation, escalated."""
    now = timezone.now()
    with scoped_to(user):
        return Incident.objects.aggregate(
            open=Count("pk", filter=Q(state__in=OPEN_STATES)),
            overdue=Count("pk", filter=Q(state__in=OPEN_STATES, deadline_at__lt=now)),
            awaiting_moderation=Count("pk", filter=Q(state=IncidentState.AWAITING_MODERATION)),
            escalated=Count("pk", filter=Q(state__in=OPEN_STATES, escalation_level__gt=0)),
        )
