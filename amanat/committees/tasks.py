"""Scheduled work on Huey (see settings.HUEY); each task only calls a service."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from amanat.committees import services


@db_periodic_task(crontab(minute="15"))
def escalate_overdue_action_items() -> int:
    """Hourly: climb overdue action items to the parent jurisdiction once their grace has passed."""
    return services.action_items_escalate()


def _utc_of_local(hour: int, minute: int = 0) -> dict[str, str]:
    """Huey schedules in UTC (settings.HUEY utc=True): today's UTC time of a local wall-clock time."""
    local = dt.datetime.now(ZoneInfo(settings.TIME_ZONE)).replace(
        hour=hour, minute=minute, second=0, microsecond=0
    )
    utc = local.astimezone(dt.UTC)
    return {"hour": str(utc.hour), "minute": str(utc.minute)}


@db_periodic_task(crontab(**_utc_of_local(7)))
def remind_action_items() -> int:
    """Each morning at 07:00 local time: remind organisations of actions due soon or overdue."""
    return services.action_item_reminders_send()
