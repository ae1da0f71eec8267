"""Scheduled work on Huey (see settings.HUEY); each task only calls a service."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from amanat.readiness import services


@db_periodic_task(crontab(minute="*"))
def mark_silent_stations_unreachable() -> int:
    """Every minute while voting is under way: stations silent longer than the interval are unreachable."""
    return services.stations_mark_unreachable()


@db_periodic_task(crontab(minute="20", hour="22"))  # 01:50 in Tehran; Huey schedules in UTC
def recount_stations_nightly() -> int:
    """Nightly: refresh each county's station count for the roll-ups (stations may have been imported)."""
    return services.readiness_stations_recount_in_season()
