from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ElectionsConfig(AppConfig):
    """Election events (voting days), their contests and the counties that take part."""

    name = "amanat.elections"
    label = "elections"
    verbose_name = _("Elections")
