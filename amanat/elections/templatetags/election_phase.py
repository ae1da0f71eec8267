from django import template
from django.utils import timezone

from amanat.elections.models import ElectionEvent

register = template.Library()


@register.filter
def phase_today(event: ElectionEvent) -> tuple[str, int]:
    """(phase, days to voting) for an event, as of today in the site's time zone."""
    today = timezone.localdate()
    return str(event.phase_on(today)), event.days_to_voting(today)
