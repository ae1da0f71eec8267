from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    """Incidents and election violations: intake, triage, referral and follow-up to closure."""

    name = "amanat.incidents"
    label = "incidents"
    verbose_name = _("Incidents and violations")
