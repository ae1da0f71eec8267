"""Writes to elections: events, their contests and the counties that take part."""

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from amanat.accounts.permissions import Capability, require
from amanat.audit.models import AuditAction
from amanat.audit.services import audit_record, snapshot
from amanat.elections.models import Contest, ContestCounty, ContestKind, ElectionEvent
from amanat.elections.selectors import calendar
from amanat.geography.models import County, Province
from amanat.scoping import Jurisdiction, unscoped

NATIONAL = Jurisdiction()


def _check_dates(opens_on: dt.date, voting_day: dt.date, voting_ends_on: dt.date, closes_on: dt.date) -> None:
    errors = {}
    if opens_on > voting_day:
        errors["opens_on"] = _("The season must open on or before voting day.")
    if voting_ends_on < voting_day:
        errors["voting_ends_on"] = _("Voting cannot end before voting day.")
    if closes_on < voting_ends_on:
        errors["closes_on"] = _("The season cannot close before voting ends.")
    if errors:
        raise ValidationError(errors)


def election_event_create(
    *,
    actor: Any,
    name: str,
    voting_day: dt.date,
    opens_on: dt.date | None = None,
    voting_ends_on: dt.date | None = None,
    closes_on: dt.date | None = None,
    name_en: str = "",
    is_demo: bool = False,
) -> ElectionEvent:
    """Schedule an election event (national administrators only); defaults give a 120-day season."""
    require(actor, Capability.ADMINISTER, within=NATIONAL)
    opens_on = opens_on or voting_day - dt.timedelta(days=120)
    voting_ends_on = voting_ends_on or voting_day
    closes_on = closes_on or voting_ends_on + dt.timedelta(days=30)
    if not name.strip():
        raise ValidationError({"name": _("This field is required.")})
    _check_dates(opens_on, voting_day, voting_ends_on, closes_on)
    event = ElectionEvent(
        name=name.strip(),
        name_en=name_en.strip(),
        opens_on=opens_on,
        voting_day=voting_day,
        voting_ends_on=voting_ends_on,
        closes_on=closes_on,
        is_demo=is_demo,
    )
    if ElectionEvent.objects.filter(voting_day=voting_day, name=event.name).exists():
        raise ValidationError({"name": _("An event with this name is already set for that day.")})
    with transaction.atomic():
        event.save()
        calendar.invalidate()
        audit_record(actor=actor, action=AuditAction.CREATE, entity=event, after=snapshot(event))
    return event


def contest_add(
    *,
    actor: Any,
    event: ElectionEvent,
    kind: str,
    title: str = "",
    counties: Iterable[County] | None = None,
    provinces: Iterable[Province] | None = None,
) -> Contest:
    """Add a contest to an event: in the given counties, or all counties of given provinces, or all."""
    require(actor, Capability.ADMINISTER, within=NATIONAL)
    if kind not in ContestKind.values:
        raise ValidationError({"kind": _("Unknown contest kind.")})
    with transaction.atomic():
        try:
            with transaction.atomic():
                contest = Contest.objects.create(event=event, kind=kind, title=title.strip())
        except IntegrityError as exc:
            raise ValidationError({"kind": _("This contest already exists in the event.")}) from exc
        with unscoped():
            if counties is not None:
                county_ids = sorted({county.pk for county in counties})
            elif provinces is not None:
                province_ids = [province.pk for province in provinces]
                county_ids = list(
                    County.objects.filter(province_id__in=province_ids).values_list("id", flat=True)
                )
            else:
                county_ids = list(County.objects.values_list("id", flat=True))
            if not county_ids:
                raise ValidationError({"counties": _("Choose at least one county or province.")})
            ContestCounty.objects.bulk_create(
                [ContestCounty(contest=contest, county_id=county_id) for county_id in county_ids],
                batch_size=2000,
            )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            entity=contest,
            after={**snapshot(contest), "county_count": len(county_ids)},
        )
    return contest
