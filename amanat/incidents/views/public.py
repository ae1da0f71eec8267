"""The public reporting page: anyone may report an incident, without logging in.

Guarded against automated abuse by a proof-of-work challenge (ALTCHA, served and checked here, no
third party) and a rate limit per client address on submissions. A report enters the moderation
queue; the reporter gets a receipt reference and nothing else about the case. The page extends a
minimal public base: no navigation, no user menu, nothing loaded from outside the site.
"""

import ipaddress
from typing import Any

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from amanat.incidents.forms.public import (
    PublicReportForm,
    altcha_challenge_new,
    division_label,
    public_counties,
)
from amanat.incidents.selectors import incident_get_by_public_ref
from amanat.incidents.services import EvidenceUpload, incident_report_public

DEFAULT_RATE = "5/h"
RATE_GROUP = "incidents.public_report"
RECEIPT_SALT = "amanat.incidents.public_receipt"
RECEIPT_MAX_AGE = 24 * 60 * 60  # the thanks page can be reloaded for a day

# The service's field names -> this form's fields (the rest are shown above the form).
SERVICE_FIELDS = {
    "county_code": "county",
    "station_code": "station_code",
    "category": "category",
    "occurred_at": "occurred_date",
    "description": "description",
    "evidence": "evidence",
    "reporter_name": "reporter_name",
    "reporter_contact": "reporter_contact",
}


def _client_ip(request: HttpRequest) -> str | None:
    # The address login throttling sees (PROXY_COUNT decides whether X-Forwarded-For is trusted).
    address = get_client_ip_address(request)
    return str(address) if address else None


def _rate_key(group: str, request: HttpRequest) -> str:
    """The client's address; for IPv6 its /64, which one subscriber usually holds whole."""
    address = _client_ip(request) or "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False).network_address)
    return str(parsed)


def _rate_limited(request: HttpRequest) -> bool:
    """Count this submission; True when the address has sent more than PUBLIC_REPORT_RATE."""
    rate = getattr(settings, "PUBLIC_REPORT_RATE", DEFAULT_RATE)
    return is_ratelimited(request, group=RATE_GROUP, key=_rate_key, rate=rate, method="POST", increment=True)


def _show_service_errors(form: PublicReportForm, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, messages in error.message_dict.items():
        target = SERVICE_FIELDS.get(name)
        form.add_error(target if target in form.fields else None, messages)


def _receipt_token(public_ref: str) -> str:
    return signing.dumps(public_ref, salt=RECEIPT_SALT, compress=False)


@require_http_methods(["GET", "POST"])
def public_report(request: HttpRequest) -> HttpResponse:
    """The reporting form; a valid submission files the report and shows the receipt."""
    if request.method == "POST":
        if _rate_limited(request):
            return render(request, "incidents/public/rate_limited.html", status=429)
        form = PublicReportForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                incident = incident_report_public(
                    county=data["county"],
                    station_code=data["station_code"],
                    category=data["category"],
                    occurred_at=data["occurred_at"],
                    description=data["description"],
                    reporter_name=data["reporter_name"],
                    reporter_contact=data["reporter_contact"],
                    evidence=[EvidenceUpload(name=f.name, file=f) for f in form.evidence_files],
                    ip_address=_client_ip(request),
                )
            except ValidationError as error:
                _show_service_errors(form, error)
            else:
                return redirect("incidents:public_report_done", token=_receipt_token(incident.public_ref))
    else:
        form = PublicReportForm()
    return render(request, "incidents/public/report.html", {"form": form})


@require_GET
def public_report_done(request: HttpRequest, token: str) -> HttpResponse:
    """The receipt: the report's reference and nothing else about the case."""
    try:
        public_ref = signing.loads(token, salt=RECEIPT_SALT, max_age=RECEIPT_MAX_AGE)
    except signing.BadSignature as exc:
        raise Http404 from exc
    if not isinstance(public_ref, str) or incident_get_by_public_ref(public_ref=public_ref) is None:
        raise Http404
    return render(request, "incidents/public/thanks.html", {"public_ref": public_ref})


@never_cache
@require_GET
def public_report_challenge(request: HttpRequest) -> JsonResponse:
    """A fresh proof-of-work challenge for the page's widget (served here: no third party)."""
    return JsonResponse(altcha_challenge_new())


@require_GET
def public_report_counties(request: HttpRequest) -> HttpResponse:
    """The county choices of one province (htmx narrows the county list when a province is chosen)."""
    counties = public_counties(request.GET.get("province") or None)
    context: dict[str, Any] = {"options": [(county.pk, division_label(county)) for county in counties]}
    return render(request, "incidents/public/partials/county_options.html", context)


urlpatterns = [
    path("report/", public_report, name="public_report"),
    path("report/challenge/", public_report_challenge, name="public_report_challenge"),
    path("report/counties/", public_report_counties, name="public_report_counties"),
    path("report/thanks/<str:token>/", public_report_done, name="public_report_done"),
]
