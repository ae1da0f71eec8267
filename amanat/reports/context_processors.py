from django.http import HttpRequest
from django.utils import timezone

from amanat.elections.selectors import election_event_current


def current_event(request: HttpRequest) -> dict[str, object]:
    """The current election event and its countdown, shown in every page's header."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    today = timezone.localdate()
    event = election_event_current(today=today)
    if event is None:
        return {"current_event": None}
    return {
        "current_event": event,
        "current_phase": event.phase_on(today),
        "current_days_to_voting": event.days_to_voting(today),
    }
