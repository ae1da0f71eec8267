"""Reads of election events. Events are national; which counties take part is scoped."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, QuerySet
from django.http import Http404
from django.utils import timezone

from amanat.elections.models import Contest, ContestCounty, ElectionEvent
from amanat.geography.models import County
from amanat.reference_cache import ReferenceCache
from amanat.scoping import jurisdiction_of, scoped_to

# Every page's header and every incident report read the calendar; events are added a few times a year.
calendar: ReferenceCache[list[ElectionEvent]] = ReferenceCache(
    "election-calendar", timeout=settings.REFERENCE_CACHE_SECONDS
)


def _events_by_voting_day() -> list[ElectionEvent]:
    return calendar.get("all", lambda: list(ElectionEvent.objects.order_by("voting_day", "pk")))


def election_event_list_for(*, user: Any) -> QuerySet[ElectionEvent]:
    """Every election event (they are national); newest voting day first."""
    jurisdiction_of(user)
    return ElectionEvent.objects.order_by("-voting_day")


def election_event_get_for(*, user: Any, event_id: Any) -> ElectionEvent:
    """One election event."""
    jurisdiction_of(user)
    try:
        return ElectionEvent.objects.get(pk=int(event_id))
    except (ElectionEvent.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def election_event_current(*, today: dt.date | None = None) -> ElectionEvent | None:
    """The in-season event voting soonest (or most recently voted); else the next one; else the last one.

    The cached calendar: a country holds a handful of events a year, so choosing among them in Python
    is cheaper than several ordered queries on every page's header.
    """
    today = today or timezone.localdate()
    events = _events_by_voting_day()
    in_season = [e for e in events if e.opens_on <= today <= e.closes_on]
    upcoming_in_season = [e for e in in_season if e.voting_ends_on >= today]
    if upcoming_in_season:
        return upcoming_in_season[0]
    if in_season:
        return in_season[-1]
    upcoming = [e for e in events if e.voting_day > today]
    if upcoming:
        return upcoming[0]
    past = [e for e in events if e.voting_day < today]
    return past[-1] if past else None


def election_event_covering(*, day: dt.date) -> ElectionEvent | None:
    """The event whose season (opening to closing) holds the day; of several, the one voting last."""
    covering = [e for e in _events_by_voting_day() if e.opens_on <= day <= e.closes_on]
    return covering[-1] if covering else None


def election_calendar_forget() -> None:
    """Drop the cached calendar: for events changed outside the services (the admin, data scripts)."""
    calendar.invalidate()


@dataclass(frozen=True)
class ContestRow:
    contest: Contest
    counties_in_jurisdiction: int


def contest_list_for(*, user: Any, event: ElectionEvent) -> list[ContestRow]:
    """The event's contests, each with how many of the caller's counties take part."""
    with scoped_to(user):
        counts = dict(
            ContestCounty.objects.filter(contest__event=event)
            .values("contest_id")
            .annotate(total=Count("id"))
            .values_list("contest_id", "total")
        )
    contests = Contest.objects.filter(event=event).order_by("kind", "title")
    return [ContestRow(contest, counts.get(contest.pk, 0)) for contest in contests]


def contest_county_list_for(*, user: Any, contest: Contest) -> QuerySet[County]:
    """The counties taking part in a contest, within the caller's jurisdiction."""
    with scoped_to(user):
        county_ids = ContestCounty.objects.filter(contest=contest).values("county_id")
        return (
            County.objects.filter(id__in=county_ids)
            .select_related("province")
            .order_by("province__name", "name")
        )


def contest_get_for(*, user: Any, event: ElectionEvent, contest_id: Any) -> Contest:
    """One contest of an event."""
    jurisdiction_of(user)
    try:
        return Contest.objects.get(event=event, pk=int(contest_id))
    except (Contest.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def county_contests_for(*, user: Any, county: County, event: ElectionEvent | None) -> QuerySet[Contest]:
    """The contests a county takes part in during an event."""
    if event is None:
        return Contest.objects.none()
    with scoped_to(user):
        contest_ids = ContestCounty.objects.filter(county=county, contest__event=event).values("contest_id")
        return Contest.objects.filter(id__in=contest_ids).order_by("kind")
