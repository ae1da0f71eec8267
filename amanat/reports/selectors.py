"""Reads for the home dashboard, composed from each app's own selectors."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from amanat.committees.models import Meeting, MeetingStatus
from amanat.committees.selectors import action_item_mine_for, action_item_overdue_for, meeting_list_for
from amanat.elections.models import ElectionEvent
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
    next_meeting: Meeting | None
    overdue_actions: int
    escalated_to_me: int
    my_open_actions: int


def dashboard_for(*, user: Any, event: ElectionEvent | None) -> Dashboard:
    """What the home page shows: jurisdiction, current event and phase, counts, meetings and actions."""
    jurisdiction = user.jurisdiction
    today = timezone.localdate()
    own_meetings = meeting_list_for(user=user, since=today).filter(
        status=MeetingStatus.PLANNED,
        committee__province_id=jurisdiction.province_id,
        committee__county_id=jurisdiction.county_id,
    )
    overdue = action_item_overdue_for(user=user, today=today).aggregate(
        total=Count("pk"),
        escalated_to_me=Count(
            "pk",
            filter=Q(escalated_at__isnull=False)
            & ~Q(province_id=jurisdiction.province_id, county_id=jurisdiction.county_id),
        ),
    )
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
        next_meeting=own_meetings.select_related("committee").first(),
        overdue_actions=overdue["total"],
        escalated_to_me=overdue["escalated_to_me"],
        my_open_actions=action_item_mine_for(user=user).filter(status__in=["open", "in_progress"]).count(),
    )
