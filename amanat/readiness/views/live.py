"""Voting day's live operations page: stations by status, by area, the unreachable ones and the timeline.

The page polls its panel (live/panel/) every 10 seconds with htmx and swaps it in place, so it
refreshes without a reload. The panel reads the kept per-county tallies, the first unreachable
stations and the latest timeline lines: its queries do not grow with the number of stations.
"""

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _

from amanat.accounts.roles import Capability
from amanat.elections.models import ElectionEvent
from amanat.elections.selectors import election_event_get_for, election_event_list_for
from amanat.readiness import selectors
from amanat.readiness.models import LiveStatus
from amanat.reports.context_processors import request_current_event
from amanat.ui.formatting import format_date, format_number, localize_digits

UNREACHABLE_SHOWN = 100  # the longest silent first; the count says how many there are in all
TIMELINE_SHOWN = 50  # the latest lines of the day
REFRESH_SECONDS = 10


def _require(user: Any, capability: Capability) -> None:
    """Refuse, as if the page did not exist, a caller whose role lacks the capability."""
    if not user.can(capability):
        raise Http404


def _event_from(request: HttpRequest) -> ElectionEvent | None:
    """The event chosen with ?event=, else the current one (None when there is none at all)."""
    event_id = request.GET.get("event", "").strip()
    if event_id:
        return election_event_get_for(user=request.user, event_id=event_id)  # type: ignore[no-any-return]
    return request_current_event(request)


def silence_text(since: dt.datetime, now: dt.datetime) -> str:
    """How long a station has been silent, in words: "45 min", "2 h 5 min"."""
    minutes = max(int((now - since).total_seconds() // 60), 0)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("%(hours)s h %(minutes)s min") % {
            "hours": format_number(hours),
            "minutes": format_number(minutes),
        }
    return _("%(minutes)s min") % {"minutes": format_number(minutes)}


def _clock(now: dt.datetime) -> str:
    """The panel's time stamp, to the second, so a reader sees it refresh."""
    local = timezone.localtime(now)
    return f"{format_date(local.date())} {localize_digits(local.strftime('%H:%M:%S'))}"


def _panel_context(request: HttpRequest, event: ElectionEvent) -> dict[str, Any]:
    """What the panel shows: a handful of tally reads and two short lists, whatever the stations."""
    user = request.user
    now = timezone.now()
    counts = selectors.live_counts_for(user=user, event=event)
    unreachable = list(selectors.live_unreachable_for(user=user, event=event)[:UNREACHABLE_SHOWN])
    national = user.jurisdiction.level == "national"  # type: ignore[union-attr]
    return {
        "event": event,
        "now": now,
        "updated": _clock(now),
        "counts": counts,
        "statuses": [
            {"key": "not_opened", "label": LiveStatus.NOT_OPENED.label, "count": counts.not_opened},
            {"key": "opened", "label": LiveStatus.OPENED.label, "count": counts.opened},
            {"key": "operating", "label": LiveStatus.OPERATING.label, "count": counts.operating},
            {"key": "paused", "label": LiveStatus.PAUSED.label, "count": counts.paused},
            {"key": "closed", "label": LiveStatus.CLOSED.label, "count": counts.closed},
            {"key": "unreachable", "label": _("Unreachable"), "count": counts.unreachable},
        ],
        "areas": selectors.live_by_area_for(user=user, event=event),
        "area_label": _("Province") if national else _("County"),
        "unreachable": [{"live": row, "silent": silence_text(row.last_seen_at, now)} for row in unreachable],
        "unreachable_more": max(counts.unreachable - len(unreachable), 0),
        "timeline": list(selectors.live_timeline_for(user=user, event=event)[:TIMELINE_SHOWN]),
        "timeline_shown": TIMELINE_SHOWN,
    }


@login_required
def live(request: HttpRequest) -> HttpResponse:
    """The live operations page of the caller's jurisdiction, for the chosen (or current) event."""
    _require(request.user, Capability.VIEW)
    event = _event_from(request)
    context: dict[str, Any] = {
        "event": event,
        "events": election_event_list_for(user=request.user),
        "refresh_seconds": REFRESH_SECONDS,
    }
    if event is not None:
        context.update(_panel_context(request, event))
    return render(request, "readiness/live_page.html", context)


@login_required
def live_panel(request: HttpRequest) -> HttpResponse:
    """The page's counts, areas, unreachable stations and timeline alone: what htmx polls."""
    _require(request.user, Capability.VIEW)
    event = _event_from(request)
    context: dict[str, Any] = {"event": event}
    if event is not None:
        context.update(_panel_context(request, event))
    return render(request, "readiness/partials/live_panel.html", context)


urlpatterns = [
    path("live/", live, name="live"),
    path("live/panel/", live_panel, name="live-panel"),
]
