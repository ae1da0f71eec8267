"""Reads for the home dashboard, composed from each app's own selectors."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from amanat.committees.models import Meeting, MeetingStatus
from amanat.committees.selectors import action_item_mine_for, action_item_overdue_for, meeting_list_for
from amanat.elections.models import ElectionEvent
from amanat.geography.models import County, Province
from amanat.geography.selectors import GeographyCounts, county_get_for, geography_counts_for, province_get_for
from amanat.incidents.selectors import incident_counts_for
from amanat.readiness.selectors import live_counts_for, readiness_rollup_for
from amanat.risks.models import Atlas, SecurityLevel
from amanat.risks.selectors import atlas_find_for, classification_get_for, level_counts_for, review_queue_for


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
    atlas: Atlas | None = None
    security_level: str = ""
    awaiting_review: int = 0
    security_level_label: str = ""
    readiness_percent: float | None = None
    readiness_at_risk: int = 0
    live_unreachable: int | None = None
    level_counts: list[tuple[str, str, int]] = field(default_factory=list)
    incidents: dict[str, int] = field(default_factory=dict)


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
    county = county_get_for(user=user, county_id=jurisdiction.county_id) if jurisdiction.county_id else None
    atlas, level, awaiting, levels = None, "", 0, []
    if event is not None:
        if county is not None:
            atlas = atlas_find_for(user=user, event=event, county=county)
            classification = classification_get_for(user=user, event=event, county=county)
            level = classification.level if classification else ""
        else:
            counts = level_counts_for(user=user, event=event)
            levels = [(value, str(label), counts.get(value, 0)) for value, label in SecurityLevel.choices]
            if jurisdiction.level == "province":
                awaiting = review_queue_for(user=user, event_id=event.pk).count()
    readiness_percent, at_risk, unreachable = None, 0, None
    if event is not None:
        rollup = readiness_rollup_for(user=user, event=event, today=today)
        if rollup.items and rollup.total is not None:
            readiness_percent, at_risk = rollup.total.overall.percent_done, rollup.total.at_risk
        if event.voting_day <= today <= event.voting_ends_on:
            unreachable = live_counts_for(user=user, event=event).unreachable
    return Dashboard(
        jurisdiction_level=jurisdiction.level,
        province=province_get_for(user=user, province_id=jurisdiction.province_id)
        if jurisdiction.province_id
        else None,
        county=county,
        counts=geography_counts_for(user=user),
        event=event,
        phase=event.phase_on(today) if event else None,
        days_to_voting=event.days_to_voting(today) if event else None,
        today=today,
        next_meeting=own_meetings.select_related("committee").first(),
        overdue_actions=overdue["total"],
        escalated_to_me=overdue["escalated_to_me"],
        my_open_actions=action_item_mine_for(user=user).filter(status__in=["open", "in_progress"]).count(),
        atlas=atlas,
        security_level=level,
        security_level_label=str(SecurityLevel(level).label) if level else "",
        awaiting_review=awaiting,
        level_counts=levels,
        readiness_percent=readiness_percent,
        readiness_at_risk=at_risk,
        live_unreachable=unreachable,
        incidents=incident_counts_for(user=user),
    )
