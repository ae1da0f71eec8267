import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from amanat.elections import selectors
from amanat.geography.api import CountyOut

router = Router(tags=["elections"])


class EventOut(Schema):
    id: int
    name: str
    name_en: str
    opens_on: dt.date
    voting_day: dt.date
    voting_ends_on: dt.date
    closes_on: dt.date
    phase: str
    days_to_voting: int
    is_demo: bool

    @staticmethod
    def resolve_phase(obj: Any) -> str:
        return str(obj.phase_on(timezone.localdate()))

    @staticmethod
    def resolve_days_to_voting(obj: Any) -> int:
        return int(obj.days_to_voting(timezone.localdate()))


class ContestOut(Schema):
    id: int
    kind: str
    title: str
    counties_in_jurisdiction: int


@router.get("/events", response=list[EventOut])
@paginate(LimitOffsetPagination)
def event_list(request: HttpRequest) -> Any:
    return selectors.election_event_list_for(user=request.user)


@router.get("/events/{event_id}", response=EventOut)
def event_detail(request: HttpRequest, event_id: int) -> Any:
    return selectors.election_event_get_for(user=request.user, event_id=event_id)


@router.get("/events/{event_id}/contests", response=list[ContestOut])
def contest_list(request: HttpRequest, event_id: int) -> Any:
    event = selectors.election_event_get_for(user=request.user, event_id=event_id)
    return [
        {
            "id": row.contest.pk,
            "kind": row.contest.kind,
            "title": str(row.contest),
            "counties_in_jurisdiction": row.counties_in_jurisdiction,
        }
        for row in selectors.contest_list_for(user=request.user, event=event)
    ]


@router.get("/events/{event_id}/contests/{contest_id}/counties", response=list[CountyOut])
@paginate(LimitOffsetPagination)
def contest_county_list(request: HttpRequest, event_id: int, contest_id: int) -> Any:
    event = selectors.election_event_get_for(user=request.user, event_id=event_id)
    contest = selectors.contest_get_for(user=request.user, event=event, contest_id=contest_id)
    return selectors.contest_county_list_for(user=request.user, contest=contest)
