from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReadinessConfig(AppConfig):
    """Polling-station readiness for electronic voting, and live election-day operations."""

    name = "amanat.readiness"
    label = "readiness"
    verbose_name = _("Readiness and election day")
