"""Scheduled work: escalation of overdue cases, and voting day's automatic cases for silent stations."""

import datetime as dt

from django.db import transaction
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Q, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from amanat.accounts.models import Notification, User
from amanat.accounts.roles import Role
from amanat.audit.models import AuditAction
from amanat.audit.services import audit_record
from amanat.incidents.models import (
    OPEN_STATES,
    ActivityKind,
    Channel,
    Incident,
    IncidentActivity,
    IncidentCategory,
    IncidentState,
    Severity,
)
from amanat.incidents.services.intake import _audited
from amanat.incidents.services.taxonomy import deadline_hours
from amanat.persian import normalize
from amanat.readiness.models import StationLive
from amanat.scoping import unscoped

# The category a silent (unreachable) station's automatic case is filed under.
OUTAGE_CATEGORY = "outage"
# The highest level: 1 is the province, 2 the national level.
TOP_LEVEL = 2
BATCH = 500


def escalation_level_due(incident: Incident, now: dt.datetime) -> int:
    """The level an open case should be at: 0 before its deadline, 1 (the province) once past it, and 2
    (the national level) when it is still open a further deadline span later."""
    if now <= incident.deadline_at:
        return 0
    span = incident.deadline_at - incident.received_at
    return 1 if now < incident.deadline_at + span else TOP_LEVEL


def _needing_escalation(now: dt.datetime) -> Q:
    """Open cases whose level is below the one due (the rule of `escalation_level_due`, in the database)."""
    return Q(escalation_level=0) | Q(escalation_level=1, span__lte=F("late"))


def incidents_escalate_overdue(*, now: dt.datetime | None = None) -> int:
    """Flag open cases past their deadline; climb a level (county -> province -> national) per deadline span.

    The parent jurisdiction's chairs and administrators are notified in-app (both levels' when a case skips
    one); each step is on the case's timeline and audited. Idempotent: a case climbs each level once.
    """
    now = now or timezone.now()
    escalated = 0
    last_pk = 0
    while True:
        with unscoped():
            batch = list(
                Incident.objects.filter(
                    state__in=OPEN_STATES, deadline_at__lt=now, escalation_level__lt=TOP_LEVEL, pk__gt=last_pk
                )
                .annotate(
                    span=ExpressionWrapper(F("deadline_at") - F("received_at"), output_field=DurationField()),
                    late=ExpressionWrapper(
                        Value(now, output_field=DateTimeField()) - F("deadline_at"),
                        output_field=DurationField(),
                    ),
                )
                .filter(_needing_escalation(now))
                .order_by("pk")
                .values_list("pk", flat=True)[:BATCH]
            )
        if not batch:
            return escalated
        last_pk = batch[-1]
        for pk in batch:
            escalated += _escalate(pk, now)


def _escalate(pk: int, now: dt.datetime) -> int:
    with transaction.atomic(), unscoped():
        locked = (
            Incident.objects.select_for_update()
            .select_related("category", "county")
            .filter(pk=pk, state__in=OPEN_STATES)
            .first()
        )
        if locked is None:
            return 0
        due_level = escalation_level_due(locked, now)
        if locked.escalation_level >= due_level:
            return 0
        before = _audited(locked)
        levels = range(locked.escalation_level + 1, due_level + 1)
        locked.escalation_level = due_level
        locked.escalated_at = now
        locked.save(update_fields=["escalation_level", "escalated_at"])
        level_name = _("the province") if due_level == 1 else _("the national level")
        IncidentActivity.objects.create(
            incident=locked,
            kind=ActivityKind.ESCALATED,
            note=_("Past its deadline: escalated to %(level)s.") % {"level": level_name},
            at=now,
        )
        audit_record(
            actor=None, action=AuditAction.UPDATE, entity=locked, before=before, after=_audited(locked)
        )
        approvers = User.objects.filter(is_active=True, role__in=[Role.CHAIR, Role.ADMINISTRATOR])
        recipients = Q()
        for level in levels:
            recipients |= (
                Q(province_id=locked.province_id, county__isnull=True)
                if level == 1
                else Q(province__isnull=True)
            )
        message = _("Case #%(id)s (%(category)s, %(county)s) is past its deadline.") % {
            "id": locked.pk,
            "category": locked.category.name,
            "county": locked.county.name,
        }
        Notification.objects.bulk_create(
            [
                Notification(user=user, message=message[:500], url=f"/incidents/{locked.pk}/")
                for user in approvers.filter(recipients).order_by("pk")
            ]
        )
    return 1


def incidents_sync_unreachable_stations(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Open an automatic outage case for each station newly unreachable; resolve it when the station is back.

    Returns (opened, resolved). Idempotent (a station has at most one open automatic outage case, even when
    two runs overlap): runs every minute after the readiness silence check.
    """
    now = now or timezone.now()
    opened = resolved = 0
    with unscoped():
        category = IncidentCategory.objects.filter(code=OUTAGE_CATEGORY).first()
        if category is None:
            return 0, 0
        automatic = Incident.objects.filter(
            channel=Channel.SYSTEM, category=category, state__in=OPEN_STATES, station__isnull=False
        )
        today = timezone.localdate(now)
        covered = set(automatic.values_list("station_id", flat=True))
        silent = [
            pk
            for pk, station_id in StationLive.objects.filter(
                unreachable_since__isnull=False,
                event__voting_day__lte=today,
                event__voting_ends_on__gte=today,
            )
            .order_by("station_id", "pk")
            .values_list("pk", "station_id")
            if station_id not in covered
        ]
        for pk in silent:
            with transaction.atomic():
                # The station's row is locked, and the check made again: an overlapping run waits here and
                # then finds the case this one opened.
                live = (
                    StationLive.objects.select_for_update()
                    .filter(pk=pk, unreachable_since__isnull=False)
                    .select_related("station", "event")
                    .first()
                )
                if live is None or automatic.filter(station_id=live.station_id).exists():
                    continue
                _open_outage_case(live, category, now)
                opened += 1
        still_silent = set(
            StationLive.objects.filter(unreachable_since__isnull=False).values_list("station_id", flat=True)
        )
        back = [
            pk
            for pk, station_id in automatic.values_list("pk", "station_id")
            if station_id not in still_silent
        ]
        for pk in back:
            with transaction.atomic():
                locked = Incident.objects.select_for_update().filter(pk=pk, state__in=OPEN_STATES).first()
                if locked is None:
                    continue
                before = _audited(locked)
                source = locked.state
                locked.state = IncidentState.RESOLVED
                locked.resolution = _("The station is back in contact.")
                locked.resolved_at = now
                locked.updated_at = now
                locked.save(update_fields=["state", "resolution", "resolved_at", "updated_at"])
                IncidentActivity.objects.create(
                    incident=locked,
                    kind=ActivityKind.RESOLVED,
                    from_state=source,
                    to_state=locked.state,
                    note=locked.resolution,
                    at=now,
                )
                audit_record(
                    actor=None,
                    action=AuditAction.UPDATE,
                    entity=locked,
                    before=before,
                    after=_audited(locked),
                )
                resolved += 1
    return opened, resolved


def _open_outage_case(live: StationLive, category: IncidentCategory, now: dt.datetime) -> Incident:
    since = live.unreachable_since
    assert since is not None
    description = _("Station %(code)s (%(name)s) has sent nothing since %(time)s and is unreachable.") % {
        "code": live.station.code,
        "name": live.station.name,
        "time": timezone.localtime(live.last_seen_at).strftime("%H:%M"),
    }
    incident = Incident.objects.create(
        province_id=live.province_id,
        county_id=live.county_id,
        event=live.event,
        category=category,
        severity=Severity.HIGH,
        state=IncidentState.NEW,
        station=live.station,
        occurred_at=since,
        description=description,
        channel=Channel.SYSTEM,
        received_at=now,
        deadline_at=now + dt.timedelta(hours=deadline_hours(category, Severity.HIGH)),
        search_text=normalize(description),
        updated_at=now,
    )
    IncidentActivity.objects.create(
        incident=incident,
        kind=ActivityKind.REPORTED,
        to_state=IncidentState.NEW,
        note=str(Channel.SYSTEM.label),
        at=now,
    )
    audit_record(actor=None, action=AuditAction.CREATE, entity=incident, after=_audited(incident))
    return incident
