from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from amanat.elections.models import ElectionEvent
from amanat.elections.selectors import election_event_current


def request_current_event(request: HttpRequest) -> ElectionEvent | None:
    """The current election event, looked up once per request (header and dashboard both need it)."""
    if not hasattr(request, "_amanat_current_event"):
        request._amanat_current_event = election_event_current(today=timezone.localdate())  # type: ignore[attr-defined]
    return request._amanat_current_event  # type: ignore[attr-defined,no-any-return]


def current_event(request: HttpRequest) -> dict[str, Any]:
    """The current election event and its countdown, shown in every page's header."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    event = request_current_event(request)
    if event is None:
        return {"current_event": None}
    today = timezone.localdate()
    return {
        "current_event": event,
        "current_phase": event.phase_on(today),
        "current_days_to_voting": event.days_to_voting(today),
    }
