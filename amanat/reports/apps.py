from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """Dashboards and situation reports: reads across every other app (imported by none)."""

    name = "amanat.reports"
    label = "reports"
    verbose_name = _("Reports")
