"""Scheduled work on Huey (see settings.HUEY); each task only calls a service."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from amanat.committees import services


@db_periodic_task(crontab(minute="15"))
def escalate_overdue_action_items() -> int:
    """Hourly: climb overdue action items to the parent jurisdiction once their grace has passed."""
    return services.action_items_escalate()


@db_periodic_task(crontab(hour="7", minute="0"))
def remind_action_items() -> int:
    """Each morning: remind organisations of actions due soon or overdue."""
    return services.action_item_reminders_send()
