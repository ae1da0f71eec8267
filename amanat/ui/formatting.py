"""Display rules for dates and numbers: Jalali and Persian digits in Persian, Gregorian in English."""

import datetime as dt
import re

import jdatetime
from django.utils import timezone
from django.utils.translation import get_language

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
_TO_PERSIAN = str.maketrans("0123456789", PERSIAN_DIGITS)
_TO_LATIN = str.maketrans(PERSIAN_DIGITS + ARABIC_DIGITS, "0123456789" * 2)


def is_persian() -> bool:
    return (get_language() or "fa").startswith("fa")


def persian_digits(value: object) -> str:
    return str(value).translate(_TO_PERSIAN)


def latin_digits(value: str) -> str:
    return value.translate(_TO_LATIN)


def localize_digits(value: object) -> str:
    text = str(value)
    return persian_digits(text) if is_persian() else text


def format_number(value: int | float | None) -> str:
    if value is None:
        return ""
    text = f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
    if is_persian():
        return persian_digits(text.replace(",", "٬").replace(".", "٫"))
    return text


def to_jalali(value: dt.date) -> jdatetime.date:
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return jdatetime.date.fromgregorian(date=value)


def format_date(value: dt.date | None, *, long: bool = False) -> str:
    """A date as the reader expects it: Jalali with Persian digits and month names in Persian."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if is_persian():
        jd = jdatetime.date.fromgregorian(date=value, locale="fa_IR")
        text = f"{jd.day} {jd.strftime('%B %Y')}" if long else jd.strftime("%Y/%m/%d")
        return persian_digits(text)
    return value.strftime("%d %B %Y") if long else value.isoformat()


def format_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{format_date(local.date())} {localize_digits(local.strftime('%H:%M'))}"


_JALALI_INPUT = re.compile(r"^\s*(\d{4})\s*[/\-.]\s*(\d{1,2})\s*[/\-.]\s*(\d{1,2})\s*$")


def parse_jalali_date(text: str) -> dt.date:
    """Parse a Jalali date typed as YYYY/MM/DD in any digits; raise ValueError if it is not one."""
    match = _JALALI_INPUT.match(latin_digits(text))
    if not match:
        raise ValueError("not a date in the form YYYY/MM/DD")
    year, month, day = (int(part) for part in match.groups())
    return jdatetime.date(year, month, day).togregorian()


def jalali_input_value(value: dt.date | None) -> str:
    if value is None:
        return ""
    return jdatetime.date.fromgregorian(date=value).strftime("%Y/%m/%d")
