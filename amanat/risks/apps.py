from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RisksConfig(AppConfig):
    """The county security atlas: risk register, review workflow, classification and duties."""

    name = "amanat.risks"
    label = "risks"
    verbose_name = _("Security atlas")
