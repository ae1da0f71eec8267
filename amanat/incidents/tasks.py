"""Scheduled work on Huey (see settings.HUEY); each task only calls a service."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from amanat.incidents import services


@db_periodic_task(crontab(minute="*/5"))
def escalate_overdue_incidents() -> int:
    """Every five minutes: open cases past their deadline climb to the parent jurisdiction."""
    return services.incidents_escalate_overdue()


@db_periodic_task(crontab(minute="*"))
def open_cases_for_unreachable_stations() -> tuple[int, int]:
    """Every minute: a station marked unreachable gets an outage case; its return resolves the case."""
    return services.incidents_sync_unreachable_stations()
