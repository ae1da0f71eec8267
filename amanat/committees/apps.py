from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommitteesConfig(AppConfig):
    """Election security committees: composition, cadence, meetings, minutes, decisions, action items."""

    name = "amanat.committees"
    label = "committees"
    verbose_name = _("Committees")
