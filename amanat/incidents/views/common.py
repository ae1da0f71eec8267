"""What the incident pages share: the filters read from the query, and the rows of a case list."""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext as _

from amanat.geography.selectors import county_list_for, province_list_for
from amanat.incidents import selectors
from amanat.incidents.forms.cases import category_label
from amanat.incidents.models import OPEN_STATES, Channel, Incident, IncidentState, Severity
from amanat.incidents.selectors import IncidentFilters
from amanat.ui.formatting import latin_digits, parse_jalali_date

# --- filters ---------------------------------------------------------------------------------


def _day(text: str) -> str:
    """A day typed as a Jalali date (or sent as an ISO date) in ISO form; "" if it is not a date."""
    text = latin_digits(text.strip())
    if not text:
        return ""
    try:
        year = int(text.replace("/", "-").split("-", 1)[0])
    except ValueError:
        return ""
    try:
        if year > 1700:  # a Gregorian year: an ISO date from a link
            return dt.date.fromisoformat(text.replace("/", "-")).isoformat()
        return parse_jalali_date(text).isoformat()
    except ValueError:
        return ""


def filter_params(params: Mapping[str, Any]) -> QueryDict:
    """The query parameters with the date range turned from Jalali into ISO, as the filters read them."""
    if isinstance(params, QueryDict):
        query = params.copy()
    else:
        query = QueryDict(mutable=True)
        for key, value in params.items():
            query[key] = value
    for name in ("from", "to"):
        if name in query:
            query[name] = _day(str(query.get(name) or ""))
    return query


def incident_filters(params: Mapping[str, Any]) -> IncidentFilters:
    return IncidentFilters.from_params(filter_params(params))


def filter_context(request: HttpRequest, filters: IncidentFilters) -> dict[str, Any]:
    """What the filter form offers: states, categories, severities, channels, the areas within reach."""
    user: Any = request.user
    level = user.jurisdiction.level
    provinces: list[Any] = []
    counties: list[Any] = []
    if level == "national":
        provinces = list(province_list_for(user=user))
        if filters.province_id:
            counties = list(county_list_for(user=user, province_id=filters.province_id))
    elif level == "province":
        counties = list(county_list_for(user=user))
    return {
        "filters": filters,
        "values": request.GET,
        "state_choices": [("open", _("Open (any open state)")), *IncidentState.choices],
        "severity_choices": Severity.choices,
        "channel_choices": Channel.choices,
        "categories": [
            (c.code, category_label(c), c.is_active)
            for c in selectors.incident_category_list_for(user=user, active_only=False)
        ],
        "provinces": provinces,
        "counties": counties,
    }


# --- rows ------------------------------------------------------------------------------------


@dataclass
class Row:
    incident: Incident
    overdue: bool

    @property
    def category(self) -> str:
        return category_label(self.incident.category)


def is_overdue(incident: Incident, now: dt.datetime) -> bool:
    return incident.state in OPEN_STATES and incident.deadline_at < now


def rows_of(incidents: Iterable[Incident], now: dt.datetime) -> list[Row]:
    return [Row(incident, is_overdue(incident, now)) for incident in incidents]
