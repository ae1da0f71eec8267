"""Scheduled work on Huey (see settings.HUEY); each task only calls a service."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from amanat.risks import services


@db_periodic_task(crontab(minute="40", hour="22"))  # 02:10 in Tehran; Huey schedules in UTC
def classify_counties_nightly() -> int:
    """Nightly: re-score every county of every event in season, so recommendations follow the registers."""
    return services.counties_classify_in_season()
