from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """Users, their organisation, jurisdiction and role; API tokens (imports only geography)."""

    name = "amanat.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from amanat.accounts import receivers  # noqa: F401  (login auditing)
