"""The public reporting page's form, and its challenge against automated abuse (ALTCHA proof of work).

The form parses input only: the service checks the report against the taxonomy and the geography,
the time, and each evidence file's content. Provinces, counties and categories are public reference
data, listed for anyone.

The challenge: the page's widget fetches a challenge from our own URL, finds the counter that solves
it (on average half of `ALTCHA_MAX_NUMBER` hashes, in the browser) and sends the solution with the
form. The challenge is signed with a key derived from SECRET_KEY, expires, and each one is accepted
once: its signature is remembered in the cache until it would have expired anyway.
"""

import datetime as dt
import hashlib
import secrets
import time
from collections.abc import Sequence
from typing import Any

import altcha
from django import forms
from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from amanat.geography.models import County, Province
from amanat.incidents.models import IncidentCategory
from amanat.incidents.selectors import incident_category_list_for
from amanat.scoping import unscoped
from amanat.ui.formatting import is_persian
from amanat.ui.forms import JalaliDateField

MAX_FILES = 3
DEFAULT_MAX_NUMBER = 50_000
CHALLENGE_ALGORITHM = "SHA-256"
CHALLENGE_SECONDS = 2 * 60 * 60  # a challenge stays valid this long (long forms take a while to fill)
_USED_PREFIX = "incidents:altcha-used:"

TIME_INPUT = forms.TimeInput(attrs={"type": "time", "dir": "ltr"}, format="%H:%M")


# --- the challenge ----------------------------------------------------------------------------


def _secret(purpose: str) -> str:
    # Derived from SECRET_KEY, one key per purpose, never the key itself.
    return salted_hmac(f"amanat.incidents.altcha.{purpose}", "altcha", algorithm="sha256").hexdigest()


def altcha_challenge_new() -> dict[str, Any]:
    """A fresh signed challenge for the widget, as the JSON it fetches.

    The counter the solver must find is drawn at random below ALTCHA_MAX_NUMBER (the work factor), and
    the derived key is signed too, so the server checks a solution with two HMACs, not by redoing work.
    """
    max_number = max(1, int(getattr(settings, "ALTCHA_MAX_NUMBER", DEFAULT_MAX_NUMBER)))
    challenge = altcha.create_challenge(
        algorithm=CHALLENGE_ALGORITHM,
        cost=1,
        counter=secrets.randbelow(max_number),
        expires_at=int(time.time()) + CHALLENGE_SECONDS,
        hmac_secret=_secret("challenge"),
        hmac_key_secret=_secret("key"),
    )
    return challenge.to_dict()


def altcha_solution_accept(payload: str) -> bool:
    """True once for a valid solution of a challenge we signed; False if forged, wrong, expired or reused."""
    if not payload or len(payload) > 4000:
        return False
    try:
        result = altcha.verify_solution(
            payload, hmac_secret=_secret("challenge"), hmac_key_secret=_secret("key")
        )
        parsed = altcha.Payload.from_base64(payload) if result.verified else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    if parsed is None or not parsed.challenge.signature:
        return False
    expires_at = parsed.challenge.parameters.expires_at
    if not isinstance(expires_at, int):
        return False  # we always set it; a challenge without one is not ours
    remaining = max(1, expires_at - int(time.time())) + 60
    used = _USED_PREFIX + hashlib.sha256(parsed.challenge.signature.encode()).hexdigest()
    # add() is atomic in every cache backend: of two requests with one solution, one wins.
    return bool(cache.add(used, 1, timeout=remaining))


# --- reference data for the choices -----------------------------------------------------------


def division_label(obj: Any) -> str:
    """A province's, county's or category's name in the page's language."""
    english = getattr(obj, "name_en", "")
    return english if english and not is_persian() else str(obj.name)


def public_provinces() -> QuerySet[Province]:
    """Every province: public reference data."""
    with unscoped():
        return Province.objects.order_by("name")


def public_counties(province_id: Any = None) -> QuerySet[County]:
    """Every county, or a province's: public reference data."""
    with unscoped():
        counties = County.objects.select_related("province").order_by("province__name", "name")
    if province_id not in (None, ""):
        try:
            counties = counties.filter(province_id=int(province_id))
        except (TypeError, ValueError):
            return counties.none()
    return counties


class NamedChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return division_label(obj)


# --- files ------------------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Up to MAX_FILES files in one input; each file's content is checked by the service."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > MAX_FILES:
            raise forms.ValidationError(
                _("At most %(n)d files per report.") % {"n": MAX_FILES}, code="too_many"
            )
        return [super(MultipleFileField, self).clean(file, initial) for file in files]


# --- the form ---------------------------------------------------------------------------------


class PublicReportForm(forms.Form):
    province = NamedChoiceField(label=_("Province"), queryset=Province.objects.none())
    county = NamedChoiceField(
        label=_("County"),
        queryset=County.objects.none(),
        error_messages={"invalid_choice": _("Choose a county of the chosen province.")},
    )
    station_code = forms.CharField(
        label=_("Polling station code"),
        required=False,
        max_length=30,
        help_text=_("If it happened at a polling station and you know its code."),
        widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off"}),
    )
    category = NamedChoiceField(label=_("What happened"), queryset=IncidentCategory.objects.none())
    occurred_date = JalaliDateField(label=_("Date"))
    occurred_time = forms.TimeField(label=_("Time"), widget=TIME_INPUT)
    description = forms.CharField(
        label=_("Description"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What you saw, where exactly, and who was involved. Persian or English."),
    )
    evidence = MultipleFileField(
        label=_("Evidence files"),
        required=False,
        help_text=_("Optional, at most 3 files: photos, PDF, video or audio."),
    )
    reporter_name = forms.CharField(label=_("Your name"), required=False, max_length=100)
    reporter_contact = forms.CharField(
        label=_("Phone or email"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off"}),
    )
    altcha = forms.CharField(
        required=False,
        widget=forms.HiddenInput,
        error_messages={"required": _("Confirm that you are not a robot.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._set_queryset("province", public_provinces())
        # With htmx, choosing a province narrows the county list to its counties.
        self.fields["province"].widget.attrs.update(
            {
                "hx-get": reverse("incidents:public_report_counties"),
                "hx-target": "#id_county",
                "hx-trigger": "change",
            }
        )
        # Only the chosen province's counties are offered; with none chosen yet, every county.
        province_id = self.data.get("province") if self.is_bound else self.initial.get("province")
        self._set_queryset("county", public_counties(province_id or None))
        self._set_queryset("category", incident_category_list_for())

    def _set_queryset(self, name: str, queryset: Any) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = queryset

    def clean_altcha(self) -> str:
        payload = str(self.cleaned_data.get("altcha") or "")
        if not payload:
            raise forms.ValidationError(_("Confirm that you are not a robot."), code="required")
        if not altcha_solution_accept(payload):
            raise forms.ValidationError(
                _("The check that you are not a robot failed or expired. Please confirm again."),
                code="invalid",
            )
        return payload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        day: dt.date | None = cleaned.get("occurred_date")
        moment: dt.time | None = cleaned.get("occurred_time")
        if day is not None and moment is not None:
            cleaned["occurred_at"] = timezone.make_aware(dt.datetime.combine(day, moment))
        return cleaned

    @property
    def evidence_files(self) -> Sequence[Any]:
        return list(self.cleaned_data.get("evidence") or [])
