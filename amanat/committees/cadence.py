"""The meeting calendar a cadence plan gives: pure date arithmetic, no database."""

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ONE_DAY = dt.timedelta(days=1)


def cadence_errors(params: Mapping[str, Any]) -> dict[str, str]:
    """What is wrong with a cadence plan, by field (empty when it is sound)."""
    errors: dict[str, str] = {}
    interval = params["regular_interval_days"]
    weekly, daily, after = (
        params["weekly_from_days_before"],
        params["daily_from_days_before"],
        params["daily_until_days_after"],
    )
    for name in (
        "regular_interval_days",
        "weekly_from_days_before",
        "daily_from_days_before",
        "daily_until_days_after",
    ):
        if params[name] is None or params[name] < 0:
            errors[name] = _("Must be zero or more.")
    if not errors:
        if not 1 <= interval <= 90:
            errors["regular_interval_days"] = _("The regular interval must be between 1 and 90 days.")
        if weekly <= daily:
            errors["weekly_from_days_before"] = _(
                "Weekly meetings must start before daily ones (more days before voting); the ranges overlap."
            )
        if after > 60:
            errors["daily_until_days_after"] = _("Daily meetings can run at most 60 days after voting.")
        for name in ("weekly_from_days_before", "daily_from_days_before"):
            if params[name] > 366:
                errors.setdefault(name, _("At most 366 days before voting."))
    return errors


def cadence_check(params: Mapping[str, Any]) -> None:
    errors = cadence_errors(params)
    if errors:
        raise ValidationError(errors)


def cadence_dates(
    *,
    first_meeting_on: dt.date,
    voting_day: dt.date,
    season_ends_on: dt.date,
    regular_interval_days: int,
    weekly_from_days_before: int,
    daily_from_days_before: int,
    daily_until_days_after: int,
    **_ignored: Any,
) -> list[dt.date]:
    """Meeting days: every N days, then weekly, then daily through the days after voting.

    Each phase starts on its own boundary day (weekly on voting day minus W, daily on voting day
    minus D), so the calendar tightens on the same dates whatever the first meeting's day was.
    Nothing falls after the season's end.
    """
    weekly_start = voting_day - dt.timedelta(days=weekly_from_days_before)
    daily_start = voting_day - dt.timedelta(days=daily_from_days_before)
    last = min(voting_day + dt.timedelta(days=daily_until_days_after), season_ends_on)
    days: list[dt.date] = []
    day = first_meeting_on
    while day < weekly_start and day <= last:
        days.append(day)
        day += dt.timedelta(days=regular_interval_days)
    day = max(weekly_start, first_meeting_on)
    while day < daily_start and day <= last:
        days.append(day)
        day += dt.timedelta(days=7)
    day = max(daily_start, first_meeting_on)
    while day <= last:
        days.append(day)
        day += ONE_DAY
    return sorted(set(days))
