"""Shared state for the readiness tests: the event's default checklist, the world's stations by code,
and the times of voting day in Tehran."""

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from amanat.geography.models import PollingStation
from amanat.readiness import services
from amanat.readiness.models import ReadinessItem
from amanat.scoping import unscoped
from conftest import VOTING_DAY

TEHRAN = ZoneInfo("Asia/Tehran")
CHECKLIST_DUE = dt.date(2027, 2, 20)  # 1405/12/01, two weeks before voting day


def voting_time(hour: int, minute: int = 0, second: int = 0, *, day: dt.date = VOTING_DAY) -> dt.datetime:
    """A moment of voting day (or another day) in Tehran."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=TEHRAN)


@pytest.fixture
def english() -> Iterator[None]:
    """Error messages are translated (Persian by default); assert on their English wording."""
    with translation.override("en"):
        yield


@pytest.fixture
def checklist(national: Any, event: Any) -> list[ReadinessItem]:
    """The event's default checklist (eight items, in order), all due on CHECKLIST_DUE."""
    return services.readiness_items_create_defaults(actor=national, event=event, due_on=CHECKLIST_DUE)


@pytest.fixture
def item(checklist: list[ReadinessItem]) -> ReadinessItem:
    """The first item of the checklist: communication line installed."""
    return checklist[0]


@pytest.fixture
def stations(world: Any) -> dict[str, PollingStation]:
    """The world's five stations by code: A1-001, A1-002 (county A1), A2-001, B1-001, B1-002."""
    with unscoped():
        return {station.code: station for station in PollingStation.objects.select_related("county")}


@pytest.fixture
def report(admin: Any, event: Any) -> Callable[..., services.LiveResult]:
    """Send a batch of live entries as `actor` (the superuser unless told) at `now` (voting day 08:00)."""

    def send(*entries: services.LiveEntry, actor: Any = None, now: dt.datetime | None = None) -> Any:
        return services.live_updates_apply(
            actor=actor or admin, event=event, entries=list(entries), now=now or voting_time(8)
        )

    return send
