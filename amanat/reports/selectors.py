"""Reads for the home dashboard, composed from each app's own selectors."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from amanat.elections.models import ElectionEvent
from amanat.elections.selectors import election_event_current
from amanat.geography.models import County, Province
from amanat.geography.selectors import GeographyCounts, county_get_for, geography_counts_for, province_get_for


@dataclass(frozen=True)
class Dashboard:
    jurisdiction_level: str
    province: Province | None
    county: County | None
    counts: GeographyCounts
    event: ElectionEvent | None
    phase: str | None
    days_to_voting: int | None
    today: dt.date


def dashboard_for(*, user: Any) -> Dashboard:
    """What the home page shows: the caller's jurisdiction, the current event and phase, and counts."""
    jurisdiction = user.jurisdiction
    today = timezone.localdate()
    event = election_event_current(today=today)
    return Dashboard(
        jurisdiction_level=jurisdiction.level,
        province=province_get_for(user=user, province_id=jurisdiction.province_id)
        if jurisdiction.province_id
        else None,
        county=county_get_for(user=user, county_id=jurisdiction.county_id)
        if jurisdiction.county_id
        else None,
        counts=geography_counts_for(user=user),
        event=event,
        phase=event.phase_on(today) if event else None,
        days_to_voting=event.days_to_voting(today) if event else None,
        today=today,
    )
