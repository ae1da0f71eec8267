from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GeographyConfig(AppConfig):
    """Provinces, counties, districts and polling stations (imports no other Amanat app)."""

    name = "amanat.geography"
    label = "geography"
    verbose_name = _("Geography")
