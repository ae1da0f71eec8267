import datetime as dt

from django import template
from django.utils.http import urlencode

from amanat.ui import formatting

register = template.Library()


@register.filter
def jdate(value: dt.date | None) -> str:
    return formatting.format_date(value)


@register.filter
def jdate_long(value: dt.date | None) -> str:
    return formatting.format_date(value, long=True)


@register.filter
def jdatetime(value: dt.datetime | None) -> str:
    return formatting.format_datetime(value)


@register.filter
def num(value: int | float | None) -> str:
    return formatting.format_number(value)


@register.filter
def digits(value: object) -> str:
    return formatting.localize_digits(value)


@register.simple_tag(takes_context=True)
def query_with(context: template.Context, **changes: object) -> str:
    """The current query string with some parameters replaced (for pagination and filters)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(sorted(params.items()), doseq=False) if params else "?"
